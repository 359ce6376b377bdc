package org.headscope.app.cli;

import org.headscope.analysis.CopyScores;
import org.headscope.analysis.Progress;
import org.headscope.analysis.Needle;
import org.headscope.analysis.RetrievalResult;
import org.headscope.analysis.RetrievalScan;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Needle-in-a-haystack retrieval scores of every head (RetrievalScan), with echo and induction scores beside them. */
public final class RetrievalCommand implements Command {
    /** Depths beyond 101 repeat depth percents (rounded from 0..100). */
    static final int MAX_DEPTHS = 101;
    /** Most runs (needles x lengths x depths) one scan may ask for. */
    static final long MAX_RUNS = 20_000;
    /** Most tokens (summed over the grid's prompts) one scan may ask for. */
    static final long MAX_TOKENS = 20_000_000;

    /** Refuses a grid that would run for hours, with its size, before any work. */
    static void checkGrid(int needles, List<Integer> lengths, int depths) {
        long runs = (long) needles * lengths.size() * depths;
        long tokens = (long) needles * depths * lengths.stream().mapToLong(Integer::longValue).sum();
        if (runs > MAX_RUNS || tokens > MAX_TOKENS) {
            throw new UsageException(String.format(java.util.Locale.ROOT,
                    "the grid is %d needles x %d lengths x %d depths = %d runs over %d tokens in all; HeadScope runs at most %d runs "
                            + "and %d tokens in one scan (at a few thousand tokens a second on a CPU, this one would take about %.1f hours): "
                            + "use fewer --depths, fewer --lengths or a shorter --needles file", needles, lengths.size(), depths, runs, tokens,
                    MAX_RUNS, MAX_TOKENS, tokens / 3000.0 / 3600.0));
        }
    }

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
        Path needlesFile = args.existingFile("needles");
        Path haystackFile = args.existingFile("haystack");
        List<Integer> lengths = args.integers("lengths", null);
        int depths = args.integer("depths", 10, 1, MAX_DEPTHS, "the number of needle depths");
        RetrievalScan.Mode mode;
        try {
            mode = RetrievalScan.Mode.parse(args.string("mode", "teacher"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int copyTokens = args.integer("copy-tokens", 50);
        if (copyTokens < 0) {
            throw new UsageException("--copy-tokens is " + copyTokens + "; give 0 (no copy scores) or a positive length");
        }
        List<Needle> needles = Needle.read(needlesFile != null ? needlesFile : BundledModels.needles().resolve("needles.jsonl"));
        String haystack = Files.readString(haystackFile != null ? haystackFile : BundledModels.needles().resolve("haystack.txt"));
        if (haystack.isBlank()) {
            throw new UsageException("--haystack " + haystackFile + " holds no text");
        }
        String stemmer = args.string("rouge-stemmer", "porter");
        if (!stemmer.equals("porter") && !stemmer.equals("none")) {
            throw new UsageException("--rouge-stemmer must be porter or none, got '" + stemmer + "'");
        }
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            if (mode != RetrievalScan.Mode.TEACHER && org.headscope.hooks.GreedyDecoder.way(m) == org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN) {
                err.println("note: " + org.headscope.hooks.GreedyDecoder.describe(org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN));
            }
            if (lengths != null) {
                for (int l : lengths) {
                    ModelArgs.checkLength(m, l, "--lengths entry");
                }
            }
            int bos = m.manifest().bos() != null ? 1 : 0;
            int fitted = copyTokens;
            if (!args.has("copy-tokens")) {
                // the default fits the model: at most 50 tokens, repeated, within its maxLength
                fitted = Math.max(0, Math.min(copyTokens, (ModelArgs.maxTokens(m) - bos) / CopyScores.REPEATS));
            } else if (copyTokens > 0) {
                ModelArgs.checkLength(m, (long) copyTokens * CopyScores.REPEATS + bos,
                        "copy-score sequence (--copy-tokens " + copyTokens + " x " + CopyScores.REPEATS + ")");
            }
            int copyLength = fitted;
            RetrievalScan.Params p;
            try {
                p = RetrievalScan.Params.fromOptions(m, ScanIo.options(args));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            RetrievalScan.Params grid = p;
            checkGrid(needles.size(), p.lengths(), depths);
            RetrievalResult r = ScanIo.cancellable(cancel -> RetrievalScan.run(m, needles, haystack, grid, ScanIo.progressLine(err), cancel));
            if (!r.hasScores()) {
                throw new ModelException("No retrieval scores: " + r.noScoresMessage() + ".",
                        "Try shorter --lengths, check the needles and the model's retrieval template, or use --mode teacher.");
            }
            CopyScores copy = copyLength > 0 ? ScanIo.cancellable(cancel -> CopyScores.run(m, new CopyScores.Params(copyLength, 0), Progress.NONE, cancel)) : null;
            String prompt = needles.size() + " needles from " + (needlesFile != null ? needlesFile : "the bundled needle set");
            ScanIo.write(r.toReport(Provenance.of(m, prompt, RetrievalResult.metricVersions(r.parameters())), copy), dir, err);
            err.printf("%d of %d tests counted, %d retrieval heads (score > %.2g)%n", r.counted(), r.tests().size(),
                    r.retrievalHeads().size(), p.threshold());
            return ExitCode.OK.code();
        }
    }
}
