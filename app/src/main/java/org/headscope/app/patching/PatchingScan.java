package org.headscope.app.patching;

import org.headscope.analysis.Patching;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The Patching panel's scan: {@link Patching} of every head between the prompt and a corrupted one, as the CLI's {@code patch}. */
public final class PatchingScan implements Scan {
    @Override
    public String title() {
        return "Patching";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("corrupted", "corrupted prompt", "",
                        "The corrupted prompt (same length as the prompt), or FROM->TO to replace a word of the prompt, e.g. quartz->copper."),
                new Parameter("answers", "answers", "auto", "A,B: the clean and corrupted answers; auto: each prompt's top next token."),
                new Parameter("direction", "direction", "denoising",
                        "denoising: the prompt's head outputs into the corrupted run; noising: the corrupted run's into the prompt's."),
                new Parameter("positions", "positions", "all", "all, or positions (negative from the end) where the heads are patched."),
                new Parameter("batch", "patches per run", "16", "Patches per batched run."),
                new Parameter("positionHead", "position head", "none",
                        "Layers x positions view, as the CLI's --position-head: head H of each layer (or all: the layer's every head) "
                                + "patched at one position at a time; none: no such view."));
    }

    @Override
    public String defaultColumn() {
        return "patch_effect";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        String corrupted = PromptPair.corrupted(prompt, v.text().get("corrupted"));
        Patching.Setup s = PromptPair.setup(model, prompt, corrupted, v.string("answers"), cancel);
        Patching.Params pp = Patching.Params.fromOptions(Options.of(v.text()::get));
        Patching.Result r = Patching.run(model, s, Arrays.asList(model.requireTokenizer().encode(prompt).strings()), pp, progress, cancel);
        boolean byPosition = pp.byPosition();
        Integer head = pp.positionHead();
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("answers", model.requireTokenizer().tokenString(s.answer()) + "," + model.requireTokenizer().tokenString(s.wrong()));
        params.put("corrupted", corrupted);
        params.put("position_head", byPosition ? (head == null ? "all" : head) : "none");
        return r.toReport(Provenance.of(model, "clean: " + prompt + " || corrupted: " + corrupted, Patching.METRICS), params);
    }

    /** With the layers x positions view: the cells (layer, position) whose one-position patch moves the answer most. */
    @Override
    public String headline(HeadReport report) {
        if (!(report.sections().get("head_positions") instanceof List<?> grid) || grid.isEmpty()) {
            return null;
        }
        List<?> tokens = report.sections().get("tokens") instanceof List<?> t ? t : List.of();
        record Cell(int layer, int position, double effect) {
        }
        List<Cell> cells = new java.util.ArrayList<>();
        for (int l = 0; l < grid.size(); l++) {
            List<?> row = (List<?>) grid.get(l);
            for (int q = 0; q < row.size(); q++) {
                if (row.get(q) instanceof Number n && !Double.isNaN(n.doubleValue())) {
                    cells.add(new Cell(l, q, n.doubleValue()));
                }
            }
        }
        cells.sort((a, b) -> Double.compare(Math.abs(b.effect()), Math.abs(a.effect())));
        Object h = report.parameters().get("position_head");
        String who = "all".equals(String.valueOf(h)) ? "Every head of a layer" : "Head " + h + " of a layer";
        return who + " patched at one position (layers x positions, in the exported report): largest effects at "
                + String.join(", ", cells.stream().limit(3).map(c -> "layer " + c.layer() + " position " + c.position()
                + (c.position() < tokens.size() ? " '" + tokens.get(c.position()) + "'" : "") + " "
                + String.format(java.util.Locale.ROOT, "%.3g", c.effect())).toList()) + ".";
    }
}
