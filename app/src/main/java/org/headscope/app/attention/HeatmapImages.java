package org.headscope.app.attention;

import java.nio.IntBuffer;

import javafx.scene.image.PixelBuffer;
import javafx.scene.image.PixelFormat;
import javafx.scene.image.WritableImage;
import org.headscope.hooks.FloatTensor;

/**
 * Draws matrices as images through a {@link PixelBuffer}: one block of {@code cell x cell} pixels per value, in
 * the colours of a {@link ColourScale}. One image per map, never one node per cell.
 */
public final class HeatmapImages {
    private HeatmapImages() {
    }

    /** Cells a causal model cannot attend to (keys after the query): light grey, apart from the colour map. */
    public static final int MASKED = 0xffe6e9ec;

    /**
     * A [T,K] map as a (K*cell) x (T*cell) image; for causal models the keys after each query (masked, probability 0)
     * are drawn {@link #MASKED} rather than as the lowest colour. With K > T (a cached past) the last T keys align
     * with the queries.
     */
    public static WritableImage render(FloatTensor map, int cell, ColourScale scale, boolean causal) {
        int rows = map.dim(0);
        int cols = map.dim(1);
        int w = cols * cell;
        int h = rows * cell;
        int[] pixels = new int[w * h];
        float[] d = map.data();
        int past = cols - rows;
        for (int q = 0; q < rows; q++) {
            for (int k = 0; k < cols; k++) {
                int argb = causal && k > q + past ? MASKED : scale.argb(d[q * cols + k]);
                for (int y = q * cell; y < (q + 1) * cell; y++) {
                    java.util.Arrays.fill(pixels, y * w + k * cell, y * w + (k + 1) * cell, argb);
                }
            }
        }
        return wrap(pixels, w, h);
    }

    /** The colour bar: {@code width x height}, bottom = 0, top = 1 on the colour map. */
    public static WritableImage legend(int width, int height, ColourScale scale) {
        int[] pixels = new int[width * height];
        for (int y = 0; y < height; y++) {
            double t = 1 - y / (double) (height - 1);
            int argb = scale.argb(scale.probability(t));
            java.util.Arrays.fill(pixels, y * width, (y + 1) * width, argb);
        }
        return wrap(pixels, width, height);
    }

    private static WritableImage wrap(int[] pixels, int w, int h) {
        PixelBuffer<IntBuffer> buffer = new PixelBuffer<>(w, h, IntBuffer.wrap(pixels), PixelFormat.getIntArgbPreInstance());
        return new WritableImage(buffer);
    }
}
