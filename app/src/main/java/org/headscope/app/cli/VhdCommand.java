package org.headscope.app.cli;

import org.headscope.analysis.VisionDivergence;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.HookedModel;

import javax.imageio.ImageIO;
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
        Path dir = Path.of(args.require("out"));
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
        VisionDivergence.Parameters p = new VisionDivergence.Parameters(args.number("alpha", d.alpha()), args.integer("top-k", d.topK()),
                layers.get(0), layers.get(1), args.integer("max-new", d.maxNewTokens()));
        BufferedImage image = ImageIO.read(imageFile.toFile());
        if (image == null) {
            throw new UsageException("--image " + imageFile + " is not an image Java can read (use PNG, JPEG, GIF or BMP)");
        }
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            VisionDivergence.Result r = ScanIo.cancellable(cancel -> VisionDivergence.analyse(m, image, prompt, p, ScanIo.progressLine(err), cancel));
            ReportWriter.write(r.toReport(Provenance.of(m, prompt + " [image " + imageFile.getFileName() + "]",
                    VisionDivergence.metricVersions())), dir);
            err.printf("wrote %s: T-VHD %.4g -> %.4g with VHR on %d heads; answer \"%s\" -> \"%s\"%n", dir, r.initial().tvhd(),
                    r.after().tvhd(), r.reinforced().size(), r.before().text(), r.withVhr().text());
            return Cli.OK;
        }
    }
}
