package org.headscope.app.patching;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
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
        HsTokenizer.Tokens t = tk.encode(prompt);
        if (t.ids().length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        int top = v.integer("top");
        if (top < 1 || top > 100) {
            throw new IllegalArgumentException("top k must be 1..100, got " + top);
        }
        String spec = v.string("answer");
        long answer;
        String label;
        if (spec.isEmpty() || spec.equals("none")) {
            answer = -1;
            label = "none";
        } else if (spec.equals("auto")) {
            answer = PromptPair.top(model, t.ids(), cancel);
            label = tk.tokenString(answer);
        } else {
            answer = token(tk, spec);
            label = spec;
        }
        LogitLens lens = new LogitLens(model);
        FloatTensor logits = lens.lens(t.ids(), cancel);
        if (answer >= logits.dim(2) || answer < -1) {
            throw new IllegalArgumentException("answer token id " + answer + " is outside the vocabulary 0.." + (logits.dim(2) - 1));
        }
        return LogitLens.lensReport(logits, answer, label, top, t.strings(), tk::tokenString,
                Provenance.of(model, prompt, LogitLens.LENS_METRICS), lens.unembedding().norm() + "; unembedding " + lens.unembedding().unembed());
    }

    /** A word's first token, or {@code #ID}, as the {@code lens} command reads {@code --answer}. */
    static long token(HsTokenizer tk, String spec) {
        if (spec.startsWith("#")) {
            try {
                return Long.parseLong(spec.substring(1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("answer: '" + spec + "' is not a token id; write #ID, e.g. #42");
            }
        }
        return PromptPair.first(tk, spec);
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
