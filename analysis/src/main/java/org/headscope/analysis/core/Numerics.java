package org.headscope.analysis.core;

import org.headscope.hooks.FloatTensor;

import java.util.Arrays;

/** Plain numeric helpers over logits, probabilities and vectors; each written once for every analysis and panel. */
public final class Numerics {
    private Numerics() {
    }

    /** {@code log sum_i exp(x_i)}, stable for large values (the maximum is taken out first). */
    public static double logSumExp(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (float v : x) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }

    /** The softmax of a logit row, as float probabilities. */
    public static float[] softmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        float[] p = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            double e = Math.exp(x[i] - max);
            p[i] = (float) e;
            sum += e;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (p[i] / sum);
        }
        return p;
    }

    /** {@code KL(softmax(p) || softmax(q))} in nats, from two logit rows; never below 0. */
    public static double klOfLogits(float[] p, float[] q) {
        double lp = logSumExp(p);
        double lq = logSumExp(q);
        double kl = 0;
        for (int i = 0; i < p.length; i++) {
            double a = p[i] - lp;
            kl += Math.exp(a) * (a - (q[i] - lq));
        }
        return Math.max(0, kl);
    }

    /** {@code KL(p || q)} in nats of two probability vectors; terms with {@code p_i = 0} count 0, {@code q_i} floored at 1e-30. */
    public static double kl(float[] p, float[] q) {
        double kl = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                kl += p[i] * (Math.log(p[i]) - Math.log(Math.max(q[i], 1e-30)));
            }
        }
        return kl;
    }

    /** Cosine similarity of two vectors. */
    public static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    /** The mean over rows of a [T, D] tensor (mean pooling over positions), as [D]. */
    public static float[] meanPool(FloatTensor rows) {
        int t = rows.dim(0);
        int d = rows.dim(1);
        float[] mean = new float[d];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < d; j++) {
                mean[j] += rows.data()[i * d + j] / t;
            }
        }
        return mean;
    }

    /** First index of the largest value (torch's argmax and ONNX ArgMax pick the first on ties). */
    public static int argmax(float[] row) {
        return argmax(row, 0, row.length);
    }

    /** First index (from 0) of the largest of {@code data[offset .. offset + length - 1]}. */
    public static int argmax(float[] data, int offset, int length) {
        int best = 0;
        for (int i = 1; i < length; i++) {
            if (data[offset + i] > data[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    public static double mean(double[] x) {
        return Arrays.stream(x).average().orElse(0);
    }

    /** Population standard deviation (divides by n). */
    public static double std(double[] x) {
        double m = mean(x);
        return Math.sqrt(Arrays.stream(x).map(v -> (v - m) * (v - m)).average().orElse(0));
    }

    /** The median: the middle value, or the mean of the two middle values for an even count. */
    public static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** {@code a} followed by {@code b}. */
    /**
     * Attention spread evenly over the keys each query can see, [queries, keys]: {@code 1/(q+1)} on keys
     * {@code 0..q} with a causal mask, {@code 1/keys} on every key without one. The chance baseline of the
     * scores that read attention (copy scores, the head profile).
     */
    public static FloatTensor evenAttention(int queries, int keys, boolean causal) {
        float[] a = new float[queries * keys];
        for (int q = 0; q < queries; q++) {
            int visible = causal ? Math.min(q + 1, keys) : keys;
            java.util.Arrays.fill(a, q * keys, q * keys + visible, 1f / visible);
        }
        return new FloatTensor(new long[]{queries, keys}, a);
    }

    public static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
