package org.headscope.app;

import java.io.OutputStream;
import java.io.PrintStream;

/**
 * The workload the launcher records a JDK AOT cache from ({@code -XX:AOTCacheOutput}): {@code help} and
 * {@code inspect} on the bundled needle-gpt, output discarded, so later starts of the short commands find their
 * classes loaded and linked. Not a user command.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) {
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        Cli.run(new String[]{"help"}, sink, sink);
        Cli.run(new String[]{"inspect", "needle-gpt", "--device", "cpu"}, sink, sink);
        System.exit(0);
    }
}
