package org.headscope.app.cli;

import org.headscope.analysis.core.Input;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.Redistribution;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunRequest;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code redistribute}: ACT, VAR, ZeroTuning or PAI on one prompt, attention and outputs before and after. */
public final class RedistributeCommand implements Command {
    @Override
    public String name() {
        return "redistribute";
    }

    @Override
    public String usage() {
        return "redistribute MODEL --method act|var|zerotuning|pai --prompt TEXT [--image FILE (vision-language models; "
                + "var and pai then edit the image tokens the manifest places)] --out DIR "
                + "[act: --beta 0.4 --threshold 0.1 --layers L,L|all (default 2..L-2) --heads L.H,... --sink-rule first-detected|key0 "
                + "--calibrate in-pass|clean --search FILE (lines PROMPT<TAB>ANSWER[<TAB>CHOICE|CHOICE...]) --search-criterion accuracy|loss] [var: --image-span S:E --p 0.6 --rho 0.5 --min-image 0.2 --tau 20 "
                + "--massive-dims D,D --layers L,L|all (default 2..L-1) --calibrate in-pass|clean --rows after-image|all] "
                + "[zerotuning: --gamma 3.5 --scope all|layers|heads --layers L,L --heads L.H,... --gammas 0.3,1,2,4] "
                + "[pai: --image-span S:E --alpha 0.2 --first-layer 2 --use-cfg --cfg-gamma 1.1] [--device auto|cuda|cpu]";
    }

    @Override
    public java.util.Set<String> flags() {
        return java.util.Set.of("use-cfg");
    }

    @Override
    public String summary() {
        return "redistribute attention (ACT, VAR, ZeroTuning, PAI) and show attention and outputs before/after from one batched run";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String promptText = args.require("prompt");
        String methodName = args.require("method").toLowerCase(Locale.ROOT);
        String span = args.string("image-span", null);
        Path imageFile = args.existingFile("image");
        java.awt.image.BufferedImage image = imageFile == null ? null : ModelArgs.image(imageFile);
        try (OutputTarget dir = ScanIo.out(args); HookedModel m = ModelArgs.open(args)) {
            // the command's own checks, for their messages; the method record comes from the recipe the panel uses
            switch (methodName) {
                case "act" -> {
                    Redistribution.Act d = Redistribution.Act.DEFAULT;
                    args.number("beta", d.beta());
                    args.number("threshold", d.threshold());
                    layersOrAll(args, m);
                    headsOf(args, m);
                }
                case "var" -> {
                    Redistribution.Var d = Redistribution.Var.DEFAULT;
                    String rows = args.string("rows", "after-image");
                    if (!rows.equals("after-image") && !rows.equals("all")) {
                        throw new UsageException("--rows must be after-image or all, got '" + rows + "'");
                    }
                    args.number("p", d.p());
                    args.number("rho", d.rho());
                    args.number("min-image", d.minImage());
                    args.number("tau", d.tau());
                    args.integers("massive-dims", null);
                    layersOrAll(args, m);
                }
                case "zerotuning" -> {
                    String scope = args.string("scope", "all");
                    if (!List.of("all", "layers", "heads").contains(scope)) {
                        throw new UsageException("--scope must be all, layers or heads, got '" + scope + "'");
                    }
                    layers(args, m);
                    headsOf(args, m);
                    args.number("gamma", Redistribution.ZeroTuning.DEFAULT.gamma());
                }
                case "pai" -> {
                    Redistribution.Pai d = Redistribution.Pai.DEFAULT;
                    args.number("alpha", d.alpha());
                    args.integer("first-layer", d.firstLayer());
                    args.number("cfg-gamma", d.gamma());
                }
                default -> throw new UsageException("--method must be act, var, zerotuning or pai, got '" + methodName + "'");
            }
            Options typed = ScanIo.options(args);
            // --use-cfg is a flag; the panel's option is on or off
            Options options = Options.of(k -> k.equals("use_cfg") ? (args.flag("use-cfg") ? "on" : "off") : typed.text(k, null));
            Redistribution.Method method = option(() -> Redistribution.Method.fromOptions(methodName, options, m));
            List<Double> gammas = gammas(args, method);
            Path searchFile = args.existingFile("search");
            String criterionName = args.string("search-criterion", "accuracy");
            if (!criterionName.equals("accuracy") && !criterionName.equals("loss")) {
                throw new UsageException("--search-criterion must be accuracy or loss, got '" + criterionName + "'");
            }
            if (searchFile != null && !(method instanceof Redistribution.Act)) {
                throw new UsageException("--search belongs to --method act");
            }
            args.rejectUnknown();
            boolean vision = m.vision().isPresent();
            if (image != null && !vision) {
                throw new UsageException("--image needs a vision-language model (a manifest with a \"vision\" block); "
                        + ModelArgs.displayName(m) + " takes text only");
            }
            if ((methodName.equals("var") || methodName.equals("pai")) && span == null && image == null) {
                throw new UsageException("--method " + methodName + (vision
                        ? " needs --image FILE (the image tokens' key span then comes from the manifest) or --image-span START:END"
                        : " needs --image-span START:END, the key positions of the image tokens"));
            }
            if (searchFile != null && vision) {
                throw new UsageException("--search feeds text-only items, and " + ModelArgs.displayName(m)
                        + " is a vision-language model; name the heads with --heads instead");
            }
            ModelArgs.promptIds(m, promptText, "prompt");
            // the workbench's input: token ids, or for vision-language models the decoder's embeddings with the image placed
            Input input = Input.of(m, m.requireTokenizer().encode(promptText), image);
            int keys = input.tokens().size();
            ModelArgs.checkLength(m, keys, "prompt with its image tokens");
            Redistribution.KeySpan imageSpan = Redistribution.imageKeys(input, span == null ? null : Redistribution.KeySpan.parse(span));
            if (imageSpan != null && (imageSpan.start() < 0 || imageSpan.end() > keys || imageSpan.start() >= imageSpan.end())) {
                throw new UsageException("--image-span " + span + " is not a span of the prompt's " + keys + " key positions");
            }
            RunRequest request = input.request();
            List<Redistribution.CalibrationItem> search = method instanceof Redistribution.Act ? searchItems(searchFile, m) : null;
            Redistribution.Criterion criterion = criterionName.equals("loss") ? Redistribution.Criterion.LOSS : Redistribution.Criterion.ACCURACY;
            Redistribution.Result r = ScanIo.cancellable(cancel -> {
                if (search != null) {
                    Redistribution.HeadSearch found = Redistribution.actHeadSearch(m, search, (Redistribution.Act) method, criterion, 16,
                            ScanIo.progressLine(err), cancel);
                    return Redistribution.run(m, request, found.pickedAct(), imageSpan, ScanIo.progressLine(err), cancel)
                            .withHeadSearch(found);
                }
                Redistribution.Result one = Redistribution.run(m, input, method, imageSpan, ScanIo.progressLine(err), cancel);
                return gammas == null ? one : one.withGammaSweep(Redistribution.gammaSweep(m, request,
                        (Redistribution.ZeroTuning) method, gammas, cancel));
            });
            ScanIo.write(r.toReport(Provenance.of(m, promptText
                    + (imageFile == null ? "" : " [image " + imageFile.getFileName() + "]"), Redistribution.metrics(method))), dir, err);
            out.printf(Locale.ROOT, "%s: %d heads edited; %s%n", method.id(), r.selected().size(),
                    Double.isNaN(r.kl()) ? String.format(Locale.ROOT, "output cosine distance %.5f", r.cosine())
                            : String.format(Locale.ROOT, "next-token KL %.5f", r.kl()));
            r.selectionNotes().forEach(out::println);
            out.printf(Locale.ROOT, "%d departure(s) from the paper's code, listed in the report%n", r.departures().size());
            return ExitCode.OK.code();
        }
    }

