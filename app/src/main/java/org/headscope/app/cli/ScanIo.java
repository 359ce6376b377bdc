package org.headscope.app.cli;

import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.Intervention.Head;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** What the analysis commands share: the progress line, Ctrl-C as cancellation, head lists, writing the report. */
final class ScanIo {
    private ScanIo() {
    }

    /**
     * Progress on stderr: {@code [ 12/200] message}. On a terminal the line is rewritten in place; otherwise (output
     * piped into a log) one line is printed per tenth of the work, so a log is not one endless line.
     */
    static Progress progressLine(PrintStream err) {
        java.io.Console console = System.console();
        return progressLine(err, console != null && console.isTerminal());
    }

    static Progress progressLine(PrintStream err, boolean inPlace) {
        long[] lastTenth = {-1};
        return (done, total, message) -> {
            int width = Long.toString(total).length();
            String line = String.format(Locale.ROOT, "[%" + width + "d/%d] %s", done, total, message);
            if (inPlace) {
                err.print("\r" + line);
                if (done >= total) {
                    err.println();
                }
            } else {
                long tenth = total <= 0 || done >= total ? 10 : 10 * done / total;
                if (tenth > lastTenth[0]) {
                    lastTenth[0] = tenth;
                    err.println(line);
                }
            }
            err.flush();
        };
    }

    /** The running command's cancel token, tripped by Ctrl-C (see {@link Interrupts}). */
    static CancelToken token() {
        return Interrupts.current();
    }

    /**
     * Runs a scan with the command's cancel token, which Ctrl-C trips: the scan stops between runs (or its run in
     * flight is terminated), the command reports the cancellation and exits with {@link Cli#CANCELLED}, and, since
     * the report is written only after the scan returns, no report appears.
     */
    static <T> T cancellable(java.util.function.Function<CancelToken, T> scan) {
        CancelToken cancel = token();
        cancel.check();
        T result = scan.apply(cancel);
        cancel.check();
        return result;
    }

    static void write(HeadReport report, OutputTarget target, PrintStream err) throws IOException {
        token().check();
        List<Path> files = target.writeReport(report);
        err.println("wrote " + files.stream().map(Path::toString).reduce((a, b) -> a + ", " + b).orElse(""));
    }

    /** {@code all} or {@code L.H,L.H,...}, checked against the model's layout. */
    static List<Head> heads(String spec, List<Head> all) {
        if (spec == null || spec.equals("all")) {
            return all;
        }
        List<Head> out = Arrays.stream(spec.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(s -> {
            try {
                return Head.parse(s);
            } catch (NumberFormatException e) {
                throw new UsageException("'" + s + "' is not a head; write LAYER.HEAD, e.g. 3.7");
            }
        }).toList();
        for (Head h : out) {
            if (!all.contains(h)) {
                Head last = all.get(all.size() - 1);
                throw new UsageException("head " + h + " does not exist; the model has heads 0.0.." + last);
            }
        }
        if (out.isEmpty()) {
            throw new UsageException("--heads names no head; write all or LAYER.HEAD,...");
        }
        return out;
    }

    /** The --out report folder, checked and locked before any work starts. */
    static OutputTarget out(Args args) {
        return OutputTarget.folder(args.requirePath("out"));
    }

    /** The command's options by the workbench's names ('_' for the command line's '-'), for an analysis's Params.fromOptions. */
    static org.headscope.analysis.core.Options options(Args args) {
        return org.headscope.analysis.core.Options.of(key -> args.string(key.replace('_', '-'), null));
    }
}
