package org.headscope.app.cli;

import org.headscope.hooks.CancelToken;

import java.io.PrintStream;

/**
 * Ctrl-C for the whole life of a command: SIGINT is taken over (through {@code sun.misc.Signal}, so the JVM does
 * not start shutting down, which would tear ONNX Runtime down under a session being created) and trips the
 * command's cancel token. The command notices it at its next check: right after the model is loaded, between the
 * runs of a scan (a run in flight is terminated), and before anything is written; it then exits with
 * {@link Cli#CANCELLED}. Where the signal cannot be taken over, a shutdown hook still trips the token.
 */
public final class Interrupts implements AutoCloseable {
    private static volatile CancelToken current = new CancelToken();
    /** Set by {@link #early()}'s handler: Ctrl-C came before the command started. */
    private static volatile boolean interruptedEarly;

    private final sun.misc.Signal signal;
    private final sun.misc.SignalHandler previous;
    private final Thread hook;

    private Interrupts(sun.misc.Signal signal, sun.misc.SignalHandler previous, Thread hook) {
        this.signal = signal;
        this.previous = previous;
        this.hook = hook;
    }

    /** The running command's token. */
    public static CancelToken current() {
        return current;
    }

    /**
     * Takes SIGINT over as the JVM starts, before the command is parsed: a Ctrl-C then cancels the command as soon as
     * it starts, instead of the JVM exiting with 130.
     */
    public static void early() {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> {
                interruptedEarly = true;
                current.cancel();
            });
        } catch (IllegalArgumentException | UnsupportedOperationException noSignal) {
            // the command's own install falls back to a shutdown hook
        }
    }

    /** Starts a command: a fresh token, and SIGINT routed to it (with a one-line note on stderr). */
    public static Interrupts install(PrintStream err, boolean takeSignal) {
        CancelToken token = new CancelToken();
        if (interruptedEarly) {
            token.cancel();
        }
        current = token;
        if (!takeSignal) {
            return new Interrupts(null, null, null);
        }
        boolean[] said = {false};
        try {
            sun.misc.Signal interrupt = new sun.misc.Signal("INT");
            sun.misc.SignalHandler previous = sun.misc.Signal.handle(interrupt, s -> {
                if (!said[0]) {
                    said[0] = true;
                    err.println();
                    err.println("headscope: stopping (Ctrl-C); finishing the current step...");
                    err.flush();
                }
                token.cancel();
            });
            return new Interrupts(interrupt, previous, null);
        } catch (IllegalArgumentException | UnsupportedOperationException noSignal) {
            Thread hook = new Thread(token::cancel, "headscope-cancel");
            Runtime.getRuntime().addShutdownHook(hook);
            return new Interrupts(null, null, hook);
        }
    }

    @Override
    public void close() {
        if (signal != null) {
            sun.misc.Signal.handle(signal, previous);
        }
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting; the hook has done its job
            }
        }
    }
}
