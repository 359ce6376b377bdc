package org.headscope.app.cli;

import org.headscope.hooks.ModelException;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;

/**
 * Dispatches {@code headscope COMMAND ...}: exit 0 on success, 2 on bad usage, 3 on a model or input HeadScope
 * cannot handle (the reason on stderr, never a stack trace), 4 when cancelled, 5 on an internal error (a bug: one
 * line on stderr, the stack trace in the log file it names).
 */
public final class Cli {
    public static final int OK = 0;
    public static final int USAGE = 2;
    public static final int MODEL = 3;
    public static final int CANCELLED = 4;
    public static final int INTERNAL = 5;

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        for (Command c : List.<Command>of(new InspectCommand(), new CacheCommand(), new AttentionCommand(), new org.headscope.app.bench.HooksBench(),
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
        try (Interrupts ignored = Interrupts.install(err, true)) {
            int code = c.run(new Args(rest, c.flags()), out, err);
            out.flush();
            return code;
        } catch (Throwable e) {
            return failure(c, argv, e, err);
        }
    }

    /** Maps a command's failure to its exit code and a message; never prints a stack trace. */
    static int failure(Command c, String[] argv, Throwable e, PrintStream err) {
        String name = "headscope " + c.name() + ": ";
        Throwable cause = e;
        while (cause instanceof java.util.concurrent.CompletionException || cause instanceof java.util.concurrent.ExecutionException
                || (cause instanceof RuntimeException && cause.getClass() == RuntimeException.class && cause.getCause() != null)) {
            cause = cause.getCause() == null ? cause : cause.getCause();
            if (cause == e) {
                break;
            }
        }
        switch (cause) {
            case UsageException u -> {
                err.println(name + u.getMessage());
                err.println("usage: headscope " + c.usage());
                return USAGE;
            }
            case ModelException m -> {
                err.println(name + m.problem());
                if (!m.fix().isBlank()) {
                    err.println("what to do: " + m.fix());
                }
                return MODEL;
            }
            case CancellationException x -> {
                err.println(name + "cancelled; no report was written");
                return CANCELLED;
            }
            case IllegalArgumentException x -> {
                err.println(name + x.getMessage());
                err.println("usage: headscope " + c.usage());
                return USAGE;
            }
            case OutOfMemoryError x -> {
                err.println(name + "out of memory (" + x.getMessage() + ").");
                err.println("what to do: use a shorter prompt or fewer prompts, lengths or heads, or give Java more memory "
                        + "(HEADSCOPE_JAVA_OPTS=-Xmx8g ./headscope ...).");
                return MODEL;
            }
            case java.nio.file.NoSuchFileException x -> {
                err.println(name + "file not found: " + x.getFile());
                return MODEL;
            }
            case java.nio.file.AccessDeniedException x -> {
                err.println(name + "permission denied: " + x.getFile());
                return MODEL;
            }
            case java.io.IOException x -> {
                err.println(name + "reading or writing a file failed: " + x.getMessage());
                err.println("what to do: check the disk (free space, permissions) and the paths given.");
                return MODEL;
            }
            case java.io.UncheckedIOException x -> {
                err.println(name + "reading or writing a file failed: " + x.getCause().getMessage());
                err.println("what to do: check the disk (free space, permissions) and the paths given.");
                return MODEL;
            }
            default -> {
                if (cause instanceof ai.onnxruntime.OrtException ort && isOutOfMemory(ort.getMessage())) {
                    err.println(name + "ONNX Runtime ran out of memory: " + ort.getMessage());
                    err.println("what to do: use a shorter prompt or fewer prompts, or run on a device with more memory.");
                    return MODEL;
                }
                java.nio.file.Path log = org.headscope.app.util.ErrorLog.write(String.join(" ", abbreviated(argv)), e);
                err.println(name + "internal error (" + cause.getClass().getSimpleName()
                        + (cause.getMessage() == null ? "" : ": " + firstLine(cause.getMessage())) + ").");
                err.println(log != null ? "The details are in " + log + "; please report it with that file."
                        : "The details could not be written to the cache folder's log.");
                return INTERNAL;
            }
        }
    }

    private static boolean isOutOfMemory(String message) {
        String m = message == null ? "" : message.toLowerCase(java.util.Locale.ROOT);
        return m.contains("failed to allocate") || m.contains("out of memory") || m.contains("bad_alloc");
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }

    /** The command line for the log, each argument cut to a readable length. */
    private static List<String> abbreviated(String[] argv) {
        return java.util.Arrays.stream(argv).map(a -> a.length() > 200 ? a.substring(0, 200) + "...(" + a.length() + " chars)" : a).toList();
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
