package org.headscope.app.attention;

import java.awt.image.BufferedImage;
import java.util.Arrays;

import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.VisionParts;

/**
 * A prompt ready to run: the request (token ids, or for vision-language models the decoder's input embeddings with
 * the image after BOS), the tokens as the map shows them (image tokens included), and where the image patches are.
 *
 * @param request the model input
 * @param tokens  one entry per position of the run
 * @param patches the image tokens' positions and grid, or null without an image
 */
public record PromptInput(RunRequest request, HsTokenizer.Tokens tokens, ImagePatches patches) {
    /**
     * Image tokens at positions {@code [start, start + rows*cols)}, row-major over the image grid.
     */
    public record ImagePatches(int start, int rows, int cols) {
        public int count() {
            return rows * cols;
        }

        public int end() {
            return start + count();
        }
    }

    /** The input for a prompt and (for vision-language models) an image, or null for text only. */
    public static PromptInput of(HookedModel model, HsTokenizer.Tokens tokens, BufferedImage image) {
        if (model.vision().isEmpty()) {
            return new PromptInput(RunRequest.tokens(tokens.ids()), tokens, null);
        }
        VisionParts v = model.vision().get();
        FloatTensor img = image == null ? null : v.encodeImage(v.pixels(image));
        RunRequest request = RunRequest.embeddings(v.sequence(tokens.ids(), img));
        if (img == null) {
            return new PromptInput(request, tokens, null);
        }
        ImagePatches patches = new ImagePatches(v.imageStart(), v.gridRows(), v.gridCols());
        if (patches.count() != img.dim(1)) {
            throw new org.headscope.hooks.ModelException("The vision encoder returns " + img.dim(1) + " image tokens but the manifest's grid is "
                    + patches.rows() + "x" + patches.cols() + ".", "Fix the grid in headscope.json to match the vision export.");
        }
        return new PromptInput(request, withImageTokens(tokens, patches, v.spec().imageTokenId()), patches);
    }

    /** The image tokens' key span [start, end) the manifest gives a vision-language model, or null for text models. */
    public static int[] imageSpan(HookedModel model) {
        return model.vision().map(v -> new int[]{v.imageStart(), v.imageStart() + v.gridRows() * v.gridCols()}).orElse(null);
    }

    /** Reads an image file, or says clearly why it cannot. */
    public static BufferedImage readImage(String file) {
        try {
            return org.headscope.app.util.SafeImages.read(org.headscope.app.util.UserPaths.resolve(file.trim()));
        } catch (org.headscope.app.util.SafeImages.BadImageException | IllegalArgumentException e) {
            throw new org.headscope.hooks.ModelException("The " + e.getMessage() + ".", "Choose a PNG, JPEG, GIF or BMP file of at most "
                    + org.headscope.app.util.SafeImages.MAX_SIDE + " x " + org.headscope.app.util.SafeImages.MAX_SIDE + " pixels.");
        }
    }

    private static HsTokenizer.Tokens withImageTokens(HsTokenizer.Tokens t, ImagePatches p, Long imageTokenId) {
        int n = t.size() + p.count();
        long[] ids = new long[n];
        String[] strings = new String[n];
        int[][] spans = new int[n][];
        for (int i = 0, src = 0; i < n; i++) {
            if (i >= p.start() && i < p.end()) {
                int k = i - p.start();
                ids[i] = imageTokenId == null ? -1 : imageTokenId;
                strings[i] = "\u25a3" + (k / p.cols()) + "," + (k % p.cols());
                spans[i] = new int[]{-1, -1};
            } else {
                ids[i] = t.ids()[src];
                strings[i] = t.strings()[src];
                spans[i] = Arrays.copyOf(t.spans()[src], 2);
                src++;
            }
        }
        return new HsTokenizer.Tokens(ids, strings, spans);
    }
}
