package org.headscope.app.cli;

import org.headscope.analysis.Patching;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code patch}: activation patching of every head (and positions, and the residual stream) between two prompts. */
public final class PatchCommand implements Command {
    @Override
    public String name() {
        return "patch";
    }

    @Override
    public String usage() {
        return "patch MODEL --clean TEXT --corrupted TEXT --answers A,B [--direction denoising|noising] [--positions all|3,-1] "
                + "[--position-head H|all|none] [--residual] [--batch 16] --out DIR [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "activation patching between a clean and a corrupted prompt: heads, heads x positions, residual stream";
    }

    @Override
    public java.util.Set<String> flags() {
        return java.util.Set.of("residual");
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String cleanText = args.require("clean");
        String corruptedText = args.require("corrupted");
        String answers = args.require("answers");
        Patching.Direction direction;
        try {
            direction = Patching.Direction.parse(args.string("direction", "denoising"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String positionSpec = args.string("positions", "all");
        String positionHead = args.string("position-head", "none");
        boolean residual = args.flag("residual");
        int batch = args.integer("batch", 16, 1, 1024, "the batch size");
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            long[] clean = ModelArgs.promptIds(m, cleanText, "clean");
            long[] corrupted = ModelArgs.promptIds(m, corruptedText, "corrupted");
            if (clean.length != corrupted.length) {
                throw new UsageException("--clean has " + clean.length + " tokens and --corrupted " + corrupted.length
                        + "; patching needs prompts of the same length");
            }
            long[] pair = InterpretabilityArgs.pair(m, answers, "answers");
            int[] positions = InterpretabilityArgs.positions(positionSpec, clean.length);
            Integer head = null;
            boolean byPosition = !positionHead.equals("none");
            if (byPosition && !positionHead.equals("all")) {
                try {
                    head = Integer.parseInt(positionHead.strip());
                } catch (NumberFormatException e) {
                    throw new UsageException("--position-head must be a head index, all or none, got '" + positionHead + "'");
                }
                if (head < 0 || head >= m.heads()) {
                    throw new UsageException("--position-head " + head + " does not exist; heads are 0.." + (m.heads() - 1));
                }
            }
            Patching.Setup setup = new Patching.Setup(clean, corrupted, pair[0], pair[1]);
            // the command's own checks above, for its messages; the recipe builds the parameters as the panel's does
            Map<String, String> options = new java.util.HashMap<>();
            options.put("direction", direction.id());
            options.put("positions", positionSpec);
            options.put("positionHead", positionHead);
            options.put("residual", residual ? "on" : "off");
            options.put("batch", String.valueOf(batch));
            Patching.Params pp = Patching.Params.fromOptions(Options.of(options::get));
            List<String> tokens = Arrays.asList(m.requireTokenizer().encode(cleanText).strings());
            Patching.Result r = ScanIo.cancellable(cancel -> Patching.run(m, setup, tokens, pp, ScanIo.progressLine(err), cancel));
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("answers", answers);
            params.put("batch", batch);
            String prompt = "clean: " + cleanText + " || corrupted: " + corruptedText + " || answers: " + answers;
            ScanIo.write(r.toReport(Provenance.of(m, prompt, Patching.METRICS), params), dir, err);
            out.printf("clean logit difference %.4f, corrupted %.4f%n", r.baseline().clean(), r.baseline().corrupted());
            double[][] norm = Patching.normalise(r.heads(), r.baseline());
            int bl = 0;
            int bh = 0;
            for (int l = 0; l < norm.length; l++) {
                for (int h = 0; h < norm[l].length; h++) {
                    if (norm[l][h] > norm[bl][bh]) {
                        bl = l;
                        bh = h;
                    }
                }
            }
            out.printf("head whose patch (%s) moves the answer most: %d.%d, %.4f%n", direction.id(), bl, bh, norm[bl][bh]);
            return ExitCode.OK.code();
        }
    }
}
