package org.headscope.app.bench;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

import org.headscope.app.WorkbenchViewModel;
import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.cli.Args;
import org.headscope.app.cli.Cli;
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
                return Cli.MODEL;
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
                    return Cli.MODEL;
                }
            }
            out.printf(Locale.ROOT, "model %s (%s), %d tokens, %d layers x %d heads, device %s, mode %s, median of %d%n",
                    model, vm.models().titleProperty().get(), first.tokens().size(), first.layers(), first.heads(),
                    vm.models().deviceProperty().get(), mode, runs);
            out.printf(Locale.ROOT, "clean re-run (probabilities of every layer, no hooks):     %8.2f ms%n", Timer.median(clean));
            out.printf(Locale.ROOT, "toggle to result (batched [clean, ablated], hooks, compare): %8.2f ms%n", Timer.median(toggled));
            out.printf(Locale.ROOT, "p90: clean %.2f ms, toggle %.2f ms%n", p90(clean), p90(toggled));
            return Cli.OK;
        }
    }

    private static double p90(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(int) Math.ceil(0.9 * s.length) - 1];
    }
}
