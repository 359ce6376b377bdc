package org.headscope.app.cli;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code lens}: the logit lens, the residual after each layer through the final norm and unembedding. */
final class LensCommand implements Command {
    @Override
    public String name() {
        return "lens";
    }

    @Override
    public String usage() {
        return "lens MODEL (--text TEXT | --ids 1,2,3) [--answer A] [--top 5] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "logit lens: top tokens per layer and position and the answer's rank, layers x positions";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String answer = args.string("answer", null);
        int top = args.integer("top", 5, 1, 100, "the number of top tokens");
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            HsTokenizer.Tokens t = ModelArgs.tokens(args, m);
            args.rejectUnknown();
            long a = answer == null ? -1 : InterpretabilityArgs.token(m, answer, "answer");
            LogitLens lens = new LogitLens(m);
            FloatTensor logits = ScanIo.cancellable(cancel -> lens.lens(t.ids(), cancel));
            List<LogitLens.LensCell> cells = LogitLens.cells(logits, a, top);
            int positions = t.size();
            List<Map<String, Object>> table = new ArrayList<>();
            List<List<Double>> ranks = new ArrayList<>();
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int r = 0; r < logits.dim(0); r++) {
                ranks.add(new ArrayList<>());
            }
            for (LogitLens.LensCell c : cells) {
                Map<String, Object> cell = new LinkedHashMap<>();
                cell.put("row", c.row() == 0 ? "embeddings" : "after layer " + (c.row() - 1));
                cell.put("position", c.position());
                cell.put("token", t.strings()[c.position()]);
                List<String> words = new ArrayList<>();
                for (long id : c.top()) {
                    words.add(m.tokenizer().map(tk -> tk.tokenString(id)).orElse("#" + id));
                }
                cell.put("top", words);
                cell.put("top_logits", c.topLogits());
                if (a >= 0) {
                    cell.put("answer_rank", c.answerRank());
                    ranks.get(c.row()).add((double) c.answerRank());
                }
                table.add(cell);
                if (c.position() == positions - 1) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("layer", c.row() - 1);
                    row.put("head", -1);
                    row.put("top_token", words.get(0));
                    row.put("top_logit", (double) c.topLogits()[0]);
                    if (a >= 0) {
                        row.put("answer_rank", (double) c.answerRank());
                    }
                    rows.add(row);
                }
            }
            Map<String, Object> sections = new LinkedHashMap<>();
            sections.put("rows", "row 0 is the embeddings, row l+1 the residual after layer l (the last equals the model's logits)");
            sections.put("final_norm", lens.unembedding().norm() + "; unembedding " + lens.unembedding().unembed());
            sections.put("cells", table);
            sections.put("departures", List.of("The lens applies the model's own final norm to each layer's residual (its own scale, "
                    + "not frozen); no tuned lens."));
            List<HeadReport.Figure> figures = new ArrayList<>();
            if (a >= 0) {
                List<String> labels = new ArrayList<>(List.of(t.strings()));
                figures.add(new HeadReport.Figure("heatmap", "Rank of '" + answer + "' by layer (row 0: embeddings) and position",
                        "position", "layer", labels, List.of("answer_rank"), ranks));
            }
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("answer", answer == null ? "none" : answer);
            params.put("top", top);
            String prompt = args.string("text", null) != null ? args.string("text", null) : java.util.Arrays.toString(t.ids());
            ScanIo.write(new HeadReport(LogitLens.LENS, params, Provenance.of(m, prompt, LogitLens.LENS_METRICS), rows, sections, figures),
                    dir, err);
            for (Map<String, Object> r : rows) {
                out.printf("%s: %s%s%n", ((Integer) r.get("layer")) < 0 ? "embeddings" : "after layer " + r.get("layer"), r.get("top_token"),
                        a >= 0 ? " (answer rank " + ((Double) r.get("answer_rank")).intValue() + ")" : "");
            }
            return Cli.OK;
        }
    }
}
