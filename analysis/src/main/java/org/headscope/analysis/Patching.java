package org.headscope.analysis;

import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.OwnedSession;
import org.headscope.hooks.AttentionSite;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.LayerSweep;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Activation patching between a clean and a corrupted prompt of the same length. The source run's activations
 * (each head's output z before the output projection, or the residual stream entering a layer) replace the target
 * run's at every position or at chosen positions; the score is the logit difference of two answers at the last
 * position, normalised as {@code (patched - corrupted) / (clean - corrupted)}.
 *
 * <ul>
 *     <li>Denoising: source clean, target corrupted. 1 means the patch restores the clean answer, 0 that it does nothing.</li>
 *     <li>Noising: source corrupted, target clean. The same formula: 1 means the patch changes nothing, 0 that it
 *     destroys the clean answer as much as corrupting the whole prompt.</li>
 * </ul>
 *
 * Head patches go through the patch hook family ({@link HookSet#patch()}: {@code z' = keep z + (1-keep) value} per
 * position, the source's z sent once per batch) in layer-suffix sessions ({@link LayerSweep}); residual patches feed
 * the edited residual to a session cut at that layer.
 */
public final class Patching {
    public static final String NAME = "patching";
    public static final Map<String, String> METRICS = Metrics.ordered(
            "logit_diff", "headscope-v1: logits[last, answer] - logits[last, wrong] of the run",
            "patch_effect", "wang2023-v1: (patched - corrupted) / (clean - corrupted) of the logit difference (IOI/TransformerLens normalisation)");

    /** Which run gives the activations and which receives them. */
    public enum Direction {
        /** Clean activations into the corrupted run. */
        DENOISING,
        /** Corrupted activations into the clean run. */
        NOISING;

        public static Direction parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "denoising", "denoise" -> DENOISING;
                case "noising", "noise" -> NOISING;
                default -> throw new IllegalArgumentException("direction must be denoising or noising, got '" + s + "'");
            };
        }

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Two prompts of the same length and the answer each should produce.
     *
     * @param answer the clean prompt's answer token
     * @param wrong  the corrupted prompt's answer token
     */
    public record Setup(long[] clean, long[] corrupted, long answer, long wrong) {
        public Setup {
            if (clean.length != corrupted.length) {
                throw new IllegalArgumentException("the clean prompt has " + clean.length + " tokens and the corrupted one "
                        + corrupted.length + "; patching needs prompts of the same length");
            }
            if (clean.length == 0) {
                throw new IllegalArgumentException("the prompts are empty");
            }
            clean = clean.clone();
            corrupted = corrupted.clone();
        }

        long[] source(Direction d) {
            return d == Direction.DENOISING ? clean : corrupted;
        }

        long[] target(Direction d) {
            return d == Direction.DENOISING ? corrupted : clean;
        }
    }

    /**
     * What a patching run does besides the head grid: the direction, the positions the heads are patched at (null: all;
     * negative from the end), the layers x positions view ({@code byPosition}: head {@code positionHead} of each layer,
     * or every head when that is null), the residual stream view, and the patches per batched run.
     */
    public record Params(Direction direction, List<Integer> positions, boolean byPosition, Integer positionHead, boolean residual,
                         int batch) {
        public static final Params DEFAULTS = new Params(Direction.DENOISING, null, false, null, false, 16);

        /** The options by the Patching panel's names ({@code positionHead} is the command's {@code --position-head}). */
        public static final List<String> OPTIONS = List.of("direction", "positions", "positionHead", "residual", "batch");

        public Params {
            java.util.Objects.requireNonNull(direction, "direction");
            positions = positions == null ? null : List.copyOf(positions);
            if (!byPosition && positionHead != null) {
                throw new IllegalArgumentException("a position head is for the layers x positions view only");
            }
            if (positionHead != null && positionHead < 0) {
                throw new IllegalArgumentException("position head " + positionHead + " does not exist");
            }
            if (batch < 1 || batch > 1024) {
                throw new IllegalArgumentException("parameter 'batch' must be 1..1024, got " + batch);
            }
        }

        public Params withDirection(Direction d) {
            return new Params(d, positions, byPosition, positionHead, residual, batch);
        }

        public Params withPositions(List<Integer> p) {
            return new Params(direction, p, byPosition, positionHead, residual, batch);
        }

        /** The layers x positions view: head {@code h} of each layer, or every head of the layer when null. */
        public Params withPositionHead(Integer h) {
            return new Params(direction, positions, true, h, residual, batch);
        }

        public Params withResidual(boolean r) {
            return new Params(direction, positions, byPosition, positionHead, r, batch);
        }

        public Params withBatch(int b) {
            return new Params(direction, positions, byPosition, positionHead, residual, b);
        }

        /** The positions in a prompt of {@code length} tokens (null: all). */
        public int[] positionsIn(int length) {
            if (positions == null) {
                return null;
            }
            int[] out = new int[positions.size()];
            for (int i = 0; i < out.length; i++) {
                int p = positions.get(i);
                int q = p < 0 ? length + p : p;
                if (q < 0 || q >= length) {
                    throw new IllegalArgumentException("position " + p + " is outside the prompt's 0.." + (length - 1));
                }
                out[i] = q;
            }
            return out;
        }

        /** The recipe the {@code patch} command and the Patching panel share. */
        public static Params fromOptions(Options options) {
            Direction d = Direction.parse(options.text("direction", DEFAULTS.direction().id()));
            String pos = options.text("positions", "all");
            List<Integer> positions = pos.equals("all") ? null : options.wholes("positions", null);
            String ph = options.text("positionHead", "none");
            boolean byPosition = !ph.isEmpty() && !ph.equals("none");
            Integer head = byPosition && !ph.equals("all") ? options.whole("positionHead", 0) : null;
            String residual = options.text("residual", "off");
            if (!residual.equals("on") && !residual.equals("off")) {
                throw new IllegalArgumentException("parameter 'residual' must be on or off, got '" + residual + "'");
            }
            return new Params(d, positions, byPosition, head, residual.equals("on"), options.whole("batch", DEFAULTS.batch()));
        }
    }

    /**
     * The patching run: the baseline, the head grid, and the layers x positions and residual views where the parameters
     * ask for them.
     *
     * @param tokens the clean prompt's token strings, for the report's positions
     */
    public static Result run(HookedModel model, Setup setup, List<String> tokens, Params params, Progress progress, CancelToken cancel) {
        int[] positions = params.positionsIn(setup.clean().length);
        if (params.positionHead() != null && params.positionHead() >= model.heads()) {
            throw new IllegalArgumentException("position head " + params.positionHead() + " does not exist; heads are 0.."
                    + (model.heads() - 1));
        }
        Patching p = new Patching(model, params.batch());
        Direction d = params.direction();
        Baseline b = p.baseline(setup, cancel);
        double[][] heads = p.heads(setup, d, positions, progress, cancel);
        double[][] hp = params.byPosition() ? p.headPositions(setup, d, params.positionHead(), progress, cancel) : null;
        double[][] rp = params.residual() ? p.residual(setup, d, progress, cancel) : null;
        return new Result(d, b, heads, positions, params.positionHead(), hp, rp, tokens);
    }

    private final HookedModel model;
    private final String output;
    private final int batch;

    public Patching(HookedModel model, int batch) {
        if (!model.isCausal()) {
            throw new ModelException("Patching scores next-token logits, and this model is an encoder.",
                    "Open a decoder (a causal language model).");
        }
        this.model = model;
        this.output = model.model().outputNames().stream().filter(n -> !n.startsWith("present")).findFirst().orElseThrow();
        this.batch = batch;
    }

    public String output() {
        return output;
    }

    /** Logit difference of the clean and corrupted runs, unpatched. */
    public record Baseline(double clean, double corrupted) {
        public double normalise(double patched) {
            return (patched - corrupted) / (clean - corrupted);
        }
    }

    public Baseline baseline(Setup s, CancelToken cancel) {
        RunResult r = model.session(TapSet.NONE, HookSet.NONE).run(RunRequest.batch(new long[][]{s.clean(), s.corrupted()})
                .withOutputs(Set.of(output)), cancel);
        FloatTensor logits = r.output(output);
        return new Baseline(logitDiff(logits, 0, s), logitDiff(logits, 1, s));
    }

    /** {@code logits[b, last, answer] - logits[b, last, wrong]}. */
    public static double logitDiff(FloatTensor logits, int b, Setup s) {
        float[] last = logits.slice(b, logits.dim(1) - 1).data();
        return (double) last[(int) s.answer()] - last[(int) s.wrong()];
    }

    /** The source run's head outputs, [layer][head] -> [T*Dh]. */
    public float[][][] headOutputs(long[] ids, CancelToken cancel) {
        List<Integer> all = IntStream.range(0, model.layers()).boxed().toList();
        RunResult r = model.session(TapSet.of(TapKind.HEAD_OUTPUT, all), HookSet.NONE).run(RunRequest.tokens(ids), cancel);
        float[][][] z = new float[model.layers()][model.heads()][];
        for (int l = 0; l < model.layers(); l++) {
            FloatTensor t = r.tap(TapKind.HEAD_OUTPUT, l);
            for (int h = 0; h < model.heads(); h++) {
                z[l][h] = t.slice(0, h).data();
            }
        }
        return z;
    }

    /** One patch: these heads take the source's output at these positions (all when null). */
    public static Intervention patch(float[][][] source, Collection<Head> heads, int[] positions) {
        Intervention.Builder b = Intervention.builder();
        for (Head h : heads) {
            b.patchHead(h.layer(), h.head(), source[h.layer()][h.head()], positions);
        }
        return b.build();
    }

    /** Logit differences of the target run under each patch, batched and cut at each patch's first layer. */
    public double[] run(Setup s, Direction d, List<Intervention> patches, Progress progress, CancelToken cancel) {
        HookSet hooks = HookSet.PATCH;
        for (Intervention i : patches) {
            hooks = hooks.union(i.hooks());
        }
        List<Map<String, FloatTensor>> outs = LayerSweep.run(model, RunRequest.tokens(s.target(d)), patches, hooks, List.of(output),
                batch, cancel, (done, total) -> progress.update(done, total, "patching: " + done + "/" + total));
        double[] ld = new double[patches.size()];
        for (int i = 0; i < ld.length; i++) {
            ld[i] = logitDiff(outs.get(i).get(output), 0, s);
        }
        return ld;
    }

    /** Every head patched alone, at {@code positions} (all when null): raw logit differences, [layers][heads]. */
    public double[][] heads(Setup s, Direction d, int[] positions, Progress progress, CancelToken cancel) {
        float[][][] z = headOutputs(s.source(d), cancel);
        List<Head> heads = new ArrayList<>();
        List<Intervention> patches = new ArrayList<>();
        for (int l = 0; l < model.layers(); l++) {
            for (int h = 0; h < model.heads(); h++) {
                heads.add(new Head(l, h));
                patches.add(patch(z, List.of(new Head(l, h)), positions));
            }
        }
        double[] ld = run(s, d, patches, progress, cancel);
        double[][] grid = new double[model.layers()][model.heads()];
        for (int i = 0; i < heads.size(); i++) {
            grid[heads.get(i).layer()][heads.get(i).head()] = ld[i];
        }
        return grid;
    }

    /**
     * Per layer and position: head {@code head} of each layer (every head of the layer when {@code head} is null, the
     * layer's whole attention output) patched at that one position. Raw logit differences, [layers][T].
     */
    public double[][] headPositions(Setup s, Direction d, Integer head, Progress progress, CancelToken cancel) {
        if (head != null && (head < 0 || head >= model.heads())) {
            throw new IllegalArgumentException("head " + head + " does not exist: the model has " + model.heads() + " heads per layer");
        }
        float[][][] z = headOutputs(s.source(d), cancel);
        int t = s.clean().length;
        List<Intervention> patches = new ArrayList<>();
        for (int l = 0; l < model.layers(); l++) {
            int layer = l;
            List<Head> heads = head != null ? List.of(new Head(l, head))
                    : IntStream.range(0, model.heads()).mapToObj(h -> new Head(layer, h)).toList();
            for (int p = 0; p < t; p++) {
                patches.add(patch(z, heads, new int[]{p}));
            }
        }
        double[] ld = run(s, d, patches, progress, cancel);
        double[][] grid = new double[model.layers()][t];
        for (int i = 0; i < ld.length; i++) {
            grid[i / t][i % t] = ld[i];
        }
        return grid;
    }

    /**
     * Residual stream entering each layer patched at one position: raw logit differences, [layers][T]. Needs the
     * residual of every layer located in the graph ({@link AttentionSite#residual()}).
     */
    public double[][] residual(Setup s, Direction d, Progress progress, CancelToken cancel) {
        List<AttentionSite> sites = model.sites();
        for (AttentionSite site : sites) {
            if (site.residual() == null) {
                throw new ModelException("The residual stream entering layer " + site.layer() + " could not be identified in this graph.",
                        "Residual patching is unavailable for this model; head patching works.");
            }
        }
        List<Integer> all = IntStream.range(0, sites.size()).boxed().toList();
        TapSet taps = TapSet.of(TapKind.RESIDUAL, all);
        RunResult src = model.session(taps, HookSet.NONE).run(RunRequest.tokens(s.source(d)), cancel);
        RunResult dst = model.session(taps, HookSet.NONE).run(RunRequest.tokens(s.target(d)), cancel);
        int t = s.clean().length;
        long[] target = s.target(d);
        double[][] grid = new double[sites.size()][t];
        long total = (long) sites.size() * t;
        long done = 0;
        for (AttentionSite site : sites) {
            float[] from = src.tap(TapKind.RESIDUAL, site.layer()).data();
            float[] into = dst.tap(TapKind.RESIDUAL, site.layer()).data();
            int dim = into.length / t;
            try (OwnedSession cut = model.openSuffixSession(site.layer(), TapSet.NONE, HookSet.NONE)) {
                for (int start = 0; start < t; start += batch) {
                    cancel.check();
                    int n = Math.min(batch, t - start);
                    float[] states = new float[n * t * dim];
                    long[][] ids = new long[n][];
                    for (int j = 0; j < n; j++) {
                        System.arraycopy(into, 0, states, j * t * dim, t * dim);
                        int p = start + j;
                        System.arraycopy(from, p * dim, states, j * t * dim + p * dim, dim);
                        ids[j] = target;
                    }
                    RunRequest req = RunRequest.batch(ids).withStates(Map.of(site.residual(), new FloatTensor(new long[]{n, t, dim}, states)))
                            .withOutputs(Set.of(output));
                    FloatTensor logits = cut.run(req, cancel).output(output);
                    for (int j = 0; j < n; j++) {
                        grid[site.layer()][start + j] = logitDiff(logits, j, s);
                    }
                    done += n;
                    progress.update(done, total, "residual patching: " + done + "/" + total);
                }
            }
        }
        return grid;
    }

    /** Normalises a grid of raw logit differences. */
    public static double[][] normalise(double[][] raw, Baseline b) {
        double[][] out = new double[raw.length][];
        for (int i = 0; i < raw.length; i++) {
            out[i] = new double[raw[i].length];
            for (int j = 0; j < raw[i].length; j++) {
                out[i][j] = b.normalise(raw[i][j]);
            }
        }
        return out;
    }

    /** A full patching run's numbers, raw logit differences. */
    public record Result(Direction direction, Baseline baseline, double[][] heads, int[] positions, Integer positionHead,
                         double[][] headPositions, double[][] residual, List<String> tokens) {
        public HeadReport toReport(Provenance provenance) {
            return toReport(provenance, Map.of());
        }

        /** The report, its parameters led by the front end's labels of the inputs (the answers as written, the corrupted prompt). */
        public HeadReport toReport(Provenance provenance, Map<String, Object> parameters) {
            Map<String, Object> params = new LinkedHashMap<>(parameters);
            params.put("direction", direction.id());
            params.put("positions", positions == null ? "all" : java.util.Arrays.toString(positions));
            List<Map<String, Object>> rows = new ArrayList<>();
            double[][] norm = normalise(heads, baseline);
            for (int l = 0; l < heads.length; l++) {
                for (int h = 0; h < heads[l].length; h++) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("layer", l);
                    r.put("head", h);
                    r.put("patch_effect", norm[l][h]);
                    r.put("patched_logit_diff", heads[l][h]);
                    rows.add(r);
                }
            }
            Map<String, Object> sections = new LinkedHashMap<>();
            sections.put("clean_logit_diff", baseline.clean());
            sections.put("corrupted_logit_diff", baseline.corrupted());
            sections.put("tokens", tokens);
            List<HeadReport.Figure> figures = new ArrayList<>();
            figures.add(HeadReport.headHeatmap("Head patching (" + direction.id() + "): (patched - corrupted) / (clean - corrupted)",
                    "patch_effect", rows));
            figures.add(HeadReport.rankedBars("Heads whose patch moves the answer most", "patch_effect", rows, 20));
            if (headPositions != null) {
                double[][] g = normalise(headPositions, baseline);
                sections.put("head_positions", grid(g));
                figures.add(new HeadReport.Figure("heatmap", (positionHead == null ? "Every head of the layer" : "Head " + positionHead
                        + " of each layer") + " patched at one position (layers x positions)", "position", "layer",
                        tokens, List.of("patch_effect"), grid(g)));
            }
            if (residual != null) {
                double[][] g = normalise(residual, baseline);
                sections.put("residual_positions", grid(g));
                figures.add(new HeadReport.Figure("heatmap", "Residual stream entering each layer patched at one position (layers x positions)",
                        "position", "layer", tokens, List.of("patch_effect"), grid(g)));
            }
            sections.put("departures", new Departures()
                    .add("The score is the logit difference at the last position only; one clean/corrupted pair, no averaging over a data set.")
                    .when(direction == Direction.NOISING, "Noising uses the same normalisation as denoising: 1 is no change, 0 the "
                            + "corrupted prompt's logit difference.")
                    .list());
            return new HeadReport(NAME, params, provenance, rows, sections, figures);
        }

        private static List<List<Double>> grid(double[][] g) {
            List<List<Double>> out = new ArrayList<>();
            for (double[] row : g) {
                out.add(java.util.Arrays.stream(row).boxed().toList());
            }
            return out;
        }
    }

    /** Heads patched together at positions (all when null): the normalised effect. */
    public double patchTogether(Setup s, Direction d, Baseline b, Collection<Head> heads, int[] positions, CancelToken cancel) {
        float[][][] z = headOutputs(s.source(d), cancel);
        return b.normalise(run(s, d, List.of(patch(z, heads, positions)), Progress.NONE, cancel)[0]);
    }
}
