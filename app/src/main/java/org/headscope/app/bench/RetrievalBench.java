package org.headscope.app.bench;

import org.headscope.app.cli.ExitCode;
import org.headscope.analysis.Needle;
import org.headscope.analysis.Progress;
import org.headscope.analysis.RetrievalResult;
import org.headscope.analysis.RetrievalScan;
import org.headscope.app.cli.Args;
import org.headscope.app.Cli;
import org.headscope.app.cli.Command;
import org.headscope.app.cli.ModelArgs;
import org.headscope.app.cli.UsageException;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.GreedyDecoder;
import org.headscope.hooks.HookedModel;

import java.io.PrintStream;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;

/**
 * A retrieval scan over the full length x depth grid three ways, side by side in one process, in interleaved rounds
 * (the order alternates each round): the teacher-forced scan with the in-graph argmax (one run per test), the
 * generative scan with the in-graph argmax, and the reference code's way (greedy decoding with the full attention
 * probabilities of every layer out of every run, argmax on the host). Both decoding ways prefill once and step on the
 * KV cache when the graph has past inputs, as the Retrieval Head code does; on a graph without them both re-run the
 * sequence per token, and the output says so. Prints min/median/max wall time per way, runs, bytes copied out of the
 * runtime, the ratios of medians, and whether the scores agree. {@code --dump-ids FILE} writes the grid's token ids
 * and HeadScope's per-test scores for assets/bench/peer_bench.py.
 */
public final class RetrievalBench implements Command {
    @Override
    public String name() {
        return "bench-retrieval";
    }

    @Override
    public String usage() {
        return "bench-retrieval MODEL [--needles 5] [--lengths 64,128,256,512] [--depths 10] [--rounds 3] [--dump-ids FILE] "
                + "[--device auto|cuda|cpu] [--threads N] [--spin auto|on|off]";
    }

