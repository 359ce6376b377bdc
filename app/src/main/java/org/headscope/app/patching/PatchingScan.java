package org.headscope.app.patching;

import org.headscope.analysis.Patching;
import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.report.Scan;
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
                new Parameter("batch", "patches per run", "16", "Patches per batched run."));
    }

    @Override
    public String defaultColumn() {
        return "patch_effect";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        String corrupted = PromptPair.corrupted(prompt, v.text().get("corrupted"));
        Patching.Setup s = PromptPair.setup(model, prompt, corrupted, v.string("answers"), cancel);
        Patching.Direction d = Patching.Direction.parse(v.string("direction"));
        int[] positions = positions(v.string("positions"), s.clean().length);
        Patching p = new Patching(model, v.integer("batch"));
        Patching.Baseline b = p.baseline(s, cancel);
        double[][] heads = p.heads(s, d, positions, progress, cancel);
        Patching.Result r = new Patching.Result(d, b, heads, positions, null, null, null,
                Arrays.asList(model.requireTokenizer().encode(prompt).strings()));
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("answers", model.requireTokenizer().tokenString(s.answer()) + "," + model.requireTokenizer().tokenString(s.wrong()));
        params.put("corrupted", corrupted);
        return r.toReport(Provenance.of(model, "clean: " + prompt + " || corrupted: " + corrupted, Patching.METRICS), params);
    }

    static int[] positions(String spec, int length) {
        if (spec.equals("all")) {
            return null;
        }
        return Arrays.stream(spec.split(",")).map(String::strip).mapToInt(x -> {
            int p;
            try {
                p = Integer.parseInt(x);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("positions: write all or integers, got '" + spec + "'");
            }
            int q = p < 0 ? length + p : p;
            if (q < 0 || q >= length) {
                throw new IllegalArgumentException("position " + p + " is outside the prompt's 0.." + (length - 1));
            }
            return q;
        }).toArray();
    }
}
