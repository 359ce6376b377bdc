package org.headscope.app.cli;

import org.headscope.analysis.CopyScores;
import org.headscope.analysis.Needle;
import org.headscope.analysis.RetrievalResult;
import org.headscope.analysis.RetrievalScan;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Needle-in-a-haystack retrieval scores of every head (RetrievalScan), with echo and induction scores beside them. */
final class RetrievalCommand implements Command {
    @Override
    public String name() {
        return "retrieval";
    }

    @Override
    public String usage() {
        return "retrieval MODEL [--needles FILE] [--haystack FILE] [--lengths 128,256,...] [--depths 10] [--mode teacher|generate|reference] "
                + "[--copy-tokens 50] [--rouge-stemmer porter|none] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "retrieval heads (Wu et al.): needle-in-a-haystack grid, copy scores, accuracy per length and depth";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path dir = Path.of(args.require("out"));
        Path needlesFile = args.existingFile("needles");
        Path haystackFile = args.existingFile("haystack");
        List<Integer> lengths = args.integers("lengths", null);
        int depths = args.integer("depths", 10);
        RetrievalScan.Mode mode;
        try {
            mode = RetrievalScan.Mode.parse(args.string("mode", "teacher"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int copyTokens = args.integer("copy-tokens", 50);
        String stemmer = args.string("rouge-stemmer", "porter");
        if (!stemmer.equals("porter") && !stemmer.equals("none")) {
            throw new UsageException("--rouge-stemmer must be porter or none, got '" + stemmer + "'");
        }
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            List<Needle> needles = Needle.read(needlesFile != null ? needlesFile : BundledModels.needles().resolve("needles.jsonl"));
            String haystack = Files.readString(haystackFile != null ? haystackFile : BundledModels.needles().resolve("haystack.txt"));
            RetrievalScan.Parameters p;
            try {
                p = RetrievalScan.Parameters.defaults(lengths != null ? lengths : RetrievalScan.defaultLengths(m)).withMode(mode)
                        .withDepths(depths).withRougeStemmer(stemmer.equals("porter"));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            RetrievalScan.Parameters grid = p;
            RetrievalResult r = ScanIo.cancellable(cancel -> RetrievalScan.scan(m, needles, haystack, grid, ScanIo.progressLine(err), cancel));
            if (!r.hasScores()) {
                throw new ModelException("No retrieval scores: " + r.noScoresMessage() + ".",
                        "Try shorter --lengths, check the needles and the model's retrieval template, or use --mode teacher.");
            }
            CopyScores copy = copyTokens > 0 ? CopyScores.measure(m, copyTokens, 0, CancelToken.NEVER) : null;
            String prompt = needles.size() + " needles from " + (needlesFile != null ? needlesFile : "the bundled needle set");
            ReportWriter.write(r.toReport(Provenance.of(m, prompt, RetrievalResult.metricVersions(r.parameters())), copy), dir);
            err.printf("wrote %s: %d of %d tests counted, %d retrieval heads (score > %.2g)%n", dir, r.counted(), r.tests().size(),
                    r.retrievalHeads().size(), p.threshold());
            return Cli.OK;
        }
    }
}
