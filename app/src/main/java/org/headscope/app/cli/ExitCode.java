package org.headscope.app.cli;

/**
 * The exit status of a {@code headscope} command. Scripts can rely on these numbers; the README lists them.
 */
public enum ExitCode {
    /** The command did what was asked. */
    OK(0),
    /** The command line was wrong (unknown option, missing argument, a value out of range); the usage follows. */
    USAGE(2),
    /** A model, prompt, image or file HeadScope cannot handle; the reason and the way out are printed. */
    MODEL(3),
    /** Cancelled (Ctrl-C); nothing half-written is left behind. */
    CANCELLED(4),
    /** A bug in HeadScope: one line on stderr, the stack trace in the log file it names. */
    INTERNAL(5);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    /** The number the process exits with. */
    public int code() {
        return code;
    }
}
