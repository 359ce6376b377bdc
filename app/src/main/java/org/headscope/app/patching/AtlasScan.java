package org.headscope.app.patching;

import org.headscope.analysis.AblationScan;
import org.headscope.analysis.HeadAtlas;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Patching;
import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.Progress;
import org.headscope.analysis.SinkScan;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Head atlas panel's scan: on the open model, the sink scan (haystack probes), copy scores, the single-head zero
 * ablation and AMP importance on the prompt, DLA of the prompt's top answer, and patching when a corrupted prompt is
 * given; every head's scores side by side ({@link HeadAtlas}), each column with its provenance. Rank and colour by
 * any column.
 */
public final class AtlasScan implements Scan {
    @Override
    public String title() {
        return "Head atlas";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("probes", "sink probes", "8", "Haystack probes for the sink scan (0: no sink columns)."),
                new Parameter("corrupted", "corrupted prompt", "",
                        "For a patching column: the corrupted prompt, or FROM->TO to replace a word of the prompt (empty: no patching)."),
                new Parameter("answers", "answers", "auto", "A,B or auto, for the patching and DLA columns."));
    }

    @Override
    public String defaultColumn() {
        return "ablation.loss_delta";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) {
        HsTokenizer tk = model.requireTokenizer();
        long[] ids = tk.encode(prompt).ids();
        List<HeadReport> sources = new ArrayList<>();
        HeadAtlas.Params atlasParams = HeadAtlas.Params.fromOptions(Options.of(v.text()::get));
        int probes = v.integer("probes");
        if (probes > 0) {
            SinkScan.Params p = SinkScan.Params.DEFAULTS;
            var texts = org.headscope.app.model.BundledTexts.haystackProbes(tk, p.tokens(), probes, 7).stream().map(tk::encode).toList();
            sources.add(SinkScan.run(model, SinkScan.Prompts.texts(model, "haystack", texts), p, Progress.NONE, cancel)
                    .toReport(Provenance.of(model, probes + " haystack probes", SinkScan.metrics(p))));
        }
        progress.update(1, 5, "atlas: sinks");
        boolean decoder = model.isCausal();
        if (decoder && ids.length >= 2) {
            HeadReport copyScores = HeadAtlas.copySource(model, atlasParams, cancel);
            if (copyScores != null) {
                sources.add(copyScores);
            }
            progress.update(2, 5, "atlas: copy scores");
            long[] head = java.util.Arrays.copyOf(ids, ids.length - 1);
            AblationScan a = new AblationScan(model, AblationScan.Params.DEFAULTS, null);
            AblationScan.Target target = AblationScan.Target.of(head, new long[]{ids[ids.length - 1]});
            var effects = a.sweep(target, a.clean(target, cancel), Heads.all(model), Progress.NONE, cancel);
            double[][] loss = new double[model.layers()][model.heads()];
            for (var e : effects) {
                loss[e.head().layer()][e.head().head()] = e.effect().lossDelta();
            }
            Map<String, double[][]> grids = new LinkedHashMap<>();
            grids.put("loss_delta", loss);
            if (model.sites().stream().allMatch(s -> s.outputWeight() != null)) {
                grids.put("amp_importance", to2d(a.ampImportance(ids, cancel), model));
            }
            sources.add(HeadAtlas.grids("ablation", grids, AblationScan.METRICS,
                    Provenance.of(model, prompt + " (last token as the target)", AblationScan.METRICS), Map.of("mode", "zero")));
            progress.update(3, 5, "atlas: ablation");
            var found = model.unembedding();
            if (found.ok() && found.unembedding().normalized() != null) {
                long answer = PromptPair.top(model, ids, cancel);
                LogitLens.Attribution r = new LogitLens(model).attribute(ids, answer, -1, cancel);
                sources.add(LogitLens.dlaReport(r, Provenance.of(model, prompt + " || answer: " + tk.tokenString(answer), LogitLens.DLA_METRICS),
                        Map.of("answer", tk.tokenString(answer)), found.unembedding().norm()));
            }
            progress.update(4, 5, "atlas: DLA");
            String corruptedSpec = v.text().getOrDefault("corrupted", "");
            if (!corruptedSpec.isBlank()) {
                String corrupted = PromptPair.corrupted(prompt, corruptedSpec);
                Patching.Setup s = PromptPair.setup(model, prompt, corrupted, v.string("answers"), cancel);
                Patching p = new Patching(model, 16);
                Patching.Baseline b = p.baseline(s, cancel);
                Patching.Result r = new Patching.Result(Patching.Direction.DENOISING, b,
                        p.heads(s, Patching.Direction.DENOISING, null, Progress.NONE, cancel), null, null, null, null, List.of());
                sources.add(r.toReport(Provenance.of(model, "clean: " + prompt + " || corrupted: " + corrupted, Patching.METRICS), Map.of()));
            }
        }
        progress.update(5, 5, "atlas");
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("nothing to gather: no sink probes and not a decoder");
        }
        return HeadAtlas.run(model, sources, atlasParams, progress, cancel).toReport(Provenance.of(model, prompt, Map.of()));
    }

    private static double[][] to2d(org.headscope.analysis.HeadGrid g, HookedModel m) {
        double[][] out = new double[m.layers()][m.heads()];
        for (int l = 0; l < m.layers(); l++) {
            for (int h = 0; h < m.heads(); h++) {
                out[l][h] = g.get(l, h);
            }
        }
        return out;
    }
}
