package org.headscope.app.attention;

import org.headscope.analysis.core.Numerics;
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
        float[] mean = Numerics.meanPool(r.output(name).slice(b));
        return new OutputSummary(Kind.EMBEDDING, name, new FloatTensor(new long[]{mean.length}, mean));
    }

    private static FloatTensor softmax(FloatTensor logits) {
        float[] p = Numerics.softmax(logits.data());
        return new FloatTensor(new long[]{p.length}, p);
    }
}
