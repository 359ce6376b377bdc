package org.headscope.analysis.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a report column means, in words, with its unit and how the panel shows it (ticks for flags, % for shares).
 * Column tooltips and the panels' summaries read these; {@code docs/METRICS.md} holds the full definitions.
 */
public final class MetricDefinitions {
    /** How a column's values are shown. */
    public enum Kind { NUMBER, PERCENT, FLAG }

    /** A column's meaning, unit and kind. */
    public record Definition(String text, String unit, Kind kind) {
    }

    private static final Map<String, Definition> KNOWN = Map.ofEntries(
            Map.entry("first_token", new Definition("mean attention on the first token (key 0) over the prompt's queries", "share of attention", Kind.PERCENT)),
            Map.entry("previous_token", new Definition("mean attention on the token just before each query", "share of attention", Kind.PERCENT)),
            Map.entry("self", new Definition("mean attention of each query on itself", "share of attention", Kind.PERCENT)),
            Map.entry("offset", new Definition("mean attention on the key a fixed offset before the query", "share of attention", Kind.PERCENT)),
            Map.entry("entropy", new Definition("mean entropy of the attention rows", "nats", Kind.NUMBER)),
            Map.entry("colmean_k0", new Definition("colmean at key 0: mean attention the first token receives, sum_q A[q,0] / T (Gu et al.)", "share of attention", Kind.PERCENT)),
            Map.entry("sink_head", new Definition("1 when the head's mean colmean at key 0 over the samples exceeds eps (HeadScope's summary)", "", Kind.FLAG)),
            Map.entry("row_entropy", new Definition("Active-Dormant: mean normalised row entropy H(A[q,:]) / log(q+1); low = dormant", "0..1", Kind.NUMBER)),
            Map.entry("col_entropy", new Definition("Active-Dormant: largest normalised column entropy", "0..1", Kind.NUMBER)),
            Map.entry("dormant", new Definition("1 when both entropies are under HeadScope's thresholds", "", Kind.FLAG)),
            Map.entry("retrieval_score", new Definition("Wu et al.: share of generated answer tokens the head copies by attending (top-1) to that token inside the needle", "share of answer tokens", Kind.PERCENT)),
            Map.entry("retrieval_head", new Definition("1 when the retrieval score is at least 0.1 (Wu et al.'s threshold)", "", Kind.FLAG)),
            Map.entry("echo", new Definition("attention on the earlier copy of the current token in a repeated random sequence", "share of attention", Kind.PERCENT)),
            Map.entry("induction", new Definition("attention on the token after the earlier copy of the current token (induction)", "share of attention", Kind.PERCENT)),
            Map.entry("induction_tl", new Definition("TransformerLens's induction score: mean attention on the offset-(n-1) diagonal of a repeated sequence", "share of attention", Kind.PERCENT)),
            Map.entry("duplicate_token", new Definition("attention on earlier copies of the same token", "share of attention", Kind.PERCENT)),
            Map.entry("vhd", new Definition("vision-aware head divergence: how far the head's output moves when the image is removed (after the outlier filter)", "", Kind.NUMBER)),
            Map.entry("vhd_raw", new Definition("VHD before the outlier filter", "", Kind.NUMBER)),
            Map.entry("vhd_after_vhr", new Definition("VHD after reinforcing the vision-aware heads (VHR)", "", Kind.NUMBER)),
            Map.entry("vhd_raw_after_vhr", new Definition("VHD before the outlier filter, after VHR", "", Kind.NUMBER)),
            Map.entry("vision_aware", new Definition("1 when the head's VHD is above its layer's median", "", Kind.FLAG)),
            Map.entry("reinforced", new Definition("1 when VHR scales this head's output by alpha", "", Kind.FLAG)),
            Map.entry("text_norm", new Definition("norm of the head's output on the text-only prompt", "L2 norm", Kind.NUMBER)),
            Map.entry("loss_delta", new Definition("teacher-forced loss on the target, ablated minus clean: positive when the head helped, negative when removing it helps", "nats", Kind.NUMBER)),
            Map.entry("logit_diff_delta", new Definition("logit difference between the two answers after the prompt, ablated minus clean", "logits", Kind.NUMBER)),
            Map.entry("cosine_distance", new Definition("1 - cosine of the mean-pooled output embeddings, clean vs ablated (encoders)", "0..2", Kind.NUMBER)),
            Map.entry("sink_rate_k0", new Definition("percentage of samples on which key 0 is a sink for this head (colmean > eps)", "% of samples", Kind.NUMBER)),
            Map.entry("hidden_sinks_per_prompt", new Definition("ACT: sink keys besides the first detected one, per prompt", "keys", Kind.NUMBER)),
            Map.entry("loss_change", new Definition("change of the target's loss when this head is ablated (positive: the head helped)", "nats", Kind.NUMBER)),
            Map.entry("kl", new Definition("KL(clean || ablated) of the next-token distribution", "nats", Kind.NUMBER)),
            Map.entry("logit_diff_change", new Definition("change of the logit difference between the answers when ablated", "logits", Kind.NUMBER)),
            Map.entry("amp_importance", new Definition("AMP importance: mean attention-weighted contribution of the head", "", Kind.NUMBER)),
            Map.entry("answer_rank", new Definition("logit lens: the answer's rank at the last position after this layer (0 = top; layer -1: the embeddings)", "rank", Kind.NUMBER)),
            Map.entry("top_logit", new Definition("logit lens: the top token's logit at the last position after this layer", "logits", Kind.NUMBER)),
            Map.entry("js_mean", new Definition("variant damage: Jensen-Shannon divergence of the head's attention rows, variant vs open model, mean over rows", "nats", Kind.NUMBER)),
            Map.entry("js_max", new Definition("variant damage: Jensen-Shannon divergence of the head's attention rows, max over rows", "nats", Kind.NUMBER)),
            Map.entry("attn_max_abs", new Definition("variant damage: largest |attention difference| of the head", "probability", Kind.NUMBER)),
            Map.entry("attn_mean_abs", new Definition("variant damage: mean |attention difference| over the visible (query, key) pairs", "probability", Kind.NUMBER)),
            Map.entry("z_max_abs", new Definition("variant damage: largest |head output (z) difference|", "", Kind.NUMBER)),
            Map.entry("z_mean_abs", new Definition("variant damage: mean |head output (z) difference|", "", Kind.NUMBER)),
            Map.entry("max_abs_change", new Definition("largest change of any attention probability of the head", "probability", Kind.NUMBER)));

