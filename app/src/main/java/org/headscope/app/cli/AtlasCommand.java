package org.headscope.app.cli;

import org.headscope.analysis.Progress;
import org.headscope.analysis.HeadAtlas;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Patching;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.HookedModel;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code atlas}: every head's scores side by side. Columns come from the reports of the other commands named with
 * {@code --reports} (sinks, retrieval, ablate, vhd, compare, ...), and from what the atlas runs itself: copy scores
 * (echo, induction) on a decoder, and patching and DLA when a clean/corrupted pair and answers are given.
 */
public final class AtlasCommand implements Command {
    @Override
    public String name() {
        return "atlas";
    }

    @Override
    public String usage() {
        return "atlas MODEL [--reports DIR,DIR,...] [--clean TEXT --corrupted TEXT --answers A,B] [--no-copy] --out DIR "
                + "[--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "head atlas: every head's scores from the other reports side by side, with each column's provenance";
    }

    @Override
    public java.util.Set<String> flags() {
        return java.util.Set.of("no-copy");
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String reports = args.string("reports", null);
        String clean = args.string("clean", null);
        String corrupted = args.string("corrupted", null);
        String answers = args.string("answers", null);
        boolean copy = !args.flag("no-copy");
        if ((clean == null) != (corrupted == null) || (clean == null) != (answers == null)) {
            throw new UsageException("give --clean, --corrupted and --answers together (or none of them)");
        }
        List<HeadReport> sources = new ArrayList<>();
        if (reports != null) {
            for (String d : reports.split(",")) {
                Path json = ModelArgs.resolve(d.strip()).resolve("report.json");
                if (!Files.isRegularFile(json)) {
                    throw new UsageException("--reports: " + d.strip() + " holds no report.json (give the --out folder of another command)");
                }
                sources.add(ReportWriter.read(json));
            }
        }
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            Provenance base = Provenance.of(m, "per column", Map.of());
            HeadAtlas.Params params = HeadAtlas.Params.fromOptions(Options.of(k -> k.equals("copy") ? (copy ? "on" : "off") : null));
            HeadReport copyScores = ScanIo.cancellable(cancel -> HeadAtlas.copySource(m, params, cancel));
            if (copyScores != null) {
                sources.add(copyScores);
            }
            if (clean != null) {
                long[] c = ModelArgs.promptIds(m, clean, "clean");
                long[] x = ModelArgs.promptIds(m, corrupted, "corrupted");
                if (c.length != x.length) {
                    throw new UsageException("--clean has " + c.length + " tokens and --corrupted " + x.length + "; they must match");
                }
                long[] pair = InterpretabilityArgs.pair(m, answers, "answers");
                Patching.Setup s = new Patching.Setup(c, x, pair[0], pair[1]);
                Patching p = new Patching(m, 16);
                String prompt = "clean: " + clean + " || corrupted: " + corrupted + " || answers: " + answers;
                Patching.Result r = ScanIo.cancellable(cancel -> {
                    Patching.Baseline b = p.baseline(s, cancel);
                    return new Patching.Result(Patching.Direction.DENOISING, b,
                            p.heads(s, Patching.Direction.DENOISING, null, ScanIo.progressLine(err), cancel), null, null, null, null, List.of());
                });
                sources.add(r.toReport(Provenance.of(m, prompt, Patching.METRICS), Map.of("answers", answers)));
                var found = m.unembedding();
                if (found.ok() && found.unembedding().normalized() != null) {
                    LogitLens lens = new LogitLens(m);
                    LogitLens.Attribution a = ScanIo.cancellable(cancel -> lens.attribute(c, pair[0], pair[1], cancel));
                    sources.add(LogitLens.dlaReport(a, Provenance.of(m, clean + " || answers: " + answers, LogitLens.DLA_METRICS),
                            Map.of("answers", answers), lens.unembedding().norm()));
                } else {
                    err.println("atlas: no DLA column: " + (found.ok() ? "the final norm is one fused operator" : found.whyNot()));
                }
            }
            if (sources.isEmpty()) {
                throw new UsageException("nothing to gather: give --reports, or --clean/--corrupted/--answers, on a decoder");
            }
            HeadReport atlas = ScanIo.cancellable(cancel -> HeadAtlas.run(m, sources, params, Progress.NONE, cancel)).toReport(base);
            ScanIo.write(atlas, dir, err);
            out.printf("atlas of %d heads, %d columns from %s%n", atlas.heads().size(), atlas.heads().isEmpty() ? 0 : atlas.heads().get(0).size() - 2,
                    atlas.parameters().get("sources"));
            return ExitCode.OK.code();
        }
    }
}
