package org.headscope.analysis;

import org.headscope.analysis.core.ColMean;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Numerics;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.core.Residuals;
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
 * <li>ACT (Yu et al., ICML'24): sink columns {@code S = {k : colmean[l,h,k] > 0.1}} less the first detected one
 *     (the code's {@code indices[1:]}; {@link SinkRule}); {@code A[:,S] *= beta} (beta 0.4) and the removed mass goes
 *     to the other keys in proportion to their attention (the excluded sink stays a receiver). A row whose whole mass
 *     sits on S is left untouched instead of dividing by zero. As the code: layers 2..L-2, S detected inside the
 *     edited pass (layer by layer, after the edits of the layers below), and only the heads a calibration search
 *     picked ({@link #actHeadSearch}) when one was run.</li>
 * <li>VAR (Kang et al., ICLR'25): in rows with image attention {@code >= 0.2} whose sink share of it is
 *     {@code <= rho_code} (0.5), attention on sink tokens (RMS-normalised residual above tau in a massive dimension)
 *     is multiplied by {@code p_code} (0.6) and the removed mass goes to the non-sink image tokens in proportion. The
 *     paper names the complements: {@code p_paper = 1 - p_code} is the share moved, {@code rho_paper = 1 - rho_code}
 *     the minimum non-sink share (author's answer in the repository's issue 5). As the code: layers from 2, sinks
 *     detected inside the edited pass, a layer without sink skipped, and only the query rows after the image edited.</li>
 * <li>ZeroTuning (Han et al.): {@code a0' = gamma a0 / (1 + (gamma-1) a0)}, {@code ak' = ak / (1 + (gamma-1) a0)}, i.e.
 *     {@code log(gamma)} added to key 0's pre-softmax logit, per head, per layer or in all heads.</li>
 * <li>PAI (Liu et al., "Paying more attention to image"): {@code s[k] += alpha |s[k]|} before the softmax on the
 *     image keys, last query row, layers 2..L-1 (0-based, as the reference's {@code range(2, L)}), alpha 0.2 as its
 *     code and README; optionally its logit refinement ({@code --use-cfg}): {@code gamma (log p - log p_free) + log p_free}
 *     against the image-free input, tokens below a tenth of the top probability cut.</li>
 * </ul>
 */
public final class Redistribution {
    public static final String NAME = "redistribution";
    /** Definition versions at the default methods. */
    public static final Map<String, String> METRICS = metrics(Act.DEFAULT);

    /** Definition versions of the metrics as this method computes them. */
    public static Map<String, String> metrics(Method method) {
        String act = "act2024-v2: keep beta on sink columns (colmean > threshold, first detected sink excluded), detected in the "
                + "edited pass, layers 2..L-2; rows all on sinks untouched";
        String var = "var2025-v2: code convention p (keep factor on sinks), rho (max sink share of image attention), min image "
                + "attention 0.2; sinks detected in the edited pass from layer 2, layers without sink skipped, rows after the image";
        String pai = "liu2024-v2: s += alpha |s| on image keys, last query row, layers first_layer..L-1 (alpha 0.2)";
        if (method instanceof Act a) {
            act = "act2024-v2-" + a.sinkRule().id() + "-" + a.calibration().id() + ": keep beta on sink columns (colmean > threshold, "
                    + (a.sinkRule() == SinkRule.FIRST_DETECTED ? "first detected sink excluded" : "key 0 excluded") + "), detected "
                    + (a.calibration() == Calibration.IN_PASS ? "in the edited pass" : "on the clean run") + "; rows all on sinks untouched";
        }
        if (method instanceof Var v) {
            var = "var2025-v2-" + v.calibration().id() + "-" + (v.rowsAfterImage() ? "rows-after-image" : "all-rows")
                    + ": code convention p, rho, min image attention; sinks detected "
                    + (v.calibration() == Calibration.IN_PASS ? "in the edited pass" : "on the clean run") + ", layers without sink skipped";
        }
        if (method instanceof Pai p && p.useCfg()) {
            pai = "liu2024-v2-cfg: s += alpha |s| on image keys, last query row, layers first_layer..L-1; logits refined against "
                    + "the image-free input: gamma (log p - log p_free) + log p_free, tokens below 0.1 x the top probability cut";
        }
        return Metrics.ordered(
            "colmean", ColMean.VERSION,
            "act", act,
            "var", var,
            "zerotuning", "han2025-v1: log(gamma) added to key 0's logit",
            "pai", pai,
            "target_mass", "headscope-v1: mean over query rows (last row for PAI) of the attention on the method's target keys",
            "kl", "headscope-v1: KL(p_before || p_after) of the next-token distribution at the last position");
    }

    /** Where sink sets are detected. */
    public enum Calibration {
        /** Layer by layer inside the edited forward pass: edits of the layers below change a layer's sinks (the papers' code). */
        IN_PASS("in-pass"),
        /** Once, on the clean run, for every layer. */
        CLEAN("clean");

        private final String id;

        Calibration(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Calibration parse(String s) {
            for (Calibration c : values()) {
                if (c.id.equals(s.toLowerCase(java.util.Locale.ROOT).trim())) {
                    return c;
                }
            }
            throw new IllegalArgumentException("calibration must be in-pass or clean, got '" + s + "'");
        }
    }

    /** A redistribution method with its parameters (the papers' defaults in each DEFAULT). */
    public sealed interface Method permits Act, Var, ZeroTuning, Pai {
        String id();

        Map<String, Object> parameters();

        /**
         * The recipe the {@code redistribute} command and the Redistribution panel share: the method named {@code id}
         * (act, var, zerotuning, pai) with its parameters from {@code options}, under the panel's names (not given: the
         * paper's {@code DEFAULT}); {@code model} gives the layers and heads that "all" names.
         */
        static Method fromOptions(String id, Options options, HookedModel model) {
            return switch (id.toLowerCase(java.util.Locale.ROOT).trim()) {
                case "act" -> Act.fromOptions(options, model);
                case "var" -> Var.fromOptions(options, model);
                case "zerotuning" -> ZeroTuning.fromOptions(options, model);
                case "pai" -> Pai.fromOptions(options);
                default -> throw new IllegalArgumentException("the method must be act, var, zerotuning or pai, got '" + id + "'");
            };
        }
    }

    /** Option {@code layers}: "all", a list of layers, or null (not given, or the reference range's label such as "2..L-2"). */
    private static List<Integer> layersOption(Options o, HookedModel model) {
        String v = o.text("layers", null);
        if (v == null || v.contains("..")) {
            return null;
        }
        return v.equals("all") ? Heads.allLayers(model) : o.wholes("layers", null);
    }

    /** Option {@code heads}: "all", a list of LAYER.HEAD, or null when not given. */
    private static List<Head> headsOption(Options o, HookedModel model) {
        String v = o.text("heads", null);
        if (v == null) {
            return null;
        }
        if (v.equals("all")) {
            return Heads.all(model);
        }
        List<Head> out = new ArrayList<>();
        for (String part : v.split(",")) {
            if (!part.isBlank()) {
                try {
                    out.add(Head.parse(part.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + part.trim() + "' is not a head; write LAYER.HEAD, e.g. 3.7");
                }
            }
        }
        return out;
    }

    /**
     * @param beta        factor kept on sink columns (ACT: 0.4)
     * @param threshold   sink threshold on colmean (ACT: 0.1)
     * @param layers      layers edited (null: the code's 2..L-2)
     * @param heads       heads edited, e.g. picked by {@link #actHeadSearch} (null: every head of the layers)
     * @param sinkRule    which detected sink is left out (ACT code: the first detected)
     * @param calibration where sinks are detected (ACT code: in the edited pass)
     */
    public record Act(double beta, double threshold, List<Integer> layers, List<Head> heads, SinkRule sinkRule,
                      Calibration calibration) implements Method {
        public static final Act DEFAULT = new Act(0.4, 0.1, null, null, SinkRule.FIRST_DETECTED, Calibration.IN_PASS);

        /** The code's selection rules: first detected sink left out, sinks detected in the edited pass. */
        public Act(double beta, double threshold, List<Integer> layers) {
            this(beta, threshold, layers, null, SinkRule.FIRST_DETECTED, Calibration.IN_PASS);
        }

        public Act {
            layers = layers == null ? null : List.copyOf(layers);
            heads = heads == null ? null : List.copyOf(heads);
            java.util.Objects.requireNonNull(sinkRule, "sinkRule");
            java.util.Objects.requireNonNull(calibration, "calibration");
        }

        public Act withRules(SinkRule rule, Calibration c) {
            return new Act(beta, threshold, layers, heads, rule, c);
        }

        public Act withHeads(List<Head> h) {
            return new Act(beta, threshold, layers, h, sinkRule, calibration);
        }

        public Act withLayers(List<Integer> l) {
            return new Act(beta, threshold, l, heads, sinkRule, calibration);
        }

        /** {@code beta}, {@code threshold}, {@code layers}, {@code heads}, {@code sink_rule}, {@code calibrate}. */
        public static Act fromOptions(Options o, HookedModel model) {
            Act d = DEFAULT;
            return new Act(o.number("beta", d.beta()), o.number("threshold", d.threshold()), layersOption(o, model),
                    headsOption(o, model), SinkRule.parse(o.text("sink_rule", d.sinkRule().id())),
                    Calibration.parse(o.text("calibrate", d.calibration().id())));
        }

        /** The layers edited on a model of {@code n} layers, ascending. */
        public List<Integer> layersOf(int n) {
            List<Integer> out = layers != null ? layers : IntStream.rangeClosed(2, n - 2).boxed().toList();
            return out.stream().filter(l -> l >= 0 && l < n).sorted().distinct().toList();
        }

        public String id() {
            return "act";
        }

        public Map<String, Object> parameters() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("beta", beta);
            m.put("threshold", threshold);
            m.put("layers", layers == null ? "2..L-2" : layers.toString());
            m.put("heads", heads == null ? "all heads of those layers" : heads.toString());
            m.put("sink_rule", sinkRule.id());
            m.put("calibration", calibration.id());
            m.put("excluded_sink", "kept as a receiver");
            return m;
        }
    }

    /**
     * @param p              code convention: factor kept on sink attention (paper: 1 - p is moved)
     * @param rho            code convention: the largest sink share of a row's image attention for the row to be edited
     *                       (paper: 1 - rho is the smallest non-sink share)
     * @param minImage       smallest total image attention of an edited row
     * @param tau            sink threshold on the RMS-normalised residual
     * @param massiveDims    massive-activation dims, or null to find them on this input
     * @param layers         layers edited (null: the code's 2..L-1)
     * @param calibration    where sinks and image-centric rows are found (VAR code: in the edited pass)
     * @param rowsAfterImage only query rows after the image are edited (VAR code's prompt pass)
     */
    public record Var(double p, double rho, double minImage, double tau, List<Integer> massiveDims, List<Integer> layers,
                      Calibration calibration, boolean rowsAfterImage) implements Method {
        public static final Var DEFAULT = new Var(0.6, 0.5, 0.2, 20, null, null, Calibration.IN_PASS, true);

        /** The code's selection rules: in-pass detection, rows after the image. */
        public Var(double p, double rho, double minImage, double tau, List<Integer> massiveDims, List<Integer> layers) {
            this(p, rho, minImage, tau, massiveDims, layers, Calibration.IN_PASS, true);
        }

        public Var {
            massiveDims = massiveDims == null ? null : List.copyOf(massiveDims);
            layers = layers == null ? null : List.copyOf(layers);
            java.util.Objects.requireNonNull(calibration, "calibration");
        }

        public Var withRules(Calibration c, boolean afterImage) {
            return new Var(p, rho, minImage, tau, massiveDims, layers, c, afterImage);
        }

        /** {@code p}, {@code rho}, {@code min_image}, {@code tau}, {@code massive_dims}, {@code layers}, {@code calibrate}, {@code rows}. */
        public static Var fromOptions(Options o, HookedModel model) {
            Var d = DEFAULT;
            String rows = o.text("rows", "after-image");
            if (!rows.equals("after-image") && !rows.equals("all")) {
                throw new IllegalArgumentException("rows must be after-image or all, got '" + rows + "'");
            }
            return new Var(o.number("p", d.p()), o.number("rho", d.rho()), o.number("min_image", d.minImage()),
                    o.number("tau", d.tau()), o.wholes("massive_dims", null), layersOption(o, model),
                    Calibration.parse(o.text("calibrate", d.calibration().id())), rows.equals("after-image"));
        }

        /** The layers edited on a model of {@code n} layers, ascending. */
        public List<Integer> layersOf(int n) {
            List<Integer> out = layers != null ? layers : IntStream.range(2, n).boxed().toList();
            return out.stream().filter(l -> l >= 0 && l < n).sorted().distinct().toList();
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
            m.put("layers", layers == null ? "2..L-1" : layers.toString());
            m.put("calibration", calibration.id());
            m.put("rows", rowsAfterImage ? "after the image" : "all");
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

        /** {@code gamma}, {@code scope} (all, layers, heads), {@code layers}, {@code heads}. */
        public static ZeroTuning fromOptions(Options o, HookedModel model) {
            String scope = o.text("scope", "all");
            Scope s = switch (scope) {
                case "all" -> Scope.ALL;
                case "layers" -> Scope.LAYERS;
                case "heads" -> Scope.HEADS;
                default -> throw new IllegalArgumentException("scope must be all, layers or heads, got '" + scope + "'");
            };
            List<Integer> layers = layersOption(o, model);
            List<Head> heads = headsOption(o, model);
            return new ZeroTuning(o.number("gamma", DEFAULT.gamma()), s, layers == null ? List.of() : layers,
                    heads == null ? List.of() : heads);
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
            for (Head h : Heads.all(model)) {
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
     * @param alpha      amplification of the image keys' scores (PAI's code and README: 0.2; PAINT's commented-out 0.7/0.3)
     * @param firstLayer first edited layer (0-based; the reference edits layers 2..L-1)
     * @param useCfg     PAI's logit refinement against the image-free input (its {@code --use-cfg})
     * @param gamma      the refinement's guidance scale (PAI's README: 1.1)
     */
    public record Pai(double alpha, int firstLayer, boolean useCfg, double gamma) implements Method {
        public static final Pai DEFAULT = new Pai(0.2, 2, false, 1.1);

        /** Attention edit only, no logit refinement. */
        public Pai(double alpha, int firstLayer) {
            this(alpha, firstLayer, false, 1.1);
        }

        public String id() {
            return "pai";
        }

        /** {@code alpha}, {@code first_layer} (rounded), {@code use_cfg} (on, off), {@code cfg_gamma}. */
        public static Pai fromOptions(Options o) {
            Pai d = DEFAULT;
            String cfg = o.text("use_cfg", "off");
            if (!cfg.equals("on") && !cfg.equals("off")) {
                throw new IllegalArgumentException("use_cfg must be on or off, got '" + cfg + "'");
            }
            return new Pai(o.number("alpha", d.alpha()), (int) Math.round(o.number("first_layer", d.firstLayer())), cfg.equals("on"),
                    o.number("cfg_gamma", d.gamma()));
        }

        public Map<String, Object> parameters() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("alpha", alpha);
            m.put("first_layer", firstLayer);
            m.put("rows", "last query row");
            m.put("use_cfg", useCfg);
            if (useCfg) {
                m.put("gamma", gamma);
                m.put("cfg_cutoff", "tokens with p < 0.1 x the top probability removed");
            }
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

        /** The same result with the ACT head search that picked its heads attached (a section of the report). */
        public Result withHeadSearch(HeadSearch search) {
            Map<String, Object> d = new LinkedHashMap<>(details);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("criterion", search.criterion().name().toLowerCase(java.util.Locale.ROOT));
            m.put("items", search.items());
            m.put("baseline_accuracy", search.baselineAccuracy());
            m.put("baseline_loss", search.baselineLoss());
            m.put("picked", search.picked().stream().map(Head::toString).toList());
            m.put("heads", search.scores().stream().map(sc -> Map.<String, Object>of("head", sc.head().toString(),
                    "accuracy", sc.accuracy(), "loss", sc.loss(), "edited", sc.edited(), "picked", sc.picked())).toList());
            d.put("head_search", m);
            List<String> notes = new ArrayList<>(search.selectionNotes());
            notes.addAll(selectionNotes());
            d.put("selection_notes", notes);
            List<String> dep = new ArrayList<>(departures().stream().filter(x -> !x.startsWith("Heads ")).toList());
            dep.add("Heads were picked by HeadScope's head search on " + search.items() + " calibration item(s) by "
                    + m.get("criterion") + "; the ACT code picks them by accuracy on 900 samples of its classification or "
                    + "multiple-choice tasks.");
            d.put("departures", dep);
            return new Result(method, intervention, heads, before, after, target, kl, cosine, topTokens, d, gammaSweep);
        }

        /** The same result with a ZeroTuning gamma sweep attached (shown as a curve in the report). */
        public Result withGammaSweep(List<GammaPoint> sweep) {
            return new Result(method, intervention, heads, before, after, target, kl, cosine, topTokens, details, sweep);
        }

        /** Where this run differs from the paper's code, in words. */
        public List<String> departures() {
            return details.get("departures") instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of();
        }

        /** What the selection rules selected nothing of, with the largest value found and the threshold that would select it. */
        public List<String> selectionNotes() {
            return details.get("selection_notes") instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of();
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
     * The analysis on an {@link Input}: the method's parameters are the method record itself (each with its paper's
     * {@code DEFAULT}); VAR and PAI edit the input's image tokens when it has an image.
     */
    public static Result run(HookedModel model, Input input, Method method, Progress progress, CancelToken cancel) {
        return run(model, input, method, null, progress, cancel);
    }

    /**
     * The analysis on an {@link Input} with the image keys {@code typed} by the user (null: the input's image tokens,
     * placed by the manifest's vision parts; see {@link #imageKeys}).
     */
    public static Result run(HookedModel model, Input input, Method method, KeySpan typed, Progress progress, CancelToken cancel) {
        return run(model, input.request(), method, imageKeys(input, typed), progress, cancel);
    }

    /** The image keys VAR and PAI edit: the span typed, else the input's image tokens, else null (a text input). */
    public static KeySpan imageKeys(Input input, KeySpan typed) {
        return typed != null || input.patches() == null ? typed : new KeySpan(input.patches().start(), input.patches().end());
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
        progress.update(0, 2, method.id() + ": calibrating");
        Map<String, Object> details = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        Map<Head, Set<Integer>> targets = new HashMap<>();
        Intervention.Builder edit = Intervention.builder();
        boolean lastRowOnly = false;
        String target;
        switch (method) {
            case Act act -> {
                target = "attention on the head's sink columns";
                actEdit(model, input, act, edit, targets, details, notes, cancel);
            }
            case Var var -> {
                target = "attention on sink tokens";
                varEdit(model, input, var, imageSpan, edit, targets, details, notes, cancel);
            }
            case ZeroTuning zt -> {
                target = "attention on key 0";
                edit = zt.intervention(model, zt.gamma()).toBuilder();
                for (Head h : Heads.all(model)) {
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
        String output = model.measuredOutput();
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
        if (model.hasLogits()) {
            float[] pb = out.slice(0, t - 1).data();
            float[] pa = out.slice(1, t - 1).data();
            kl = Numerics.klOfLogits(pb, pa);
            double lb = Numerics.logSumExp(pb);
            double la = Numerics.logSumExp(pa);
            Integer[] order = IntStream.range(0, pb.length).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(order, (x, y) -> Float.compare(Math.max(pb[y], pa[y]), Math.max(pb[x], pa[x])));
            for (int i = 0; i < Math.min(5, order.length); i++) {
                int v = order[i];
                String text = model.tokenizer().map(tk -> tk.decode(v)).orElse(Integer.toString(v));
                top.add(new TokenShift(v, text, Math.exp(pb[v] - lb), Math.exp(pa[v] - la)));
            }
        } else {
            cosine = 1 - Numerics.cosine(Numerics.meanPool(out.slice(0)), Numerics.meanPool(out.slice(1)));
        }
        if (method instanceof Pai pai && pai.useCfg() && model.hasLogits()) {
            details.put("cfg", logitRefinement(model, input, imageSpan, pai, out.slice(0, t - 1).data(), out.slice(1, t - 1).data(), cancel));
        }
        if (targets.isEmpty() && notes.isEmpty()) {
            notes.add("no head selected: the method found nothing to edit on this input");
        }
        details.put("selection_notes", notes);
        details.put("departures", departures(method, imageSpan, model.layers()));
        progress.update(2, 2, method.id() + ": done");
        return new Result(method, intervention, changes, before, after, target, kl, cosine, top, details, List.of());
    }

    /** One calibration sample of ACT's head search: a prompt and the token that should follow it, among optional choices. */
    public record CalibrationItem(long[] prompt, long answer, long[] choices) {
        public CalibrationItem {
            prompt = prompt.clone();
            choices = choices == null ? null : choices.clone();
        }
    }

    /** How the head search judges an edit: accuracy (the ACT code's) or the answer's mean log-probability. */
    public enum Criterion { ACCURACY, LOSS }

    /** One head's calibration: accuracy and mean answer loss with ACT applied to that head alone. */
    public record HeadScore(Head head, double accuracy, double loss, boolean edited, boolean picked) {
    }

    /**
     * @param baselineAccuracy accuracy of the unedited model on the calibration items
     * @param baselineLoss     its mean answer loss (negative log-probability among the choices)
     */
    public record HeadSearch(Act act, Criterion criterion, int items, double baselineAccuracy, double baselineLoss,
                             List<HeadScore> scores) {
        public HeadSearch {
            scores = List.copyOf(scores);
        }

        public List<Head> picked() {
            return scores.stream().filter(HeadScore::picked).map(HeadScore::head).toList();
        }

        /** The edit with the picked heads, ready for {@link Redistribution#run}. */
        public Act pickedAct() {
            return act.withHeads(picked());
        }

        /** What the search picked nothing of, with the best score found; empty when a head was picked. */
        public List<String> selectionNotes() {
            if (!picked().isEmpty()) {
                return List.of();
            }
            return List.of(criterion == Criterion.ACCURACY
                    ? String.format(java.util.Locale.ROOT, "no head picked: the best single-head accuracy is %.4g, not above the "
                    + "unedited %.4g", scores.stream().mapToDouble(HeadScore::accuracy).max().orElse(Double.NaN), baselineAccuracy)
                    : String.format(java.util.Locale.ROOT, "no head picked: the lowest single-head loss is %.6g, not below the "
                    + "unedited %.6g", scores.stream().mapToDouble(HeadScore::loss).min().orElse(Double.NaN), baselineLoss));
        }
    }

    /**
     * ACT's head search (the paper's calibration): each head of the edited layers (the code's 2..L-2 unless given) is
     * edited alone on every calibration item, and the heads whose edit raises the accuracy (or lowers the answer loss)
     * over the unedited model are picked. A head edited alone sees its own layer unedited, so its sinks come from the
     * item's clean run (exactly what the in-pass detection gives). Edits run batched, {@code batch} heads per run.
     */
    public static HeadSearch actHeadSearch(HookedModel model, List<CalibrationItem> items, Act act, Criterion criterion, int batch,
                                           Progress progress, CancelToken cancel) {
        if (items.isEmpty()) {
            throw new IllegalArgumentException("the ACT head search needs at least one calibration item");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        String logits = model.requireLogits();
        List<Head> heads = new ArrayList<>();
        for (int l : act.layersOf(model.layers())) {
            for (int h = 0; h < model.heads(); h++) {
                heads.add(new Head(l, h));
            }
        }
        List<Integer> all = IntStream.range(0, model.layers()).boxed().toList();
        double[] correct = new double[heads.size()];
        double[] loss = new double[heads.size()];
        boolean[] edited = new boolean[heads.size()];
        double baseCorrect = 0;
        double baseLoss = 0;
        for (int i = 0; i < items.size(); i++) {
            cancel.check();
            progress.update(i, items.size(), "ACT head search: item " + (i + 1) + "/" + items.size());
            CalibrationItem item = items.get(i);
            int t = item.prompt().length;
            RunRequest in = RunRequest.tokens(item.prompt());
            RunResult clean = model.session(TapSet.of(TapKind.COL_SUM, all), HookSet.NONE).run(in.withOutputs(Set.of(logits)), cancel);
            double[] base = answerScore(clean.output(logits).slice(0, t - 1).data(), item);
            baseCorrect += base[0];
            baseLoss += base[1];
            List<Integer> todo = new ArrayList<>();
            List<Intervention> edits = new ArrayList<>();
            for (int j = 0; j < heads.size(); j++) {
                Head hd = heads.get(j);
                double[] cm = ColMean.of(clean.tap(TapKind.COL_SUM, hd.layer()), 0, model.isCausal())[hd.head()];
                List<Integer> sink = act.sinkRule().hiddenSinks(cm, t, act.threshold());
                if (sink.isEmpty()) {
                    correct[j] += base[0];
                    loss[j] += base[1];
                    continue;
                }
                Map<Integer, Float> keep = new HashMap<>();
                Map<Integer, Float> recv = new HashMap<>();
                for (int k : sink) {
                    keep.put(k, (float) act.beta());
                    recv.put(k, 0f);
                }
                edited[j] = true;
                todo.add(j);
                edits.add(Intervention.builder().post(hd.layer(), hd.head(), 1f, keep, 1f, recv, null).build());
            }
            for (int from = 0; from < todo.size(); from += batch) {
                cancel.check();
                int to = Math.min(todo.size(), from + batch);
                List<Intervention> chunk = edits.subList(from, to);
                RunResult r = model.session(TapSet.NONE, chunk.get(0).hooks())
                        .run(in.repeat(to - from).withOutputs(Set.of(logits)).withInterventions(chunk), cancel);
                FloatTensor out = r.output(logits);
                for (int b = 0; b < to - from; b++) {
                    double[] sc = answerScore(out.slice(b, t - 1).data(), item);
                    correct[todo.get(from + b)] += sc[0];
                    loss[todo.get(from + b)] += sc[1];
                }
            }
        }
        progress.update(items.size(), items.size(), "ACT head search: done");
        int n = items.size();
        double baseAcc = baseCorrect / n;
        double baseL = baseLoss / n;
        List<HeadScore> scores = new ArrayList<>();
        for (int j = 0; j < heads.size(); j++) {
            double acc = correct[j] / n;
            double l = loss[j] / n;
            boolean picked = edited[j] && (criterion == Criterion.ACCURACY ? acc > baseAcc + 1e-12 : l < baseL - 1e-9);
            scores.add(new HeadScore(heads.get(j), acc, l, edited[j], picked));
        }
        return new HeadSearch(act, criterion, n, baseAcc, baseL, scores);
    }

    /** [1 if the answer is the argmax among the choices else 0, negative log-probability of the answer among the choices]. */
    private static double[] answerScore(float[] logits, CalibrationItem item) {
        long[] choices = item.choices();
        double lse;
        boolean best = true;
        float a = logits[(int) item.answer()];
        if (choices == null) {
            lse = Numerics.logSumExp(logits);
            for (float v : logits) {
                best &= v <= a;
            }
        } else {
            float[] sub = new float[choices.length];
            for (int i = 0; i < choices.length; i++) {
                sub[i] = logits[(int) choices[i]];
                best &= sub[i] <= a;
            }
            lse = Numerics.logSumExp(sub);
        }
        return new double[]{best ? 1 : 0, lse - a};
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
        String output = model.measuredOutput();
        RunResult r = model.session(TapSet.of(TapKind.SPAN_MASS, all), new HookSet(false, true, false))
                .run(input.withOutputs(Set.of(output)).withKeySpan(new FloatTensor(new long[]{n, t}, span)).withInterventions(batch), cancel);
        List<Head> edited = Heads.all(model).stream().filter(scope::selects).toList();
        FloatTensor out = r.output(output);
        boolean lm = model.hasLogits();
        List<GammaPoint> points = new ArrayList<>();
        for (int b = 1; b < n; b++) {
            double mass = 0;
            for (Head h : edited) {
                FloatTensor m = r.tap(TapKind.SPAN_MASS, h.layer());
                for (int q = 0; q < t; q++) {
                    mass += m.get(b, h.head(), q) / ((double) t * edited.size());
                }
            }
            double shift = lm ? Numerics.klOfLogits(out.slice(0, t - 1).data(), out.slice(b, t - 1).data())
                    : 1 - Numerics.cosine(Numerics.meanPool(out.slice(0)), Numerics.meanPool(out.slice(b)));
            points.add(new GammaPoint(gammas.get(b - 1), mass, shift));
        }
        return points;
    }

    /**
     * ACT's sink columns per edited head. In-pass: layer by layer, the column sums are read from a run carrying the edits
     * chosen so far (so a layer sees the attention its lower layers' edits produce); clean: from one unedited run.
     */
    private static void actEdit(HookedModel model, RunRequest input, Act act, Intervention.Builder edit, Map<Head, Set<Integer>> targets,
                                Map<String, Object> details, List<String> notes, CancelToken cancel) {
        int heads = model.heads();
        int t = input.length();
        List<Integer> all = IntStream.range(0, model.layers()).boxed().toList();
        List<Integer> edited = act.layersOf(model.layers());
        TapSet taps = TapSet.of(TapKind.COL_SUM, all);
        List<Map<String, Object>> sinks = new ArrayList<>();
        double largest = Double.NEGATIVE_INFINITY;
        RunResult cal = null;
        int editsAtRun = -1;
        int runs = 0;
        for (int l : edited) {
            if (cal == null || act.calibration() == Calibration.IN_PASS && targets.size() != editsAtRun) {
                cal = calibrationRun(model, input, taps, edit.build(), cancel);
                editsAtRun = targets.size();
                runs++;
            }
            double[][] cm = ColMean.of(cal.tap(TapKind.COL_SUM, l), 0, model.isCausal());
            for (int h = 0; h < heads; h++) {
                Head head = new Head(l, h);
                if (act.heads() != null && !act.heads().contains(head)) {
                    continue;
                }
                int excluded = act.sinkRule().excluded(cm[h], t, act.threshold());
                for (int k = 0; k < t; k++) {
                    if (k != excluded) {
                        largest = Math.max(largest, cm[h][k]);
                    }
                }
                List<Integer> sink = act.sinkRule().hiddenSinks(cm[h], t, act.threshold());
                if (sink.isEmpty()) {
                    continue;
                }
                Map<Integer, Float> keep = new HashMap<>();
                Map<Integer, Float> recv = new HashMap<>();
                for (int k : sink) {
                    keep.put(k, (float) act.beta());
                    recv.put(k, 0f);
                }
                edit.post(l, h, 1f, keep, 1f, recv, null);
                targets.put(head, new TreeSet<>(sink));
                sinks.add(Map.of("head", head.toString(), "keys", sink.toString(), "excluded_key", excluded));
            }
        }
        details.put("edited_layers", edited);
        details.put("calibration_runs", runs);
        details.put("sink_columns", sinks);
        if (sinks.isEmpty()) {
            notes.add(edited.isEmpty() ? "no layer to edit: the layer range " + (act.layers() == null ? "2..L-2" : act.layers())
                    + " is empty on this " + model.layers() + "-layer model; give the layers explicitly"
                    : Metrics.nothingSelected("sink column", "colmean at a key the " + act.sinkRule().id() + " rule keeps in layers "
                    + edited, largest, "threshold", act.threshold()));
        }
    }

    /** Column sums, residuals or attention of one run carrying the edits chosen so far (none: a plain run). */
    private static RunResult calibrationRun(HookedModel model, RunRequest input, TapSet taps, Intervention sofar, CancelToken cancel) {
        RunRequest in = input.withOutputs(Set.of());
        return sofar.isEmpty() ? model.session(taps, HookSet.NONE).run(in, cancel)
                : model.session(taps, sofar.hooks()).run(in.withInterventions(List.of(sofar)), cancel);
    }

    /**
     * VAR's selection: for each edited layer (ascending), the sink tokens entering it and the image-centric rows of each
     * head, read from a run carrying the edits of the layers below (in-pass) or from the clean run; a layer without a
     * sink token is skipped.
     */
    private static void varEdit(HookedModel model, RunRequest input, Var var, KeySpan image, Intervention.Builder edit,
                                Map<Head, Set<Integer>> targets, Map<String, Object> details, List<String> notes, CancelToken cancel) {
        int layers = model.layers();
        int heads = model.heads();
        int t = input.length();
        List<Integer> all = IntStream.range(0, layers).boxed().toList();
        TapSet taps = TapSet.of(TapKind.RESIDUAL, all).with(TapKind.PROBS, all);
        RunResult cal = calibrationRun(model, input, taps, Intervention.NONE, cancel);
        List<Integer> dims = var.massiveDims() != null ? var.massiveDims()
                : Residuals.massiveDims(List.<double[][]>of(Residuals.normalisedToken(Residuals.stream(cal, layers), 0)),
                SinkScan.Params.DEFAULTS.massiveRatio(), SinkScan.Params.DEFAULTS.maxMassiveDims());
        details.put("massive_dims", dims);
        List<Integer> edited = var.layersOf(layers);
        int firstRow = var.rowsAfterImage() ? image.end() : 0;
        List<Map<String, Object>> sinkTokens = new ArrayList<>();
        List<Map<String, Object>> rowsByHead = new ArrayList<>();
        double largest = Double.NaN;
        double largestImage = Double.NaN;
        int editsAtRun = 0;
        int runs = 1;
        for (int l : edited) {
            if (var.calibration() == Calibration.IN_PASS && targets.size() != editsAtRun) {
                cal = calibrationRun(model, input, taps, edit.build(), cancel);
                editsAtRun = targets.size();
                runs++;
            }
            FloatTensor x = cal.tap(TapKind.RESIDUAL, l);
            int d = x.dim(2);
            Set<Integer> sinks = new TreeSet<>();
            for (int tok = 0; tok < t; tok++) {
                double[] r = Residuals.rmsNormalised(java.util.Arrays.copyOfRange(x.data(), tok * d, (tok + 1) * d));
                for (int dim : dims) {
                    if (dim < 0 || dim >= d) {
                        throw new IllegalArgumentException("massive dim " + dim + " outside the hidden size " + d);
                    }
                    largest = Double.isNaN(largest) ? r[dim] : Math.max(largest, r[dim]);
                    if (r[dim] > var.tau()) {
                        sinks.add(tok);
                    }
                }
            }
            for (int tok : sinks) {
                sinkTokens.add(Map.of("layer", l, "position", tok, "in_image", image.contains(tok)));
            }
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
                for (int q = firstRow; q < t; q++) {
                    double img = 0;
                    double imgSink = 0;
                    for (int k = image.start(); k < image.end(); k++) {
                        double a = probs.get(0, h, q, k);
                        img += a;
                        if (sinks.contains(k)) {
                            imgSink += a;
                        }
                    }
                    largestImage = Double.isNaN(largestImage) ? img : Math.max(largestImage, img);
                    if (img >= var.minImage() && imgSink / img <= var.rho()) {
                        rows.add(q);
                    }
                }
                if (!rows.isEmpty()) {
                    edit.post(l, h, 1f, keep, 0f, recv, rows.stream().mapToInt(Integer::intValue).toArray());
                    targets.put(new Head(l, h), sinks);
                    rowsByHead.add(Map.of("head", l + "." + h, "rows", rows.size(), "first_row", rows.get(0)));
                }
            }
        }
        details.put("edited_layers", edited);
        details.put("calibration_runs", runs);
        details.put("sink_tokens", sinkTokens);
        details.put("image_centric_rows", rowsByHead);
        if (sinkTokens.isEmpty() && dims.isEmpty()) {
            float[][][] residual = Residuals.stream(cal, layers);
            double[] best = {Double.NaN, -1};
            for (int l : edited) {
                for (float[] x : residual[l]) {
                    double[] r = Residuals.rmsNormalised(x);
                    for (int dim = 0; dim < r.length; dim++) {
                        if (Double.isNaN(best[0]) || r[dim] > best[0]) {
                            best[0] = r[dim];
                            best[1] = dim;
                        }
                    }
                }
            }
            notes.add(String.format(java.util.Locale.ROOT, "no visual sink selected: no massive dimension was found on this input (no dim "
                    + "at token 0 exceeds %s x the median dim); the largest RMS-normalised residual in any dim entering layers %s is "
                    + "%.4g (dim %d), against tau = %s; give massive_dims and a tau below that value to select it",
                    SinkScan.Params.DEFAULTS.massiveRatio(), edited, best[0], (int) best[1], var.tau()));
        } else if (sinkTokens.isEmpty()) {
            notes.add(Metrics.nothingSelected("visual sink", "RMS-normalised residual in the massive dims " + dims + " entering layers "
                    + edited, largest, "tau", var.tau()) + " (the normalised value cannot exceed sqrt(hidden size))");
        } else if (rowsByHead.isEmpty()) {
            notes.add(firstRow >= t ? "no image-centric row: no query row follows the image (rows " + firstRow + ".. of " + t + ")"
                    : Metrics.nothingSelected("image-centric row", "image attention of a candidate row", largestImage,
                    "min_image_attention", var.minImage()) + ", or the sink share of the image attention exceeds rho");
        }
    }

    /**
     * PAI's logit refinement at the last position: {@code gamma (log p - log p_free) + log p_free} from the edited
     * run's log-probabilities and those of the unedited image-free input, tokens whose edited probability is below a
     * tenth of the top one removed.
     */
    private static Map<String, Object> logitRefinement(HookedModel model, RunRequest input, KeySpan image, Pai pai, float[] before,
                                                       float[] edited, CancelToken cancel) {
        RunRequest free = withoutSpan(input, image);
        float[] freeLogits = model.session(TapSet.NONE, HookSet.NONE).run(free.withOutputs(Set.of(model.requireLogits())), cancel)
                .output(model.requireLogits()).slice(0, free.length() - 1).data();
        double[] guided = refine(edited, freeLogits, pai.gamma());
        double lb = Numerics.logSumExp(before);
        double le = Numerics.logSumExp(edited);
        Integer[] order = IntStream.range(0, guided.length).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(order, (a, b) -> Double.compare(guided[b], guided[a]));
        List<Map<String, Object>> top = new ArrayList<>();
        for (int i = 0; i < Math.min(5, order.length) && guided[order[i]] > Double.NEGATIVE_INFINITY; i++) {
            int v = order[i];
            String text = model.tokenizer().map(tk -> tk.decode(v)).orElse(Integer.toString(v));
            top.add(Map.of("token", v, "text", text, "before", Math.exp(before[v] - lb), "after_edit", Math.exp(edited[v] - le),
                    "guided", Math.exp(guided[v])));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("gamma", pai.gamma());
        m.put("image_free_tokens", free.length());
        m.put("guided_next_token", order[0]);
        m.put("guided_top_tokens", top);
        return m;
    }

    /**
     * The refined log-probabilities (normalised over the tokens kept): {@code gamma (log p - log p_free) + log p_free}
     * where {@code log p >= log 0.1 + max log p}, minus infinity elsewhere.
     */
    static double[] refine(float[] logits, float[] freeLogits, double gamma) {
        double l = Numerics.logSumExp(logits);
        double f = Numerics.logSumExp(freeLogits);
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v - l);
        }
        double cutoff = Math.log(0.1) + max;
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            double lp = logits[i] - l;
            double lf = freeLogits[i] - f;
            out[i] = lp < cutoff ? Double.NEGATIVE_INFINITY : gamma * (lp - lf) + lf;
        }
        double z = Double.NEGATIVE_INFINITY;
        for (double v : out) {
            if (v > Double.NEGATIVE_INFINITY) {
                z = z == Double.NEGATIVE_INFINITY ? v : Math.max(z, v) + Math.log1p(Math.exp(-Math.abs(z - v)));
            }
        }
        for (int i = 0; i < out.length; i++) {
            out[i] -= z;
        }
        return out;
    }

    /** The input with the key span's positions removed (the image-free prompt). */
    static RunRequest withoutSpan(RunRequest input, KeySpan span) {
        int t = input.length();
        int n = span.end() - span.start();
        if (input.inputIds() != null) {
            long[] ids = input.inputIds().data();
            long[] out = new long[t - n];
            System.arraycopy(ids, 0, out, 0, span.start());
            System.arraycopy(ids, span.end(), out, span.start(), t - span.end());
            return RunRequest.tokens(out);
        }
        FloatTensor e = input.inputsEmbeds();
        int d = e.dim(2);
        float[] out = new float[(t - n) * d];
        System.arraycopy(e.data(), 0, out, 0, span.start() * d);
        System.arraycopy(e.data(), span.end() * d, out, span.start() * d, (t - span.end()) * d);
        return RunRequest.embeddings(new FloatTensor(new long[]{1, t - n, d}, out));
    }

    /** Where a run of this method differs from its paper's code, in words. */
    static List<String> departures(Method method, KeySpan image, int layers) {
        Departures d = new Departures();
        switch (method) {
            case Act a -> {
                Act r = Act.DEFAULT;
                d.changed("beta", a.beta(), r.beta(), "the ACT code")
                        .changed("threshold", a.threshold(), r.threshold(), "the ACT code")
                        .when(a.sinkRule() == SinkRule.KEY0, "Sink columns leave out key 0 (sink rule key0); the ACT code leaves out the "
                                + "first detected sink wherever it is (indices[1:]), key 0 only when key 0 is itself a sink.")
                        .when(a.calibration() == Calibration.CLEAN, "Sink columns are detected once on the clean run (calibration "
                                + "clean); the ACT code detects them inside the edited forward pass, where edits of lower layers change "
                                + "the sets of higher ones.")
                        .when(a.layers() != null, "Layers " + a.layersOf(layers) + " are edited; the ACT code edits layers 2..L-2.")
                        .when(a.heads() == null, "Every head of the edited layers is edited; the ACT code edits only the heads its "
                                + "calibration search picked (run the head search to pick them).")
                        .when(a.heads() != null, "Heads " + a.heads() + " are edited, as given or picked by HeadScope's head search.");
            }
            case Var v -> {
                Var r = Var.DEFAULT;
                d.changed("p (code convention)", v.p(), r.p(), "the VAR code")
                        .changed("rho (code convention)", v.rho(), r.rho(), "the VAR code")
                        .changed("min_image_attention", v.minImage(), r.minImage(), "the VAR code")
                        .changed("tau", v.tau(), r.tau(), "the VAR code")
                        .when(v.massiveDims() == null, "Massive dimensions are found on this input (outliers at token 0); the VAR code "
                                + "uses a fixed list per model ({2533, 1415} for LLaMA-2-7B).")
                        .when(v.calibration() == Calibration.CLEAN, "Sink tokens and image-centric rows are found once on the clean "
                                + "run (calibration clean); the VAR code finds them inside the edited forward pass.")
                        .when(v.layers() != null, "Layers " + v.layersOf(layers) + " are edited; the VAR code edits layers 2..L-1 "
                                + "(range(L)[2:]).")
                        .when(!v.rowsAfterImage(), "Every query row may be edited; in the prompt pass the VAR code edits only the rows "
                                + "after the image.")
                        .add("Only the prompt pass is edited and measured; the VAR code also edits every generation step.");
            }
            case ZeroTuning z -> d.when(Math.abs(z.gamma() - 1) > 1e-12, "gamma is " + z.gamma() + (Math.abs(z.gamma() - 3.5) < 1e-12
                    ? ", the best rate of the authors' SST-2 demo (all heads)" : "") + "; ZeroTuning's code defaults to 1.0 (no edit).");
            case Pai p -> {
                d.changed("alpha", p.alpha(), Pai.DEFAULT.alpha(), "PAI's code and README (0.7/0.3 appear only commented out in PAINT)")
                        .changed("first_layer", p.firstLayer(), Pai.DEFAULT.firstLayer(), "PAI's code")
                        .when(!p.useCfg(), "PAI's logit refinement (--use-cfg: contrast with the image-free logits, gamma 1.1 in its "
                                + "README) is off: only the attention edit is applied.")
                        .when(p.useCfg() && Math.abs(p.gamma() - 1.1) > 1e-12, "The logit refinement's gamma is " + p.gamma()
                                + "; PAI's README commands use 1.1.")
                        .add("Only the prompt pass is edited and the next token measured; PAI's code edits every generation step.");
            }
        }
        return d.list();
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

}
