package org.headscope.analysis;

import org.headscope.analysis.core.ColMean;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.core.Residuals;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * Attention sinks, after four papers, all from one mean-received-attention quantity
 * ({@link ColMean}: {@code colmean[l,h,k] = sum_q A[l,h,q,k] / (T-k)}):
 * <ul>
 * <li>Sink rate (Gu et al., "When Attention Sink Emerges", ICLR'25):
 *     {@code Sink_k^eps = 100 * mean over (samples, layers, heads) of [colmean[l,h,k] > eps]}, eps 0.3, first 64 tokens.</li>
 * <li>Hidden sinks (ACT, "Unveiling and Harnessing Hidden Attention Sinks", ICML'24): keys with
 *     {@code colmean > 0.1}, less the first detected one wherever it is ({@link SinkRule#FIRST_DETECTED}, the ACT
 *     code's {@code indices[1:]}); {@link SinkRule#KEY0} drops key 0 instead.</li>
 * <li>Active/dormant measures (Guo et al., "Active-Dormant Attention Heads"): row entropy
 *     {@code mean_q H(A[q,:]) / log(q+1)} over all rows, row 0 counted as 0 as the reference code does (or over rows
 *     1.. only, {@link RowEntropy#SKIP_ROW0}), column entropy {@code max_k H(A[:,k] / sum_q A[q,k]) / log(T-k)},
 *     value drains {@code ||v_t W_O^h||_2} and residual peaks {@code ||h_l[t]||_2}, on two prompt sets side by side.</li>
 * <li>Massive-activation dimensions and visual sink tokens (VAR, "See What You Are Told", ICLR'25): token t is a sink
 *     at layer l when {@code |x / sqrt(mean_d x^2 + 1e-6)| > tau} (tau 20) in a massive dimension.</li>
 * </ul>
 * Column sums, row entropies, value drains and residuals come from in-graph taps; the column entropy needs the
 * probabilities themselves (it is not a function of column sums), so PROBS are read for the prompts' first
 * {@code tokens} tokens only.
 */
public final class SinkScan {
    public static final String NAME = "sinks";
    /** Definition versions at the default parameters. */
    public static final Map<String, String> METRICS = metrics(Params.DEFAULTS);

    /** How the row entropy is averaged over query rows. */
    public enum RowEntropy {
        /** The Active-Dormant code: mean over all T rows, row 0 (one visible key, log 1 = 0) counted as 0. */
        ALL_ROWS("all-rows"),
        /** Mean over the rows with at least two visible keys (rows 1.. of a causal head): a factor T/(T-1) above. */
        SKIP_ROW0("skip-row0");

        private final String id;

        RowEntropy(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static RowEntropy parse(String s) {
            for (RowEntropy r : values()) {
                if (r.id.equals(s.toLowerCase(java.util.Locale.ROOT).trim())) {
                    return r;
                }
            }
            throw new IllegalArgumentException("row entropy must be all-rows or skip-row0, got '" + s + "'");
        }
    }

    /** Definition versions of the metrics as these parameters compute them. */
    public static Map<String, String> metrics(Params p) {
        return Metrics.ordered(
            "colmean", ColMean.VERSION,
            "sink_rate", "gu2025-v1: 100 * mean over (samples, layers, heads) of [colmean > eps] on the first `tokens` tokens",
            "sink_head", "headscope-v1: mean colmean at key 0 over samples > eps",
            "hidden_sink", p.sinkRule() == SinkRule.FIRST_DETECTED
                    ? "act2024-v2: colmean > threshold, the first detected key excluded wherever it is (ACT code's indices[1:])"
                    : "act2024-v1-key0: colmean > threshold at key k > 0 (key 0 excluded whether or not it is a sink)",
            "row_entropy", p.rowEntropy() == RowEntropy.ALL_ROWS
                    ? "guo2024-v2: mean over all rows of H(A[q,:]) / log(visible keys), a row with one visible key counted as 0"
                    : "guo2024-v1-skip-row0: mean over rows with >= 2 visible keys of H(A[q,:]) / log(visible keys)",
            "col_entropy", "guo2024-v1: max over keys seen by >= 2 queries of H(A[:,k] / sum_q A[q,k]) / log(queries seeing k)",
            "dormant", "headscope-v1: row_entropy < dormant_row_entropy and col_entropy > dormant_col_entropy",
            "value_drain", "guo2024-v1: ||v_0 W_O^h||_2 / mean over k > 0 of ||v_k W_O^h||_2 (below 1: key 0 is a drain)",
            "residual_peak", "guo2024-v1: ||h_l[0]||_2 / median over t > 0 of ||h_l[t]||_2",
            "massive_dims", "headscope-v1: dims whose RMS-normalised |x| at token 0, averaged over layers, exceeds massive_ratio x the median dim",
            "visual_sink", "var2025-v1: |x / sqrt(mean_d x^2 + 1e-6)| > tau in a massive dim, residual entering each layer");
    }

    /**
     * Parameters with the papers' defaults.
     *
     * @param eps               sink-rate threshold on colmean (Gu et al.: 0.3)
     * @param tokens            first tokens of each probe text (Gu et al.: 64)
     * @param heatKey           key position whose colmean is shown per head
     * @param hiddenThreshold   hidden-sink threshold on colmean (ACT code: 0.1)
     * @param dormantRowEntropy dormant when row entropy is below this (no published default; 0.25 flags a head that
     *                          puts about 95% of every row on one key)
     * @param dormantColEntropy ... and column entropy above this (no published default; 0.8)
     * @param tau               visual-sink threshold on the RMS-normalised residual (VAR: 20)
     * @param massiveDims       massive-activation dimensions, or null to find them
     * @param massiveRatio      a dim is massive when its score exceeds this multiple of the median dim's
     * @param maxMassiveDims    at most this many dims are found
     * @param sinkRule          which detected sink the hidden sinks leave out (ACT code: the first detected)
     * @param rowEntropy        how rows enter the row entropy (Active-Dormant code: all rows, row 0 as 0)
     */
    public record Params(double eps, int tokens, int heatKey, double hiddenThreshold, double dormantRowEntropy,
                         double dormantColEntropy, double tau, List<Integer> massiveDims, double massiveRatio, int maxMassiveDims,
                         SinkRule sinkRule, RowEntropy rowEntropy) {
        public static final Params DEFAULTS = new Params(0.3, 64, 0, 0.1, 0.25, 0.8, 20, null, 10, 4,
                SinkRule.FIRST_DETECTED, RowEntropy.ALL_ROWS);

        /** The reference codes' selection rules (first detected sink dropped, row entropy over all rows). */
        public Params(double eps, int tokens, int heatKey, double hiddenThreshold, double dormantRowEntropy,
                      double dormantColEntropy, double tau, List<Integer> massiveDims, double massiveRatio, int maxMassiveDims) {
            this(eps, tokens, heatKey, hiddenThreshold, dormantRowEntropy, dormantColEntropy, tau, massiveDims, massiveRatio,
                    maxMassiveDims, SinkRule.FIRST_DETECTED, RowEntropy.ALL_ROWS);
        }

        public Params {
            if (!(eps > 0 && eps < 1)) {
                throw new IllegalArgumentException("eps must lie in (0, 1), got " + eps);
            }
            if (tokens < 2) {
                throw new IllegalArgumentException("tokens must be at least 2, got " + tokens);
            }
            if (heatKey < 0 || heatKey >= tokens) {
                throw new IllegalArgumentException("heat key " + heatKey + " must lie in 0.." + (tokens - 1));
            }
            massiveDims = massiveDims == null ? null : List.copyOf(massiveDims);
            java.util.Objects.requireNonNull(sinkRule, "sinkRule");
            java.util.Objects.requireNonNull(rowEntropy, "rowEntropy");
        }

        public Params withRules(SinkRule s, RowEntropy r) {
            return new Params(eps, tokens, heatKey, hiddenThreshold, dormantRowEntropy, dormantColEntropy, tau, massiveDims, massiveRatio,
                    maxMassiveDims, s, r);
        }

        public Params withEps(double e) {
            return new Params(e, tokens, heatKey, hiddenThreshold, dormantRowEntropy, dormantColEntropy, tau, massiveDims, massiveRatio, maxMassiveDims, sinkRule, rowEntropy);
        }

        public Params withTokens(int t) {
            return new Params(eps, t, heatKey, hiddenThreshold, dormantRowEntropy, dormantColEntropy, tau, massiveDims, massiveRatio, maxMassiveDims, sinkRule, rowEntropy);
        }

        public Params withHeatKey(int k) {
            return new Params(eps, tokens, k, hiddenThreshold, dormantRowEntropy, dormantColEntropy, tau, massiveDims, massiveRatio, maxMassiveDims, sinkRule, rowEntropy);
        }

        public Params withMassiveDims(List<Integer> dims) {
            return new Params(eps, tokens, heatKey, hiddenThreshold, dormantRowEntropy, dormantColEntropy, tau, dims, massiveRatio, maxMassiveDims, sinkRule, rowEntropy);
        }

        public Params withTau(double t) {
            return new Params(eps, tokens, heatKey, hiddenThreshold, dormantRowEntropy, dormantColEntropy, t, massiveDims, massiveRatio, maxMassiveDims, sinkRule, rowEntropy);
        }

        /** The options a user sets, as the workbench names them (the command line with '-' for '_'). */
        public static final List<String> OPTIONS = List.of("eps", "tokens", "heat_key", "tau", "massive_dims", "sink_rule", "row_entropy");

        /**
         * The recipe both the {@code sinks} command and the Sinks panel build their parameters with: each of {@link #OPTIONS}
         * from {@code options} (not given: the default), everything else the papers' defaults.
         *
         * @throws IllegalArgumentException naming the option that is malformed or out of range
         */
        public static Params fromOptions(Options o) {
            Params d = DEFAULTS;
            return new Params(o.number("eps", d.eps()), o.whole("tokens", d.tokens()), o.whole("heat_key", d.heatKey()),
                    d.hiddenThreshold(), d.dormantRowEntropy(), d.dormantColEntropy(), o.number("tau", d.tau()),
                    o.wholes("massive_dims", d.massiveDims()), d.massiveRatio(), d.maxMassiveDims(),
                    SinkRule.parse(o.text("sink_rule", d.sinkRule().id())), RowEntropy.parse(o.text("row_entropy", d.rowEntropy().id())));
        }

        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("eps", eps);
            m.put("tokens", tokens);
            m.put("heat_key", heatKey);
            m.put("hidden_threshold", hiddenThreshold);
            m.put("dormant_row_entropy", dormantRowEntropy);
            m.put("dormant_col_entropy", dormantColEntropy);
            m.put("tau", tau);
            m.put("massive_dims", massiveDims == null ? "auto" : massiveDims.toString());
            m.put("massive_ratio", massiveRatio);
            m.put("max_massive_dims", maxMassiveDims);
            m.put("sink_rule", sinkRule.id());
            m.put("row_entropy", rowEntropy.id());
            return m;
        }
    }

    /** A key {@code k > 0} that a head treats as a sink in one prompt. */
    public record HiddenSink(int prompt, int position, String token, int layer, int head, double colmean) {
    }

    /** A token whose normalised residual exceeds tau in a massive dimension entering a layer. */

    /**
     * Active/dormant measures of one prompt set.
     *
     * @param residualPeak per layer, {@code ||h_l[0]|| / median_{t>0} ||h_l[t]||}, mean over prompts (NaN when the
     *                     residual stream was not identified)
     */
    public record Domain(String name, int prompts, HeadGrid rowEntropy, HeadGrid colEntropy, HeadGrid valueDrain,
                         HeadGrid dormant, List<Double> residualPeak) {
        public Domain {
            residualPeak = List.copyOf(residualPeak);
        }
    }

    /**
     * @param sinkRate     Sink_k^eps in percent for k = 0..tokens-1 (NaN where no sample is that long)
     * @param heat         mean colmean at {@code params.heatKey()} per head
     * @param sinkRateKey0 per head, percent of samples with colmean at key 0 above eps
     * @param sinkHeads    heads whose mean colmean at key 0 exceeds eps
     * @param key0         what key 0 is (a BOS/special token, or a content token as in GPT-2)
     * @param second       the second prompt set's measures, or null
     * @param visualSinks  visual sink tokens of the first prompt
     */
    public record Result(Params params, boolean causal, String key0, int samples, List<Double> sinkRate, HeadGrid heat,
                         HeadGrid sinkRateKey0, List<org.headscope.hooks.Intervention.Head> sinkHeads,
                         List<HiddenSink> hiddenSinks, HeadGrid hiddenSinksPerPrompt, Domain first, Domain second,
                         List<Integer> massiveDims, boolean massiveDimsGiven, List<Residuals.VisualSink> visualSinks, List<String> selectionNotes) {
        public Result {
            selectionNotes = List.copyOf(selectionNotes);
            sinkRate = List.copyOf(sinkRate);
            sinkHeads = List.copyOf(sinkHeads);
            hiddenSinks = List.copyOf(hiddenSinks);
            massiveDims = List.copyOf(massiveDims);
            visualSinks = List.copyOf(visualSinks);
        }

        public HeadReport toReport(Provenance provenance) {
            Map<String, Object> parameters = params.asMap();
            parameters.put("colmean_divisor", causal ? "T - k (causal)" : "T (bidirectional)");
            parameters.put("key0", key0);
            parameters.put("samples", samples);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int l = 0; l < heat.layers(); l++) {
                for (int h = 0; h < heat.heads(); h++) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("layer", l);
                    r.put("head", h);
                    r.put("colmean_k" + params.heatKey(), heat.get(l, h));
                    r.put("sink_rate_k0", sinkRateKey0.get(l, h));
                    r.put("sink_head", sinkHeads.contains(new org.headscope.hooks.Intervention.Head(l, h)) ? 1.0 : 0.0);
                    r.put("hidden_sinks_per_prompt", hiddenSinksPerPrompt.get(l, h));
                    domainColumns(r, first, "a", l, h);
                    if (second != null) {
                        domainColumns(r, second, "b", l, h);
                    }
                    rows.add(r);
                }
            }
            Map<String, Object> sections = new LinkedHashMap<>();
            sections.put("sink_rate_by_position", sinkRate);
            sections.put("sink_heads", sinkHeads.stream().map(Object::toString).toList());
            sections.put("hidden_sink_tokens", hiddenSinkTokens());
            sections.put("hidden_sinks", hiddenSinks.stream().map(s -> Map.<String, Object>of("prompt", s.prompt(),
                    "position", s.position(), "token", s.token(), "head", s.layer() + "." + s.head(), "colmean", s.colmean())).toList());
            sections.put("residual_peak_a", first.residualPeak());
            if (second != null) {
                sections.put("residual_peak_b", second.residualPeak());
                sections.put("domains", List.of(first.name(), second.name()));
            } else {
                sections.put("domains", List.of(first.name()));
            }
            sections.put("massive_dims", massiveDims);
            sections.put("massive_dims_source", massiveDimsGiven ? "user" : "found");
            sections.put("visual_sinks_prompt0", visualSinks.stream().map(v -> Map.<String, Object>of("layer", v.layer(),
                    "position", v.position(), "dim", v.dim(), "value", v.value())).toList());
            sections.put("selection_notes", selectionNotes);
            sections.put("departures", departures());
            List<HeadReport.Figure> figures = new ArrayList<>();
            figures.add(HeadReport.headHeatmap("Mean attention received by key " + params.heatKey() + " (colmean)",
                    "colmean_k" + params.heatKey(), rows));
            figures.add(new HeadReport.Figure("curve", "Sink rate Sink_k (eps " + params.eps() + ")", "key position k", "% of heads",
                    IntStream.range(0, sinkRate.size()).mapToObj(Integer::toString).toList(), List.of("Sink_k"), List.of(sinkRate)));
            figures.add(HeadReport.rankedBars("Heads by sink rate at key 0", "sink_rate_k0", rows, 20));
            figures.add(HeadReport.headHeatmap("Row entropy (" + first.name() + ")", "row_entropy_a", rows));
            figures.add(HeadReport.headHeatmap("Hidden sinks per prompt", "hidden_sinks_per_prompt", rows));
            return new HeadReport(NAME, parameters, provenance, rows, sections, figures);
        }

        /** Where this run differs from the papers' code, in words. */
        public List<String> departures() {
            Params d = Params.DEFAULTS;
            return new Departures()
                    .changed("eps", params.eps(), d.eps(), "the sink-rate paper's code")
                    .changed("tokens", params.tokens(), d.tokens(), "the sink-rate paper's code")
                    .changed("hidden_threshold", params.hiddenThreshold(), d.hiddenThreshold(), "the ACT code")
                    .when(params.sinkRule() == SinkRule.KEY0, "Hidden sinks drop key 0 (sink rule key0); the ACT code drops the "
                            + "first detected sink wherever it is (indices[1:]), which is key 0 only when key 0 is itself a sink.")
                    .when(params.rowEntropy() == RowEntropy.SKIP_ROW0, "Row entropy averages over rows 1.. only (skip-row0); the "
                            + "Active-Dormant code averages over all rows with row 0 counted as 0 (a factor (T-1)/T below this).")
                    .changed("tau", params.tau(), d.tau(), "the VAR code")
                    .when(!massiveDimsGiven, "Massive dimensions are found on this model (outliers at token 0 across layers); the VAR "
                            + "code uses a fixed list per model ({2533, 1415} for LLaMA-2-7B).")
                    .add("Sink heads (mean colmean at key 0 above eps), the dormant flag and its thresholds, the value-drain "
                            + "ratio and the residual-peak ratio are HeadScope's summaries; the papers' code gives the underlying "
                            + "measures without these thresholds.")
                    .list();
        }

        /** Hidden sink tokens aggregated over heads: prompt, position, token, number of heads. */
        public List<Map<String, Object>> hiddenSinkTokens() {
            Map<List<Object>, Integer> count = new TreeMap<>((a, b) -> {
                int c = Integer.compare((Integer) a.get(0), (Integer) b.get(0));
                return c != 0 ? c : Integer.compare((Integer) a.get(1), (Integer) b.get(1));
            });
            for (HiddenSink s : hiddenSinks) {
                count.merge(List.of(s.prompt(), s.position(), s.token()), 1, Integer::sum);
            }
            List<Map<String, Object>> out = new ArrayList<>();
            count.forEach((k, n) -> out.add(Map.of("prompt", k.get(0), "position", k.get(1), "token", k.get(2), "heads", n)));
            return out;
        }

        private static void domainColumns(Map<String, Object> r, Domain d, String suffix, int l, int h) {
            r.put("row_entropy_" + suffix, d.rowEntropy().get(l, h));
            r.put("col_entropy_" + suffix, d.colEntropy().get(l, h));
            if (!Double.isNaN(d.valueDrain().get(0, 0))) {
                r.put("value_drain_" + suffix, d.valueDrain().get(l, h));
            }
            r.put("dormant_" + suffix, d.dormant().get(l, h));
        }
    }

    private SinkScan() {
    }

    /**
     * What the scan runs on: a named prompt set for the sink rate, hidden sinks and the first column of active/dormant
     * measures, and optionally a second named set (another input domain) for the second column. Inputs may carry an
     * image (a vision-language model's prompt with its image tokens placed).
     *
     * @param second the second set, or null
     */
    public record Prompts(String firstName, List<Input> first, String secondName, List<Input> second) {
        public Prompts {
            if (first.isEmpty()) {
                throw new IllegalArgumentException("the sink scan needs at least one prompt");
            }
            first = List.copyOf(first);
            second = second == null ? null : List.copyOf(second);
        }

        /** One prompt set. */
        public static Prompts of(String name, List<Input> inputs) {
            return new Prompts(name, inputs, null, null);
        }

        /** One set of text prompts (token ids, no image). */
        public static Prompts texts(HookedModel model, String name, List<HsTokenizer.Tokens> prompts) {
            return of(name, prompts.stream().map(t -> Input.of(model, t, null)).toList());
        }

        /** These prompts with a second set beside them (none when {@code inputs} is null). */
        public Prompts withSecond(String name, List<Input> inputs) {
            return new Prompts(firstName, first, inputs == null ? null : name, inputs);
        }
    }

    /**
     * Runs the scan, one run per prompt (prompts differ in length), cancel checked between runs; each input is cut to
     * the first {@code params.tokens()} positions, and one with an image must fit whole.
     */
    public static Result run(HookedModel model, Prompts prompts, Params params, Progress progress, CancelToken cancel) {
        String firstName = prompts.firstName();
        List<Input> first = prompts.first();
        String secondName = prompts.secondName();
        List<Input> second = prompts.second();
        boolean causal = model.isCausal();
        int layers = model.layers();
        int heads = model.heads();
        boolean drains = model.sites().stream().allMatch(s -> s.outputWeight() != null);
        boolean residuals = model.sites().stream().allMatch(s -> s.residual() != null);
        List<Integer> all = IntStream.range(0, layers).boxed().toList();
        TapSet taps = TapSet.of(TapKind.COL_SUM, all).with(TapKind.ENTROPY, all).with(TapKind.PROBS, all);
        if (drains) {
            taps = taps.with(TapKind.VALUE_DRAIN, all);
        }
        if (residuals) {
            taps = taps.with(TapKind.RESIDUAL, all);
        }
        HookedSession session = model.session(taps, HookSet.NONE);
        int total = first.size() + (second == null ? 0 : second.size());

        double[] sinkHits = new double[params.tokens()];
        double[] sinkCount = new double[params.tokens()];
        double[][] heat = new double[layers][heads];
        double[][] heatCount = new double[layers][heads];
        double[][] key0Hits = new double[layers][heads];
        double[][] key0Mean = new double[layers][heads];
        double[][] hiddenPerPrompt = new double[layers][heads];
        List<HiddenSink> hidden = new ArrayList<>();
        Accumulator accA = new Accumulator(firstName, layers, heads, params);
        double largestHidden = Double.NEGATIVE_INFINITY;
        List<double[][]> residualFirstToken = new ArrayList<>();
        List<float[][][]> firstResidual = new ArrayList<>();
        int done = 0;
        for (int p = 0; p < first.size(); p++) {
            cancel.check();
            Input in = truncate(model, first.get(p), params.tokens());
            HsTokenizer.Tokens tk = in.tokens();
            int t = tk.size();
            progress.update(done, total, "sinks " + firstName + " prompt " + (p + 1) + "/" + first.size() + " T=" + t);
            RunResult r = session.run(in.request(), cancel);
            for (int l = 0; l < layers; l++) {
                double[][] cm = ColMean.of(r.tap(TapKind.COL_SUM, l), 0, causal);
                for (int h = 0; h < heads; h++) {
                    for (int k = 0; k < t; k++) {
                        sinkCount[k]++;
                        if (cm[h][k] > params.eps()) {
                            sinkHits[k]++;
                        }
                    }
                    for (int k : params.sinkRule().hiddenSinks(cm[h], t, params.hiddenThreshold())) {
                        hidden.add(new HiddenSink(p, k, tk.strings()[k], l, h, cm[h][k]));
                        hiddenPerPrompt[l][h] += 1.0 / first.size();
                    }
                    int excluded = params.sinkRule().excluded(cm[h], t, params.hiddenThreshold());
                    for (int k = 0; k < t; k++) {
                        if (k != excluded && cm[h][k] > largestHidden) {
                            largestHidden = cm[h][k];
                        }
                    }
                    if (params.heatKey() < t) {
                        heat[l][h] += cm[h][params.heatKey()];
                        heatCount[l][h]++;
                    }
                    key0Mean[l][h] += cm[h][0] / first.size();
                    if (cm[h][0] > params.eps()) {
                        key0Hits[l][h] += 100.0 / first.size();
                    }
                }
            }
            accA.add(r, t, causal, drains, residuals);
            if (residuals) {
                float[][][] res = Residuals.stream(r, layers);
                residualFirstToken.add(Residuals.normalisedToken(res, 0));
                if (p == 0) {
                    firstResidual.add(res);
                }
            }
            done++;
        }
        Domain domainB = null;
        if (second != null && !second.isEmpty()) {
            Accumulator accB = new Accumulator(secondName, layers, heads, params);
            for (int p = 0; p < second.size(); p++) {
                cancel.check();
                Input in = truncate(model, second.get(p), params.tokens());
                progress.update(done, total, "sinks " + secondName + " prompt " + (p + 1) + "/" + second.size() + " T=" + in.length());
                accB.add(session.run(in.request(), cancel), in.length(), causal, drains, residuals);
                done++;
            }
            domainB = accB.domain();
        }
        progress.update(done, total, "sinks done");
        List<Double> rate = new ArrayList<>();
        for (int k = 0; k < params.tokens(); k++) {
            rate.add(sinkCount[k] == 0 ? Double.NaN : 100.0 * sinkHits[k] / sinkCount[k]);
        }
        while (!rate.isEmpty() && rate.get(rate.size() - 1).isNaN()) {
            rate.remove(rate.size() - 1);
        }
        List<org.headscope.hooks.Intervention.Head> sinkHeads = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                heat[l][h] = heatCount[l][h] == 0 ? Double.NaN : heat[l][h] / heatCount[l][h];
                if (key0Mean[l][h] > params.eps()) {
                    sinkHeads.add(new org.headscope.hooks.Intervention.Head(l, h));
                }
            }
        }
        boolean given = params.massiveDims() != null;
        List<Integer> dims = given ? params.massiveDims()
                : residuals ? Residuals.massiveDims(residualFirstToken, params.massiveRatio(), params.maxMassiveDims()) : List.of();
        List<Residuals.VisualSink> visual = residuals ? Residuals.visualSinks(firstResidual.get(0), dims, params.tau()) : List.of();
        List<String> notes = new ArrayList<>();
        if (sinkHeads.isEmpty()) {
            double best = Arrays.stream(key0Mean).flatMapToDouble(Arrays::stream).max().orElse(Double.NaN);
            notes.add(Metrics.nothingSelected("sink head", "mean colmean at key 0", best, "eps", params.eps()));
        }
        if (hidden.isEmpty()) {
            notes.add(Metrics.nothingSelected("hidden sink", "colmean at a key the " + params.sinkRule().id() + " rule keeps",
                    largestHidden, "hidden_threshold", params.hiddenThreshold()));
        }
        if (residuals && visual.isEmpty()) {
            notes.add(dims.isEmpty()
                    ? Metrics.nothingSelected("visual sink", "RMS-normalised residual in any dim (no massive dim was found)",
                    Residuals.largestNormalised(firstResidual.get(0), IntStream.range(0, firstResidual.get(0)[0][0].length).boxed().toList()),
                    "tau", params.tau())
                    : Metrics.nothingSelected("visual sink", "RMS-normalised residual in the massive dims " + dims,
                    Residuals.largestNormalised(firstResidual.get(0), dims), "tau", params.tau()));
        }
        return new Result(params, causal, describeKey0(model, first.get(0).tokens()), first.size(), rate, HeadGrid.of(heat),
                HeadGrid.of(key0Hits), sinkHeads, hidden, HeadGrid.of(hiddenPerPrompt), accA.domain(), domainB, dims, given, visual,
                notes);
    }

    static Input truncate(HookedModel model, Input in, int n) {
        if (in.length() < 2) {
            throw new IllegalArgumentException("a sink-scan prompt has " + in.length() + " token(s); column means and residual peaks "
                    + "need at least 2, so give longer prompts");
        }
        return in.truncate(model, n);
    }

    private static String describeKey0(HookedModel model, HsTokenizer.Tokens t) {
        Long bos = model.manifest().bos();
        String s = t.strings()[0];
        if ((bos != null && t.ids()[0] == bos) || t.spans()[0][0] < 0 && t.spans()[0][1] <= 0) {
            return "special token " + s + " (BOS-like: sinks at key 0 are sinks on a token without content)";
        }
        return "content token '" + s + "' (GPT-2/OPT style: no BOS, key 0 is the first word)";
    }

    /** Active/dormant measures summed over the prompts of one domain. */
    private static final class Accumulator {
        final String name;
        final int layers;
        final int heads;
        final Params params;
        final double[][] rowEnt;
        final double[][] colEnt;
        final double[][] drain;
        final double[] peak;
        int prompts;

        Accumulator(String name, int layers, int heads, Params params) {
            this.name = name;
            this.layers = layers;
            this.heads = heads;
            this.params = params;
            rowEnt = new double[layers][heads];
            colEnt = new double[layers][heads];
            drain = new double[layers][heads];
            peak = new double[layers];
        }

        void add(RunResult r, int t, boolean causal, boolean drains, boolean residuals) {
            prompts++;
            for (int l = 0; l < layers; l++) {
                FloatTensor ent = r.tap(TapKind.ENTROPY, l);
                FloatTensor probs = r.tap(TapKind.PROBS, l);
                FloatTensor dr = drains ? r.tap(TapKind.VALUE_DRAIN, l) : null;
                for (int h = 0; h < heads; h++) {
                    rowEnt[l][h] += rowEntropy(ent, h, t, causal, params.rowEntropy());
                    colEnt[l][h] += columnEntropy(probs, h, t, causal);
                    if (dr != null) {
                        double others = 0;
                        for (int k = 1; k < t; k++) {
                            others += dr.get(0, h, k) / (t - 1);
                        }
                        drain[l][h] += dr.get(0, h, 0) / others;
                    }
                }
                if (residuals) {
                    FloatTensor x = r.tap(TapKind.RESIDUAL, l);
                    double[] norms = new double[t];
                    int d = x.dim(2);
                    for (int i = 0; i < t; i++) {
                        double s = 0;
                        for (int j = 0; j < d; j++) {
                            double v = x.data()[i * d + j];
                            s += v * v;
                        }
                        norms[i] = Math.sqrt(s);
                    }
                    double[] rest = Arrays.copyOfRange(norms, 1, t);
                    Arrays.sort(rest);
                    peak[l] += norms[0] / rest[rest.length / 2];
                }
            }
        }

        Domain domain() {
            double[][] dormant = new double[layers][heads];
            double[][] drains = new double[layers][heads];
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    rowEnt[l][h] /= prompts;
                    colEnt[l][h] /= prompts;
                    drains[l][h] = drain[l][h] == 0 ? Double.NaN : drain[l][h] / prompts;
                    dormant[l][h] = rowEnt[l][h] < params.dormantRowEntropy() && colEnt[l][h] > params.dormantColEntropy() ? 1 : 0;
                }
            }
            List<Double> peaks = new ArrayList<>();
            for (double p : peak) {
                peaks.add(p == 0 ? Double.NaN : p / prompts);
            }
            return new Domain(name, prompts, HeadGrid.of(rowEnt), HeadGrid.of(colEnt), HeadGrid.of(drains), HeadGrid.of(dormant), peaks);
        }
    }

    /**
     * The tapped row entropy divided by log(visible keys), averaged over rows: over all rows with a one-key row
     * counted as 0 ({@link RowEntropy#ALL_ROWS}, the Active-Dormant code), or over the rows with at least two
     * visible keys ({@link RowEntropy#SKIP_ROW0}).
     */
    static double rowEntropy(FloatTensor entropy, int h, int t, boolean causal, RowEntropy rule) {
        double[] rows = new double[t];
        for (int q = 0; q < t; q++) {
            rows[q] = entropy.get(0, h, q);
        }
        return rowEntropy(rows, causal, rule);
    }

    /** The same from per-row entropies H(A[q,:]) in nats. */
    static double rowEntropy(double[] entropyPerRow, boolean causal, RowEntropy rule) {
        int t = entropyPerRow.length;
        double sum = 0;
        int n = 0;
        for (int q = 0; q < t; q++) {
            int visible = causal ? q + 1 : t;
            if (visible >= 2) {
                sum += entropyPerRow[q] / Math.log(visible);
                n++;
            } else if (rule == RowEntropy.ALL_ROWS) {
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Max over keys seen by at least two queries of the normalised entropy of the key's column. One row-major pass
     * over the head's probabilities accumulates each column's sum {@code s} and {@code sum p log p}; the entropy of
     * the column normalised by s is then {@code log s - (sum p log p) / s}.
     */
    static double columnEntropy(FloatTensor probs, int h, int t, boolean causal) {
        double[] sum = new double[t];
        double[] plogp = new double[t];
        float[] d = probs.data();
        int keys = probs.dim(3);
        for (int q = 0; q < t; q++) {
            int row = probs.offset(0, h, q, 0);
            int last = causal ? q : t - 1;
            for (int k = 0; k <= last; k++) {
                float p = d[row + k];
                if (p > 0) {
                    sum[k] += p;
                    plogp[k] += p * Math.log(p);
                }
            }
        }
        double best = Double.NaN;
        for (int k = 0; k < Math.min(t, keys); k++) {
            int seen = causal ? t - k : t;
            if (seen < 2 || sum[k] <= 0) {
                continue;
            }
            double e = Math.log(sum[k]) - plogp[k] / sum[k];
            double v = e / Math.log(seen);
            best = Double.isNaN(best) ? v : Math.max(best, v);
        }
        return best;
    }
}
