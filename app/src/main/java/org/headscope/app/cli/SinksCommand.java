package org.headscope.app.cli;

import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.SinkScan;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** {@code sinks}: sink rate, sink heads, hidden sinks, active/dormant measures and massive dims over a prompt set. */
public final class SinksCommand implements Command {
    private static final int DEFAULT_PROMPTS = 16;
    /** Most prompts in one file: one run each. */
    static final int MAX_PROMPTS = 10_000;

    @Override
    public String name() {
        return "sinks";
    }

    @Override
    public String usage() {
        return "sinks MODEL [--prompts FILE] [--second FILE] [--image FILE --prompt TEXT|--prompts FILE (vision-language models)] "
                + "[--eps 0.3] [--tokens 64] [--heat-key 0] [--tau 20] [--massive-dims D,D] [--sink-rule first-detected|key0] "
                + "[--row-entropy all-rows|skip-row0] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "attention sinks: Sink_k rate, sink heads, hidden sinks, active/dormant measures (second set side by side), massive dims";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path promptsFile = args.existingFile("prompts");
        Path secondFile = args.existingFile("second");
        SinkScan.Params d = SinkScan.Params.DEFAULTS;
        int tokens = args.integer("tokens", d.tokens());
        if (tokens < 2) {
            throw new UsageException("--tokens is " + tokens + "; the scan reads at least 2 tokens of each prompt");
        }
        double tau = args.number("tau", d.tau());
        if (tau <= 0) {
            throw new UsageException("--tau must be above 0, got " + tau);
        }
        List<Integer> massive = args.integers("massive-dims", null);
        if (massive != null && massive.stream().anyMatch(x -> x < 0)) {
            throw new UsageException("--massive-dims are hidden-state dimensions, 0 or more; got " + massive);
        }
        args.number("eps", d.eps());
        args.integer("heat-key", d.heatKey());
        SinkScan.Params options = option(() -> SinkScan.Params.fromOptions(ScanIo.options(args)));
        Path imageFile = args.existingFile("image");
        java.awt.image.BufferedImage image = imageFile == null ? null : ModelArgs.image(imageFile);
        String promptText = args.string("prompt", null);
        if (promptText != null && promptsFile != null) {
            throw new UsageException("give --prompt TEXT or --prompts FILE, not both");
        }
        if (image != null && promptText == null && promptsFile == null) {
            throw new UsageException("--image needs the questions that run with it: --prompt TEXT or --prompts FILE");
        }
        List<String> firstLines = promptsFile != null ? ProbeTexts.lines(promptsFile) : promptText != null ? List.of(promptText) : null;
        List<String> second = secondFile != null ? ProbeTexts.lines(secondFile) : null;
        for (List<String> set : java.util.Arrays.asList(firstLines, second)) {
            if (set != null && set.size() > MAX_PROMPTS) {
                throw new UsageException("a prompt file holds " + set.size() + " prompts; the scan takes at most " + MAX_PROMPTS
                        + " (one run each): split the file");
            }
        }
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            ModelArgs.requireImageForVision(m, image, "sinks");
            HsTokenizer tk = m.requireTokenizer();
            for (List<String> set : java.util.Arrays.asList(firstLines, second)) {
                if (set != null) {
                    for (String line : set) {
                        ModelArgs.checkTextLength(m, line, "prompt");
                    }
                }
            }
            List<String> first = firstLines != null ? firstLines : org.headscope.app.model.BundledTexts.haystackProbes(tk, tokens, DEFAULT_PROMPTS, 7);
            String firstName = promptsFile != null ? promptsFile.getFileName().toString() : promptText != null ? "prompt" : "haystack";
            // every prompt of the first set runs with the image, as the workbench feeds a vision-language model
            List<Input> firstInputs = first.stream().map(line -> Input.of(m, tk.encode(line), image)).toList();
            List<Input> secondInputs = second == null ? null : second.stream().map(line -> Input.of(m, tk.encode(line), null)).toList();
            int window = tokens;
            if (image != null && !args.has("tokens")) {
                // the window covers the image and the question after it unless --tokens says otherwise
                window = Math.max(tokens, firstInputs.stream().mapToInt(Input::length).max().orElse(tokens));
            }
            ModelArgs.checkLength(m, window, image != null ? "--tokens window (the prompt with its image tokens)" : "--tokens window");
            SinkScan.Params params = options.withTokens(window);
            SinkScan.Result r = ScanIo.cancellable(cancel -> SinkScan.run(m, SinkScan.Prompts.of(firstName, firstInputs)
                    .withSecond(second == null ? null : secondFile.getFileName().toString(), secondInputs), params, ScanIo.progressLine(err), cancel));
            String prompt = first.size() + " prompts (" + firstName + ")" + (image == null ? "" : " [image " + imageFile.getFileName() + "]")
                    + (second == null ? "" : " + " + second.size() + " (" + secondFile.getFileName() + ")") + ", first " + window + " tokens";
            ScanIo.write(r.toReport(Provenance.of(m, prompt, SinkScan.metrics(params))), dir, err);
            out.printf("sink rate at key 0: %.1f%%; sink heads: %s; hidden sink tokens: %d%n", r.sinkRate().get(0), r.sinkHeads(),
                    r.hiddenSinkTokens().size());
            r.selectionNotes().forEach(out::println);
            return ExitCode.OK.code();
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
