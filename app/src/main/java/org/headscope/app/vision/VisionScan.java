package org.headscope.app.vision;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import org.headscope.analysis.Progress;
import org.headscope.analysis.VisionDivergence;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;

/**
 * The Vision panel's scan: {@link VisionDivergence} (CVPR'25) on an image file and the workbench's prompt, as the
 * CLI's {@code vhd}: heads ranked by VHD, the VHR-reinforced heads marked, the answer before and after VHR.
 */
public final class VisionScan implements Scan {
    private static final VisionDivergence.Params D = VisionDivergence.Params.DEFAULTS;

    @Override
    public String title() {
        return "Vision";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("image", "image file", "", "A PNG or JPEG the model's vision encoder reads with the prompt."),
                new Parameter("alpha", "\u03b1 (VHR)", Double.toString(D.alpha()), "Vision-aware heads' z is multiplied by \u03b1 (paper: 2)."),
                new Parameter("top_k", "top-k for T-VHD", Integer.toString(D.topK()), "T-VHD sums each layer's top-k VHD (paper: 8)."),
                new Parameter("first_layer", "VHR first layer", Integer.toString(D.firstLayer()),
                        "First reinforced layer; -1: the first (the paper reinforces the last 14 layers of 7B-13B models)."),
                new Parameter("last_layer", "VHR last layer", Integer.toString(D.lastLayer()), "Last reinforced layer; -1: the last."),
                new Parameter("max_new", "answer tokens", Integer.toString(D.maxNewTokens()), "Greedy tokens generated before and after VHR."));
    }

    @Override
    public String defaultColumn() {
        return "vhd";
    }

    @Override
    public String headline(HeadReport r) {
        if (!(r.sections().get("summary") instanceof java.util.Map<?, ?> m)) {
            return null;
        }
        Object heads = m.get("reinforced_heads");
        int n = heads instanceof java.util.List<?> l ? l.size() : 0;
        return String.format(java.util.Locale.ROOT, "Answer without VHR: '%s'; with VHR (\u03b1 %s on %d heads): '%s'. T-VHD %s before, %s after.",
                String.valueOf(m.get("answer")).trim(), r.parameters().get("alpha"), n, String.valueOf(m.get("answer_with_vhr")).trim(),
                num(m.get("t_vhd")), num(m.get("t_vhd_after_vhr")));
    }

    private static String num(Object v) {
        return v instanceof Number x ? String.format(java.util.Locale.ROOT, "%.4g", x.doubleValue()) : String.valueOf(v);
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) throws Exception {
        return runTyped(model, prompt, v, progress, cancel).report();
    }

    /** The report and the {@link VisionDivergence.Result} (its reinforced heads and alpha are what VHR applies). */
    @Override
    public Outcome runTyped(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) throws Exception {
        if (model.vision().isEmpty()) {
            throw new ModelException(model.manifest().name() + " is not a vision-language model: VHD compares runs with and "
                    + "without the image.", "Open a split VLM export with vision parts in its headscope.json, e.g. shapes-vlm.");
        }
        String file = v.string("image");
        if (file.isEmpty()) {
            throw new ModelException("No image is chosen for the Vision scan.", "Type the path of a PNG or JPEG into 'image file'.");
        }
        BufferedImage image = org.headscope.app.util.SafeImages.readUserImage(file);
        VisionDivergence.Params p = VisionDivergence.Params.fromOptions(org.headscope.analysis.core.Options.of(v.text()::get));
        VisionDivergence.Result r = VisionDivergence.analyse(model, image, prompt, p, progress, cancel);
        return new Outcome(r.toReport(Provenance.of(model, prompt + " [image " + Path.of(file).getFileName() + "]",
                VisionDivergence.metricVersions())), r);
    }
}
