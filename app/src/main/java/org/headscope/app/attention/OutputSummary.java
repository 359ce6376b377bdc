package org.headscope.app.attention;

import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunResult;

/**
 * What the model says for one batch element: the next-token distribution at the last position (models with
 * logits), or the mean-pooled output embedding (encoders such as MiniLM, whose sentence embedding is that mean).
 *
 * @param kind   which of the two
 * @param output the model output it came from
 * @param values [V] probabilities, or [D] pooled embedding
 */
public record OutputSummary(Kind kind, String output, FloatTensor values) {
    public enum Kind { NEXT_TOKEN, EMBEDDING }

    /** Summarises element {@code b} of a run's model output: the model's measured output ({@link HookedModel#measuredOutput()}). */
    public static OutputSummary of(HookedModel model, RunResult r, int b) {
        String name = model.measuredOutput();
        if (model.hasLogits()) {
            FloatTensor logits = r.output(name);
            int t = logits.dim(1);
            return new OutputSummary(Kind.NEXT_TOKEN, name, softmax(logits.slice(b, t - 1)));
        }
        if (!r.floats().containsKey(name) || r.output(name).rank() != 3) {
            throw new IllegalArgumentException("the model returns no [batch, tokens, dim] output to compare; outputs: " + r.floats().keySet());
        }
        FloatTensor h = r.output(name).slice(b);
        int t = h.dim(0);
        int d = h.dim(1);
        float[] mean = new float[d];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < d; j++) {
                mean[j] += h.data()[i * d + j] / t;
            }
        }
        return new OutputSummary(Kind.EMBEDDING, name, new FloatTensor(new long[]{d}, mean));
    }

    static FloatTensor softmax(FloatTensor logits) {
        float[] x = logits.data();
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
        return new FloatTensor(new long[]{p.length}, p);
    }
}
