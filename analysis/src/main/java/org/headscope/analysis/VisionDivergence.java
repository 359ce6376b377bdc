package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.core.Numerics;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.GreedyDecoder;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.headscope.hooks.VisionParts;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Vision-aware head divergence and reinforcement ("Cracking the Code of Hallucination in LVLMs with Vision-aware Head
 * Divergence", CVPR'25). Two prefills, with the image and with the image tokens removed; head outputs z (before the
 * output projection) at the last position:
 * {@code VHD[l,h] = || z[l,h](x_V, x_T) - z[l,h](x_T) ||_2}. Outlier filter: where VHD exceeds mean+std of its layer
 * and the text-only norm {@code ||z[l,h](x_T)||} exceeds mean+std of its layer, VHD := 0 (population std). Vision-aware
 * heads of a layer: VHD above the layer's median. T-VHD = sum over layers of the top-8 VHD. VHR multiplies the
 * vision-aware heads' z by alpha = 2, layer by layer from the first to the last layer of the range, recomputing VHD
 * (with the heads chosen so far reinforced) before choosing each layer's heads. The paper reinforces the last 14 layers
 * of 7B-13B models; the default range here is every layer, because the bundled VLM has few.
 */
public final class VisionDivergence {
    public static final String NAME = "vhd";
    public static final String METRIC_VERSION = "vhd-cvpr25 last-token z l2, mean+std outlier filter (population std), median selection/1";

    /**
     * Params of the analysis.
     *
     * @param alpha        VHR gain on the vision-aware heads' outputs (paper: 2.0)
     * @param topK         heads per layer summed into T-VHD (paper: 8)
     * @param firstLayer   first layer VHR reinforces, or -1 for layer 0
     * @param lastLayer    last layer VHR reinforces, or -1 for the model's last layer
     * @param maxNewTokens greedy answer length limit (stops at EOS)
     */
    public record Params(double alpha, int topK, int firstLayer, int lastLayer, int maxNewTokens) {
        /** The paper's alpha and top-8, over every layer (the paper's "last 14" needs a 14+ layer model). */
        public static final Params DEFAULTS = new Params(2.0, 8, -1, -1, 8);
        /** Layers the paper reinforces: the last 14. */
        public static final int PAPER_LAYERS = 14;

        public Params {
            if (topK < 1 || maxNewTokens < 1) {
                throw new IllegalArgumentException("topK and maxNewTokens must be at least 1");
            }
        }

        public Params withAlpha(double a) {
            return new Params(a, topK, firstLayer, lastLayer, maxNewTokens);
        }

        public Params withLayers(int first, int last) {
            return new Params(alpha, topK, first, last, maxNewTokens);
        }

        /**
         * The recipe the {@code vhd} command and the Vision panel build their parameters with: {@code alpha, top_k,
         * first_layer, last_layer, max_new} from {@code options} (not given: the paper's defaults).
         */
        public static Params fromOptions(Options o) {
            Params d = DEFAULTS;
            return new Params(o.number("alpha", d.alpha()), o.whole("top_k", d.topK()), o.whole("first_layer", d.firstLayer()),
                    o.whole("last_layer", d.lastLayer()), o.whole("max_new", d.maxNewTokens()));
        }

        int first(int layers) {
            return firstLayer < 0 ? 0 : firstLayer;
        }

        int last(int layers) {
            return lastLayer < 0 ? layers - 1 : lastLayer;
        }
    }

    /**
     * VHD of every head for one pair of prefills, [layers][heads].
     *
     * @param raw         VHD before the outlier filter
     * @param textNorm    {@code ||z(x_T)||}
     * @param vhd         VHD after the outlier filter
     * @param visionAware VHD above the layer median
     * @param tvhd        sum over layers of the top-k filtered VHD
     */
    public record Divergence(double[][] raw, double[][] textNorm, double[][] vhd, boolean[][] visionAware, double tvhd) {
    }

    /** A greedy answer with the margin between the two best logits at its first token. */
    public record Answer(String text, long[] tokens, double margin) {
    }

