package org.headscope.app.cli;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.app.profile.HeadProfileScan;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.HookedModel;

import java.io.PrintStream;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;

/**
 * {@code profile}: the Head profile panel's scan on one prompt (mass on the first token, on the token d back, on the
 * query itself, row entropy), through the same {@link HeadProfileScan} call the panel makes.
 */
public final class ProfileCommand implements Command {
    @Override
    public String name() {
        return "profile";
    }

    @Override
    public String usage() {
        return "profile MODEL --prompt TEXT [--offset 1] --out DIR [--device auto|cuda|cpu]\n"
                + "  per head: mean attention on the first token, on the token OFFSET back, on itself, and normalised row entropy";
    }

    @Override
    public String summary() {
        return "head profile (the Head profile panel): first-token mass, attention d back, self attention, row entropy";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String prompt = args.require("prompt");
        int offset = args.integer("offset", 1, 0, 1_000_000, "the offset d");
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            ModelArgs.promptIds(m, prompt, "prompt");
            Scan.Values values = new Scan.Values(Map.of("offset", Integer.toString(offset)));
            HeadReport r = ScanIo.cancellable(cancel -> new HeadProfileScan().run(m, prompt, values, ScanIo.progressLine(err), cancel));
            ScanIo.write(r, dir, err);
            Map<String, Object> top = r.heads().stream()
                    .max(Comparator.comparingDouble(h -> finite(h.get("offset")))).orElseThrow();
            out.printf(Locale.ROOT, "strongest attention %d back: head %s.%s (%.4f)%n", offset, top.get("layer"), top.get("head"),
                    finite(top.get("offset")));
            return ExitCode.OK.code();
        }
    }

    private static double finite(Object v) {
        double d = ((Number) v).doubleValue();
        return Double.isNaN(d) ? Double.NEGATIVE_INFINITY : d;
    }
}
