package org.headscope.app;

import org.headscope.app.cli.ExitCode;
import org.headscope.app.workbench.Workbench;


/**
 * Entry point: no arguments opens the workbench, a command runs the command-line front end.
 *
 * <p>The command line runs on a thread of its own with a large, explicit stack. ONNX Runtime creates its
 * environment (and its thread pools) from the calling thread, and on the JVM's main thread a long command line
 * (a prompt of tens of thousands of characters) left too little stack for that: the JVM died with SIGSEGV.
 */
public final class Main {
    /** Stack of the command-line thread; ONNX Runtime's environment creation needs far more than a default thread. */
    static final long CLI_STACK_BYTES = 512L << 20;

    private Main() {
    }

    public static void main(String[] args) {
        if (args.length == 0 || args[0].equals("gui") || args[0].startsWith("--model")) {
            javafx.application.Application.launch(Workbench.class, args.length == 0 ? args : java.util.Arrays.copyOfRange(args, args[0].equals("gui") ? 1 : 0, args.length));
            return;
        }
        org.headscope.app.cli.Interrupts.early();
        System.exit(runCli(args));
    }

    /** Runs the command line on a large-stack thread and returns its exit code. */
    static int runCli(String[] args) {
        int[] code = {ExitCode.INTERNAL.code()};
        Thread t = new Thread(null, () -> code[0] = Cli.run(args, System.out, System.err), "headscope-cli", CLI_STACK_BYTES);
        t.start();
        while (true) {
            try {
                t.join();
                return code[0];
            } catch (InterruptedException e) {
                // the main thread is never interrupted on purpose; keep waiting for the command
            }
        }
    }
}
