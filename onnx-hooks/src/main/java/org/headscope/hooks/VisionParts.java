package org.headscope.hooks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The vision encoder and token embedding of a split vision-language export, and the assembly of the decoder's
 * input embeddings: {@code [BOS] + image embeddings + text}, or the same sequence with the image removed.
 */
public final class VisionParts implements AutoCloseable {
    /** Builds session options for the chosen device. */
    interface Options {
        OrtSession.SessionOptions create(boolean allowCuda) throws OrtException;
    }

    private final OrtEnvironment env;
    private final Manifest.Vision spec;
    private final OrtSession encoder;
    private final OrtSession embed;

    VisionParts(OrtEnvironment env, Path folder, Manifest.Vision spec, Options options) {
        this.env = env;
        this.spec = spec;
        this.encoder = open(folder.resolve(spec.model()), options);
        this.embed = open(folder.resolve(spec.embed()), options);
    }

    private OrtSession open(Path file, Options options) {
        if (!Files.isRegularFile(file)) {
            throw new ModelException("Vision-language part " + file.getFileName() + " is missing.",
                    "Export all three parts (vision encoder, embedding, decoder) with assets/export/export_hf.py.");
        }
        try (OrtSession.SessionOptions o = options.create(true)) {
            return env.createSession(file.toString(), o);
        } catch (OrtException e) {
            throw new ModelException("Cannot load " + file.getFileName() + ": " + e.getMessage(), "Re-export the vision parts.", e);
        }
    }

    public Manifest.Vision spec() {
        return spec;
    }

    public int imageTokens() {
        return spec.imageTokens();
    }

    public int imageStart() {
        return spec.imageStart() == null ? 1 : spec.imageStart();
    }

    public int gridRows() {
        return spec.grid().get(0);
    }

    public int gridCols() {
        return spec.grid().get(1);
    }

    /** Resizes and normalises an image into [1,3,S,S] pixel values. */
    public FloatTensor pixels(BufferedImage image) {
        int s = spec.imageSize();
        BufferedImage scaled = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = scaled.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image, 0, 0, s, s, null);
        g.dispose();
        FloatTensor t = FloatTensor.zeros(1, 3, s, s);
        for (int y = 0; y < s; y++) {
            for (int x = 0; x < s; x++) {
                int rgb = scaled.getRGB(x, y);
                for (int c = 0; c < 3; c++) {
                    float v = ((rgb >> (16 - 8 * c)) & 0xff) / 255f;
                    t.data()[t.offset(0, c, y, x)] = (v - spec.mean().get(c)) / spec.std().get(c);
                }
            }
        }
        return t;
    }

    public FloatTensor encodeImage(FloatTensor pixels) {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels.data()), pixels.shape());
             OrtSession.Result r = encoder.run(Map.of(spec.pixelInput(), in))) {
            return read((OnnxTensor) r.get(spec.output()).orElseThrow());
        } catch (OrtException e) {
            throw new ModelException("The vision encoder failed: " + e.getMessage(), "Check the image and the vision export.", e);
        }
    }

    public FloatTensor embedTokens(long[] ids) {
        try (OnnxTensor in = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{1, ids.length});
             OrtSession.Result r = embed.run(Map.of(spec.embedInput(), in))) {
            return read((OnnxTensor) r.get(spec.embedOutput()).orElseThrow());
        } catch (OrtException e) {
            throw new ModelException("The token embedding failed: " + e.getMessage(), "Check the embedding export.", e);
        }
    }

    /**
     * Decoder input embeddings for a prompt: the token ids (starting with BOS) embedded, with the image's
     * embeddings inserted at the manifest's image start, or without them when {@code image} is null.
     */
    public FloatTensor sequence(long[] ids, FloatTensor image) {
        FloatTensor text = embedTokens(ids);
        if (image == null) {
            return text;
        }
        int d = text.dim(2);
        int start = imageStart();
        int n = image.dim(1);
        int t = ids.length;
        FloatTensor out = FloatTensor.zeros(1, t + n, d);
        System.arraycopy(text.data(), 0, out.data(), 0, start * d);
        System.arraycopy(image.data(), 0, out.data(), start * d, n * d);
        System.arraycopy(text.data(), start * d, out.data(), (start + n) * d, (t - start) * d);
        return out;
    }

    private static FloatTensor read(OnnxTensor t) throws OrtException {
        FloatBuffer fb = t.getFloatBuffer();
        float[] data = new float[fb.remaining()];
        fb.get(data);
        return new FloatTensor(t.getInfo().getShape(), data);
    }

    @Override
    public void close() {
        try {
            encoder.close();
            embed.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
