package org.headscope.app.cli;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Progress;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** {@code lens}: the logit lens, the residual after each layer through the final norm and unembedding. */
public final class LensCommand implements Command {
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
            LogitLens.Lens.Params params = LogitLens.Lens.Params.fromOptions(Options.of(k -> k.equals("answer") ? answer : null)).withTop(top);
            LogitLens.Lens.Result res = ScanIo.cancellable(cancel -> LogitLens.Lens.run(m, t, params, Progress.NONE, cancel));
            String prompt = args.string("text", null) != null ? args.string("text", null) : java.util.Arrays.toString(t.ids());
            HeadReport report = res.toReport(Provenance.of(m, prompt, LogitLens.Lens.METRICS));
            ScanIo.write(report, dir, err);
            List<Map<String, Object>> rows = report.heads();
            for (Map<String, Object> r : rows) {
                out.printf("%s: %s%s%n", ((Integer) r.get("layer")) < 0 ? "embeddings" : "after layer " + r.get("layer"), r.get("top_token"),
                        a >= 0 ? " (answer rank " + ((Double) r.get("answer_rank")).intValue() + ")" : "");
            }
            return ExitCode.OK.code();
        }
    }
}