    /**
     * The result.
     *
     * @param initial    divergence without reinforcement
     * @param reinforced heads VHR multiplied by alpha, in the order chosen
     * @param after      divergence with those heads reinforced
     */
    public record Result(Params parameters, int layers, int heads, Divergence initial, List<Intervention.Head> reinforced,
                         Divergence after, Answer before, Answer withVhr) {
        public Result {
            reinforced = List.copyOf(reinforced);
        }

        /** The VHR edit: every reinforced head's z scaled by alpha. */
        public Intervention reinforcement() {
            return VisionDivergence.reinforcement(reinforced, parameters.alpha());
        }

        public HeadReport toReport(Provenance provenance) {
            java.util.Set<Intervention.Head> chosen = new java.util.HashSet<>(reinforced);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("layer", l);
                    row.put("head", h);
                    row.put("vhd", initial.vhd()[l][h]);
                    row.put("vhd_raw", initial.raw()[l][h]);
                    row.put("text_norm", initial.textNorm()[l][h]);
                    row.put("vision_aware", initial.visionAware()[l][h] ? 1.0 : 0.0);
                    row.put("reinforced", chosen.contains(new Intervention.Head(l, h)) ? 1.0 : 0.0);
                    row.put("vhd_after_vhr", after.vhd()[l][h]);
                    row.put("vhd_raw_after_vhr", after.raw()[l][h]);
                    rows.add(row);
                }
            }
            Map<String, Object> params = new LinkedHashMap<>();
            params.put("alpha", parameters.alpha());
            params.put("top_k", parameters.topK());
            params.put("vhr_first_layer", parameters.first(layers));
            params.put("vhr_last_layer", parameters.last(layers));
            params.put("paper_vhr_layers", "last " + Params.PAPER_LAYERS);
            params.put("outlier_filter", "VHD > mean+std and text-only norm > mean+std of the layer -> 0 (population std)");
            params.put("selection", "VHD above the layer median");
            params.put("max_new_tokens", parameters.maxNewTokens());
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("t_vhd", initial.tvhd());
            summary.put("t_vhd_after_vhr", after.tvhd());
            summary.put("reinforced_heads", reinforced.stream().map(Intervention.Head::toString).toList());
            summary.put("answer", before.text());
            summary.put("answer_with_vhr", withVhr.text());
            summary.put("first_token_margin", before.margin());
            summary.put("first_token_margin_with_vhr", withVhr.margin());
            List<HeadReport.Figure> figures = List.of(
                    HeadReport.headHeatmap("VHD (after the outlier filter)", "vhd", rows),
                    HeadReport.rankedBars("Top VHD heads", "vhd", rows, Math.min(16, rows.size())),
                    HeadReport.headHeatmap("VHD with VHR applied", "vhd_after_vhr", rows));
            int reference = Math.max(0, layers - Params.PAPER_LAYERS);
            List<String> departures = new Departures()
                    .add("The paper's official code was not available: VHD, the outlier filter, the median selection and VHR follow "
                            + "the paper's text; every parameter is shown above.")
                    .changed("alpha", parameters.alpha(), 2.0, "the paper")
                    .changed("top_k", parameters.topK(), 8, "the paper")
                    .when(parameters.first(layers) != reference || parameters.last(layers) != layers - 1, "VHR reinforces layers "
                            + parameters.first(layers) + ".." + parameters.last(layers) + "; the paper reinforces the last "
                            + Params.PAPER_LAYERS + " (layers " + reference + ".." + (layers - 1) + " here).")
                    .list();
            Map<String, Object> sections = new LinkedHashMap<>();
            sections.put("summary", summary);
            sections.put("departures", departures);
            if (reinforced.isEmpty()) {
                sections.put("selection_notes", List.of("no head reinforced: no head's VHD is above its layer's median in layers "
                        + parameters.first(layers) + ".." + parameters.last(layers)));
            }
            return new HeadReport(NAME, params, provenance, rows, sections, figures);
        }
    }

    private VisionDivergence() {
    }

    /** VHD, VHR and the answers before and after, for one image and prompt. */
    public static Result analyse(HookedModel model, BufferedImage image, String prompt, Params p, Progress progress,
                                 CancelToken cancel) {
        requireVision(model);
        return analyse(model, Input.of(model, model.requireTokenizer().encode(prompt), image), p, progress, cancel);
    }

    /** VHD, VHR and the answers before and after, for a prompt with its image ({@link Input#of}). */
    public static Result run(HookedModel model, Input input, Params p, Progress progress, CancelToken cancel) {
        return analyse(model, input, p, progress, cancel);
    }

    /** The same as {@link #run}. */
    public static Result analyse(HookedModel model, Input input, Params p, Progress progress, CancelToken cancel) {
        requireVision(model);
        if (!input.hasImage()) {
            throw new IllegalArgumentException("VHD compares the prompt with and without its image; this input has no image");
        }
        long[] ids = input.textIds();
        FloatTensor img = input.image();
        FloatTensor with = input.request().inputsEmbeds();
        FloatTensor without = input.withoutImage(model).request().inputsEmbeds();
        int first = p.first(model.layers());
        int last = p.last(model.layers());
        if (first > last || last >= model.layers()) {
            throw new IllegalArgumentException("VHR layers " + first + ".." + last + " are outside the model's layers 0.."
                    + (model.layers() - 1));
        }
        int steps = last - first + 4;
        progress.update(0, steps, "vhd prefills");
        Divergence initial = measure(model, with, without, Intervention.NONE, p.topK(), cancel);
        List<Intervention.Head> chosen = new ArrayList<>();
        Divergence current = initial;
        for (int l = first; l <= last; l++) {
            cancel.check();
            progress.update(l - first + 1, steps, "vhr layer " + l);
            if (l > first) {
                current = measure(model, with, without, reinforcement(chosen, p.alpha()), p.topK(), cancel);
            }
            for (int h = 0; h < model.heads(); h++) {
                if (current.visionAware()[l][h]) {
                    chosen.add(new Intervention.Head(l, h));
                }
            }
        }
        Intervention vhr = reinforcement(chosen, p.alpha());
        Divergence after = measure(model, with, without, vhr, p.topK(), cancel);
        progress.update(steps - 2, steps, "greedy answer");
        Answer before = answer(model, ids, img, Intervention.NONE, p.maxNewTokens(), cancel);
        progress.update(steps - 1, steps, "greedy answer with vhr");
        Answer withVhr = answer(model, ids, img, vhr, p.maxNewTokens(), cancel);
        progress.update(steps, steps, "vhd done");
        return new Result(p, model.layers(), model.heads(), initial, chosen, after, before, withVhr);
    }

    static Intervention reinforcement(List<Intervention.Head> heads, double alpha) {
        Intervention.Builder b = Intervention.builder();
        heads.forEach(h -> b.scaleHead(h.layer(), h.head(), (float) alpha));
        return b.build();
    }

    /** Both prefills under one intervention, and the divergence of their last-position head outputs. */
    public static Divergence measure(HookedModel model, FloatTensor withImage, FloatTensor textOnly, Intervention edit, int topK,
                                     CancelToken cancel) {
        HookedSession s = model.session(TapSet.of(TapKind.HEAD_OUTPUT, Heads.allLayers(model)), HookSet.HEAD);
        Set<String> outs = Set.of(model.requireLogits());
        RunResult a = s.run(RunRequest.embeddings(withImage).withIntervention(edit).withOutputs(outs), cancel);
        RunResult b = s.run(RunRequest.embeddings(textOnly).withIntervention(edit).withOutputs(outs), cancel);
        int layers = model.layers();
        int heads = model.heads();
        double[][] vhd = new double[layers][heads];
        double[][] norm = new double[layers][heads];
        for (int l = 0; l < layers; l++) {
            FloatTensor za = a.tap(TapKind.HEAD_OUTPUT, l);
            FloatTensor zb = b.tap(TapKind.HEAD_OUTPUT, l);
            int ta = za.dim(2) - 1;
            int tb = zb.dim(2) - 1;
            for (int h = 0; h < heads; h++) {
                float[] x = za.slice(0, h, ta).data();
                float[] y = zb.slice(0, h, tb).data();
                double d = 0;
                double n = 0;
                for (int i = 0; i < x.length; i++) {
                    d += (x[i] - y[i]) * (double) (x[i] - y[i]);
                    n += y[i] * (double) y[i];
                }
                vhd[l][h] = Math.sqrt(d);
                norm[l][h] = Math.sqrt(n);
            }
        }
        return divergence(vhd, norm, topK);
    }

    /** The outlier filter, the median selection and T-VHD over raw VHD and text-only norms. */
    public static Divergence divergence(double[][] raw, double[][] textNorm, int topK) {
        int layers = raw.length;
        double[][] vhd = new double[layers][];
        boolean[][] aware = new boolean[layers][];
        double tvhd = 0;
        for (int l = 0; l < layers; l++) {
            double vLimit = Numerics.mean(raw[l]) + Numerics.std(raw[l]);
            double nLimit = Numerics.mean(textNorm[l]) + Numerics.std(textNorm[l]);
            vhd[l] = new double[raw[l].length];
            for (int h = 0; h < raw[l].length; h++) {
                vhd[l][h] = raw[l][h] > vLimit && textNorm[l][h] > nLimit ? 0 : raw[l][h];
            }
            double median = Numerics.median(vhd[l]);
            aware[l] = new boolean[raw[l].length];
            for (int h = 0; h < raw[l].length; h++) {
                aware[l][h] = vhd[l][h] > median;
            }
            double[] sorted = vhd[l].clone();
            Arrays.sort(sorted);
            for (int i = 0; i < Math.min(topK, sorted.length); i++) {
                tvhd += sorted[sorted.length - 1 - i];
            }
        }
        return new Divergence(raw, textNorm, vhd, aware, tvhd);
    }

    /** Greedy decoding with the image, under an intervention, through {@link GreedyDecoder}; the answer stops at EOS. */
    public static Answer answer(HookedModel model, long[] ids, FloatTensor image, Intervention edit, int maxNew, CancelToken cancel) {
        VisionParts vision = requireVision(model);
        HookedSession s = model.session(TapSet.NONE, HookSet.HEAD);
        String logits = model.requireLogits();
        Long eos = model.manifest().eos();
        double[] margin = {Double.NaN};
        GreedyDecoder.Inputs inputs = GreedyDecoder.Inputs.embeddings(seq -> vision.sequence(seq, image), vision::embedTokens);
        long[] tokens = GreedyDecoder.decode(model, s, inputs, ids, edit == null || edit.isEmpty() ? List.of() : List.of(edit),
                logits, maxNew, eos, GreedyDecoder.way(model), step -> {
                    if (step.index() == 0) {
                        margin[0] = margin(step.result().output(logits).slice(0, step.logitsRow()).data());
                    }
                }, cancel)[0];
        int n = tokens.length;
        if (eos != null && n > 0 && tokens[n - 1] == eos) {
            n--;
        }
        long[] answer = Arrays.copyOf(tokens, n);
        return new Answer(model.requireTokenizer().decode(answer), answer, margin[0]);
    }

    /** Next-token logits after the prompt with the image, one row per intervention, from one batched run. */
    public static FloatTensor nextTokenLogits(HookedModel model, long[] ids, FloatTensor image, List<Intervention> edits,
                                              CancelToken cancel) {
        VisionParts vision = requireVision(model);
        HookSet hooks = HookSet.HEAD;
        for (Intervention e : edits) {
            hooks = hooks.union(e.hooks());
        }
        String logits = model.requireLogits();
        FloatTensor lg = model.session(TapSet.NONE, hooks).run(RunRequest.embeddings(vision.sequence(ids, image))
                .withInterventions(edits).withOutputs(Set.of(logits)), cancel).output(logits);
        int b = lg.dim(0);
        int q = lg.dim(1) - 1;
        int v = lg.dim(2);
        FloatTensor out = FloatTensor.zeros(b, v);
        for (int i = 0; i < b; i++) {
            System.arraycopy(lg.slice(i, q).data(), 0, out.data(), i * v, v);
        }
        return out;
    }

    private static double margin(float[] row) {
        double best = Double.NEGATIVE_INFINITY;
        double second = Double.NEGATIVE_INFINITY;
        for (float x : row) {
            if (x > best) {
                second = best;
                best = x;
            } else if (x > second) {
                second = x;
            }
        }
        return best - second;
    }

    static VisionParts requireVision(HookedModel model) {
        return model.vision().orElseThrow(() -> new ModelException(model.manifest().name()
                + " is not a vision-language model: VHD compares runs with and without the image.",
                "Open a split VLM export with vision parts in its headscope.json, e.g. shapes-vlm."));
    }

    /** Definition versions for the report's provenance. */
    public static Map<String, String> metricVersions() {
        return Map.of("vhd", METRIC_VERSION, "vhr", "vhr layer-by-layer, alpha on z through the head-output hook/1");
    }
}
