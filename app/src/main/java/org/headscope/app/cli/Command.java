package org.headscope.app.cli;

import java.io.PrintStream;
import java.util.Set;

/** One command of the command-line front end. */
public interface Command {
    String name();

    /** One usage line, e.g. {@code inspect MODEL [--device auto|cuda|cpu]}. */
    String usage();

    /** What it does, in one sentence. */
    String summary();

    /** Options that take no value. */
    default Set<String> flags() {
        return Set.of();
    }

    /** Runs the command; returns the exit code. Throws {@link UsageException} for bad usage. */
    int run(Args args, PrintStream out, PrintStream err) throws Exception;
}
