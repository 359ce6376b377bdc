package org.headscope.app.patching;

import org.headscope.analysis.Progress;
import org.headscope.analysis.VariantCompare;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.model.ModelLocation;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The Variant damage panel's scan: {@link VariantCompare} of the open model against another export of it (int8,
 * float16, an optimised graph) on the prompt, as the CLI's {@code compare}; the variant is opened for the run and
 * closed after it.
 */
public final class VariantDamageScan implements Scan {
    @Override
    public String title() {
        return "Variant damage";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(new Parameter("variant", "variant export", "",
                "The other export of the open model to compare with it: a .onnx file, a model folder or a bundled name "
                        + "(e.g. the int8 or float16 export of the same model)."));
    }

    @Override
    public java.util.Set<String> perModelParameters() {
        return java.util.Set.of("variant");
    }

    @Override
    public String defaultColumn() {
        return "js_mean";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        String spec = v.text().getOrDefault("variant", "").strip();
        if (spec.isEmpty()) {
            throw new IllegalArgumentException("give the path of the variant export to compare with the open model "
                    + "(a .onnx file or model folder of the same model, e.g. its int8 export)");
        }
        Path path;
        try {
            path = ModelLocation.resolve(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("variant: " + e.getMessage());
        }
        long[] ids = model.requireTokenizer().encode(prompt).ids();
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        progress.update(0, 2, "opening the variant");
        try (HookedModel b = HookedModel.open(path, DevicePreference.AUTO)) {
            sameModel(model, b, prompt, ids);
            progress.update(1, 2, "comparing");
            VariantCompare.Result r = VariantCompare.run(model, b, ids, VariantCompare.Params.fromOptions(Options.of(v.text()::get)),
                    progress, cancel);
            progress.update(2, 2, "compared");
            return r.toReport(Provenance.of(model, prompt, VariantCompare.METRICS));
        }
    }

    /** Refuses a variant that is not an export of the open model: other heads, vocabulary or tokenization. */
    private static void sameModel(HookedModel a, HookedModel b, String prompt, long[] ids) {
        String fix = "Give an export of the open model (the same model in another precision or graph form).";
        if (a.layers() != b.layers() || a.heads() != b.heads()) {
            throw new ModelException("The variant has " + b.layers() + " layers x " + b.heads() + " heads and the open model "
                    + a.layers() + " x " + a.heads() + "; it is not an export of the same model.", fix);
        }
        long va = ModelLocation.vocabularySize(a);
        long vb = ModelLocation.vocabularySize(b);
        if (va > 0 && vb > 0 && va != vb) {
            throw new ModelException("The variant's vocabulary has " + vb + " tokens and the open model's " + va
                    + "; it is not an export of the same model.", fix);
        }
        if (b.tokenizer().isPresent() && !Arrays.equals(b.tokenizer().get().encode(prompt).ids(), ids)) {
            throw new ModelException("The variant's tokenizer reads the prompt as other tokens than the open model's; "
                    + "it is not an export of the same model.", fix);
        }
    }
}
