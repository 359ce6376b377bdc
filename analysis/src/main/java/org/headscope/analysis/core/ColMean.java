package org.headscope.analysis.core;

import org.headscope.hooks.FloatTensor;

/**
 * The mean attention a key receives from the queries that can see it, shared by the sink rate (Gu et al.), ACT's
 * hidden sinks and the active/dormant measures:
 * {@code colmean[l,h,k] = sum_q A[l,h,q,k] / (T - k)} for causal models, {@code / T} for bidirectional encoders.
 * Computed from the in-graph {@link org.headscope.hooks.TapKind#COL_SUM} reduction, never from full matrices.
 */
public final class ColMean {
    /** Definition version written into reports. */
    public static final String VERSION = "colmean-v1 (sum_q A / (T-k) causal, / T bidirectional)";

    private ColMean() {
    }

    /**
     * @param colSum COL_SUM tap of one layer, [B,H,K] with K equal to the number of tokens (no past)
     * @param b      batch element
     * @return [H][K] mean received attention
     */
    public static double[][] of(FloatTensor colSum, int b, boolean causal) {
        int heads = colSum.dim(1);
        int t = colSum.dim(2);
        double[][] out = new double[heads][t];
        for (int h = 0; h < heads; h++) {
            int base = colSum.offset(b, h, 0);
            for (int k = 0; k < t; k++) {
                out[h][k] = colSum.data()[base + k] / (causal ? t - k : t);
            }
        }
        return out;
    }
}
