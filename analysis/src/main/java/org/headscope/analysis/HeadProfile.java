package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.core.Numerics;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What each head does on one prompt, from its attention probabilities A (one run, every layer):
 * <ul>
 * <li>{@code first_token = mean_q A[q,0]}: mass on the first token (BOS or [CLS]), the usual sink;</li>
 * <li>{@code offset = mean_{q >= d} A[q,q-d]}: mass on the token d back (d = 1: previous-token heads);</li>
 * <li>{@code self = mean_q A[q,q]};</li>
 * <li>{@code entropy = mean_q H(A[q,:]) / log(visible keys)} over rows with at least two visible keys
 *     (1 = uniform, 0 = one key).</li>
 * </ul>
 * A quick profile for colouring the head grid; the papers' scans have analyses of their own.
 */
public final class HeadProfile {
    public static final String NAME = "profile";
    public static final Map<String, String> METRICS = Map.of("first_token", "headscope-profile-v1", "offset", "headscope-profile-v1",
            "self", "headscope-profile-v1", "entropy", "headscope-profile-v1");

    /** @param offset the distance d back that {@code offset} scores (1: previous-token heads) */
    public record Params(int offset) {
        public static final Params DEFAULTS = new Params(1);

        public Params {
            if (offset < 0) {
                throw new IllegalArgumentException("parameter 'offset' must be 0 or more, got " + offset);
            }
        }

        public Params withOffset(int d) {
            return new Params(d);
        }
    }

    /** One row per head (layer, head, first_token, offset, self, entropy) and the tokens of the run. */
    public record Result(Params params, List<Map<String, Object>> heads, List<String> tokens, Map<String, Double> chance) {
        public Result {
            heads = List.copyOf(heads);
            tokens = List.copyOf(tokens);
            chance = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(chance));
        }

        public HeadReport toReport(Provenance provenance) {
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("offset", this.params.offset());
            Map<String, Object> sections = new LinkedHashMap<>();
            sections.put("tokens", tokens);
            // what a head attending evenly to every key it can see scores, by column and by the figure drawing it
            Map<String, Object> levels = new LinkedHashMap<>(chance);
            levels.put(FIRST_TOKEN_FIGURE, chance.get("first_token"));
            sections.put("chance_levels", levels);
            return new HeadReport(NAME, params, provenance, heads, sections,
                    List.of(HeadReport.headHeatmap(FIRST_TOKEN_FIGURE, "first_token", heads),
                            HeadReport.rankedBars("Attention " + this.params.offset() + " back", "offset", heads, 12)));
        }
    }

    private static final String FIRST_TOKEN_FIGURE = "Mass on the first token";

    private HeadProfile() {
    }

    /**
     * The chance level of each column for a prompt of {@code t} queries over {@code k} keys: the profile of a head
     * that attends evenly to every key it can see ({@code 1/(q+1)} causal, {@code 1/k} otherwise), computed by the
     * same code as the heads' own profile. Entropy's chance level is 1 by its normalisation.
     */
    public static Map<String, Double> chance(int t, int k, int offset, boolean causal) {
        Map<String, Object> row = profile(0, 0, Numerics.evenAttention(t, k, causal), offset, causal);
        Map<String, Double> out = new LinkedHashMap<>();
        for (String c : List.of("first_token", "offset", "self", "entropy")) {
            out.put(c, (Double) row.get(c));
        }
        return out;
    }

    /** One run with every layer's probabilities tapped; progress per layer profiled. */
    public static Result run(HookedModel model, Input input, Params params, Progress progress, CancelToken cancel) {
        RunResult r = model.session(TapSet.of(TapKind.PROBS, Heads.allLayers(model)), HookSet.NONE).run(input.request(), cancel);
        List<Map<String, Object>> heads = new ArrayList<>();
        for (int l = 0; l < model.layers(); l++) {
            FloatTensor layer = r.tap(TapKind.PROBS, l).slice(0);
            for (int h = 0; h < layer.dim(0); h++) {
                heads.add(profile(l, h, layer.slice(h), params.offset(), model.isCausal()));
            }
            progress.update(l + 1, model.layers(), "layer " + l);
        }
        FloatTensor any = r.tap(TapKind.PROBS, 0);
        return new Result(params, heads, List.of(input.tokens().strings()),
                chance(any.dim(2), any.dim(3), params.offset(), model.isCausal()));
    }

    static Map<String, Object> profile(int layer, int head, FloatTensor a, int d, boolean causal) {
        int t = a.dim(0);
        int k = a.dim(1);
        double first = 0;
        double self = 0;
        double offset = 0;
        int offsetRows = 0;
        double entropy = 0;
        int entropyRows = 0;
        for (int q = 0; q < t; q++) {
            first += a.get(q, 0);
            self += a.get(q, q);
            if (q >= d) {
                offset += a.get(q, q - d);
                offsetRows++;
            }
            int visible = causal ? q + 1 : k;
            if (visible >= 2) {
                double hq = 0;
                for (int j = 0; j < visible; j++) {
                    double p = a.get(q, j);
                    if (p > 0) {
                        hq -= p * Math.log(p);
                    }
                }
                entropy += hq / Math.log(visible);
                entropyRows++;
            }
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("layer", layer);
        row.put("head", head);
        row.put("first_token", first / t);
        row.put("offset", offsetRows == 0 ? Double.NaN : offset / offsetRows);
        row.put("self", self / t);
        row.put("entropy", entropyRows == 0 ? Double.NaN : entropy / entropyRows);
        return row;
    }
}
