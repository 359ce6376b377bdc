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

    /**
     * The same mean from full attention probabilities of one layer, [H, T, K] (T queries, K = T keys, no past).
     *
     * @return [H][K] mean received attention
     */
    public static double[][] ofProbs(FloatTensor probs, boolean causal) {
        int heads = probs.dim(0);
        int queries = probs.dim(1);
        int keys = probs.dim(2);
        double[][] out = new double[heads][keys];
        for (int h = 0; h < heads; h++) {
            for (int k = 0; k < keys; k++) {
                double sum = 0;
                for (int q = 0; q < queries; q++) {
                    sum += probs.get(h, q, k);
                }
                out[h][k] = sum / (causal ? queries - k : queries);
            }
        }
        return out;
    }

    /**
     * Sink rate of each key (Gu et al., ICLR'25): the share of heads, over every layer given, whose colmean at that key
     * exceeds {@code eps}.
     *
     * @param perLayer [layer][H][K] colmeans of one prompt
     * @return [K] shares in [0, 1]
     */
    public static double[] sinkRates(java.util.List<double[][]> perLayer, double eps) {
        int keys = perLayer.getFirst()[0].length;
        double[] rate = new double[keys];
        int heads = 0;
        for (double[][] layer : perLayer) {
            for (double[] head : layer) {
                heads++;
                for (int k = 0; k < keys; k++) {
                    if (head[k] > eps) {
                        rate[k]++;
                    }
                }
            }
        }
        for (int k = 0; k < keys; k++) {
            rate[k] /= heads;
        }
        return rate;
    }
}
