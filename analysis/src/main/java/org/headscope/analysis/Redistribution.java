package org.headscope.analysis;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Attention redistribution (ALGORITHMS.md section 5): four edits of chosen heads' attention, each shown before and
 * after from one batched run of [no intervention, intervention].
 * <ul>
 * <li>ACT (Yu et al., ICML'24): sink columns {@code S = {k > 0 : colmean[l,h,k] > 0.1}} (BOS excluded);
 *     {@code A[:,S] *= beta} (beta 0.4) and the removed mass goes to the other keys in proportion to their attention
 *     (BOS stays a receiver). A row whose whole mass sits on S is left untouched instead of dividing by zero.</li>
 * <li>VAR (Kang et al., ICLR'25): in rows with image attention {@code >= 0.2} whose sink share of it is
 *     {@code <= rho_code} (0.5), attention on sink tokens (RMS-normalised residual above tau in a massive dimension)
 *     is multiplied by {@code p_code} (0.6) and the removed mass goes to the non-sink image tokens in proportion. The
 *     paper names the complements: {@code p_paper = 1 - p_code} is the share moved, {@code rho_paper = 1 - rho_code}
 *     the minimum non-sink share (author's answer in the repository's issue 5).</li>
 * <li>ZeroTuning (Han et al.): {@code a0' = gamma a0 / (1 + (gamma-1) a0)}, {@code ak' = ak / (1 + (gamma-1) a0)}, i.e.
 *     {@code log(gamma)} added to key 0's pre-softmax logit, per head, per layer or in all heads.</li>
 * <li>PAI / PAINT (Liu et al., "Paying more attention to image"): {@code s[k] += alpha |s[k]|} before the softmax on the
 *     image keys, last query row, layers 2..L-1 (0-based, as the reference's {@code range(2, L)}).</li>
 * </ul>
 */
public final class Redistribution {
    public static final String NAME = "redistribution";
    public static final Map<String, String> METRICS = SinkScan.orderedMap(
            "colmean", ColMean.VERSION,
            "act", "act2024-v1: keep beta on sink columns (colmean > threshold, k > 0), receivers all other keys; rows all on sinks untouched",
            "var", "var2025-v1: code convention p (keep factor on sinks), rho (max sink share of image attention), min image attention 0.2",
            "zerotuning", "han2025-v1: log(gamma) added to key 0's logit",
            "pai", "liu2024-v1: s += alpha |s| on image keys, last query row, layers first_layer..L-1",
            "target_mass", "headscope-v1: mean over query rows (last row for PAI) of the attention on the method's target keys",
            "kl", "headscope-v1: KL(p_before || p_after) of the next-token distribution at the last position");

    /** A redistribution method with its parameters (the papers' defaults in each DEFAULT). */
    public sealed interface Method permits Act, Var, ZeroTuning, Pai {
        String id();

        Map<String, Object> parameters();
    }

    /**
     * @param layers layers edited (null: all)
     */
    public record Act(double beta, double threshold, List<Integer> layers) implements Method {
        public static final Act DEFAULT = new Act(0.4, 0.1, null);

        public Act {
            layers = layers == null ? null : List.copyOf(layers);
        }

        public String id() {
            return "act";
        }

        public Map<String, Object> parameters() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("beta", beta);
            m.put("threshold", threshold);
            m.put("layers", layers == null ? "all" : layers.toString());
            m.put("bos", "excluded from the sink set, kept as a receiver");
            return m;
        }
    }

    /**
     * @param p             code convention: factor kept on sink attention (paper: 1 - p is moved)
     * @param rho           code convention: the largest sink share of a row's image attention for the row to be edited
     *                      (paper: 1 - rho is the smallest non-sink share)
     * @param minImage      smallest total image attention of an edited row
     * @param tau           sink threshold on the RMS-normalised residual
     * @param massiveDims   massive-activation dims, or null to find them on this input
     * @param layers        layers edited (null: all)
     */
    public record Var(double p, double rho, double minImage, double tau, List<Integer> massiveDims, List<Integer> layers)
            implements Method {
        public static final Var DEFAULT = new Var(0.6, 0.5, 0.2, 20, null, null);

        public Var {
            massiveDims = massiveDims == null ? null : List.copyOf(massiveDims);
            layers = layers == null ? null : List.copyOf(layers);
        }

        public String id() {
            return "var";
        }

        public Map<String, Object> parameters() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("p_code (factor kept on sink attention)", p);
            m.put("p_paper (share of sink attention moved)", 1 - p);
            m.put("rho_code (max sink share of image attention)", rho);
            m.put("rho_paper (min non-sink share of image attention)", 1 - rho);
            m.put("min_image_attention", minImage);
            m.put("tau", tau);
            m.put("massive_dims", massiveDims == null ? "auto" : massiveDims.toString());
            m.put("layers", layers == null ? "all" : layers.toString());
            return m;
        }
    }

    public enum Scope { ALL, LAYERS, HEADS }

    /**
     * @param gamma  factor on key 0's attention before renormalising (the repository's SST-2 demo: 3.5, all heads)
     * @param scope  all heads, the heads of chosen layers, or chosen heads
     * @param layers layers for {@link Scope#LAYERS}
     * @param heads  heads for {@link Scope#HEADS}
     */
    public record ZeroTuning(double gamma, Scope scope, List<Integer> layers, List<Head> heads) implements Method {
        public static final ZeroTuning DEFAULT = new ZeroTuning(3.5, Scope.ALL, List.of(), List.of());

        public ZeroTuning {
            if (!(gamma > 0)) {
                throw new IllegalArgumentException("gamma must be positive, got " + gamma);
            }
            layers = List.copyOf(layers);
            heads = List.copyOf(heads);
            if (scope == Scope.LAYERS && layers.isEmpty() || scope == Scope.HEADS && heads.isEmpty()) {
                throw new IllegalArgumentException("ZeroTuning scope " + scope.name().toLowerCase() + " needs the "
                        + (scope == Scope.LAYERS ? "layers" : "heads") + " to edit");
            }
        }

        public String id() {
            return "zerotuning";
        }

        /** Whether this scope edits the head. */
        public boolean selects(Head h) {
            return switch (scope) {
                case ALL -> true;
                case LAYERS -> layers.contains(h.layer());
                case HEADS -> heads.contains(h);
            };
        }

        /** The edit at another gamma, same scope. */
        public Intervention intervention(HookedModel model, double g) {
            Intervention.Builder b = Intervention.builder();
            float bias = (float) Math.log(g);
            for (Head h : AblationScan.allHeads(model)) {
                if (selects(h)) {
                    b.keyLogitBias(h.layer(), h.head(), 0, bias);
                }
            }
            return b.build();
        }

        public Map<String, Object> parameters() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("gamma", gamma);
            m.put("logit_bias (log gamma)", Math.log(gamma));
            m.put("scope", scope.name().toLowerCase());
            if (scope == Scope.LAYERS) {
                m.put("layers", layers.toString());
            }
            if (scope == Scope.HEADS) {
                m.put("heads", heads.toString());
            }
            return m;
        }
    }

    /**
     * @param alpha      amplification of the image keys' scores (PAINT: 0.7 for local tokens, 0.3 for summary tokens)
     * @param firstLayer first edited layer (0-based; the reference edits layers 2..L-1)
     */
    public record Pai(double alpha, int firstLayer) implements Method {
        public static final Pai DEFAULT = new Pai(0.7, 2);

        public String id() {
            return "pai";
        }

        public Map<String, Object> parameters() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("alpha", alpha);
            m.put("first_layer", firstLayer);
            m.put("rows", "last query row");
            return m;
        }
    }

    /** Keys {@code [start, end)} holding the image tokens (VAR, PAI). */
    public record KeySpan(int start, int end) {
        public KeySpan {
            if (start < 0 || end <= start) {
                throw new IllegalArgumentException("image span " + start + ":" + end + " is empty; write START:END with START < END");
            }
        }

        public boolean contains(int k) {
            return k >= start && k < end;
        }

        /** Parses {@code START:END}. */
        public static KeySpan parse(String s) {
            String[] p = s.split(":");
            try {
                return new KeySpan(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("image span '" + s + "' must be START:END, e.g. 1:65");
            }
        }

        @Override
        public String toString() {
            return start + ":" + end;
        }
    }

    /** Attention of one head before and after, summarised. */
    public record HeadChange(Head head, boolean selected, double targetBefore, double targetAfter, double maxAbsChange,
                             double maxRowSumError) {
    }

    /**
     * One gamma of a ZeroTuning sweep: mean attention on key 0 over the edited heads' rows, and how far the output
     * moved (KL of the next-token distribution for language models, cosine distance of the pooled output for encoders).
     */
    public record GammaPoint(double gamma, double key0Mass, double outputShift) {
    }

    /** A next-token candidate with its probability before and after. */
    public record TokenShift(long token, String text, double before, double after) {
    }

    /**
     * @param before     attention per layer before, [H,T,K] each
     * @param after      attention per layer after, [H,T,K] each
     * @param target     what target mass means for this method
     * @param kl         KL(before || after) of the next-token distribution (NaN for encoders)
     * @param cosine     cosine distance of the mean-pooled output (encoders; NaN for language models)
     * @param topTokens  the most likely next tokens before and after (empty for encoders)
     */
    public record Result(Method method, Intervention intervention, List<HeadChange> heads, List<FloatTensor> before,
                         List<FloatTensor> after, String target, double kl, double cosine, List<TokenShift> topTokens,
                         Map<String, Object> details, List<GammaPoint> gammaSweep) {
        public Result {
            gammaSweep = List.copyOf(gammaSweep);
            heads = List.copyOf(heads);
            before = List.copyOf(before);
            after = List.copyOf(after);
            topTokens = List.copyOf(topTokens);
            details = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
        }

        /** The same result with a ZeroTuning gamma sweep attached (shown as a curve in the report). */
        public Result withGammaSweep(List<GammaPoint> sweep) {
            return new Result(method, intervention, heads, before, after, target, kl, cosine, topTokens, details, sweep);
        }

        public List<Head> selected() {
            return heads.stream().filter(HeadChange::selected).map(HeadChange::head).toList();
        }

        public HeadReport toReport(Provenance provenance) {
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("method", method.id());
            parameters.putAll(method.parameters());
            parameters.put("target_mass", target);
            parameters.put("run", "one batched run: element 0 without intervention, element 1 with it");
            List<Map<String, Object>> rows = new ArrayList<>();
            for (HeadChange c : heads) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("layer", c.head().layer());
                r.put("head", c.head().head());
                r.put("selected", c.selected() ? 1.0 : 0.0);
                r.put("target_mass_before", c.targetBefore());
                r.put("target_mass_after", c.targetAfter());
                r.put("target_mass_change", c.targetAfter() - c.targetBefore());
                r.put("max_abs_change", c.maxAbsChange());
                r.put("max_row_sum_error", c.maxRowSumError());
                rows.add(r);
            }
            Map<String, Object> sections = new LinkedHashMap<>(details);
            sections.put("intervention", intervention.describe());
            if (Double.isNaN(kl)) {
                sections.put("cosine_distance", cosine);
            } else {
                sections.put("kl_next_token", kl);
            }
            sections.put("top_tokens", topTokens.stream().map(t -> Map.<String, Object>of("token", t.token(), "text", t.text(),
                    "before", t.before(), "after", t.after())).toList());
            List<HeadReport.Figure> figures = new ArrayList<>(List.of(
                    HeadReport.headHeatmap("Target mass before", "target_mass_before", rows),
                    HeadReport.headHeatmap("Target mass after", "target_mass_after", rows),
                    HeadReport.rankedBars("Largest attention changes", "max_abs_change", rows, 20)));
            if (!gammaSweep.isEmpty()) {
                String shift = Double.isNaN(kl) ? "cosine_distance" : "kl_next_token";
                sections.put("gamma_sweep", gammaSweep.stream().map(g -> Map.<String, Object>of("gamma", g.gamma(),
                        "key0_mass", g.key0Mass(), shift, g.outputShift())).toList());
                figures.add(new HeadReport.Figure("curve", "ZeroTuning sweep: attention on key 0 and output shift", "gamma", "value",
                        gammaSweep.stream().map(g -> String.format(java.util.Locale.ROOT, "%.2f", g.gamma())).toList(),
                        List.of("key0_mass", shift), List.of(gammaSweep.stream().map(GammaPoint::key0Mass).toList(),
                        gammaSweep.stream().map(GammaPoint::outputShift).toList())));
            }
            return new HeadReport(NAME, parameters, provenance, rows, sections, figures);
        }
    }

    private Redistribution() {
    }

    /**
     * Calibrates the method on the clean input where it needs to (ACT: column sums; VAR: residuals and attention),
     * then runs [clean, edited] as one batch with the attention of every layer tapped.
     *
     * @param input     one sequence (token ids or embeddings)
     * @param imageSpan image keys for VAR and PAI, else null
     */
    public static Result run(HookedModel model, RunRequest input, Method method, KeySpan imageSpan, Progress progress,
                             CancelToken cancel) {
        if (input.batchSize() != 1) {
            throw new IllegalArgumentException("redistribution runs on one sequence");
        }
        int t = input.length();
        if (imageSpan != null && imageSpan.end() > t) {
            throw new IllegalArgumentException("image span " + imageSpan + " reaches past the " + t + " tokens of the input");
        }
        if ((method instanceof Var || method instanceof Pai) && imageSpan == null) {
            throw new IllegalArgumentException(method.id() + " needs the image tokens' key span (START:END)");
        }
        int layers = model.layers();
        int heads = model.heads();
        List<Integer> all = IntStream.range(0, layers).boxed().toList();
        progress.update(0, 2, method.id() + ": calibrating on the clean input");
        Map<String, Object> details = new LinkedHashMap<>();
        Map<Head, Set<Integer>> targets = new HashMap<>();
        Intervention.Builder edit = Intervention.builder();
        boolean lastRowOnly = false;
        String target;
        switch (method) {
            case Act act -> {
                target = "attention on the head's sink columns";
                RunResult cal = model.session(TapSet.of(TapKind.COL_SUM, all), HookSet.NONE).run(input.withOutputs(Set.of()), cancel);
                List<Map<String, Object>> sinks = new ArrayList<>();
                for (int l : act.layers() == null ? all : act.layers()) {
                    double[][] cm = ColMean.of(cal.tap(TapKind.COL_SUM, l), 0, model.isCausal());
                    for (int h = 0; h < heads; h++) {
                        Map<Integer, Float> keep = new HashMap<>();
                        Map<Integer, Float> recv = new HashMap<>();
                        for (int k = 1; k < t; k++) {
                            if (cm[h][k] > act.threshold()) {
                                keep.put(k, (float) act.beta());
                                recv.put(k, 0f);
                            }
                        }
                        if (!keep.isEmpty()) {
                            edit.post(l, h, 1f, keep, 1f, recv, null);
                            targets.put(new Head(l, h), keep.keySet());
                            sinks.add(Map.of("head", l + "." + h, "keys", new TreeSet<>(keep.keySet()).toString()));
                        }
                    }
                }
                details.put("sink_columns", sinks);
            }
            case Var var -> {
                target = "attention on sink tokens";
                varEdit(model, input, var, imageSpan, edit, targets, details, cancel);
            }
            case ZeroTuning zt -> {
                target = "attention on key 0";
                edit = zt.intervention(model, zt.gamma()).toBuilder();
                for (Head h : AblationScan.allHeads(model)) {
                    if (zt.selects(h)) {
                        targets.put(h, Set.of(0));
                    }
                }
            }
            case Pai pai -> {
                target = "last row's attention on the image keys";
                lastRowOnly = true;
                Map<Integer, Float> amp = new HashMap<>();
                for (int k = imageSpan.start(); k < imageSpan.end(); k++) {
                    amp.put(k, (float) pai.alpha());
                }
                Set<Integer> image = new LinkedHashSet<>(amp.keySet());
                for (int l = Math.max(0, pai.firstLayer()); l < layers; l++) {
                    for (int h = 0; h < heads; h++) {
                        edit.pre(l, h, 1f, 0f, Map.of(), 0f, amp, new int[]{t - 1});
                        targets.put(new Head(l, h), image);
                    }
                }
            }
        }
        Intervention intervention = edit.build();
        cancel.check();
        progress.update(1, 2, method.id() + ": before/after run");
        String output = AblationScan.measuredOutput(model);
        // only the families this edit uses: a neutral family's [1,...,1] defaults share symbolic dims with the used
        // family's [2,...,K] tensors, which ONNX Runtime's buffer planner rejects
        RunResult r = model.session(TapSet.of(TapKind.PROBS, all), intervention.hooks())
                .run(input.withOutputs(Set.of(output)).withInterventions(List.of(Intervention.NONE, intervention)), cancel);
        List<FloatTensor> before = new ArrayList<>();
        List<FloatTensor> after = new ArrayList<>();
        List<HeadChange> changes = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            FloatTensor p = r.tap(TapKind.PROBS, l);
            FloatTensor b = p.slice(0);
            FloatTensor a = p.slice(1);
            before.add(b);
            after.add(a);
            for (int h = 0; h < heads; h++) {
                Head hd = new Head(l, h);
                Set<Integer> keys = targets.getOrDefault(hd, Set.of());
                changes.add(new HeadChange(hd, targets.containsKey(hd), targetMass(b, h, keys, lastRowOnly),
                        targetMass(a, h, keys, lastRowOnly), maxAbsChange(b, a, h), maxRowSumError(a, h)));
            }
        }
        FloatTensor out = r.output(output);
        double kl = Double.NaN;
        double cosine = Double.NaN;
        List<TokenShift> top = new ArrayList<>();
        if (output.equals("logits")) {
            float[] pb = out.slice(0, t - 1).data();
            float[] pa = out.slice(1, t - 1).data();
            kl = AblationScan.kl(pb, pa);
            double lb = AblationScan.logSumExp(pb);
            double la = AblationScan.logSumExp(pa);
            Integer[] order = IntStream.range(0, pb.length).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(order, (x, y) -> Float.compare(Math.max(pb[y], pa[y]), Math.max(pb[x], pa[x])));
            for (int i = 0; i < Math.min(5, order.length); i++) {
                int v = order[i];
                String text = model.tokenizer().map(tk -> tk.decode(v)).orElse(Integer.toString(v));
                top.add(new TokenShift(v, text, Math.exp(pb[v] - lb), Math.exp(pa[v] - la)));
            }
        } else {
            cosine = 1 - AblationScan.cosine(pooled(out, 0), pooled(out, 1));
        }
        progress.update(2, 2, method.id() + ": done");
        return new Result(method, intervention, changes, before, after, target, kl, cosine, top, details, List.of());
    }

    /**
     * ZeroTuning at several gammas in one batched run ([no edit, gamma_1, ..., gamma_n]), with the attention on key 0
     * read through the in-graph span-mass tap (key span = key 0).
     */
    public static List<GammaPoint> gammaSweep(HookedModel model, RunRequest input, ZeroTuning scope, List<Double> gammas,
                                              CancelToken cancel) {
        if (gammas.isEmpty()) {
            throw new IllegalArgumentException("the gamma sweep needs at least one gamma");
        }
        int t = input.length();
        int n = gammas.size() + 1;
        List<Intervention> batch = new ArrayList<>();
        batch.add(Intervention.NONE);
        for (double g : gammas) {
            batch.add(scope.intervention(model, g));
        }
        float[] span = new float[n * t];
        for (int b = 0; b < n; b++) {
            span[b * t] = 1f;
        }
        List<Integer> all = IntStream.range(0, model.layers()).boxed().toList();
        String output = AblationScan.measuredOutput(model);
        RunResult r = model.session(TapSet.of(TapKind.SPAN_MASS, all), new HookSet(false, true, false))
                .run(input.withOutputs(Set.of(output)).withKeySpan(new FloatTensor(new long[]{n, t}, span)).withInterventions(batch), cancel);
        List<Head> edited = AblationScan.allHeads(model).stream().filter(scope::selects).toList();
        FloatTensor out = r.output(output);
        boolean lm = output.equals("logits");
        List<GammaPoint> points = new ArrayList<>();
        for (int b = 1; b < n; b++) {
            double mass = 0;
            for (Head h : edited) {
                FloatTensor m = r.tap(TapKind.SPAN_MASS, h.layer());
                for (int q = 0; q < t; q++) {
                    mass += m.get(b, h.head(), q) / ((double) t * edited.size());
                }
            }
            double shift = lm ? AblationScan.kl(out.slice(0, t - 1).data(), out.slice(b, t - 1).data())
                    : 1 - AblationScan.cosine(pooled(out, 0), pooled(out, b));
            points.add(new GammaPoint(gammas.get(b - 1), mass, shift));
        }
        return points;
    }

    private static void varEdit(HookedModel model, RunRequest input, Var var, KeySpan image, Intervention.Builder edit,
                                Map<Head, Set<Integer>> targets, Map<String, Object> details, CancelToken cancel) {
        int layers = model.layers();
        int heads = model.heads();
        int t = input.length();
        List<Integer> all = IntStream.range(0, layers).boxed().toList();
        RunResult cal = model.session(TapSet.of(TapKind.RESIDUAL, all).with(TapKind.PROBS, all), HookSet.NONE)
                .run(input.withOutputs(Set.of()), cancel);
        float[][][] residual = SinkScan.residualStream(cal, layers);
        List<Integer> dims = var.massiveDims() != null ? var.massiveDims()
                : SinkScan.massiveDims(List.<double[][]>of(firstToken(residual)), SinkScan.Params.DEFAULTS.massiveRatio(),
                SinkScan.Params.DEFAULTS.maxMassiveDims());
        List<SinkScan.VisualSink> sinkTokens = SinkScan.visualSinks(residual, dims, var.tau());
        details.put("massive_dims", dims);
        details.put("sink_tokens", sinkTokens.stream().map(v -> Map.<String, Object>of("layer", v.layer(), "position", v.position(),
                "in_image", image.contains(v.position()))).toList());
        List<Map<String, Object>> rowsByHead = new ArrayList<>();
        for (int l : var.layers() == null ? all : var.layers()) {
            int layer = l;
            Set<Integer> sinks = new TreeSet<>(sinkTokens.stream().filter(v -> v.layer() == layer).map(SinkScan.VisualSink::position).toList());
            if (sinks.isEmpty()) {
                continue;
            }
            Map<Integer, Float> keep = new HashMap<>();
            Map<Integer, Float> recv = new HashMap<>();
            for (int k : sinks) {
                keep.put(k, (float) var.p());
            }
            for (int k = image.start(); k < image.end(); k++) {
                if (!sinks.contains(k)) {
                    recv.put(k, 1f);
                }
            }
            FloatTensor probs = cal.tap(TapKind.PROBS, l);
            for (int h = 0; h < heads; h++) {
                List<Integer> rows = new ArrayList<>();
                for (int q = 0; q < t; q++) {
                    double img = 0;
                    double imgSink = 0;
                    for (int k = image.start(); k < image.end(); k++) {
                        double a = probs.get(0, h, q, k);
                        img += a;
                        if (sinks.contains(k)) {
                            imgSink += a;
                        }
                    }
                    if (img >= var.minImage() && imgSink / img <= var.rho()) {
                        rows.add(q);
                    }
                }
                if (!rows.isEmpty()) {
                    edit.post(l, h, 1f, keep, 0f, recv, rows.stream().mapToInt(Integer::intValue).toArray());
                    targets.put(new Head(l, h), sinks);
                    rowsByHead.add(Map.of("head", l + "." + h, "rows", rows.size()));
                }
            }
        }
        details.put("image_centric_rows", rowsByHead);
        if (sinkTokens.isEmpty()) {
            details.put("note", "no token exceeds tau = " + var.tau() + " in the massive dims " + dims
                    + "; nothing to redistribute (the normalised value cannot exceed sqrt(hidden size))");
        }
    }

    private static double[][] firstToken(float[][][] residual) {
        double[][] out = new double[residual.length][];
        for (int l = 0; l < residual.length; l++) {
            out[l] = SinkScan.rmsNormalised(residual[l][0]);
        }
        return out;
    }

    private static double targetMass(FloatTensor p, int h, Set<Integer> keys, boolean lastRowOnly) {
        int t = p.dim(1);
        int k = p.dim(2);
        double sum = 0;
        int from = lastRowOnly ? t - 1 : 0;
        for (int q = from; q < t; q++) {
            for (int key : keys) {
                if (key < k) {
                    sum += p.get(h, q, key);
                }
            }
        }
        return sum / (t - from);
    }

    private static double maxAbsChange(FloatTensor b, FloatTensor a, int h) {
        FloatTensor x = b.slice(h);
        FloatTensor y = a.slice(h);
        double m = 0;
        for (int i = 0; i < x.data().length; i++) {
            m = Math.max(m, Math.abs(x.data()[i] - y.data()[i]));
        }
        return m;
    }

    private static double maxRowSumError(FloatTensor a, int h) {
        int t = a.dim(1);
        int k = a.dim(2);
        double m = 0;
        for (int q = 0; q < t; q++) {
            double s = 0;
            for (int j = 0; j < k; j++) {
                s += a.get(h, q, j);
            }
            m = Math.max(m, Math.abs(s - 1));
        }
        return m;
    }

    private static float[] pooled(FloatTensor out, int b) {
        FloatTensor e = out.slice(b);
        int t = e.dim(0);
        int d = e.dim(1);
        float[] p = new float[d];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < d; j++) {
                p[j] += e.data()[i * d + j] / t;
            }
        }
        return p;
    }
}
