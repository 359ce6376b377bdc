package org.headscope.analysis.core;

import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.VisionParts;

import java.awt.image.BufferedImage;
import java.util.Arrays;

/**
 * What an analysis runs on: token ids, or for a vision-language model token ids and an image, the decoder fed the
 * embeddings the manifest's vision parts make (the image tokens placed after BOS, at the manifest's image start).
 *
 * @param request  the model input (token ids, or input embeddings)
 * @param tokens   one entry per position of the run, image tokens included (shown as their grid cell)
 * @param patches  the image tokens' positions and grid, or null without an image
 * @param textIds  the prompt's token ids without image tokens
 * @param image    the vision encoder's image embeddings [1, N, D], or null without an image
 */
public record Input(RunRequest request, HsTokenizer.Tokens tokens, ImagePatches patches, long[] textIds, FloatTensor image) {
    public Input {
        textIds = textIds.clone();
    }

    @Override
    public long[] textIds() {
        return textIds.clone();
    }

    /** Image tokens at positions {@code [start, start + rows*cols)}, row-major over the image grid. */
    public record ImagePatches(int start, int rows, int cols) {
        public int count() {
            return rows * cols;
        }

        public int end() {
            return start + count();
        }
    }

    /**
     * The input for a prompt and (for vision-language models) an image, or null for text only. A vision-language
     * model's decoder takes embeddings, so its input goes through the embedding part even without an image.
     */
    public static Input of(HookedModel model, HsTokenizer.Tokens tokens, BufferedImage image) {
        if (model.vision().isEmpty()) {
            return new Input(RunRequest.tokens(tokens.ids()), tokens, null, tokens.ids(), null);
        }
        VisionParts v = model.vision().get();
        FloatTensor img = image == null ? null : v.encodeImage(v.pixels(image));
        RunRequest request = RunRequest.embeddings(v.sequence(tokens.ids(), img));
        if (img == null) {
            return new Input(request, tokens, null, tokens.ids(), null);
        }
        ImagePatches patches = new ImagePatches(v.imageStart(), v.gridRows(), v.gridCols());
        if (patches.count() != img.dim(1)) {
            throw new ModelException("The vision encoder returns " + img.dim(1) + " image tokens but the manifest's grid is "
                    + patches.rows() + "x" + patches.cols() + ".", "Fix the grid in headscope.json to match the vision export.");
        }
        return new Input(request, withImageTokens(tokens, patches, v.spec().imageTokenId()), patches, tokens.ids(), img);
    }

    /** The same prompt without its image (a vision-language model's text-only input), or this input when it has none. */
    public Input withoutImage(HookedModel model) {
        if (image == null) {
            return this;
        }
        int[][] spans = new int[textIds.length][];
        long[] ids = new long[textIds.length];
        String[] strings = new String[textIds.length];
        for (int i = 0, src = 0; i < tokens.size(); i++) {
            if (i >= patches.start() && i < patches.end()) {
                continue;
            }
            ids[src] = tokens.ids()[i];
            strings[src] = tokens.strings()[i];
            spans[src] = tokens.spans()[i];
            src++;
        }
        HsTokenizer.Tokens text = new HsTokenizer.Tokens(ids, strings, spans);
        return new Input(RunRequest.embeddings(model.vision().orElseThrow().sequence(textIds, null)), text, null, textIds, null);
    }

    public boolean hasImage() {
        return image != null;
    }

    /** Positions of the run, image tokens included. */
    public int length() {
        return tokens.size();
    }

    /**
     * The first {@code n} positions. Token inputs are cut; an input with an image is kept whole when it fits and
     * refused otherwise (an image is never cut in part).
     */
    public Input truncate(HookedModel model, int n) {
        if (tokens.size() <= n) {
            return this;
        }
        if (image != null) {
            throw new IllegalArgumentException("the prompt with its image is " + tokens.size() + " positions; a window of " + n
                    + " would cut the image or the text after it: widen the window to at least " + tokens.size());
        }
        HsTokenizer.Tokens t = new HsTokenizer.Tokens(Arrays.copyOf(tokens.ids(), n), Arrays.copyOf(tokens.strings(), n),
                Arrays.copyOf(tokens.spans(), n));
        return of(model, t, null);
    }

    /** The image tokens' key span [start, end) the manifest gives a vision-language model, or null for text models. */
    public static int[] imageSpan(HookedModel model) {
        return model.vision().map(v -> new int[]{v.imageStart(), v.imageStart() + v.gridRows() * v.gridCols()}).orElse(null);
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
