package org.headscope.app.cli;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

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
            long a = InterpretabilityArgs.token(m, answer, "answer");
            long b = wrong == null ? -1 : InterpretabilityArgs.token(m, wrong, "wrong");
            LogitLens lens = new LogitLens(m);
            LogitLens.Attribution r = ScanIo.cancellable(cancel -> lens.attribute(t.ids(), a, b, cancel));
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("answer", answer);
            params.put("wrong", wrong == null ? "none (the answer's logit)" : wrong);
            params.put("position", "last");
            String note = lens.unembedding().norm() + "; unembedding " + lens.unembedding().unembed();
            String prompt = args.string("text", null) != null ? args.string("text", null) : java.util.Arrays.toString(t.ids());
            ScanIo.write(LogitLens.dlaReport(r, Provenance.of(m, prompt, LogitLens.DLA_METRICS), params, note), dir, err);
            out.printf("logit %s: model %.4f, sum of parts %.4f (heads + embeddings %.4f + MLPs and biases %.4f + norm/unembedding bias %.4f)%n",
                    wrong == null ? "of the answer" : "difference", r.actual(), r.total(), r.embed(), r.other(), r.bias());
            return ExitCode.OK.code();
        }
    }
}
