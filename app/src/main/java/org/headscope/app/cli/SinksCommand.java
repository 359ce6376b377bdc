package org.headscope.app.cli;

import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.SinkRule;
import org.headscope.analysis.SinkScan;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** {@code sinks}: sink rate, sink heads, hidden sinks, active/dormant measures and massive dims over a prompt set. */
final class SinksCommand implements Command {
    private static final int DEFAULT_PROMPTS = 16;

    @Override
    public String name() {
        return "sinks";
    }

    @Override
    public String usage() {
        return "sinks MODEL [--prompts FILE] [--second FILE] [--eps 0.3] [--tokens 64] [--heat-key 0] [--tau 20] "
                + "[--massive-dims D,D] [--sink-rule first-detected|key0] [--row-entropy all-rows|skip-row0] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "attention sinks: Sink_k rate, sink heads, hidden sinks, active/dormant measures (second set side by side), massive dims";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path dir = ScanIo.out(args);
        Path promptsFile = args.existingFile("prompts");
        Path secondFile = args.existingFile("second");
        SinkScan.Params d = SinkScan.Params.DEFAULTS;
        int tokens = args.integer("tokens", d.tokens());
        SinkScan.Params params = new SinkScan.Params(args.number("eps", d.eps()), tokens, args.integer("heat-key", d.heatKey()),
                d.hiddenThreshold(), d.dormantRowEntropy(), d.dormantColEntropy(), args.number("tau", d.tau()),
                args.integers("massive-dims", null), d.massiveRatio(), d.maxMassiveDims(),
                option(() -> SinkRule.parse(args.string("sink-rule", d.sinkRule().id()))),
                option(() -> SinkScan.RowEntropy.parse(args.string("row-entropy", d.rowEntropy().id()))));
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            HsTokenizer tk = m.requireTokenizer();
            List<String> first = promptsFile != null ? ProbeTexts.lines(promptsFile) : ProbeTexts.haystackProbes(tk, tokens, DEFAULT_PROMPTS, 7);
            List<String> second = secondFile != null ? ProbeTexts.lines(secondFile) : null;
            String firstName = promptsFile != null ? promptsFile.getFileName().toString() : "haystack";
            SinkScan.Result r = ScanIo.cancellable(cancel -> SinkScan.run(m, firstName, first.stream().map(tk::encode).toList(),
                    second == null ? null : secondFile.getFileName().toString(),
                    second == null ? null : second.stream().map(tk::encode).toList(), params, ScanIo.progressLine(err), cancel));
            String prompt = first.size() + " prompts (" + firstName + ")" + (second == null ? "" : " + " + second.size() + " ("
                    + secondFile.getFileName() + ")") + ", first " + tokens + " tokens";
            ScanIo.write(r.toReport(Provenance.of(m, prompt, SinkScan.metrics(params))), dir, err);
            out.printf("sink rate at key 0: %.1f%%; sink heads: %s; hidden sink tokens: %d%n", r.sinkRate().get(0), r.sinkHeads(),
                    r.hiddenSinkTokens().size());
            r.selectionNotes().forEach(out::println);
            return Cli.OK;
        }
    }

    private static <T> T option(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
