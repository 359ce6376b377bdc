package org.headscope.app.cli;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Progress;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;

/** {@code dla}: direct logit attribution of every head at the last position, the final norm frozen. */
public final class DlaCommand implements Command {
    @Override
    public String name() {
        return "dla";
    }

    @Override
    public String usage() {
        return "dla MODEL (--text TEXT | --ids 1,2,3) --answer A [--wrong B] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "direct logit attribution: what each head writes toward the answer (or answer - wrong), final norm frozen";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String answer = args.require("answer");
        String wrong = args.string("wrong", null);
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            HsTokenizer.Tokens t = ModelArgs.tokens(args, m);
            args.rejectUnknown();
            // the command's own checks, for its messages; the analysis resolves the same tokens
            InterpretabilityArgs.token(m, answer, "answer");
            if (wrong != null) {
                InterpretabilityArgs.token(m, wrong, "wrong");
            }
            LogitLens.Dla.Params params = LogitLens.Dla.Params.fromOptions(Options.of(k -> switch (k) {
                case "answer" -> answer;
                case "wrong" -> wrong;
                default -> null;
            }));
            LogitLens.Dla.Result res = ScanIo.cancellable(cancel -> LogitLens.Dla.run(m, t, params, Progress.NONE, cancel));
            LogitLens.Attribution r = res.attribution();
            String prompt = args.string("text", null) != null ? args.string("text", null) : java.util.Arrays.toString(t.ids());
            ScanIo.write(res.toReport(Provenance.of(m, prompt, LogitLens.Dla.METRICS)), dir, err);
            out.printf("logit %s: model %.4f, sum of parts %.4f (heads + embeddings %.4f + MLPs and biases %.4f + norm/unembedding bias %.4f)%n",
                    wrong == null ? "of the answer" : "difference", r.actual(), r.total(), r.embed(), r.other(), r.bias());
            return ExitCode.OK.code();
        }
    }
}
