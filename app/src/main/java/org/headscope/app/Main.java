package org.headscope.app;

import org.headscope.app.cli.Cli;

/**
 * Entry point: no arguments opens the workbench, a command runs the command-line front end.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (args.length == 0 || args[0].equals("gui") || args[0].startsWith("--model")) {
            javafx.application.Application.launch(Workbench.class, args.length == 0 ? args : java.util.Arrays.copyOfRange(args, args[0].equals("gui") ? 1 : 0, args.length));
            return;
        }
        System.exit(Cli.run(args, System.out, System.err));
    }
}
