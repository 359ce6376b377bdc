package org.headscope.app.ablation;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongFunction;
import java.util.stream.IntStream;

import org.headscope.analysis.core.Numerics;
import org.headscope.app.attention.OutputSummary;

/**
 * The model's output before and after an ablation: for models with logits, the top next tokens with both
 * probabilities and {@code KL(clean || ablated)}; for encoders, the cosine similarity of the mean-pooled output
 * embeddings (1 = unchanged).
 *
 * @param kind      which comparison
 * @param rows      top tokens (empty for embeddings)
 * @param kl        KL divergence in nats (NaN for embeddings)
 * @param cosine    cosine similarity of the pooled embeddings (NaN for next tokens)
 */
public record OutputComparison(OutputSummary.Kind kind, List<Row> rows, double kl, double cosine) {
    /** One next-token candidate. */
    public record Row(long id, String token, double clean, double ablated) {
    }

    public OutputComparison {
        rows = List.copyOf(rows);
    }

    public static OutputComparison of(OutputSummary clean, OutputSummary ablated, int top, LongFunction<String> tokenText) {
        float[] a = clean.values().data();
        float[] b = ablated.values().data();
        if (clean.kind() == OutputSummary.Kind.EMBEDDING) {
            return new OutputComparison(clean.kind(), List.of(), Double.NaN, Numerics.cosine(a, b));
        }
        double kl = Numerics.kl(a, b);
        Set<Integer> ids = new LinkedHashSet<>(topIds(a, top));
        ids.addAll(topIds(b, top));
        List<Row> rows = new ArrayList<>();
        for (int id : ids) {
            rows.add(new Row(id, tokenText.apply(id), a[id], b[id]));
        }
        rows.sort(Comparator.comparingDouble(Row::clean).reversed());
        return new OutputComparison(clean.kind(), rows, kl, Double.NaN);
    }

    private static List<Integer> topIds(float[] p, int n) {
        return IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble(i -> -p[i])).limit(n).toList();
    }
}