    private MetricDefinitions() {
    }

    /** The definition of a column; unknown columns are described by name and the report they come from. */
    public static Definition of(String column, List<Object> values) {
        Definition d = KNOWN.get(column);
        if (d != null) {
            return d;
        }
        String c = column.toLowerCase(Locale.ROOT);
        boolean unit = values.stream().allMatch(v -> !(v instanceof Number n) || Double.isNaN(n.doubleValue())
                || (n.doubleValue() >= 0 && n.doubleValue() <= 1));
        boolean flags = !values.isEmpty() && values.stream().allMatch(v -> v instanceof Boolean || (v instanceof Number n
                && (n.doubleValue() == 0 || n.doubleValue() == 1)));
        if (flags && (c.startsWith("is_") || c.endsWith("_head") || c.contains("selected") || c.contains("sink") || c.contains("dormant"))) {
            return new Definition(column + ": a yes/no flag of the report (see docs/METRICS.md)", "", Kind.FLAG);
        }
        if (unit && (c.contains("rate") || c.contains("share") || c.contains("accuracy") || c.contains("fraction") || c.contains("mass"))) {
            return new Definition(column + ": a share of the report (see docs/METRICS.md)", "share", Kind.PERCENT);
        }
        return new Definition(column + ": a score of the report (see docs/METRICS.md)", "", Kind.NUMBER);
    }

    /** A value as the table shows it: a tick for a set flag, a percentage for shares, 4 significant digits otherwise. */
    public static String format(Object v, Kind kind) {
        if (v == null || (v instanceof Double d && d.isNaN())) {
            return "";
        }
        return switch (kind) {
            case FLAG -> (v instanceof Boolean b && b) || (v instanceof Number n && n.doubleValue() != 0) ? "\u2713" : "";
            case PERCENT -> v instanceof Number n ? String.format(Locale.ROOT, "%.1f%%", 100 * n.doubleValue()) : v.toString();
            case NUMBER -> v instanceof Number n ? (n instanceof Integer || n instanceof Long ? n.toString()
                    : String.format(Locale.ROOT, "%.4g", n.doubleValue())) : v.toString();
        };
    }
}
