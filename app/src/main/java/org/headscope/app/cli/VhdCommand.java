package org.headscope.app.cli;

import org.headscope.analysis.VisionDivergence;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.app.util.SafeImages;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.HookedModel;

import java.awt.image.BufferedImage;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** Vision-aware head divergence of every head and VHR's reinforced answer (VisionDivergence). */
final class VhdCommand implements Command {
    @Override
    public String name() {
        return "vhd";
    }

    @Override
    public String usage() {
        return "vhd MODEL --image FILE --prompt TEXT [--alpha 2] [--top-k 8] [--layers FIRST,LAST (VHR range; default all, "
                + "the paper: last 14)] [--max-new 8] --out DIR [--device auto|cuda|cpu]";
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
        VisionDivergence.Parameters d = VisionDivergence.Parameters.DEFAULTS;
        List<Integer> layers = args.integers("layers", List.of(d.firstLayer(), d.lastLayer()));
        if (layers.size() != 2) {
            throw new UsageException("--layers takes FIRST,LAST (e.g. 2,5), got " + layers);
        }
        VisionDivergence.Parameters p = new VisionDivergence.Parameters(args.number("alpha", d.alpha(), -1e6, 1e6, "the reinforcement gain"),
                args.integer("top-k", d.topK(), 1, 1_000_000, "the number of reinforced heads"),
                layers.get(0), layers.get(1), args.integer("max-new", d.maxNewTokens(), 1, 1024, "the number of generated tokens"));
        if (prompt.isBlank()) {
            throw new UsageException("--prompt is empty; give the question about the image");
        }
        BufferedImage image;
        try {
            image = SafeImages.read(imageFile);
        } catch (SafeImages.BadImageException e) {
            throw new ModelException("--image: " + e.getMessage() + ".", "Give a PNG, JPEG, GIF or BMP image of at most "
                    + SafeImages.MAX_SIDE + " x " + SafeImages.MAX_SIDE + " pixels.");
        }
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            if (true && org.headscope.hooks.GreedyDecoder.way(m) == org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN) {
                err.println("note: " + org.headscope.hooks.GreedyDecoder.describe(org.headscope.hooks.GreedyDecoder.Way.FULL_RERUN));
            }
            boolean defaultRange = layers.get(0) == d.firstLayer() && layers.get(1) == d.lastLayer();
            if (!defaultRange && (layers.get(0) < 0 || layers.get(1) >= m.layers() || layers.get(0) > layers.get(1))) {
                throw new UsageException("--layers " + layers.get(0) + "," + layers.get(1) + " is not a range of this model's layers 0.."
                        + (m.layers() - 1));
            }
            ModelArgs.checkTextLength(m, prompt, "prompt");
            VisionDivergence.Result r = ScanIo.cancellable(cancel -> VisionDivergence.analyse(m, image, prompt, p, ScanIo.progressLine(err), cancel));
            ScanIo.write(r.toReport(Provenance.of(m, prompt + " [image " + imageFile.getFileName() + "]",
                    VisionDivergence.metricVersions())), dir, err);
            err.printf("T-VHD %.4g -> %.4g with VHR on %d heads; answer \"%s\" -> \"%s\"%n", r.initial().tvhd(),
                    r.after().tvhd(), r.reinforced().size(), r.before().text(), r.withVhr().text());
            return Cli.OK;
        }
    }
}
