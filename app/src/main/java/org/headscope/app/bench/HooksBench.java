package org.headscope.app.bench;

import org.headscope.app.cli.ExitCode;
import org.headscope.app.cli.Args;
import org.headscope.app.Cli;
import org.headscope.app.cli.Command;
import org.headscope.app.cli.ModelArgs;
import org.headscope.hooks.OwnedSession;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.LayerSweep;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The engine's costs against baselines, on one model and several prompt lengths:
 * plain vs neutral hooked session; single-head ablation sweep batched, and batched with layer-suffix sessions,
 * vs one run per head;
 * in-graph reductions vs full probability taps (time and bytes leaving the runtime);
 * for a model whose attention was fused, the deployed graph with its fused kernels vs the unfused graph HeadScope
 * runs (no taps), and vs the unfused graph with every layer's probabilities tapped.
 */
public final class HooksBench implements Command {
    @Override
    public String name() {
        return "bench-hooks";
    }

    @Override
    public String usage() {
        return "bench-hooks MODEL [--tokens 128,512] [--sweep-tokens 128,512] [--repeats 15] [--batch 24] [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "benchmark hook overhead, batched ablation sweeps and in-graph reductions against baselines";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) {
        if (args.positionalCount() == 0) {
            throw new org.headscope.app.cli.UsageException("give a MODEL, e.g. all-minilm-l6-v2");
        }
        List<Integer> lengths = args.integers("tokens", List.of(128, 512));
        int repeats = args.integer("repeats", 15);
        int batch = args.integer("batch", 24);
        List<Integer> sweepLengths = args.integers("sweep-tokens", lengths);
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            int layers = m.layers();
            int heads = m.heads();
            List<Integer> all = IntStream.range(0, layers).boxed().toList();
            String output = m.model().outputNames().get(0);
            out.printf(Locale.ROOT, "model %s, %d layers x %d heads, device %s%n", m.model().path().getFileName(), layers, heads, m.device());
            for (int t : lengths) {
                RunRequest req = RunRequest.tokens(tokens(m, t));
                out.printf(Locale.ROOT, "%n== %d tokens ==%n", t);

                HookedSession plain = m.plain();
                HookedSession hooked = m.session(TapSet.NONE, HookSet.ALL);
                HookedSession pinned = hooked.pinned();
                Intervention one = Intervention.builder().zeroHead(layers - 1, 0).build();
                double[] ms = Timer.compareAll(List.of(() -> plain.run(req), () -> hooked.run(req), () -> pinned.run(req),
                        () -> m.session(TapSet.NONE, HookSet.HEAD).run(req.withIntervention(one))), 3, repeats);
                out.printf(Locale.ROOT, "neutral hooks:      plain %.1f ms; hooked session, neutral run %.1f ms (%+.1f%%: served by the plain graph); "
                                + "graph with all hook families, neutral inputs %.1f ms (%+.1f%%); one head zeroed (head-output hooks only) %.1f ms (%+.1f%%)%n",
                        ms[0], ms[1], 100 * (ms[1] / ms[0] - 1), ms[2], 100 * (ms[2] / ms[0] - 1), ms[3], 100 * (ms[3] / ms[0] - 1));

                if (!m.rewrites().isEmpty()) {
                    try (OwnedSession unfused = m.openNormalisedSession()) {
                        HookedSession probsTapped = m.session(TapSet.of(TapKind.PROBS, all), HookSet.NONE);
                        double[] u = Timer.compareAll(List.of(() -> plain.run(req), () -> unfused.run(req), () -> probsTapped.run(req)), 3, repeats);
                        out.printf(Locale.ROOT, "unfusing:           deployed graph (fused attention) %.1f ms; unfused, no taps %.1f ms (%.2fx); "
                                        + "unfused, every layer's probabilities tapped %.1f ms (%.2fx)%n",
                                u[0], u[1], u[1] / u[0], u[2], u[2] / u[0]);
                    }
                }

                if (sweepLengths.contains(t)) {
                    sweep(m, req, output, batch, repeats, out);
                }

                HookedSession full = m.session(TapSet.of(TapKind.PROBS, all), HookSet.NONE);
                TapSet reductions = TapSet.of(TapKind.COL_SUM, all).with(TapKind.LAST_ROW, all).with(TapKind.ARGMAX, all)
                        .with(TapKind.ENTROPY, all);
                HookedSession reduced = m.session(reductions, HookSet.NONE);
                Timer.Pair taps = Timer.compare(() -> full.run(req), () -> reduced.run(req), 3, repeats);
                long fullBytes = bytes(full.run(req));
                long reducedBytes = bytes(reduced.run(req));
                out.printf(Locale.ROOT, "reductions in graph: full probs %.1f ms / %s, colsum+lastrow+argmax+entropy %.1f ms / %s -> %.2fx time, %.0fx fewer bytes%n",
                        taps.baselineMs(), human(fullBytes), taps.candidateMs(), human(reducedBytes), taps.ratio(),
                        (double) fullBytes / reducedBytes);
            }
            return ExitCode.OK.code();
        }
    }

    /** One run per head, batched runs, and batched runs of layer suffixes, on the same single-head zero ablations. */
    private static void sweep(HookedModel m, RunRequest req, String output, int batch, int repeats, PrintStream out) {
        int layers = m.layers();
        int heads = m.heads();
        HookedSession ablate = m.session(TapSet.NONE, HookSet.HEAD);
        List<Intervention> sweep = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                sweep.add(Intervention.builder().zeroHead(l, h).build());
            }
        }
        float[][] loopOut = new float[sweep.size()][];
        float[][] batchOut = new float[sweep.size()][];
        Runnable loop = () -> {
            for (int i = 0; i < sweep.size(); i++) {
                loopOut[i] = ablate.run(req.withIntervention(sweep.get(i))).output(output).data();
            }
        };
        Runnable batched = () -> {
            for (int s = 0; s < sweep.size(); s += batch) {
                List<Intervention> part = sweep.subList(s, Math.min(sweep.size(), s + batch));
                FloatTensor o = ablate.run(req.withInterventions(part)).output(output);
                int per = o.data().length / part.size();
                for (int i = 0; i < part.size(); i++) {
                    batchOut[s + i] = java.util.Arrays.copyOfRange(o.data(), i * per, (i + 1) * per);
                }
            }
        };
        float[][] cutOut = new float[sweep.size()][];
        Runnable layerSweep = () -> {
            List<java.util.Map<String, FloatTensor>> r = LayerSweep.run(m, req, sweep, HookSet.HEAD, List.of(output), batch,
                    CancelToken.NEVER, (done, total) -> { });
            for (int i = 0; i < sweep.size(); i++) {
                cutOut[i] = r.get(i).get(output).data();
            }
        };
        double[] sweepMs = Timer.compareAll(List.of(loop, batched, layerSweep), 1, Math.max(3, repeats / 5));
        double maxDiff = 0;
        for (int i = 0; i < sweep.size(); i++) {
            for (int j = 0; j < loopOut[i].length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(loopOut[i][j] - batchOut[i][j]));
                maxDiff = Math.max(maxDiff, Math.abs(loopOut[i][j] - cutOut[i][j]));
            }
        }
        out.printf(Locale.ROOT, "ablation sweep:     one run per head (%d runs) %.0f ms; batched B=%d %.0f ms -> %.2fx; "
                        + "batched + layer suffixes %.0f ms -> %.2fx (max |diff| vs one-by-one %.1e)%n",
                sweep.size(), sweepMs[0], batch, sweepMs[1], sweepMs[0] / sweepMs[1], sweepMs[2], sweepMs[0] / sweepMs[2], maxDiff);
    }

    private static long[] tokens(HookedModel m, int n) {
        if (m.tokenizer().isEmpty()) {
            // a model without a tokenizer (test fixtures, bare exports): a fixed cycle of small ids, valid in any vocabulary
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = 1 + (i * 7L) % 60;
            }
            return ids;
        }
        String paragraph = "Attention heads route information between tokens, and a few of them carry most of the load. ";
        long[] ids = m.requireTokenizer().encode(paragraph.repeat(n / 8 + 4)).ids();
        long[] out = java.util.Arrays.copyOf(ids, n);
        out[n - 1] = ids[ids.length - 1];
        return out;
    }

    private static long bytes(RunResult r) {
        long b = 0;
        for (FloatTensor t : r.floats().values()) {
            b += 4L * t.data().length;
        }
        for (var t : r.longs().values()) {
            b += 8L * t.data().length;
        }
        return b;
    }

    private static String human(long bytes) {
        return bytes > 1 << 20 ? String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0) : String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
    }
}
