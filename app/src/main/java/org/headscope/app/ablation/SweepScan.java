package org.headscope.app.ablation;

import java.util.List;

import org.headscope.analysis.AblationScan;
import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.Progress;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

/**
 * The Ablation sweep panel's scan: {@link AblationScan} over every head (batched), on the workbench's prompt with
 * a target continuation, as the CLI's {@code ablate}. Mean ablation takes its means over haystack probes.
 */
public final class SweepScan implements Scan {
    private static final AblationScan.Params D = AblationScan.Params.DEFAULTS;
    private static final int REFERENCE_PROMPTS = 8;
    private static final int REFERENCE_TOKENS = 32;

    @Override
    public String title() {
        return "Ablation sweep";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("mode", "mode", D.mode().id(),
                        "zero (TransformerLens), mean (over haystack probes), mean-prompt (over the prompt's own positions), uniform (Retrieval_Head), "
                                + "bos (Active-Dormant), scale (VHR)."),
                new Parameter("alpha", "\u03b1 (scale mode)", Float.toString(D.alpha()), "z := \u03b1 z in scale mode (VHR: 2)."),
                new Parameter("target", "target continuation", " the end.",
                        "Text after the prompt whose teacher-forced loss is measured (decoders; encoders compare embeddings)."),
                new Parameter("batch", "heads per run", Integer.toString(D.batchSize()), "Interventions per batched run."),
                new Parameter("generate", "generated tokens", "0",
                        "Greedy tokens generated after the prompt, clean and with each of the top heads ablated (0: none, as the "
                                + "command line's --generate; the prompt and these tokens must fit the model's length)."));
    }

    @Override
    public String defaultColumn() {
        return "cosine_distance";
    }

    @Override
    public java.util.Set<String> perModelParameters() {
        return java.util.Set.of("target");
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        int generate = v.integer("generate");
        if (generate < 0 || generate > 1024) {
            throw new IllegalArgumentException("parameter 'generate' must be between 0 and 1024, got " + generate);
        }
        AblationScan.Params fromOptions = AblationScan.Params.fromOptions(org.headscope.analysis.core.Options.of(v.text()::get));
        AblationScan.Params params = fromOptions.withGeneration(generate, fromOptions.topGenerated());
        HsTokenizer tk = model.requireTokenizer();
        long[] promptIds = tk.encode(prompt).ids();
        long[] targetIds = tk.encodePlain(v.text().get("target"));
        Integer max = model.manifest().maxLength();
        if (max != null && promptIds.length + targetIds.length > max) {
            throw new org.headscope.hooks.ModelException("The prompt (" + promptIds.length + " tokens) and the target continuation ("
                    + targetIds.length + ") make " + (promptIds.length + targetIds.length) + " tokens; " + model.manifest().name()
                    + " takes at most " + max + ".", "Shorten the prompt by " + (promptIds.length + targetIds.length - max)
                    + " tokens or the target, then run the sweep again.");
        }
        if (max != null && promptIds.length + params.generateTokens() > max) {
            throw new org.headscope.hooks.ModelException("The sweep generates " + params.generateTokens() + " tokens after the prompt ("
                    + promptIds.length + " tokens); " + model.manifest().name() + " takes at most " + max + ".",
                    "Shorten the prompt by " + (promptIds.length + params.generateTokens() - max) + " tokens, then run the sweep again.");
        }
        AblationScan.Target target = AblationScan.Target.of(promptIds, targetIds);
        AblationScan.Result r = AblationScan.run(model, target, Heads.all(model), params,
                () -> org.headscope.app.model.BundledTexts.haystackProbes(tk, REFERENCE_TOKENS, REFERENCE_PROMPTS, 11)
                        .stream().map(s -> tk.encode(s).ids()).toList(), progress, cancel);
        return r.toReport(Provenance.of(model, prompt + " || target: " + v.text().get("target"), AblationScan.METRICS));
    }
}
