package org.headscope.app.patching;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
        long[] ids = tk.encode(prompt).ids();
        String spec = v.string("answers");
        long a;
        long b = -1;
        if (spec.equals("auto")) {
            a = PromptPair.top(model, ids, cancel);
        } else {
            String[] parts = spec.split(",");
            if (parts.length > 2) {
                throw new IllegalArgumentException("answers: write A, A,B or auto");
            }
            a = PromptPair.first(tk, parts[0]);
            if (parts.length == 2) {
                b = PromptPair.first(tk, parts[1]);
            }
        }
        LogitLens lens = new LogitLens(model);
        LogitLens.Attribution r = lens.attribute(ids, a, b, cancel);
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("answer", tk.tokenString(a));
        params.put("wrong", b < 0 ? "none (the answer's logit)" : tk.tokenString(b));
        return LogitLens.dlaReport(r, Provenance.of(model, prompt, LogitLens.DLA_METRICS), params,
                lens.unembedding().norm() + "; unembedding " + lens.unembedding().unembed());
    }
}
