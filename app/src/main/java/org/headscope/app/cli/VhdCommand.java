package org.headscope.app.cli;

import org.headscope.analysis.VisionDivergence;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.hooks.HookedModel;

import java.awt.image.BufferedImage;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** Vision-aware head divergence of every head and VHR's reinforced answer (VisionDivergence). */
public final class VhdCommand implements Command {
    @Override
    public String name() {
        return "vhd";
    }

    @Override
    public String usage() {
        return "vhd MODEL --image FILE --prompt TEXT [--alpha 2] [--top-k 8] [--layers L,L,...|all (the consecutive layers VHR "
                + "reinforces, listed as for attention --layers; default all, the paper: last 14)] [--max-new 8] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "vision-aware head divergence (VHD, T-VHD) and VHR reinforcement with answers before and after";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path imageFile = args.existingFile("image");
        if (imageFile == null) {
            throw new UsageException("option --image is required");
        }
        String prompt = args.require("prompt");
        VisionDivergence.Params d = VisionDivergence.Params.DEFAULTS;
        String layerSpec = args.string("layers", "all").strip();
        List<Integer> layers = layerSpec.equals("all") ? List.of(d.firstLayer(), d.lastLayer())
                : consecutive(args.integers("layers", null));
        args.number("alpha", d.alpha(), -1e6, 1e6, "the reinforcement gain");
        args.integer("top-k", d.topK(), 1, 1_000_000, "the number of reinforced heads");
        args.integer("max-new", d.maxNewTokens(), 1, 1024, "the number of generated tokens");
        // --layers L,L|all stands for the panel's first_layer and last_layer
        org.headscope.analysis.core.Options options = ScanIo.options(args);
        VisionDivergence.Params p = VisionDivergence.Params.fromOptions(org.headscope.analysis.core.Options.of(key -> switch (key) {
            case "first_layer" -> Integer.toString(layers.get(0));
            case "last_layer" -> Integer.toString(layers.get(1));
            default -> options.text(key, null);
        }));
        if (prompt.isBlank()) {
            throw new UsageException("--prompt is empty; give the question about the image");
        }
        BufferedImage image = ModelArgs.image(imageFile);
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            if (true && org.headscope.hooks.GreedyDecoder.way(m) == org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN) {
                err.println("note: " + org.headscope.hooks.GreedyDecoder.describe(org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN));
            }
            boolean defaultRange = layers.get(0) == d.firstLayer() && layers.get(1) == d.lastLayer();
            if (!defaultRange && (layers.get(0) < 0 || layers.get(1) >= m.layers())) {
                throw new UsageException("--layers " + layerSpec + " names a layer this model does not have; it has layers 0.."
                        + (m.layers() - 1));
            }
            ModelArgs.checkTextLength(m, prompt, "prompt");
            VisionDivergence.Result r = ScanIo.cancellable(cancel -> VisionDivergence.analyse(m, image, prompt, p, ScanIo.progressLine(err), cancel));
            ScanIo.write(r.toReport(Provenance.of(m, prompt + " [image " + imageFile.getFileName() + "]",
                    VisionDivergence.metricVersions())), dir, err);
            err.printf("T-VHD %.4g -> %.4g with VHR on %d heads; answer \"%s\" -> \"%s\"%n", r.initial().tvhd(),
                    r.after().tvhd(), r.reinforced().size(), r.before().text(), r.withVhr().text());
            return ExitCode.OK.code();
        }
    }

    /** A list of layers, as {@code attention --layers} takes it, as [first, last]: VHR reinforces consecutive layers. */
    static List<Integer> consecutive(List<Integer> layers) {
        List<Integer> sorted = layers.stream().distinct().sorted().toList();
        if (sorted.isEmpty()) {
            throw new UsageException("--layers names no layer; list them (e.g. 2,3,4,5) or write all");
        }
        int first = sorted.get(0);
        int last = sorted.get(sorted.size() - 1);
        if (first < 0) {
            throw new UsageException("--layers " + layers + " names layer " + first + "; layers count from 0");
        }
        if (sorted.size() != last - first + 1) {
            throw new UsageException("--layers " + layers + " skips layers; VHR reinforces consecutive layers, so list each of them, e.g. "
                    + java.util.stream.IntStream.rangeClosed(first, Math.min(last, first + 3)).mapToObj(Integer::toString)
                    .reduce((a, b) -> a + "," + b).orElse("") + (last > first + 3 ? ",...," + last : ""));
        }
        return List.of(first, last);
    }
}
