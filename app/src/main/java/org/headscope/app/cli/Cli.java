package org.headscope.app.cli;

import org.headscope.hooks.ModelException;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;

/**
 * Dispatches {@code headscope COMMAND ...}: exit 0 on success, 2 on bad usage, 3 on a model HeadScope cannot
 * handle (the reason on stderr, never a stack trace), 4 when cancelled.
 */
public final class Cli {
    public static final int OK = 0;
    public static final int USAGE = 2;
    public static final int MODEL = 3;
    public static final int CANCELLED = 4;

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        for (Command c : List.<Command>of(new InspectCommand(), new AttentionCommand(), new org.headscope.app.bench.HooksBench(),
                new org.headscope.app.bench.RerunBench(),
                new org.headscope.app.report.ScreenshotCommand())) {
            COMMANDS.put(c.name(), c);
        }
        for (Command c : AnalysisCommands.all()) {
            COMMANDS.put(c.name(), c);
        }
    }

    private Cli() {
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help") || argv[0].equals("-h")) {
            help(out);
            return argv.length == 0 ? USAGE : OK;
        }
        Command c = COMMANDS.get(argv[0]);
        if (c == null) {
            err.println("headscope: unknown command '" + argv[0] + "'");
            help(err);
            return USAGE;
        }
        String[] rest = java.util.Arrays.copyOfRange(argv, 1, argv.length);
        try {
            Args args = new Args(rest, c.flags());
            return c.run(args, out, err);
        } catch (UsageException e) {
            err.println("headscope " + c.name() + ": " + e.getMessage());
            err.println("usage: headscope " + c.usage());
            return USAGE;
        } catch (ModelException e) {
            err.println("headscope " + c.name() + ": " + e.problem());
            if (!e.fix().isBlank()) {
                err.println("what to do: " + e.fix());
            }
            return MODEL;
        } catch (CancellationException e) {
            err.println("headscope " + c.name() + ": cancelled; no report was written");
            return CANCELLED;
        } catch (IllegalArgumentException e) {
            err.println("headscope " + c.name() + ": " + e.getMessage());
            err.println("usage: headscope " + c.usage());
            return USAGE;
        } catch (Exception e) {
            err.println("headscope " + c.name() + ": unexpected error: " + e);
            return 1;
        }
    }

    private static void help(PrintStream out) {
        out.println("HeadScope: attention heads of ONNX transformers.");
        out.println("usage: headscope                     open the workbench on the bundled default model");
        out.println("       headscope COMMAND [options]   MODEL is a .onnx file, a model folder, or a bundled name:");
        out.println("                                     " + org.headscope.assets.BundledModels.available());
        for (Command c : COMMANDS.values()) {
            out.printf("  %-12s %s%n      %s%n", c.name(), c.summary(), "headscope " + c.usage());
        }
    }
}