    /** {@code --gammas 0.3,1,2,4}: a ZeroTuning sweep in one batched run, drawn as a curve; null when not asked for. */
    private static List<Double> gammas(Args args, Redistribution.Method method) {
        String v = args.string("gammas", null);
        if (v == null) {
            return null;
        }
        if (!(method instanceof Redistribution.ZeroTuning)) {
            throw new UsageException("--gammas belongs to --method zerotuning");
        }
        try {
            return java.util.Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).map(Double::parseDouble).peek(g -> {
                if (!Double.isFinite(g)) {
                    throw new UsageException("--gammas must be finite numbers, got '" + v + "'");
                }
            }).toList();
        } catch (NumberFormatException e) {
            throw new UsageException("--gammas must be a comma-separated list of numbers, got '" + v + "'");
        }
    }

    /** ACT head-search items: one per line, PROMPT, a tab, the answer's text, and optionally a tab and choices split by '|'. */
    private static List<Redistribution.CalibrationItem> searchItems(Path file, HookedModel m) throws java.io.IOException {
        if (file == null) {
            return null;
        }
        var tk = m.requireTokenizer();
        List<Redistribution.CalibrationItem> out = new java.util.ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(file)) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            if (f.length < 2) {
                throw new UsageException("--search lines are PROMPT<TAB>ANSWER[<TAB>CHOICE|CHOICE...], got '" + line + "'");
            }
            long[] choices = f.length > 2 ? java.util.Arrays.stream(f[2].split("\\|")).mapToLong(c -> firstId(tk, c)).toArray() : null;
            out.add(new Redistribution.CalibrationItem(tk.encode(f[0]).ids(), firstId(tk, f[1]), choices));
        }
        if (out.isEmpty()) {
            throw new UsageException("--search file " + file + " has no items");
        }
        return out;
    }

    private static long firstId(org.headscope.hooks.HsTokenizer tk, String text) {
        long[] ids = tk.encodePlain(text);
        if (ids.length == 0) {
            throw new UsageException("the answer '" + text + "' encodes to no token");
        }
        return ids[0];
    }

    /** {@code --layers all} for every layer, a list, or null for the method's reference range. */
    private static List<Integer> layersOrAll(Args args, HookedModel m) {
        if ("all".equals(args.string("layers", null))) {
            return java.util.stream.IntStream.range(0, m.layers()).boxed().toList();
        }
        return layers(args, m);
    }

    private static <T> T option(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static List<Integer> layers(Args args, HookedModel m) {
        List<Integer> layers = args.integers("layers", null);
        if (layers != null) {
            for (int l : layers) {
                if (l < 0 || l >= m.layers()) {
                    throw new UsageException("layer " + l + " does not exist; the model has layers 0.." + (m.layers() - 1));
                }
            }
        }
        return layers;
    }

    /** {@code --heads L.H,...} checked against the model's heads. */
    private static void headsOf(Args args, HookedModel m) {
        String heads = args.string("heads", null);
        if (heads != null) {
            ScanIo.heads(heads, Heads.all(m));
        }
    }
}
