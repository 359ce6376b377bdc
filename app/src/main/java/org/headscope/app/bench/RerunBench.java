package org.headscope.app.bench;

import org.headscope.app.cli.ExitCode;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.cli.Args;
import org.headscope.app.Cli;
import org.headscope.app.cli.Command;
import org.headscope.app.cli.ModelArgs;
import org.headscope.app.cli.UsageException;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.hooks.Intervention.Head;

/**
 * The workbench's live re-run latency: time from toggling a head in the grid to the before/after result being in
 * the view model (intervention built, one batched [clean, ablated] run with every layer's probabilities tapped,
 * output compared), against the clean re-run of the same prompt (same taps, no hooks). Drives the real view models
 * on a current-thread executor, so what is timed is what the window waits for.
 */
public final class RerunBench implements Command {
    @Override
    public String name() {
        return "bench-rerun";
    }

    @Override
    public String usage() {
        return "bench-rerun MODEL [--text TEXT] [--runs 21] [--mode zero|mean-prompt|uniform|bos|scale]";
    }

    @Override
    public String summary() {
        return "benchmark the workbench's re-run after a head toggle against a clean re-run (median of N)";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) {
        String typed = args.positional(0, "MODEL (a .onnx file, a model folder or a bundled name)");
        String model = org.headscope.assets.BundledModels.available().contains(typed) ? typed : ModelArgs.resolve(typed).toString();
        int runs = args.integer("runs", 21);
        AblationMode mode = org.headscope.app.ablation.AblationViewModel.liveMode(args.string("mode", "zero"));
        String text = args.string("text", null);
        args.rejectUnknown();
        if (runs < 3) {
            throw new UsageException("--runs must be at least 3");
        }
        Settings settings = Settings.inMemory();
        settings.put("model", model);
        if (text != null) {
            settings.put("prompt", text);
        }
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.start();
            if (vm.messageProperty().get() != null) {
                err.println("headscope bench-rerun: " + vm.messageProperty().get());
                return ExitCode.MODEL.code();
            }
            AttentionRun first = vm.attention().runProperty().get();
            vm.ablation().modeProperty().set(mode);
            Head a = new Head(first.layers() / 2, 0);
            Head b = new Head(first.layers() - 1, first.heads() - 1);
            for (int i = 0; i < 3; i++) {
                vm.ablation().toggle(a);
                vm.ablation().toggle(a);
            }
            double[] clean = new double[runs];
            double[] toggled = new double[runs];
            for (int i = 0; i < runs; i++) {
                vm.ablation().heads().clear();
                clean[i] = Timer.time(() -> vm.attention().run());
                Head h = i % 2 == 0 ? a : b;
                toggled[i] = Timer.time(() -> vm.ablation().toggle(h));
                if (vm.attention().runProperty().get().ablatedHeads().size() != 1) {
                    err.println("headscope bench-rerun: the toggle did not re-run: " + vm.messageProperty().get());
                    return ExitCode.MODEL.code();
                }
            }
            out.printf(Locale.ROOT, "model %s (%s), %d tokens, %d layers x %d heads, device %s, mode %s, median of %d%n",
                    model, vm.models().titleProperty().get(), first.tokens().size(), first.layers(), first.heads(),
                    vm.models().deviceProperty().get(), mode, runs);
            out.printf(Locale.ROOT, "clean re-run (probabilities of every layer, no hooks):     %8.2f ms%n", Timer.median(clean));
            out.printf(Locale.ROOT, "toggle to result (batched [clean, ablated], hooks, compare): %8.2f ms%n", Timer.median(toggled));
            out.printf(Locale.ROOT, "p90: clean %.2f ms, toggle %.2f ms%n", p90(clean), p90(toggled));
            // what the views do with each run: before, on the FX thread, every key's sink rate over all layers and every
            // head's T x K map coloured for its grid tile; now the tiles are pooled to 40 x 40 with the run (RunOverview,
            // on the worker, included in the toggle time above) and the FX thread colours 40 x 40 cells per head
            AttentionRun last = vm.attention().runProperty().get();
            double[] fxBefore = new double[runs];
            double[] overview = new double[runs];
            double[] fxNow = new double[runs];
            int[] sink = new int[1];
            for (int i = 0; i < runs; i++) {
                fxBefore[i] = Timer.time(() -> sink[0] += colourAll(last, false) + last.sinkRates(0.3).length);
                org.headscope.app.attention.RunOverview[] o = new org.headscope.app.attention.RunOverview[1];
                overview[i] = Timer.time(() -> o[0] = org.headscope.app.attention.RunOverview.of(last, org.headscope.hooks.CancelToken.NEVER));
                fxNow[i] = Timer.time(() -> sink[0] += colourThumbnails(o[0], last));
            }
            out.printf(Locale.ROOT, "view work per run: full-size tiles + sink rates (was on the FX thread) %8.2f ms; "
                    + "pooled tiles + sink rates (worker) %8.2f ms; 40 x 40 tiles coloured (FX thread) %6.2f ms%n",
                    Timer.median(fxBefore), Timer.median(overview), Timer.median(fxNow));
            return ExitCode.OK.code();
        }
    }

    /** Colours every cell of every head's map, as the grid's full-size tiles did (the pixels, without the image). */
    private static int colourAll(AttentionRun r, boolean after) {
        int acc = 0;
        var scale = org.headscope.app.attention.ColourScale.LINEAR;
        for (int l = 0; l < r.layers(); l++) {
            for (int h = 0; h < r.heads(); h++) {
                var map = r.map(l, h, after);
                int rows = map.dim(0);
                int cols = map.dim(1);
                float[] d = map.data();
                int[] px = new int[rows * cols];
                for (int q = 0; q < rows; q++) {
                    for (int k = 0; k < cols; k++) {
                        px[q * cols + k] = r.causal() && k > q + cols - rows ? 0 : scale.argb(d[q * cols + k]);
                    }
                }
                acc += px[px.length - 1];
            }
        }
        return acc;
    }

    /** Colours every head's 40 x 40 thumbnail, as the grid does now. */
    private static int colourThumbnails(org.headscope.app.attention.RunOverview o, AttentionRun r) {
        int acc = 0;
        var scale = org.headscope.app.attention.ColourScale.LINEAR;
        for (int l = 0; l < r.layers(); l++) {
            for (int h = 0; h < r.heads(); h++) {
                for (float v : o.thumbnail(l, h, false).data()) {
                    acc += Float.isNaN(v) ? 0 : scale.argb(v);
                }
            }
        }
        return acc;
    }

    private static double p90(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(int) Math.ceil(0.9 * s.length) - 1];
    }
}
