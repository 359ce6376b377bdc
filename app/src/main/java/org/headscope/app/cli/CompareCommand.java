package org.headscope.app.cli;

import org.headscope.analysis.Progress;
import org.headscope.analysis.VariantCompare;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;

/** {@code compare}: per-head damage of a deployed variant (int8, fp16) against its float32 export. */
public final class CompareCommand implements Command {
    @Override
    public String name() {
        return "compare";
    }

    @Override
    public String usage() {
        return "compare MODEL VARIANT (--text TEXT | --ids 1,2,3) --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "per-head damage of a variant export: attention and head-output differences, JS divergence of rows";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String variant = args.positional(1, "VARIANT (the second export: a .onnx file, a model folder or a bundled name)");
        try (OutputTarget dir = ScanIo.out(args); HookedModel a = ModelArgs.open(args);
             HookedModel b = HookedModel.open(ModelArgs.resolve(variant), DevicePreference.parse(args.string("device", "auto")))) {
            HsTokenizer.Tokens t = ModelArgs.tokens(args, a);
            args.rejectUnknown();
            VariantCompare.Params params = VariantCompare.Params.fromOptions(Options.of(k -> null));
            VariantCompare.Result r = ScanIo.cancellable(cancel -> VariantCompare.run(a, b, t.ids(), params, Progress.NONE, cancel));
            String prompt = args.string("text", null) != null ? args.string("text", null) : java.util.Arrays.toString(t.ids());
            ScanIo.write(r.toReport(Provenance.of(a, prompt, VariantCompare.METRICS)), dir, err);
            VariantCompare.HeadDamage worst = r.worst();
            out.printf("most disturbed head: %d.%d (JS %.3g nats, max |dA| %.3g, mean |dz| %.3g)%n", worst.layer(), worst.head(),
                    worst.jsMean(), worst.attnMaxAbs(), worst.zMeanAbs());
            return ExitCode.OK.code();
        }
    }
}
