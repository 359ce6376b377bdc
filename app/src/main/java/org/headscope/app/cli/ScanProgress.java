package org.headscope.app.cli;

import org.headscope.analysis.Progress;

import java.io.PrintStream;

/** The progress line a scan prints on stderr, rewritten in place: {@code [ 12/200] retrieval L=256 d=40%}. */
final class ScanProgress implements Progress {
    private final PrintStream err;

    ScanProgress(PrintStream err) {
        this.err = err;
    }

    @Override
    public void update(long done, long total, String message) {
        int width = String.valueOf(total).length();
        err.printf("\r[%" + width + "d/%d] %s", done, total, message);
        if (done >= total) {
            err.println();
        }
        err.flush();
    }
}
