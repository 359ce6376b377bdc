package org.headscope.app.sinks;

import java.util.List;

import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.Progress;
import org.headscope.analysis.SinkScan;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

/** The Sinks panel's scan: {@link SinkScan} with the papers' defaults, on haystack probes as the CLI's {@code sinks}. */
public final class SinksScan implements Scan {
    private static final SinkScan.Params D = SinkScan.Params.DEFAULTS;

    @Override
    public String title() {
        return "Sinks";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("eps", "\u03b5 (sink threshold)", Double.toString(D.eps()),
                        "A head sinks on key k when its mean received attention exceeds \u03b5 (Gu et al., ICLR'25: 0.3)."),
                new Parameter("tokens", "tokens per probe", Integer.toString(D.tokens()),
                        "Length of each haystack probe; the sink rate is read over the first tokens (paper: 64)."),
                new Parameter("prompts", "probes", "16", "How many haystack probes are averaged."),
                new Parameter("heat_key", "heat key", Integer.toString(D.heatKey()),
                        "The key whose mean received attention ranks the heads (0: the first token)."),
                new Parameter("tau", "\u03c4 (massive activation)", Double.toString(D.tau()),
                        "A residual entry is massive when its RMS-normalised value exceeds \u03c4 (VAR, ICLR'25: 20)."),
                new Parameter("sink_rule", "hidden-sink rule", D.sinkRule().id(),
                        "first-detected: drop each head's first detected sink wherever it is (ACT code); key0: drop key 0."),
                new Parameter("row_entropy", "row entropy rows", D.rowEntropy().id(),
                        "all-rows: mean over every row, row 0 as 0 (Active-Dormant code); skip-row0: rows 1.. only."));
    }

    @Override
    public String defaultColumn() {
        return "colmean_k" + D.heatKey();
    }

    @Override
    public boolean usesPrompt() {
        return false;
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) throws Exception {
        int tokens = v.integer("tokens");
        int prompts = v.integer("prompts");
        if (prompts < 1) {
            throw new IllegalArgumentException("parameter 'prompts' must be at least 1, got " + prompts);
        }
        SinkScan.Params params = SinkScan.Params.fromOptions(Options.of(v.text()::get));
        HsTokenizer tk = model.requireTokenizer();
        List<HsTokenizer.Tokens> probes = org.headscope.app.model.BundledTexts.haystackProbes(tk, tokens, prompts, 7).stream().map(tk::encode).toList();
        SinkScan.Result r = SinkScan.run(model, SinkScan.Prompts.texts(model, "haystack", probes), params, progress, cancel);
        return r.toReport(Provenance.of(model, prompts + " prompts (haystack), first " + tokens + " tokens", SinkScan.metrics(params)));
    }
}
