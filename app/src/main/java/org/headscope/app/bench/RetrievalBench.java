package org.headscope.app.bench;

import org.headscope.analysis.Needle;
import org.headscope.analysis.Progress;
import org.headscope.analysis.RetrievalResult;
import org.headscope.analysis.RetrievalScan;
import org.headscope.app.cli.Args;
import org.headscope.app.cli.Cli;
import org.headscope.app.cli.Command;
import org.headscope.app.cli.ModelArgs;
import org.headscope.app.cli.UsageException;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;

import java.io.PrintStream;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;

/**
 * A retrieval scan over the full length x depth grid three ways, side by side in one process: the teacher-forced scan
 * with the in-graph argmax (one run per test), the generative scan with the in-graph argmax (one run per generated
 * token), and the reference code's way (one run per generated token, the full attention matrices of every layer out
 * of every run, argmax on the host). Prints wall time, runs, bytes of output tensors copied out of the runtime, the
 * ratios, and whether the scores agree.
 */
public final class RetrievalBench implements Command {
    @Override
    public String name() {
        return "bench-retrieval";
    }

    @Override
    public String usage() {
        return "bench-retrieval MODEL [--needles 5] [--lengths 64,128,256,512] [--depths 10] [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "benchmark the teacher-forced in-graph retrieval scan against the reference's one-run-per-token full-matrix way";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        if (args.positionalCount() == 0) {
            throw new UsageException("give a MODEL, e.g. needle-gpt");
        }
        int count = args.integer("needles", 5);
        List<Integer> lengths = args.integers("lengths", null);
        int depths = args.integer("depths", 10);
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            List<Needle> all = Needle.read(BundledModels.needles().resolve("needles.jsonl"));
            List<Needle> needles = all.subList(0, Math.min(count, all.size()));
            String haystack = Files.readString(BundledModels.needles().resolve("haystack.txt"));
            RetrievalScan.Parameters p = RetrievalScan.Parameters.defaults(lengths != null ? lengths : RetrievalScan.defaultLengths(m))
                    .withDepths(depths);
            out.printf(Locale.ROOT, "model %s, %d layers x %d heads, device %s%n", m.model().path().getFileName(), m.layers(), m.heads(),
                    m.device());
            out.printf(Locale.ROOT, "grid: %d needles x lengths %s x %d depths = %d tests%n", needles.size(), p.lengths(), depths,
                    needles.size() * p.lengths().size() * depths);
            RetrievalScan.Parameters warm = new RetrievalScan.Parameters(p.lengths().subList(0, 1), 1, RetrievalScan.Mode.TEACHER,
                    p.rougeGate(), p.threshold(), p.maxNewTokens());
            for (RetrievalScan.Mode mode : RetrievalScan.Mode.values()) {
                RetrievalScan.scan(m, needles.subList(0, 1), haystack, warm.withMode(mode), Progress.NONE, CancelToken.NEVER);
            }
            Measured teacher = measure(m, needles, haystack, p.withMode(RetrievalScan.Mode.TEACHER), err);
            Measured generate = measure(m, needles, haystack, p.withMode(RetrievalScan.Mode.GENERATE), err);
            Measured reference = measure(m, needles, haystack, p.withMode(RetrievalScan.Mode.REFERENCE), err);
            out.printf(Locale.ROOT, "%-34s %10s %8s %12s%n", "way", "time", "runs", "bytes out");
            for (Measured x : List.of(reference, generate, teacher)) {
                out.printf(Locale.ROOT, "%-34s %8.1f s %8d %12s%n", x.label(), x.seconds(), x.result().runs(), human(x.result().bytesFetched()));
            }
            out.printf(Locale.ROOT, "teacher-forced in-graph vs reference: %.1fx faster, %.0fx fewer bytes%n",
                    reference.seconds() / teacher.seconds(), (double) reference.result().bytesFetched() / teacher.result().bytesFetched());
            out.printf(Locale.ROOT, "generative in-graph vs reference:     %.1fx faster, %.0fx fewer bytes%n",
                    reference.seconds() / generate.seconds(), (double) reference.result().bytesFetched() / generate.result().bytesFetched());
            out.printf(Locale.ROOT, "scores: generative in-graph = reference on every test: %s; teacher = reference on the %d of %d tests "
                    + "answered exactly: %s%n", sameScores(generate.result(), reference.result(), false), exact(reference.result()),
                    reference.result().tests().size(), sameScores(teacher.result(), reference.result(), true));
            out.printf(Locale.ROOT, "retrieval heads (score > %.2g): teacher %s, reference %s%n", p.threshold(),
                    heads(teacher.result()), heads(reference.result()));
            return Cli.OK;
        }
    }

    private record Measured(String label, double seconds, RetrievalResult result) {
    }

    private static Measured measure(HookedModel m, List<Needle> needles, String haystack, RetrievalScan.Parameters p, PrintStream err) {
        String label = switch (p.mode()) {
            case TEACHER -> "teacher-forced, in-graph argmax";
            case GENERATE -> "generative, in-graph argmax";
            case REFERENCE -> "reference (per token, full probs)";
        };
        long t0 = System.nanoTime();
        RetrievalResult r = RetrievalScan.scan(m, needles, haystack, p, (done, total, msg) -> {
            if (done == total) {
                err.printf("%s: %d tests%n", label, total);
            }
        }, CancelToken.NEVER);
        return new Measured(label, (System.nanoTime() - t0) / 1e9, r);
    }

    private static long exact(RetrievalResult r) {
        return r.tests().stream().filter(RetrievalScan.Test::exact).count();
    }

    private static boolean sameScores(RetrievalResult a, RetrievalResult b, boolean onlyExact) {
        for (int i = 0; i < a.tests().size(); i++) {
            RetrievalScan.Test x = a.tests().get(i);
            RetrievalScan.Test y = b.tests().get(i);
            if (onlyExact && !y.exact()) {
                continue;
            }
            if (!java.util.Arrays.deepEquals(x.scores(), y.scores())) {
                return false;
            }
        }
        return true;
    }

    private static String heads(RetrievalResult r) {
        return r.hasScores() ? r.retrievalHeads().toString() : "(no test passed the gate)";
    }

    private static String human(long bytes) {
        if (bytes > 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GB", bytes / (double) (1L << 30));
        }
        return bytes > 1 << 20 ? String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0) : String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
    }
}
