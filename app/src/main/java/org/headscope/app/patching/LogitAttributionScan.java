package org.headscope.app.patching;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Progress;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.util.List;

/** The Logit attribution panel's scan: {@link LogitLens#attribute} on the prompt, as the CLI's {@code dla}. */
public final class LogitAttributionScan implements Scan {
    @Override
    public String title() {
        return "Logit attribution";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(new Parameter("answers", "answer[,wrong]", "auto",
                "The answer token, or answer,wrong for a logit difference; auto: the model's top next token."));
    }

    @Override
    public String defaultColumn() {
        return "dla";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        HsTokenizer tk = model.requireTokenizer();
        LogitLens.Dla.Params params = LogitLens.Dla.Params.fromOptions(Options.of(v.text()::get));
        return LogitLens.Dla.run(model, tk.encode(prompt), params, progress, cancel)
                .toReport(Provenance.of(model, prompt, LogitLens.Dla.METRICS));
    }
}
