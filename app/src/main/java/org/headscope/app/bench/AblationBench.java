package org.headscope.app.bench;

import org.headscope.app.cli.ExitCode;
import org.headscope.analysis.AblationMode;
import org.headscope.analysis.AblationScan;
import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.Progress;
import org.headscope.analysis.core.Heads;
import org.headscope.app.cli.Args;
import org.headscope.app.Cli;
import org.headscope.app.cli.Command;
import org.headscope.app.cli.ModelArgs;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention.Head;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The analysis's single-head ablation sweep over every head with batches of B interventions against the same sweep
 * with batches of one (one run per head, as the reference codes loop), on the same prompt, alternating the two so
 * both see the same machine state. Both recompute only the layers from each head's own (layer suffixes), so the
 * ratio is what batching alone buys; {@code bench-hooks} compares against full-model runs. Prints the median wall
 * time of each and their ratio, and checks both give the same effects.
 */
public final class AblationBench implements Command {
    @Override
    public String name() {
        return "bench-ablation";
    }

    @Override
    public String usage() {
        return "bench-ablation MODEL [--tokens 128] [--batch 16] [--repeats 5] [--mode zero] [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "benchmark: batched single-head ablation sweep vs one run per head, side by side";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        int tokens = args.integer("tokens", 128);
        int batch = args.integer("batch", AblationScan.Params.DEFAULTS.batchSize());
        int repeats = args.integer("repeats", 5);
        AblationMode mode = AblationMode.parse(args.string("mode", "zero"));
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            HsTokenizer tk = m.requireTokenizer();
            long[] ids = Arrays.copyOf(tk.encode(org.headscope.app.model.BundledTexts.haystackProbes(tk, tokens, 1, 0).get(0)).ids(), tokens);
            int split = m.isCausal() ? tokens - 16 : tokens;
            AblationScan.Target target = AblationScan.Target.of(Arrays.copyOf(ids, split), Arrays.copyOfRange(ids, split, tokens));
            List<Head> heads = Heads.all(m);
            AblationScan.Params p = AblationScan.Params.DEFAULTS.withMode(mode, AblationMode.DEFAULT_ALPHA);
            AblationScan batched = new AblationScan(m, p.withBatchSize(batch), null);
            AblationScan single = new AblationScan(m, p.withBatchSize(1), null);
            AblationScan.Outcome clean = batched.clean(target, CancelToken.NEVER);
            out.printf(Locale.ROOT, "model %s, %d layers x %d heads, %d tokens, mode %s, device %s%n", m.manifest().name(), m.layers(),
                    m.heads(), tokens, mode.id(), m.device().provider());
            out.printf(Locale.ROOT, "batched: up to %d interventions per run, one layer's heads at a time; reference: %d runs of one; "
                    + "both run layer suffixes%n", batch, heads.size());
            double diff = maxDifference(batched.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER),
                    single.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER));
            long[] tb = new long[repeats];
            long[] ts = new long[repeats];
            long[] tp = new long[repeats];
            org.headscope.hooks.HookedSession plain = m.plain();
            for (int i = 0; i < repeats; i++) {
                long tp0 = System.nanoTime();
                plain.run(org.headscope.hooks.RunRequest.tokens(ids), CancelToken.NEVER);
                tp[i] = System.nanoTime() - tp0;
                long t0 = System.nanoTime();
                batched.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER);
                long t1 = System.nanoTime();
                single.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER);
                long t2 = System.nanoTime();
                tb[i] = t1 - t0;
                ts[i] = t2 - t1;
                err.printf(Locale.ROOT, "\r[%d/%d] repeat", i + 1, repeats);
            }
            err.println();
            double mb = median(tb) / 1e6;
            double ms = median(ts) / 1e6;
            out.printf(Locale.ROOT, "batched sweep      : %9.1f ms (median of %d)%n", mb, repeats);
            out.printf(Locale.ROOT, "one run per head   : %9.1f ms (median of %d)%n", ms, repeats);
            out.printf(Locale.ROOT, "ratio (per-head / batched): %.2fx; largest difference in effects: %.2e%n", ms / mb, diff);
            double mp = median(tp) / 1e6;
            out.printf(Locale.ROOT, "one plain forward : %9.1f ms (median of %d); batched sweep = %.1f forward passes%n", mp, repeats, mb / mp);
            return ExitCode.OK.code();
        }
    }

    private static double maxDifference(List<AblationScan.HeadEffect> a, List<AblationScan.HeadEffect> b) {
        double d = 0;
        for (int i = 0; i < a.size(); i++) {
            AblationScan.Effect x = a.get(i).effect();
            AblationScan.Effect y = b.get(i).effect();
            d = Math.max(d, Math.abs(x.main() - y.main()));
        }
        return d;
    }

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
