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
        return render(map, cell, 1, scale, causal);
    }

    /**
     * The overview of a long map: each {@code pool x pool} block of queries and keys becomes one cell showing the
     * block's largest probability (so a single strong link stays visible); a block is masked only when every key in
     * it lies after every query in it.
     */
    public static WritableImage render(FloatTensor map, int cell, int pool, ColourScale scale, boolean causal) {
        return renderPooled(pool(map, pool, causal), cell, scale);
    }

    /**
     * A map cropped to a range of keys ({@code past}: how many more keys than queries precede the crop's first key,
     * so key column k is masked when {@code k > q + past}), pooled and drawn with their own sizes per axis.
     */
    public static WritableImage render(FloatTensor map, int cellX, int cellY, int poolX, int poolY, ColourScale scale,
                                       boolean causal, int past) {
        return renderPooled(pool(map, poolY, poolX, causal, past), cellX, cellY, scale);
    }

    /**
     * Each {@code pool x pool} block of a [T,K] map reduced to its largest value, NaN for a block a causal model masks
     * whole (every key after every query); with K > T the last T keys align with the queries. The colour scale is
     * monotone, so the colours of the pooled map are those of the blocks' brightest cells: the pooling can run off the
     * FX thread before the scale is chosen.
     */
    public static FloatTensor pool(FloatTensor map, int pool, boolean causal) {
        return pool(map, pool, pool, causal, map.dim(1) - map.dim(0));
    }

    /** {@link #pool(FloatTensor, int, boolean)} with a block height and width of their own and an explicit key offset. */
    public static FloatTensor pool(FloatTensor map, int poolQ, int poolK, boolean causal, int past) {
        int rows = map.dim(0);
        int cols = map.dim(1);
        int pr = (rows + poolQ - 1) / poolQ;
        int pc = (cols + poolK - 1) / poolK;
        float[] out = new float[pr * pc];
        float[] d = map.data();
        for (int bq = 0; bq < pr; bq++) {
            int q0 = bq * poolQ;
            int q1 = Math.min(rows, q0 + poolQ) - 1;
            for (int bk = 0; bk < pc; bk++) {
                int k0 = bk * poolK;
                int k1 = Math.min(cols, k0 + poolK) - 1;
                if (causal && k0 > q1 + past) {
                    out[bq * pc + bk] = Float.NaN;
                    continue;
                }
                float max = 0;
                for (int q = q0; q <= q1; q++) {
                    int kEnd = causal ? Math.min(k1, q + past) : k1;
                    for (int k = k0; k <= kEnd; k++) {
                        max = Math.max(max, d[q * cols + k]);
                    }
                }
                out[bq * pc + bk] = max;
            }
        }
        return new FloatTensor(new long[]{pr, pc}, out);
    }

    /** A pooled map ({@link #pool}) as an image, {@code cell x cell} pixels per value, NaN drawn {@link #MASKED}. */
    public static WritableImage renderPooled(FloatTensor pooled, int cell, ColourScale scale) {
        return renderPooled(pooled, cell, cell, scale);
    }

    /** A pooled map with cells {@code cellX} wide and {@code cellY} high. */
    public static WritableImage renderPooled(FloatTensor pooled, int cellX, int cellY, ColourScale scale) {
        int pr = pooled.dim(0);
        int pc = pooled.dim(1);
        int w = pc * cellX;
        int h = pr * cellY;
        int[] pixels = new int[w * h];
        float[] d = pooled.data();
        for (int bq = 0; bq < pr; bq++) {
            for (int bk = 0; bk < pc; bk++) {
                float v = d[bq * pc + bk];
                int argb = Float.isNaN(v) ? MASKED : scale.argb(v);
                for (int y = bq * cellY; y < (bq + 1) * cellY; y++) {
                    java.util.Arrays.fill(pixels, y * w + bk * cellX, y * w + (bk + 1) * cellX, argb);
                }
            }
        }
        return wrap(pixels, w, h);
    }

    /**
     * A [T,K] map on a given linear range [lo, hi] of viridis (one range for figures compared side by side, so the
     * same colour means the same value in both); masked keys of causal models as {@link #MASKED}.
     */
    public static WritableImage renderRange(FloatTensor map, int cell, double lo, double hi, boolean causal) {
        return renderWith(map, cell, causal, v -> 0xff000000 | org.headscope.analysis.report.Viridis.rgb(hi > lo ? (v - lo) / (hi - lo) : 0));
    }

    /** A signed [T,K] map (e.g. after - before) on the diverging map, 0 white, symmetric over [-maxAbs, maxAbs]. */
    public static WritableImage renderSigned(FloatTensor map, int cell, double maxAbs, boolean causal) {
        return renderWith(map, cell, causal, v -> 0xff000000 | Diverging.rgb(maxAbs > 0 ? v / maxAbs : 0));
    }

    private static WritableImage renderWith(FloatTensor map, int cell, boolean causal, java.util.function.DoubleToIntFunction colour) {
        int rows = map.dim(0);
        int cols = map.dim(1);
        int w = cols * cell;
        int h = rows * cell;
        int[] pixels = new int[w * h];
        float[] d = map.data();
        int past = cols - rows;
        for (int q = 0; q < rows; q++) {
            for (int k = 0; k < cols; k++) {
                int argb = causal && k > q + past ? MASKED : colour.applyAsInt(d[q * cols + k]);
                for (int y = q * cell; y < (q + 1) * cell; y++) {
                    java.util.Arrays.fill(pixels, y * w + k * cell, y * w + (k + 1) * cell, argb);
                }
            }
        }
        return wrap(pixels, w, h);
    }

    /** The largest value of any of the maps (the top of a shared scale). */
    public static double max(FloatTensor... maps) {
        double m = 0;
        for (FloatTensor t : maps) {
            for (float v : t.data()) {
                m = Math.max(m, v);
            }
        }
        return m;
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
