package org.headscope.app.retrieval;

import java.nio.file.Files;
import java.util.List;

import org.headscope.analysis.CopyScores;
import org.headscope.analysis.Needle;
import org.headscope.analysis.Progress;
import org.headscope.analysis.RetrievalResult;
import org.headscope.analysis.RetrievalScan;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;

/**
 * The Retrieval heads panel's scan: {@link RetrievalScan} (Wu et al. 2024) on the bundled needles and haystack, as
 * the CLI's {@code retrieval}, with copy scores beside the retrieval scores.
 */
public final class RetrievalHeadsScan implements Scan {
    private static final RetrievalScan.Params D = RetrievalScan.Params.defaults(List.of(64));

    @Override
    public String title() {
        return "Retrieval heads";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                new Parameter("lengths", "context lengths", "auto",
                        "Haystack lengths in tokens, comma-separated; auto: 1/8, 1/4, 1/2 and all of the model's maximum length."),
                new Parameter("depths", "needle depths", Integer.toString(D.depths()), "Depths per length, evenly from 0% to 100% (paper: 10)."),
                new Parameter("mode", "decoding", D.mode().name().toLowerCase(java.util.Locale.ROOT),
                        "teacher (answer fed once) or generate (greedy decoding, as the reference code)."),
                new Parameter("needles", "needles", "all", "How many of the bundled needles to test (all, or a number)."),
                new Parameter("copy_tokens", "copy-score tokens", "50", "Length of the random sequence repeated for copy scores; 0: none."),
                new Parameter("rouge_stemmer", "ROUGE stemmer", "porter",
                        "porter: the gate compares Porter stems as the reference's rouge_scorer(use_stemmer=True); none: raw words."));
    }

    @Override
    public String defaultColumn() {
        return "retrieval_score";
    }

    @Override
    public boolean usesPrompt() {
        return false;
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values v, Progress progress, CancelToken cancel) throws Exception {
        RetrievalScan.Params p = RetrievalScan.Params.fromOptions(model, org.headscope.analysis.core.Options.of(v.text()::get));
        List<Needle> needles = Needle.read(BundledModels.needles().resolve("needles.jsonl"));
        if (!v.string("needles").equalsIgnoreCase("all")) {
            needles = needles.subList(0, Math.min(needles.size(), Math.max(1, v.integer("needles"))));
        }
        String haystack = Files.readString(BundledModels.needles().resolve("haystack.txt"));
        RetrievalResult r = RetrievalScan.run(model, needles, haystack, p, progress, cancel);
        if (!r.hasScores()) {
            throw new ModelException("No retrieval scores: " + r.noScoresMessage() + ".",
                    "Try shorter context lengths, mode teacher, or a model trained to answer the needles (needle-gpt).");
        }
        int copyTokens = v.integer("copy_tokens");
        CopyScores copy = copyTokens > 0 ? CopyScores.run(model, new CopyScores.Params(copyTokens, 0), Progress.NONE, cancel) : null;
        return r.toReport(Provenance.of(model, needles.size() + " needles from the bundled needle set",
                RetrievalResult.metricVersions(r.parameters())), copy);
    }
}
