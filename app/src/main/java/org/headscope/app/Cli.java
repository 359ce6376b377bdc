package org.headscope.app;

import org.headscope.app.cli.AblateCommand;
import org.headscope.app.bench.AblationBench;
import org.headscope.app.cli.AtlasCommand;
import org.headscope.app.cli.CompareCommand;
import org.headscope.app.cli.DlaCommand;
import org.headscope.app.bench.HooksBench;
import org.headscope.app.cli.LensCommand;
import org.headscope.app.cli.PatchCommand;
import org.headscope.app.cli.ProfileCommand;
import org.headscope.app.cli.RedistributeCommand;
import org.headscope.app.bench.RerunBench;
import org.headscope.app.bench.RetrievalBench;
import org.headscope.app.cli.RetrievalCommand;
import org.headscope.app.cli.ScreenshotCommand;
import org.headscope.app.cli.SinksCommand;
import org.headscope.app.cli.VhdCommand;
import org.headscope.app.cli.Args;
import org.headscope.app.cli.AttentionCommand;
import org.headscope.app.cli.CacheCommand;
import org.headscope.app.cli.Command;
import org.headscope.app.cli.ExitCode;
import org.headscope.app.cli.InspectCommand;
import org.headscope.app.cli.Interrupts;
import org.headscope.app.cli.UsageException;
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

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    /** Every command, in the order help lists them: the one registry of the command line. */
    private static final List<Command> ALL = List.of(
            new InspectCommand(), new CacheCommand(), new AttentionCommand(), new ScreenshotCommand(), ScreenshotCommand.exportFigure(),
            new SinksCommand(), new RetrievalCommand(), new AblateCommand(), new VhdCommand(), new RedistributeCommand(),
            new ProfileCommand(), new PatchCommand(), new DlaCommand(), new LensCommand(), new CompareCommand(), new AtlasCommand(),
            new HooksBench(), new RerunBench(), new AblationBench(), new RetrievalBench());

    static {
        for (Command c : ALL) {
            if (COMMANDS.put(c.name(), c) != null) {
                throw new IllegalStateException("two commands are named " + c.name());
            }
        }
    }

    private Cli() {
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help") || argv[0].equals("-h")) {
            help(out);
            return argv.length == 0 ? ExitCode.USAGE.code() : ExitCode.OK.code();
        }
        Command c = COMMANDS.get(argv[0]);
        if (c == null) {
            err.println("headscope: unknown command '" + argv[0] + "'");
            help(err);
            return ExitCode.USAGE.code();
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
    public static int failure(Command c, String[] argv, Throwable e, PrintStream err) {
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
                return ExitCode.USAGE.code();
            }
            case ModelException m -> {
                err.println(name + m.problem());
                if (!m.fix().isBlank()) {
                    err.println("what to do: " + m.fix());
                }
                return ExitCode.MODEL.code();
            }
            case CancellationException x -> {
                err.println(name + "cancelled; no report was written");
                return ExitCode.CANCELLED.code();
            }
            case IllegalArgumentException x when thrownByHeadScope(x) -> {
                err.println(name + x.getMessage());
                err.println("usage: headscope " + c.usage());
                return ExitCode.USAGE.code();
            }
            case OutOfMemoryError x -> {
                err.println(name + "out of memory (" + x.getMessage() + ").");
                err.println("what to do: use a shorter prompt or fewer prompts, lengths or heads, or give Java more memory "
                        + "(HEADSCOPE_JAVA_OPTS=-Xmx8g ./headscope ...).");
                return ExitCode.MODEL.code();
            }
            case java.nio.file.NoSuchFileException x -> {
                err.println(name + "file not found: " + x.getFile());
                return ExitCode.MODEL.code();
            }
            case java.nio.file.AccessDeniedException x -> {
                err.println(name + "permission denied: " + x.getFile());
                return ExitCode.MODEL.code();
            }
            case java.io.IOException x -> {
                err.println(name + "reading or writing a file failed: " + x.getMessage());
                err.println("what to do: check the disk (free space, permissions) and the paths given.");
                return ExitCode.MODEL.code();
            }
            case java.io.UncheckedIOException x -> {
                err.println(name + "reading or writing a file failed: " + x.getCause().getMessage());
                err.println("what to do: check the disk (free space, permissions) and the paths given.");
                return ExitCode.MODEL.code();
            }
            default -> {
                if (cause instanceof ai.onnxruntime.OrtException ort && isOutOfMemory(ort.getMessage())) {
                    err.println(name + "ONNX Runtime ran out of memory: " + ort.getMessage());
                    err.println("what to do: use a shorter prompt or fewer prompts, or run on a device with more memory.");
                    return ExitCode.MODEL.code();
                }
                java.nio.file.Path log = org.headscope.app.util.ErrorLog.write(String.join(" ", abbreviated(argv)), e);
                err.println(name + "internal error (" + cause.getClass().getSimpleName()
                        + (cause.getMessage() == null ? "" : ": " + firstLine(cause.getMessage())) + ").");
                err.println(log != null ? "The details are in " + log + "; please report it with that file."
                        : "The details could not be written to the cache folder's log.");
                return ExitCode.INTERNAL.code();
            }
        }
    }

    /**
     * Whether HeadScope's own code rejected a value (an argument, a parameter, a prompt): HeadScope throws
     * IllegalArgumentException only for values that came from the user. The same exception thrown inside the JDK or a
     * library means HeadScope called it wrongly, a bug, and is reported as an internal error instead of bad usage.
     */
    static boolean thrownByHeadScope(IllegalArgumentException x) {
        StackTraceElement[] trace = x.getStackTrace();
        return trace.length > 0 && trace[0].getClassName().startsWith("org.headscope.");
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
