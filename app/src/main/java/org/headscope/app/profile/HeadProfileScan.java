package org.headscope.app.profile;

import org.headscope.app.attention.AttentionRun;
import org.headscope.app.attention.AttentionRunner;
import org.headscope.app.attention.PromptInput;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;

/**
 * What each head does on the workbench's prompt, from its attention probabilities A (one run, every layer):
 * <ul>
 * <li>{@code first_token = mean_q A[q,0]}: mass on the first token (BOS or [CLS]), the usual sink;</li>
 * <li>{@code offset = mean_{q >= d} A[q,q-d]}: mass on the token d back (d = 1: previous-token heads);</li>
 * <li>{@code self = mean_q A[q,q]};</li>
 * <li>{@code entropy = mean_q H(A[q,:]) / log(visible keys)} over rows with at least two visible keys
 *     (1 = uniform, 0 = one key).</li>
 * </ul>
 * A quick profile for colouring the head grid; the papers' scans have panels of their own.
 */
public final class HeadProfileScan implements Scan {
    static final Map<String, String> METRICS = Map.of("first_token", "headscope-profile-v1", "offset", "headscope-profile-v1",
            "self", "headscope-profile-v1", "entropy", "headscope-profile-v1");

    @Override
    public String title() {
        return "Head profile";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(new Parameter("offset", "offset d", "1",
                "Score attention to the token d positions back; 1 finds previous-token heads."));
    }

    @Override
    public String defaultColumn() {
        return "first_token";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values values, Progress progress, CancelToken cancel) {
        int d = values.integer("offset");
        if (d < 0) {
            throw new IllegalArgumentException("parameter 'offset' must be 0 or more, got " + d);
        }
        HsTokenizer.Tokens tokens = AttentionRunner.tokenize(model, prompt);
        AttentionRun run = AttentionRunner.run(model, "", PromptInput.of(model, tokens, null), Intervention.NONE, cancel);
        List<Map<String, Object>> heads = new ArrayList<>();
        for (int l = 0; l < run.layers(); l++) {
            for (int h = 0; h < run.heads(); h++) {
                heads.add(profile(l, h, run.map(l, h, false), d, model.isCausal()));
            }
            progress.update(l + 1, run.layers(), "layer " + l);
        }
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("offset", d);
        return new HeadReport("profile", params, Provenance.of(model, prompt, METRICS), heads,
                Map.of("tokens", List.of(tokens.strings())),
                List.of(HeadReport.headHeatmap("Mass on the first token", "first_token", heads),
                        HeadReport.rankedBars("Attention " + d + " back", "offset", heads, 12)));
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