    @Override
    public String summary() {
        return "benchmark the in-graph retrieval scans against the reference's way (prefill + KV cache, full probabilities), interleaved";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        if (args.positionalCount() == 0) {
            throw new UsageException("give a MODEL, e.g. needle-gpt");
        }
        int count = args.integer("needles", 5);
        List<Integer> lengths = args.integers("lengths", null);
        int depths = args.integer("depths", 10);
        int rounds = args.integer("rounds", 3, 1, 1000, "the number of rounds");
        java.nio.file.Path dump = args.path("dump-ids");
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            List<Needle> all = Needle.read(BundledModels.needles().resolve("needles.jsonl"));
            List<Needle> needles = all.subList(0, Math.min(count, all.size()));
            String haystack = Files.readString(BundledModels.needles().resolve("haystack.txt"));
            RetrievalScan.Params p = RetrievalScan.Params.defaults(lengths != null ? lengths : RetrievalScan.defaultLengths(m))
                    .withDepths(depths);
            out.printf(Locale.ROOT, "model %s, %d layers x %d heads, device %s (%s)%n", m.model().path().getFileName(), m.layers(), m.heads(),
                    m.device(), org.headscope.hooks.RuntimeSettings.current().describe());
            out.printf(Locale.ROOT, "grid: %d needles x lengths %s x %d depths = %d tests%n", needles.size(), p.lengths(), depths,
                    needles.size() * p.lengths().size() * depths);
            out.printf(Locale.ROOT, "decoding: %s%n", GreedyDecoder.describe(GreedyDecoder.way(m)));
            RetrievalScan.Params warm = new RetrievalScan.Params(p.lengths().subList(0, 1), 1, RetrievalScan.Mode.TEACHER,
                    p.rougeGate(), p.threshold(), p.maxNewTokens());
            for (RetrievalScan.Mode mode : RetrievalScan.Mode.values()) {
                RetrievalScan.run(m, needles.subList(0, 1), haystack, warm.withMode(mode), Progress.NONE, CancelToken.NEVER);
            }
            List<RetrievalScan.Mode> modes = List.of(RetrievalScan.Mode.REFERENCE, RetrievalScan.Mode.GENERATE, RetrievalScan.Mode.TEACHER);
            java.util.Map<RetrievalScan.Mode, List<Double>> times = new java.util.EnumMap<>(RetrievalScan.Mode.class);
            java.util.Map<RetrievalScan.Mode, RetrievalResult> results = new java.util.EnumMap<>(RetrievalScan.Mode.class);
            for (int round = 0; round < rounds; round++) {
                List<RetrievalScan.Mode> order = new java.util.ArrayList<>(modes);
                if (round % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                for (RetrievalScan.Mode mode : order) {
                    Measured x = measure(m, needles, haystack, p.withMode(mode), err);
                    times.computeIfAbsent(mode, k -> new java.util.ArrayList<>()).add(x.seconds());
                    results.put(mode, x.result());
                }
                err.printf(Locale.ROOT, "round %d/%d done%n", round + 1, rounds);
            }
            RetrievalResult reference = results.get(RetrievalScan.Mode.REFERENCE);
            RetrievalResult generate = results.get(RetrievalScan.Mode.GENERATE);
            RetrievalResult teacher = results.get(RetrievalScan.Mode.TEACHER);
            out.printf(Locale.ROOT, "%-40s %8s %8s %8s %8s %12s%n", "way", "min s", "median", "max s", "runs", "bytes out");
            for (RetrievalScan.Mode mode : modes) {
                List<Double> t = times.get(mode);
                out.printf(Locale.ROOT, "%-40s %8.2f %8.2f %8.2f %8d %12s%n", label(mode), java.util.Collections.min(t), median(t),
                        java.util.Collections.max(t), results.get(mode).runs(), human(results.get(mode).bytesFetched()));
            }
            double ref = median(times.get(RetrievalScan.Mode.REFERENCE));
            out.printf(Locale.ROOT, "teacher-forced in-graph / reference (time, medians): %.2f; %.0fx fewer bytes%n",
                    median(times.get(RetrievalScan.Mode.TEACHER)) / ref, (double) reference.bytesFetched() / teacher.bytesFetched());
            out.printf(Locale.ROOT, "generative in-graph / reference (time, medians):     %.2f; %.0fx fewer bytes%n",
                    median(times.get(RetrievalScan.Mode.GENERATE)) / ref, (double) reference.bytesFetched() / generate.bytesFetched());
            out.printf(Locale.ROOT, "scores: generative in-graph = reference on every test: %s; teacher = reference on the %d of %d tests "
                    + "answered exactly: %s%n", sameScores(generate, reference, false), exact(reference),
                    reference.tests().size(), sameScores(teacher, reference, true));
            out.printf(Locale.ROOT, "retrieval heads (score > %.2g): teacher %s, reference %s%n", p.threshold(),
                    heads(teacher), heads(reference));
            if (dump != null) {
                java.util.Map<String, Object> d = new java.util.LinkedHashMap<>();
                d.put("model", m.model().path().toString());
                d.put("eos", m.manifest().eos());
                d.put("maxNewTokens", p.maxNewTokens());
                d.put("tests", RetrievalScan.episodeIds(m, needles, haystack, p));
                d.put("generateScores", generate.tests().stream().map(RetrievalScan.Test::scores).toList());
                d.put("generateResponses", generate.tests().stream().map(RetrievalScan.Test::response).toList());
                org.headscope.analysis.report.ReportWriter.JSON.writeValue(dump.toFile(), d);
                err.println("wrote " + dump);
            }
            return ExitCode.OK.code();
        }
    }

    private static String label(RetrievalScan.Mode mode) {
        return switch (mode) {
            case TEACHER -> "teacher-forced, in-graph argmax";
            case GENERATE -> "generative, in-graph argmax";
            case REFERENCE -> "reference (decoding, full probs, host argmax)";
        };
    }

    private static double median(List<Double> v) {
        List<Double> s = new java.util.ArrayList<>(v);
        java.util.Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private record Measured(String label, double seconds, RetrievalResult result) {
    }

    private static Measured measure(HookedModel m, List<Needle> needles, String haystack, RetrievalScan.Params p, PrintStream err) {
        String label = label(p.mode());
        long t0 = System.nanoTime();
        RetrievalResult r = RetrievalScan.run(m, needles, haystack, p, (done, total, msg) -> {
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
