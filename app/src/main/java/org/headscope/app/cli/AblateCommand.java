package org.headscope.app.cli;

import org.headscope.analysis.AblationMode;
import org.headscope.analysis.AblationScan;
import org.headscope.analysis.ProbeTexts;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** {@code ablate}: single-head ablation sweep, AMP importance, pruning curve and generated text. */
public final class AblateCommand implements Command {
    private static final int REFERENCE_PROMPTS = 8;
    private static final int REFERENCE_TOKENS = 32;

    @Override
    public String name() {
        return "ablate";
    }

    @Override
    public String usage() {
        return "ablate MODEL --prompt TEXT --target TEXT [--image FILE (vision-language models)] [--mode zero|mean|mean-prompt|uniform|bos|scale] [--alpha A] [--heads all|L.H,...] "
                + "[--answers A,B] [--batch 16] [--amp] [--pruning per-layer|global] [--reference FILE] [--generate N] --out DIR "
                + "[--device auto|cuda|cpu] [--threads N] [--spin auto|on|off]\n"
                + "  runs the single-head sweep alone; --amp adds AMP importance and the pruning curve, --generate N greedy continuations";
    }

    @Override
    public java.util.Set<String> flags() {
        return java.util.Set.of("amp");
    }

    @Override
    public String summary() {
        return "ablate every head (batched): loss change on the target, KL, logit difference (AMP importance, pruning curve, "
                + "continuations on request)";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String promptText = args.require("prompt");
        Path imageFile = args.existingFile("image");
        java.awt.image.BufferedImage image = imageFile == null ? null : ModelArgs.image(imageFile);
        String targetText = args.require("target");
        AblationScan.Params d = AblationScan.Params.DEFAULTS;
        args.number("alpha", d.alpha(), -1e6, 1e6, "the scale gain");
        args.integer("batch", d.batchSize(), 1, 1024, "the batch size");
        int generate = args.integer("generate", 0, 0, 1024, "the number of generated tokens");
        boolean amp = args.flag("amp");
        String pruning = args.string("pruning", "per-layer");
        if (!pruning.equals("per-layer") && !pruning.equals("global")) {
            throw new UsageException("--pruning must be per-layer or global, got '" + pruning + "'");
        }
        AblationScan.Params params = AblationScan.Params.fromOptions(ScanIo.options(args))
                .withPruning(d.pruneFractions(), pruning.equals("global"))
                .withGeneration(generate, d.topGenerated()).withAmp(amp);
        AblationMode mode = params.mode();
        String headSpec = args.string("heads", "all");
        String answers = args.string("answers", null);
        Path reference = args.existingFile("reference");
        List<String> referenceLines = reference != null ? readLines(reference) : null;
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            ModelArgs.requireImageForVision(m, image, "ablate");
            if (generate > 0 && org.headscope.hooks.GreedyDecoder.way(m) == org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN) {
                err.println("note: " + org.headscope.hooks.GreedyDecoder.describe(org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN));
            }
            HsTokenizer tk = m.requireTokenizer();
            ModelArgs.promptIds(m, promptText, "prompt");
            // the prompt as the workbench runs it: token ids, or for a vision-language model with its image placed
            Input promptInput = Input.of(m, tk.encode(promptText), image);
            if (targetText.isBlank()) {
                throw new UsageException("--target is empty; give the text the model should continue with");
            }
            ModelArgs.checkTextLength(m, targetText, "--target text");
            long[] continuation = tk.encodePlain(targetText);
            if (continuation.length == 0) {
                throw new UsageException("--target '" + targetText + "' has no tokens");
            }
            ModelArgs.checkLength(m, (long) promptInput.length() + continuation.length + generate,
                    image == null ? "prompt with its target and generated tokens" : "prompt with its image tokens, target and generated tokens");
            long a = -1;
            long b = -1;
            if (answers != null) {
                String[] parts = answers.split(",");
                if (parts.length != 2) {
                    throw new UsageException("--answers takes two answers separated by a comma, e.g. Paris,London");
                }
                a = firstToken(tk, parts[0]);
                b = firstToken(tk, parts[1]);
            }
            AblationScan.Target target = AblationScan.Target.of(promptInput, continuation, a, b);
            var heads = ScanIo.heads(headSpec, Heads.all(m));
            AblationScan.Result r = ScanIo.cancellable(cancel -> AblationScan.run(m, target, heads, params,
                    () -> (referenceLines != null ? referenceLines
                            : org.headscope.app.model.BundledTexts.haystackProbes(tk, REFERENCE_TOKENS, REFERENCE_PROMPTS, 11))
                            .stream().map(s -> tk.encode(s).ids()).toList(), ScanIo.progressLine(err), cancel));
            String provenancePrompt = promptText + (image == null ? "" : " [image " + imageFile.getFileName() + "]") + " || target: "
                    + targetText + (answers == null ? "" : " || answers: " + answers);
            ScanIo.write(r.toReport(Provenance.of(m, provenancePrompt, AblationScan.METRICS)), dir, err);
            var top = r.ranked().get(0);
            out.printf("most important head (%s ablation): %s, %s %.4f%n", mode.id(), top.head(),
                    r.languageModel() ? "loss change" : "cosine distance", top.effect().main());
            return ExitCode.OK.code();
        }
    }

    private static long firstToken(HsTokenizer tk, String text) {
        long[] ids = tk.encodePlain(text.strip());
        if (ids.length == 0) {
            throw new UsageException("answer '" + text + "' has no tokens");
        }
        return ids[0];
    }

    private static List<String> readLines(Path file) {
        try {
            return ProbeTexts.lines(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
