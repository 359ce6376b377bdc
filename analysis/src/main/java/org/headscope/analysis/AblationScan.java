package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Numerics;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.GreedyDecoder;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.LayerSweep;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.headscope.hooks.VisionParts;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Head ablation and pruning, with the ablation modes of the literature named apart (ALGORITHMS.md section 3):
 * {@code zero} (TransformerLens, {@code z_h := 0}), {@code mean} ({@code z_h :=} mean of {@code z_h} over a reference
 * set, pooled over positions), {@code mean-prompt} (the same over the prompt's own positions), {@code uniform} (uniform attention over the visible keys, as Retrieval_Head masks),
 * {@code bos} (all attention to the first token, Active-Dormant's "make dormant") and {@code scale}
 * ({@code z_h := alpha z_h}, VHR's reinforcement for alpha > 1).
 * <ul>
 * <li>Single-head sweep: for every head, the change in teacher-forced loss on a target continuation
 *     {@code L = -mean_j log p(y_j | x, y_<j)}, {@code KL(p_clean || p_ablated)} of the next-token distribution after
 *     the prompt, and the change in the logit difference of two answers. Heads run as batches of interventions,
 *     and a head of layer l only recomputes layers l.. from the clean residual stream ({@link LayerSweep}).</li>
 * <li>AMP output-norm importance (Amp, "Attention heads pruning"): {@code I_h = mean_t ||z_h W_O^h||_1}.</li>
 * <li>Pruning curve: the k least important heads ablated (globally, or the same fraction per layer as AMP does),
 *     metric against the fraction pruned.</li>
 * <li>AttentionInfluence document score: {@code (L_masked - L_base) / L_base} with a head set zeroed.</li>
 * </ul>
 * Encoders (e.g. MiniLM) have no next-token distribution: the metric is then the cosine distance between the
 * mean-pooled output embedding with and without the ablation, {@code 1 - cos(mean_t e_clean, mean_t e_ablated)}.
 */
public final class AblationScan {
    public static final String NAME = "ablation";
    public static final Map<String, String> METRICS = Metrics.ordered(
            "loss_delta", "headscope-v1: teacher-forced mean cross-entropy (nats) over the target tokens, ablated minus clean",
            "kl", "headscope-v1: KL(p_clean || p_ablated) in nats of the next-token distribution after the prompt",
            "logit_diff_delta", "headscope-v1: (logit[a] - logit[b]) after the prompt, ablated minus clean",
            "cosine_distance", "headscope-v1: 1 - cos of the mean-pooled output embeddings, clean vs ablated (encoders)",
            "amp_importance", "amp2023-v1: mean over tokens of ||z_h W_O^h||_1",
            "attention_influence", "hua2025-v1: (L_masked - L_base) / L_base, mean next-token cross-entropy over the document");

    /**
     * @param mode            ablation mode
     * @param alpha           gain of the scale mode ({@link AblationMode#DEFAULT_ALPHA}, VHR's 2.0, by default)
     * @param batchSize       interventions per run in sweeps
     * @param generateTokens  greedy tokens generated for the clean run and the top heads
     * @param topGenerated    how many of the most harmful heads get a generated text
     * @param pruneFractions  fractions of heads pruned along the curve
     * @param globalPruning   true: the k least important heads overall; false: the same fraction in every layer (AMP)
     * @param amp             compute AMP importance and the pruning curve (when the output projections were found)
     */
    public record Params(AblationMode mode, float alpha, int batchSize, int generateTokens, int topGenerated,
                         List<Double> pruneFractions, boolean globalPruning, boolean amp) {
        public static final Params DEFAULTS = new Params(AblationMode.ZERO, AblationMode.DEFAULT_ALPHA, 16, 8, 3,
                List.of(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), false, true);

        public Params {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
            }
            for (double f : pruneFractions) {
                if (f < 0 || f > 1) {
                    throw new IllegalArgumentException("pruning fractions lie in [0, 1], got " + f);
                }
            }
            pruneFractions = List.copyOf(pruneFractions);
        }

        public Params withMode(AblationMode m, float a) {
            return new Params(m, a, batchSize, generateTokens, topGenerated, pruneFractions, globalPruning, amp);
        }

        public Params withBatchSize(int b) {
            return new Params(mode, alpha, b, generateTokens, topGenerated, pruneFractions, globalPruning, amp);
        }

        public Params withPruning(List<Double> fractions, boolean global) {
            return new Params(mode, alpha, batchSize, generateTokens, topGenerated, fractions, global, amp);
        }

        public Params withGeneration(int tokens, int top) {
            return new Params(mode, alpha, batchSize, tokens, top, pruneFractions, globalPruning, amp);
        }

        /**
         * The recipe the {@code ablate} command and the Ablation sweep panel share: {@code mode}, {@code alpha} and
         * {@code batch} from {@code options} (not given: zero ablation, {@link AblationMode#DEFAULT_ALPHA}, 16 heads a run).
         */
        public static Params fromOptions(Options o) {
            return DEFAULTS.withMode(AblationMode.parse(o.text("mode", DEFAULTS.mode().id())), (float) o.number("alpha", DEFAULTS.alpha()))
                    .withBatchSize(o.whole("batch", DEFAULTS.batchSize()));
        }

        /** With or without AMP importance and the pruning curve built on it. */
        public Params withAmp(boolean on) {
            return new Params(mode, alpha, batchSize, generateTokens, topGenerated, pruneFractions, globalPruning, on);
        }

        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", mode.id());
            m.put("mode_definition", mode.definition());
            if (mode == AblationMode.SCALE) {
                m.put("alpha", (double) alpha);
            }
            m.put("batch_size", batchSize);
            m.put("generate_tokens", generateTokens);
            m.put("amp_and_pruning", amp);
            if (amp) {
                m.put("prune_fractions", pruneFractions.toString());
                m.put("pruning", globalPruning ? "global" : "per-layer uniform (AMP)");
            }
            return m;
        }
    }

    /**
     * What an ablation is measured on: a prompt and a target continuation (token ids), optionally two answer tokens
     * whose logit difference after the prompt is tracked (-1 when not used), and for a vision-language model the image
     * embeddings the prompt carries ({@code image} [1, N, D] placed at position {@code imageStart}, or null).
     */
    public record Target(long[] prompt, long[] continuation, long answerA, long answerB, FloatTensor image, int imageStart) {
        public Target {
            if (prompt.length == 0) {
                throw new IllegalArgumentException("the prompt is empty");
            }
            if (image != null && (imageStart < 0 || imageStart > prompt.length)) {
                throw new IllegalArgumentException("the image starts at " + imageStart + ", outside the prompt's " + prompt.length + " tokens");
            }
            prompt = prompt.clone();
            continuation = continuation.clone();
        }

        /** A text target. */
        public Target(long[] prompt, long[] continuation, long answerA, long answerB) {
            this(prompt, continuation, answerA, answerB, null, 0);
        }

        public static Target of(long[] prompt, long[] continuation) {
            return new Target(prompt, continuation, -1, -1);
        }

        /** The target of a prompt {@link Input} (token ids, or ids with an image) and a continuation. */
        public static Target of(Input prompt, long[] continuation, long answerA, long answerB) {
            return new Target(prompt.textIds(), continuation, answerA, answerB, prompt.image(),
                    prompt.patches() == null ? 0 : prompt.patches().start());
        }

        /** Image tokens in the run (0 without an image). */
        public int imageTokens() {
            return image == null ? 0 : image.dim(1);
        }

        /** Positions of the prompt in the run, image tokens included. */
        public int promptLength() {
            return prompt.length + imageTokens();
        }

        @Override
        public long[] prompt() {
            return prompt.clone();
        }

        @Override
        public long[] continuation() {
            return continuation.clone();
        }

        /** The run's token ids, prompt then continuation; an image's positions hold 0 (their embeddings come from the image). */
        long[] ids() {
            long[] text = Numerics.concat(prompt, continuation);
            if (image == null) {
                return text;
            }
            long[] ids = new long[text.length + imageTokens()];
            System.arraycopy(text, 0, ids, 0, imageStart);
            System.arraycopy(text, imageStart, ids, imageStart + imageTokens(), text.length - imageStart);
            return ids;
        }

        /** The run: token ids, or the decoder's input embeddings with the image placed. */
        RunRequest request(HookedModel model) {
            return image == null ? RunRequest.tokens(ids()) : embeddings(model, Numerics.concat(prompt, continuation));
        }

        /** The prompt alone as a run. */
        RunRequest promptRequest(HookedModel model) {
            return image == null ? RunRequest.tokens(prompt.clone()) : embeddings(model, prompt.clone());
        }

        private RunRequest embeddings(HookedModel model, long[] text) {
            VisionParts v = model.vision().orElseThrow(() -> new IllegalArgumentException(
                    "an ablation target with an image needs a vision-language model"));
            return RunRequest.embeddings(v.sequence(text, image));
        }

        boolean hasAnswers() {
            return answerA >= 0 && answerB >= 0;
        }
    }

    /** Metrics of one run element; NaN where the model gives no such quantity. */
    public record Outcome(double loss, double logitDiff, float[] nextLogits, float[] pooled) {
        public Outcome {
            nextLogits = nextLogits == null ? null : nextLogits.clone();
            pooled = pooled == null ? null : pooled.clone();
        }
    }

    /** Effect of ablating one head (or a head set) against the clean run. */
    public record Effect(double lossDelta, double kl, double logitDiffDelta, double cosineDistance) {
        static Effect of(Outcome clean, Outcome ablated) {
            return new Effect(ablated.loss() - clean.loss(),
                    clean.nextLogits() == null ? Double.NaN : Numerics.klOfLogits(clean.nextLogits(), ablated.nextLogits()),
                    ablated.logitDiff() - clean.logitDiff(),
                    clean.pooled() == null ? Double.NaN : 1 - Numerics.cosine(clean.pooled(), ablated.pooled()));
        }

        /** The headline number: loss change for language models, cosine distance for encoders. */
        public double main() {
            return Double.isNaN(lossDelta) ? cosineDistance : lossDelta;
        }
    }

    public record HeadEffect(Head head, Effect effect) {
    }

    private static final Comparator<HeadEffect> BY_MAGNITUDE =
            Comparator.comparingDouble((HeadEffect e) -> Math.abs(e.effect().main())).reversed();

    /** One point of the pruning curve: the fraction pruned, how many heads, and the metric after pruning. */
    public record PruningPoint(double fraction, int heads, double loss, double cosineDistance) {
    }

    /** Greedy continuation under an intervention ("clean" or a head). */
    public record Generated(String label, long[] ids, String text) {
        public Generated {
            ids = ids.clone();
        }
    }

    /** AttentionInfluence score of a document: {@code (maskedLoss - baseLoss) / baseLoss}. */
    public record DocumentScore(double baseLoss, double maskedLoss, double score) {
    }

    /**
     * @param languageModel true when the model gives next-token logits (loss, KL); false for encoders (cosine)
     * @param importance    AMP importance per head, or null when the output projection was not found
     */
    public record Result(Params params, boolean languageModel, String output, Outcome clean, List<HeadEffect> effects,
                         HeadGrid importance, List<PruningPoint> pruning, List<Generated> generated, int layers, int heads,
                         int runs) {
        public Result {
            effects = List.copyOf(effects);
            pruning = List.copyOf(pruning);
            generated = List.copyOf(generated);
        }

        public Effect effect(Head h) {
            return effects.stream().filter(e -> e.head().equals(h)).findFirst().map(HeadEffect::effect)
                    .orElseThrow(() -> new IllegalArgumentException("head " + h + " was not ablated"));
        }

        /** Heads from the ablation that changes the headline metric most (in either direction) down. */
        public List<HeadEffect> ranked() {
            return effects.stream().sorted(BY_MAGNITUDE).toList();
        }

        public HeadReport toReport(Provenance provenance) {
            Map<String, Object> parameters = params.asMap();
            parameters.put("metric", languageModel ? "loss_delta (teacher-forced target), kl, logit_diff_delta"
                    : "cosine_distance of the mean-pooled '" + output + "' (encoder: no next-token distribution)");
            parameters.put("runs", runs);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (HeadEffect e : effects) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("layer", e.head().layer());
                r.put("head", e.head().head());
                if (languageModel) {
                    r.put("loss_delta", e.effect().lossDelta());
                    r.put("kl", e.effect().kl());
                    if (!Double.isNaN(clean.logitDiff())) {
                        r.put("logit_diff_delta", e.effect().logitDiffDelta());
                    }
                } else {
                    r.put("cosine_distance", e.effect().cosineDistance());
                }
                if (importance != null) {
                    r.put("amp_importance", importance.get(e.head().layer(), e.head().head()));
                }
                rows.add(r);
            }
            String main = languageModel ? "loss_delta" : "cosine_distance";
            Map<String, Object> sections = new LinkedHashMap<>();
            if (languageModel) {
                sections.put("clean_loss", clean.loss());
            }
            if (!Double.isNaN(clean.logitDiff())) {
                sections.put("clean_logit_diff", clean.logitDiff());
            }
            String curveMetric = languageModel ? "loss" : "cosine_distance";
            sections.put("pruning_curve", pruning.stream().map(p -> Map.<String, Object>of("fraction", p.fraction(),
                    "heads", p.heads(), curveMetric, languageModel ? p.loss() : p.cosineDistance())).toList());
            sections.put("generated", generated.stream().map(g -> Map.<String, Object>of("ablated", g.label(), "text", g.text())).toList());
            sections.put("departures", new Departures()
                    .when(params.mode() == AblationMode.UNIFORM, "Uniform ablation spreads the row evenly over the visible keys; the Retrieval "
                            + "Head code masks a head by zeroing its query, which is the same for a head without a score bias.")
                    .when(params.mode() == AblationMode.MEAN_REFERENCE, "Mean ablation replaces the head's output by one vector, its mean over the "
                            + "reference prompts pooled over positions, not a per-position mean.")
                    .when(params.mode() == AblationMode.MEAN_PROMPT, "Mean ablation replaces the head's output by one vector, its mean over the "
                            + "prompt's own positions, not a per-position mean.")
                    .add("Sweeps, AMP importance and the pruning curve are HeadScope's measures over the papers' definitions; "
                            + "the metric is named in each column and its version in the provenance.")
                    .list());
            List<HeadReport.Figure> figures = new ArrayList<>();
            figures.add(HeadReport.headHeatmap("Effect of " + params.mode().id() + " ablation (" + main + ")", main, rows));
            rows.forEach(r -> r.put("abs_" + main, Math.abs((Double) r.get(main))));
            figures.add(HeadReport.rankedBars("Heads whose ablation matters most (|" + main + "|)", "abs_" + main, rows, 20));
            if (importance != null) {
                figures.add(HeadReport.headHeatmap("AMP output-norm importance", "amp_importance", rows));
            }
            if (!pruning.isEmpty()) {
                figures.add(new HeadReport.Figure("curve", "Pruning curve (" + (params.globalPruning() ? "global" : "per layer") + ")",
                        "fraction of heads pruned", languageModel ? "loss" : "cosine distance",
                        pruning.stream().map(p -> String.format(Locale.ROOT, "%.2f", p.fraction())).toList(),
                        List.of(languageModel ? "loss" : "cosine_distance"),
                        List.of(pruning.stream().map(p -> languageModel ? p.loss() : p.cosineDistance()).toList())));
            }
            return new HeadReport(NAME, parameters, provenance, rows, sections, figures);
        }
    }

    /** Mean head output per (layer, head), [L,H,Dh], pooled over positions and reference prompts. */
    public record MeanOutputs(int layers, int heads, int headDim, float[] values) {
        public MeanOutputs {
            values = values.clone();
        }

        public float[] of(int layer, int head) {
            int off = (layer * heads + head) * headDim;
            return Arrays.copyOfRange(values, off, off + headDim);
        }
    }

    private final HookedModel model;
    private final Params params;
    private final MeanOutputs means;
    private final String output;
    private final boolean languageModel;

    /**
     * @param means mean head outputs for the mean modes (see {@link #means}), or null for other modes
     */
    public AblationScan(HookedModel model, Params params, MeanOutputs means) {
        if (params.mode().isMean() && means == null) {
            throw new IllegalArgumentException(params.mode().id() + " ablation needs the mean head outputs (see AblationScan.means)");
        }
        this.model = model;
        this.params = params;
        this.means = means;
        this.output = model.measuredOutput();
        this.languageModel = model.hasLogits();
    }

    public boolean languageModel() {
        return languageModel;
    }

    /** The model output the metrics read. */
    public String output() {
        return output;
    }

    /**
     * The mean head outputs a mode needs: over the reference prompts for {@link AblationMode#MEAN_REFERENCE}, over the
     * target's prompt for {@link AblationMode#MEAN_PROMPT}, null for the other modes (references are not asked for then).
     */
    public static MeanOutputs means(HookedModel model, AblationMode mode, Target target,
                                    java.util.function.Supplier<List<long[]>> references, CancelToken cancel) {
        return switch (mode) {
            case MEAN_REFERENCE -> meanOutputs(model, references.get(), cancel);
            case MEAN_PROMPT -> meanOf(model, List.of(target.promptRequest(model)), cancel);
            default -> null;
        };
    }

    /** Mean of {@code z} per head over reference prompts and all their positions, from the HEAD_OUTPUT tap. */
    public static MeanOutputs meanOutputs(HookedModel model, List<long[]> references, CancelToken cancel) {
        if (references.isEmpty()) {
            throw new IllegalArgumentException("mean ablation needs at least one reference prompt");
        }
        // a vision-language model's decoder takes embeddings: its text-only references go through the embedding part
        return meanOf(model, references.stream().map(ids -> model.vision().map(v -> RunRequest.embeddings(v.sequence(ids, null)))
                .orElseGet(() -> RunRequest.tokens(ids))).toList(), cancel);
    }

    private static MeanOutputs meanOf(HookedModel model, List<RunRequest> runs, CancelToken cancel) {
        int layers = model.layers();
        int heads = model.heads();
        int dh = model.sites().get(0).headDim();
        HookedSession s = model.session(TapSet.of(TapKind.HEAD_OUTPUT, IntStream.range(0, layers).boxed().toList()), HookSet.NONE);
        double[] sum = new double[layers * heads * dh];
        long count = 0;
        for (RunRequest run : runs) {
            cancel.check();
            RunResult r = s.run(run.withOutputs(Set.of()), cancel);
            for (int l = 0; l < layers; l++) {
                FloatTensor z = r.tap(TapKind.HEAD_OUTPUT, l);
                int t = z.dim(2);
                for (int h = 0; h < heads; h++) {
                    for (int q = 0; q < t; q++) {
                        int off = z.offset(0, h, q, 0);
                        for (int j = 0; j < dh; j++) {
                            sum[(l * heads + h) * dh + j] += z.data()[off + j];
                        }
                    }
                }
            }
            count += run.length();
        }
        float[] mean = new float[sum.length];
        for (int i = 0; i < sum.length; i++) {
            mean[i] = (float) (sum[i] / count);
        }
        return new MeanOutputs(layers, heads, dh, mean);
    }

    /** The intervention that ablates every head of the set in this scan's mode. */
    public Intervention ablation(Collection<Head> heads) {
        Intervention.Builder b = Intervention.builder();
        for (Head h : heads) {
            params.mode().apply(b, h, params.alpha(), params.mode().isMean() ? means.of(h.layer(), h.head()) : null);
        }
        return b.build();
    }

    /**
     * The analysis: clean run, single-head sweep over {@code heads}, AMP importance, pruning curve and generated texts,
     * with the mean head outputs the mode needs ({@link #means}: over {@code references} for
     * {@link AblationMode#MEAN_REFERENCE}, asked for only then). Progress counts runs; cancellation is checked between runs.
     */
    public static Result run(HookedModel model, Target target, List<Head> heads, Params params,
                             java.util.function.Supplier<List<long[]>> references, Progress progress, CancelToken cancel) {
        MeanOutputs means = means(model, params.mode(), target, references, cancel);
        return new AblationScan(model, params, means).scan(target, heads, progress, cancel);
    }

    /** {@link #run} over every head, for a mode that needs no reference prompts. */
    public static Result run(HookedModel model, Target target, Params params, Progress progress, CancelToken cancel) {
        return run(model, target, Heads.all(model), params, () -> {
            throw new IllegalArgumentException(params.mode().id() + " ablation needs reference prompts");
        }, progress, cancel);
    }

    private Result scan(Target target, List<Head> heads, Progress progress, CancelToken cancel) {
        checkTarget(target);
        int sweepRuns = (heads.size() + params.batchSize() - 1) / params.batchSize();
        boolean amp = params.amp() && model.sites().stream().allMatch(s -> s.outputWeight() != null);
        int pruneRuns = amp ? (params.pruneFractions().size() + params.batchSize() - 1) / params.batchSize() : 0;
        int genRuns = languageModel ? params.generateTokens() : 0;
        long total = 1 + sweepRuns + (amp ? 1 : 0) + pruneRuns + genRuns;
        long[] done = {0};
        Progress step = (d, t, m) -> progress.update(++done[0], total, m);
        progress.update(0, total, "ablation: clean run");
        Outcome clean;
        List<HeadEffect> effects;
        if (languageModel) {
            // one clean run gives the clean reading and the residual streams the sweep's suffix runs start from
            Swept swept = sweepReading(target, heads, step, cancel);
            clean = swept.clean();
            effects = swept.effects();
            step.update(0, 0, "ablation: clean run done");
        } else {
            clean = evaluate(target, List.of(Intervention.NONE), cancel).get(0);
            step.update(0, 0, "ablation: clean run done");
            effects = sweep(target, clean, heads, step, cancel);
        }
        HeadGrid importance = null;
        List<PruningPoint> curve = List.of();
        if (amp) {
            cancel.check();
            importance = ampImportance(target.request(model), cancel);
            step.update(0, 0, "ablation: AMP importance");
            curve = pruningCurve(target, clean, importance, step, cancel);
        }
        List<Generated> generated = List.of();
        if (languageModel && params.generateTokens() > 0) {
            List<Head> top = effects.stream().sorted(BY_MAGNITUDE).limit(params.topGenerated()).map(HeadEffect::head).toList();
            generated = generate(target, top, step, cancel);
        }
        return new Result(params, languageModel, output, clean, effects, importance, curve, generated, model.layers(),
                model.heads(), (int) done[0]);
    }

    /** The clean outcome and every head's effect, from one sweep. */
    public record Swept(Outcome clean, List<HeadEffect> effects) {
    }

    /**
     * The single-head sweep alone: per layer, {@code ceil(heads / batchSize)} batched runs of the layers from there on.
     * For language models every run computes the logits only at the positions the metrics read (the target span and the
     * next-token position), gathered before the LM head ({@link LayerSweep#read}).
     */
    public List<HeadEffect> sweep(Target target, Outcome clean, List<Head> heads, Progress progress, CancelToken cancel) {
        checkTarget(target);
        if (languageModel) {
            List<Outcome> ablated = readAll(target, heads, progress, cancel).outputs().stream().map(o -> readOutcome(o, target)).toList();
            List<HeadEffect> out = new ArrayList<>();
            for (int i = 0; i < heads.size(); i++) {
                out.add(new HeadEffect(heads.get(i), Effect.of(clean, ablated.get(i))));
            }
            return out;
        }
        return sweepFullOutput(target, clean, heads, progress, cancel);
    }

    /** The sweep with the clean outcome from the same pass; language models only (logits read where the metrics need them). */
    public Swept sweepReading(Target target, List<Head> heads, Progress progress, CancelToken cancel) {
        checkTarget(target);
        if (!languageModel) {
            throw new IllegalArgumentException("reading sweeps need next-token logits; this model outputs '" + output + "'");
        }
        LayerSweep.Reading r = readAll(target, heads, progress, cancel);
        Outcome clean = readOutcome(r.clean(), target);
        List<HeadEffect> out = new ArrayList<>();
        for (int i = 0; i < heads.size(); i++) {
            out.add(new HeadEffect(heads.get(i), Effect.of(clean, readOutcome(r.outputs().get(i), target))));
        }
        return new Swept(clean, out);
    }

    private LayerSweep.Reading readAll(Target target, List<Head> heads, Progress progress, CancelToken cancel) {
        List<Intervention> batch = heads.stream().map(h -> ablation(List.of(h))).toList();
        HookSet hooks = params.mode().hooks();
        for (Intervention i : batch) {
            hooks = hooks.union(i.hooks());
        }
        int p = target.promptLength();
        int[] positions = IntStream.range(p - 1, p - 1 + target.continuation.length).toArray();
        return LayerSweep.read(model, target.request(model), batch, hooks, output, positions,
                params.batchSize(), cancel, (done, total) -> progress.update(done, total, "ablation sweep: " + done + "/" + total + " heads"));
    }

    /** The sweep that fetches the whole output of every run (every position); encoders, and the check of the reading sweep. */
    List<HeadEffect> sweepFullOutput(Target target, Outcome clean, List<Head> heads, Progress progress, CancelToken cancel) {
        checkTarget(target);
        List<Intervention> batch = heads.stream().map(h -> ablation(List.of(h))).toList();
        HookSet hooks = params.mode().hooks();
        for (Intervention i : batch) {
            hooks = hooks.union(i.hooks());
        }
        List<Map<String, FloatTensor>> outputs = LayerSweep.run(model, target.request(model), batch, hooks,
                List.of(output), params.batchSize(), cancel,
                (done, total) -> progress.update(done, total, "ablation sweep: " + done + "/" + total + " heads"));
        List<HeadEffect> out = new ArrayList<>();
        for (int i = 0; i < heads.size(); i++) {
            FloatTensor o = outputs.get(i).get(output);
            out.add(new HeadEffect(heads.get(i), Effect.of(clean, languageModel ? lmOutcome(o, 0, target) : encoderOutcome(o, 0))));
        }
        return out;
    }

    /** The metrics from logits read at positions {@code p-1 .. T-2} only ([1, N, V], row i is position p-1+i). */
    private static Outcome readOutcome(FloatTensor logits, Target target) {
        long[] ids = target.ids();
        int p = target.promptLength();
        double sum = 0;
        for (int pos = p; pos < ids.length; pos++) {
            float[] row = logits.slice(0, pos - p).data();
            sum += Numerics.logSumExp(row) - row[(int) ids[pos]];
        }
        double loss = sum / (ids.length - p);
        float[] next = logits.slice(0, 0).data();
        double diff = target.hasAnswers() ? next[(int) target.answerA()] - next[(int) target.answerB()] : Double.NaN;
        return new Outcome(loss, diff, next, null);
    }

    /** Metrics of the clean run. */
    public Outcome clean(Target target, CancelToken cancel) {
        checkTarget(target);
        return evaluate(target, List.of(Intervention.NONE), cancel).get(0);
    }

    /** Runs the target once with a batch of interventions (one element each) and measures every element. */
    public List<Outcome> evaluate(Target target, List<Intervention> batch, CancelToken cancel) {
        long[] ids = target.ids();
        HookSet hooks = params.mode().hooks();
        for (Intervention i : batch) {
            hooks = hooks.union(i.hooks());
        }
        HookedSession s = model.session(TapSet.NONE, hooks);
        boolean neutral = batch.stream().allMatch(Intervention::isEmpty);
        RunRequest req = target.request(model).withOutputs(Set.of(output));
        RunResult r = s.run(neutral ? req : req.withInterventions(batch), cancel);
        FloatTensor out = r.output(output);
        List<Outcome> outcomes = new ArrayList<>();
        for (int b = 0; b < batch.size(); b++) {
            int e = out.dim(0) == 1 ? 0 : b;
            outcomes.add(languageModel ? lmOutcome(out, e, target) : encoderOutcome(out, e));
        }
        return outcomes;
    }

    private Outcome lmOutcome(FloatTensor logits, int b, Target target) {
        int p = target.promptLength();
        long[] ids = target.ids();
        double loss = target.continuation.length == 0 ? Double.NaN : meanCrossEntropy(logits, b, ids, p);
        float[] next = logits.slice(b, p - 1).data();
        double diff = target.hasAnswers() ? next[(int) target.answerA()] - next[(int) target.answerB()] : Double.NaN;
        return new Outcome(loss, diff, next, null);
    }

    private static Outcome encoderOutcome(FloatTensor hidden, int b) {
        return new Outcome(Double.NaN, Double.NaN, null, Numerics.meanPool(hidden.slice(b)));
    }

    /** Mean over positions {@code from..T-1} of {@code -log softmax(logits[pos-1])[ids[pos]]}. */
    static double meanCrossEntropy(FloatTensor logits, int b, long[] ids, int from) {
        double sum = 0;
        for (int pos = from; pos < ids.length; pos++) {
            float[] row = logits.slice(b, pos - 1).data();
            sum += Numerics.logSumExp(row) - row[(int) ids[pos]];
        }
        return sum / (ids.length - from);
    }

    /** AMP importance {@code I_h = mean_t ||z_h W_O^h||_1} from the HEAD_CONTRIBUTION tap. */
    public HeadGrid ampImportance(long[] ids, CancelToken cancel) {
        return ampImportance(RunRequest.tokens(ids), cancel);
    }

    private HeadGrid ampImportance(RunRequest run, CancelToken cancel) {
        int layers = model.layers();
        int heads = model.heads();
        RunResult r = model.session(TapSet.of(TapKind.HEAD_CONTRIBUTION, IntStream.range(0, layers).boxed().toList()), HookSet.NONE)
                .run(run.withOutputs(Set.of()), cancel);
        double[][] imp = new double[layers][heads];
        for (int l = 0; l < layers; l++) {
            FloatTensor c = r.tap(TapKind.HEAD_CONTRIBUTION, l);
            int t = c.dim(2);
            for (int h = 0; h < heads; h++) {
                for (int q = 0; q < t; q++) {
                    imp[l][h] += c.get(0, h, q) / t;
                }
            }
        }
        return HeadGrid.of(imp);
    }

    /** Heads pruned at a fraction: the least important overall, or the same share of every layer. */
    public List<Head> pruned(HeadGrid importance, double fraction) {
        Comparator<Head> byImportance = Comparator.comparingDouble((Head h) -> importance.get(h.layer(), h.head()))
                .thenComparing(Comparator.naturalOrder());
        List<Head> out = new ArrayList<>();
        if (params.globalPruning()) {
            List<Head> all = new ArrayList<>();
            for (int l = 0; l < importance.layers(); l++) {
                for (int h = 0; h < importance.heads(); h++) {
                    all.add(new Head(l, h));
                }
            }
            all.sort(byImportance);
            out.addAll(all.subList(0, (int) Math.round(fraction * all.size())));
        } else {
            int perLayer = (int) Math.round(fraction * importance.heads());
            for (int l = 0; l < importance.layers(); l++) {
                int layer = l;
                out.addAll(IntStream.range(0, importance.heads()).mapToObj(h -> new Head(layer, h)).sorted(byImportance)
                        .limit(perLayer).toList());
            }
        }
        return out;
    }

    /** Metric against fraction pruned; every fraction is one element of a batched run. */
    public List<PruningPoint> pruningCurve(Target target, Outcome clean, HeadGrid importance, Progress progress, CancelToken cancel) {
        List<PruningPoint> out = new ArrayList<>();
        List<Double> fractions = params.pruneFractions();
        for (int from = 0; from < fractions.size(); from += params.batchSize()) {
            cancel.check();
            List<Double> chunk = fractions.subList(from, Math.min(fractions.size(), from + params.batchSize()));
            List<List<Head>> sets = chunk.stream().map(f -> pruned(importance, f)).toList();
            List<Outcome> outcomes = evaluate(target, sets.stream().map(this::ablation).toList(), cancel);
            for (int i = 0; i < chunk.size(); i++) {
                Effect e = Effect.of(clean, outcomes.get(i));
                out.add(new PruningPoint(chunk.get(i), sets.get(i).size(), outcomes.get(i).loss(), e.cosineDistance()));
            }
            progress.update(from + chunk.size(), fractions.size(), "ablation: pruning curve");
        }
        return out;
    }

    /**
     * Greedy continuations of the prompt, clean and with each head ablated, all in one batch per generated token
     * (every sequence has the same length at each step), with the KV cache when the graph has past inputs.
     */
    public List<Generated> generate(long[] prompt, List<Head> heads, Progress progress, CancelToken cancel) {
        return generate(Target.of(prompt, new long[0]), heads, progress, cancel);
    }

    /** The continuations of a target's prompt, with its image when it has one. */
    List<Generated> generate(Target target, List<Head> heads, Progress progress, CancelToken cancel) {
        long[] prompt = target.prompt();
        GreedyDecoder.Inputs inputs = GreedyDecoder.Inputs.tokens();
        if (target.image() != null) {
            VisionParts v = model.vision().orElseThrow();
            inputs = GreedyDecoder.Inputs.embeddings(seq -> v.sequence(seq, target.image()), v::embedTokens);
        }
        if (!languageModel) {
            throw new IllegalArgumentException("text generation needs a model with next-token logits; this one outputs '" + output + "'");
        }
        List<Intervention> batch = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        batch.add(Intervention.NONE);
        labels.add("clean");
        for (Head h : heads) {
            batch.add(ablation(List.of(h)));
            labels.add(h.toString());
        }
        HookSet hooks = params.mode().hooks();
        HookedSession s = model.session(TapSet.NONE, hooks);
        GreedyDecoder.Listener listener =
                step -> progress.update(step.index() + 1, params.generateTokens(), "ablation: generating token " + (step.index() + 1));
        long[][] gens;
        if (target.image() == null) {
            gens = GreedyDecoder.decode(model, s, inputs, prompt, batch.size() == 1 ? List.of() : batch,
                    output, params.generateTokens(), null, GreedyDecoder.way(model), listener, cancel);
        } else {
            // embeddings decode one sequence at a time: the clean run and each head's, one after the other
            gens = new long[batch.size()][];
            for (int b = 0; b < batch.size(); b++) {
                Intervention edit = batch.get(b);
                gens[b] = GreedyDecoder.decode(model, s, inputs, prompt, edit.isEmpty() ? List.of() : List.of(edit),
                        output, params.generateTokens(), null, GreedyDecoder.way(model), listener, cancel)[0];
            }
        }
        List<Generated> out = new ArrayList<>();
        for (int b = 0; b < gens.length; b++) {
            long[] gen = gens[b];
            String text = model.tokenizer().map(t -> t.decode(gen)).orElse(Arrays.toString(gen));
            out.add(new Generated(labels.get(b), gen, text));
        }
        return out;
    }

    /**
     * AttentionInfluence (Hua et al.): the document's mean next-token loss with the head set zeroed, relative to the
     * clean loss, from one batched run of [clean, masked]. Always zero ablation, as the paper masks heads.
     */
    public static DocumentScore documentScore(HookedModel model, long[] document, Collection<Head> heads, CancelToken cancel) {
        if (document.length < 2) {
            throw new IllegalArgumentException("a document needs at least two tokens to have a next-token loss");
        }
        AblationScan zero = new AblationScan(model, Params.DEFAULTS.withMode(AblationMode.ZERO, 1f), null);
        if (!zero.languageModel) {
            throw new IllegalArgumentException("AttentionInfluence needs a language model with next-token logits; this model outputs '"
                    + zero.output + "'");
        }
        RunResult r = model.session(TapSet.NONE, HookSet.HEAD).run(RunRequest.tokens(document).withOutputs(Set.of(zero.output))
                .withInterventions(List.of(Intervention.NONE, zero.ablation(heads))), cancel);
        FloatTensor logits = r.output(zero.output);
        double base = meanCrossEntropy(logits, 0, document, 1);
        double masked = meanCrossEntropy(logits, 1, document, 1);
        return new DocumentScore(base, masked, (masked - base) / base);
    }

    private void checkTarget(Target target) {
        if (languageModel && target.continuation.length == 0) {
            throw new IllegalArgumentException("the target continuation is empty; give the text the model should continue with");
        }
    }
}
