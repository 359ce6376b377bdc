package org.headscope.app.cli;

import org.headscope.analysis.VariantCompare;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
            List<VariantCompare.HeadDamage> d = ScanIo.cancellable(cancel -> VariantCompare.compare(a, b, t.ids(), cancel));
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("variant", b.model().path().getFileName().toString());
            params.put("variant_sha256", b.model().sha256());
            params.put("variant_producer", b.model().producer());
            String prompt = args.string("text", null) != null ? args.string("text", null) : java.util.Arrays.toString(t.ids());
            ScanIo.write(VariantCompare.toReport(d, Provenance.of(a, prompt, VariantCompare.METRICS), params), dir, err);
            VariantCompare.HeadDamage worst = d.stream().max(java.util.Comparator.comparingDouble(VariantCompare.HeadDamage::jsMean)).orElseThrow();
            out.printf("most disturbed head: %d.%d (JS %.3g nats, max |dA| %.3g, mean |dz| %.3g)%n", worst.layer(), worst.head(),
                    worst.jsMean(), worst.attnMaxAbs(), worst.zMeanAbs());
            return ExitCode.OK.code();
        }
    }
}
