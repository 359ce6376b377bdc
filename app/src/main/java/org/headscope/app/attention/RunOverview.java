package org.headscope.app.attention;

import org.headscope.hooks.FloatTensor;

/**
 * What the head grid and the token strip show of a run, computed with the run on the worker thread so that a new run
 * costs the FX thread no pass over the L x H x T x K probabilities: every head's map max-pooled to a thumbnail of at most
 * {@code side x side} cells (before and after the edit), and each key's sink rate.
 *
 * @param run       the run it summarises
 * @param sinkRates {@link AttentionRun#sinkRates} at {@link TokenStrip#SINK_EPS}
 * @param clean     [layer][head] pooled maps ({@link HeatmapImages#pool})
 * @param ablated   the same after the edit, or null for a clean run
 */
public record RunOverview(AttentionRun run, double[] sinkRates, FloatTensor[][] clean, FloatTensor[][] ablated) {
    /** Thumbnail side in cells: the grid's tile size in pixels. */
    public static final int SIDE = 40;

    /** Pools every head's map (O(L·H·T·K): call it off the FX thread). */
    public static RunOverview of(AttentionRun r, org.headscope.hooks.CancelToken cancel) {
        return new RunOverview(r, r.sinkRates(TokenStrip.SINK_EPS), thumbnails(r, false, cancel),
                r.hasAblation() ? thumbnails(r, true, cancel) : null);
    }

    private static FloatTensor[][] thumbnails(AttentionRun r, boolean after, org.headscope.hooks.CancelToken cancel) {
        FloatTensor[][] out = new FloatTensor[r.layers()][r.heads()];
        for (int l = 0; l < r.layers(); l++) {
            cancel.check();
            for (int h = 0; h < r.heads(); h++) {
                FloatTensor map = r.map(l, h, after);
                out[l][h] = HeatmapImages.pool(map, poolFor(map), r.causal());
            }
        }
        return out;
    }

    /** Tokens per thumbnail cell so that the longer side fits {@link #SIDE} cells. */
    static int poolFor(FloatTensor map) {
        return Math.max(1, (Math.max(map.dim(0), map.dim(1)) + SIDE - 1) / SIDE);
    }

    /** A head's pooled map, after the edit when asked and there is one. */
    public FloatTensor thumbnail(int layer, int head, boolean afterEdit) {
        return (afterEdit && ablated != null ? ablated : clean)[layer][head];
    }
}
