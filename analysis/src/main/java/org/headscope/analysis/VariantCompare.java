package org.headscope.analysis;

import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-head damage of a deployed variant: two exports of one model (float32 against int8 or float16) run on the same
 * tokens, and for every head how far its attention and its output moved: max and mean absolute difference of the
 * probabilities and of z, and the Jensen-Shannon divergence of each attention row (mean and max over rows).
 */
public final class VariantCompare {
    public static final String NAME = "compare";
    public static final Map<String, String> METRICS = Metrics.ordered(
            "attn_max_abs", "headscope-v1: max over (query, key) of |A_b - A_a|",
            "attn_mean_abs", "headscope-v1: mean over the visible (query, key) pairs of |A_b - A_a| (causal: key <= query)",
            "z_max_abs", "headscope-v1: max over (position, dim) of |z_b - z_a|",
            "z_mean_abs", "headscope-v1: mean over (position, dim) of |z_b - z_a|",
            "js_mean", "headscope-v1: mean over query rows of JS(A_a[q,:], A_b[q,:]) in nats (natural log)",
            "js_max", "headscope-v1: max over query rows of the same");

    /** One head's numbers; see {@link #METRICS}. */
    public record HeadDamage(int layer, int head, double attnMaxAbs, double attnMeanAbs, double zMaxAbs, double zMeanAbs,
                             double jsMean, double jsMax) {
    }

    private VariantCompare() {
    }

    /**
     * The comparison has no settings of its own: every head, every row, the measures of {@link #METRICS}. The record
     * keeps the shape every analysis has (the variant is what it runs on, not a parameter).
     */
    public record Params() {
        public static final Params DEFAULTS = new Params();
        public static final List<String> OPTIONS = List.of();

        /** The recipe the {@code compare} command and the Variant damage panel share: there is nothing to read. */
        public static Params fromOptions(Options options) {
            return DEFAULTS;
        }
    }

    /** Every head's damage and the variant it was measured on, as its report names it. */
    public record Result(Params params, List<HeadDamage> heads, String variant, String variantSha256, String variantProducer) {
        public Result {
            heads = List.copyOf(heads);
        }

        /** The head the variant disturbs most (largest mean JS divergence of its rows). */
        public HeadDamage worst() {
            return heads.stream().max(java.util.Comparator.comparingDouble(HeadDamage::jsMean)).orElseThrow();
        }

        public HeadReport toReport(Provenance provenance) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("variant", variant);
            p.put("variant_sha256", variantSha256);
            p.put("variant_producer", variantProducer);
            return VariantCompare.toReport(heads, provenance, p);
        }
    }

    /** {@link #compare} of the open model and its {@code variant} on the prompt's tokens. */
    public static Result run(HookedModel model, HookedModel variant, long[] ids, Params params, Progress progress, CancelToken cancel) {
        List<HeadDamage> d = compare(model, variant, ids, cancel);
        return new Result(params, d, variant.model().path().getFileName().toString(), variant.model().sha256(), variant.model().producer());
    }

    public static List<HeadDamage> compare(HookedModel a, HookedModel b, long[] ids, CancelToken cancel) {
        if (a.layers() != b.layers() || a.heads() != b.heads()) {
            throw new ModelException("The two models have " + a.layers() + " x " + a.heads() + " and " + b.layers() + " x " + b.heads()
                    + " heads; a comparison needs two exports of the same model.", "Open two exports of one model.");
        }
        boolean causal = a.isCausal();
        List<Integer> all = java.util.stream.IntStream.range(0, a.layers()).boxed().toList();
        TapSet taps = TapSet.of(TapKind.PROBS, all).with(TapKind.HEAD_OUTPUT, all);
        RunResult ra = a.session(taps, HookSet.NONE).run(RunRequest.tokens(ids), cancel);
        cancel.check();
        RunResult rb = b.session(taps, HookSet.NONE).run(RunRequest.tokens(ids), cancel);
        List<HeadDamage> out = new ArrayList<>();
        for (int l = 0; l < a.layers(); l++) {
            FloatTensor pa = ra.tap(TapKind.PROBS, l);
            FloatTensor pb = rb.tap(TapKind.PROBS, l);
            FloatTensor za = ra.tap(TapKind.HEAD_OUTPUT, l);
            FloatTensor zb = rb.tap(TapKind.HEAD_OUTPUT, l);
            for (int h = 0; h < a.heads(); h++) {
                float[] x = pa.slice(0, h).data();
                float[] y = pb.slice(0, h).data();
                int t = pa.dim(2);
                int k = pa.dim(3);
                double max = 0;
                double sum = 0;
                long count = 0;
                double jsSum = 0;
                double jsMax = 0;
                for (int q = 0; q < t; q++) {
                    int visible = causal ? Math.min(k, k - t + q + 1) : k;
                    for (int j = 0; j < visible; j++) {
                        double d = Math.abs(x[q * k + j] - y[q * k + j]);
                        max = Math.max(max, d);
                        sum += d;
                        count++;
                    }
                    double js = js(x, y, q * k, k);
                    jsSum += js;
                    jsMax = Math.max(jsMax, js);
                }
                float[] u = za.slice(0, h).data();
                float[] v = zb.slice(0, h).data();
                double zMax = 0;
                double zSum = 0;
                for (int i = 0; i < u.length; i++) {
                    double d = Math.abs(u[i] - v[i]);
                    zMax = Math.max(zMax, d);
                    zSum += d;
                }
                out.add(new HeadDamage(l, h, max, sum / count, zMax, zSum / u.length, jsSum / t, jsMax));
            }
        }
        return out;
    }

    /** Jensen-Shannon divergence (nats) of two rows stored at {@code off..off+k}. */
    static double js(float[] p, float[] q, int off, int k) {
        double s = 0;
        for (int j = 0; j < k; j++) {
            double a = Math.max(0, p[off + j]);
            double b = Math.max(0, q[off + j]);
            double m = (a + b) / 2;
            if (a > 0) {
                s += 0.5 * a * Math.log(a / m);
            }
            if (b > 0) {
                s += 0.5 * b * Math.log(b / m);
            }
        }
        return Math.max(0, s);
    }

    public static HeadReport toReport(List<HeadDamage> damage, Provenance provenance, Map<String, Object> parameters) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (HeadDamage d : damage) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("layer", d.layer());
            r.put("head", d.head());
            r.put("attn_max_abs", d.attnMaxAbs());
            r.put("attn_mean_abs", d.attnMeanAbs());
            r.put("z_max_abs", d.zMaxAbs());
            r.put("z_mean_abs", d.zMeanAbs());
            r.put("js_mean", d.jsMean());
            r.put("js_max", d.jsMax());
            rows.add(r);
        }
        Map<String, Object> sections = new LinkedHashMap<>();
        sections.put("departures", new Departures().add("One prompt; the numbers are HeadScope's measures of how far each head moved.").list());
        List<HeadReport.Figure> figures = List.of(
                HeadReport.headHeatmap("Jensen-Shannon divergence of attention rows (mean over rows)", "js_mean", rows),
                HeadReport.headHeatmap("Max |attention difference|", "attn_max_abs", rows),
                HeadReport.headHeatmap("Mean |head output difference|", "z_mean_abs", rows),
                HeadReport.rankedBars("Heads the variant disturbs most (JS)", "js_mean", rows, 20));
        return new HeadReport(NAME, parameters, provenance, rows, sections, figures);
    }
}
