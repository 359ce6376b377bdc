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

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Logit lens panel's scan: {@link LogitLens#lens} on the prompt, as the CLI's {@code lens}; one row per layer at
 * the last position (layer -1: the embeddings) with its top token, top logit and the answer's rank.
 */
public final class LogitLensScan implements Scan {
    @Override
    public String title() {
        return "Logit lens";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("answer", "answer token", "auto",
                        "The answer whose rank is followed layer by layer (a word, its first token, or #ID); auto: the model's top next token; "
                                + "none: no rank."),
                new Parameter("top", "top k", "5", "Top tokens kept per layer and position (1..100)."));
    }

    @Override
    public String defaultColumn() {
        return "answer_rank";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        HsTokenizer tk = model.requireTokenizer();
        LogitLens.Lens.Params params = LogitLens.Lens.Params.fromOptions(Options.of(v.text()::get));
        return LogitLens.Lens.run(model, tk.encode(prompt), params, progress, cancel)
                .toReport(Provenance.of(model, prompt, LogitLens.Lens.METRICS));
    }

    /** The lens at the last position in words: each layer's top token, and where the answer becomes the top token. */
    @Override
    public String headline(HeadReport report) {
        List<String> tops = new ArrayList<>();
        String first = null;
        boolean ranked = false;
        for (Map<String, Object> row : report.heads()) {
            int layer = ((Number) row.get("layer")).intValue();
            String name = layer < 0 ? "embeddings" : "after layer " + layer;
            String where = layer < 0 ? "at the embeddings" : name;
            tops.add(name + " '" + row.get("top_token") + "'");
            if (row.get("answer_rank") instanceof Number n) {
                ranked = true;
                if (n.intValue() == 0 && first == null) {
                    first = where;
                }
            }
        }
        StringBuilder sb = new StringBuilder("Top token at the last position: ").append(String.join(", ", tops)).append(".");
        if (ranked) {
            sb.append(" The answer '").append(report.parameters().get("answer")).append("' ")
                    .append(first == null ? "is never the top token." : "first becomes the top token " + first + ".");
        }
        return sb.toString();
    }
}
