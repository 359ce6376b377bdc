package org.headscope.analysis;

import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.OwnedSession;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.headscope.hooks.Unembedding;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Direct logit attribution and the logit lens, through the graph's own final norm and unembedding
 * ({@link Unembedding}, found by walking back from the logits).
 *
 * <p>DLA: the residual stream at the last position after the last layer is a sum of parts: the embeddings (the
 * direct path), what each head writes ({@code z_h W_O^h}) and the rest (MLPs, the output projections' biases). With
 * the final norm's scale frozen at its value on this run (as TransformerLens does), the norm is linear, and each part's
 * logit is the unembedding of its normalised share: {@code f(centre(part) / sigma) - f(0)}, where {@code f} is the
 * graph from the normalised tensor to the logits (gamma, beta, the unembedding and its bias) and {@code f(0)} holds the
 * norm's and unembedding's biases. The parts' logits plus {@code f(0)} sum to the model's logits exactly.
 *
 * <p>Logit lens: the residual stream after each layer through the graph's own final norm (its own scale, not frozen)
 * and unembedding.
 */
public final class LogitLens {
    public static final String DLA = "dla";
    public static final String LENS = "lens";
    public static final Map<String, String> DLA_METRICS = Metrics.ordered(
            "dla", "headscope-v1: (z_h W_O^h at the last position, centred for a LayerNorm, / sigma frozen from this run) through "
                    + "gamma and the unembedding, onto logit[answer] - logit[wrong] (or logit[answer] alone)");
    public static final Map<String, String> LENS_METRICS = Metrics.ordered(
            "lens", "nostalgebraist2020-v1: residual after each layer through the final norm (own scale) and the unembedding; "
                    + "top tokens and the answer's rank (0 = top)");

    /** The report names, in the order the two analyses are listed: {@link Dla#NAME}, {@link Lens#NAME}. */
    public static final List<String> NAMES = List.of(DLA, LENS);

    /**
     * Direct logit attribution in the shape of every analysis: {@link #NAME}, {@link #METRICS}, {@link Params} and its
     * recipe, {@link #run} and a typed {@link Result}.
     */
    public static final class Dla {
        public static final String NAME = DLA;
        public static final Map<String, String> METRICS = DLA_METRICS;

        private Dla() {
        }

        /**
         * The answer ({@code auto}: the model's top next token; a word: its first token; {@code #ID}) and the wrong token
         * ({@code none}: the answer's logit alone).
         */
        public record Params(String answer, String wrong) {
            public static final Params DEFAULTS = new Params("auto", "none");

            /** The options by the panel's names; {@code answers} ("A" or "A,B") is the panel's one field for both. */
            public static final List<String> OPTIONS = List.of("answer", "wrong", "answers");

            public Params {
                answer = java.util.Objects.requireNonNull(answer, "answer").strip();
                wrong = wrong == null || wrong.isBlank() ? "none" : wrong.strip();
                if (answer.isEmpty() || answer.equals("none")) {
                    throw new IllegalArgumentException("parameter 'answer' must be a word, #ID or auto, got '" + answer + "'");
                }
            }

            public Params withAnswer(String a) {
                return new Params(a, wrong);
            }

            public Params withWrong(String w) {
                return new Params(answer, w);
            }

            /** The recipe the {@code dla} command and the Logit attribution panel share. */
            public static Params fromOptions(Options options) {
                String answer = options.text("answer", DEFAULTS.answer());
                String wrong = options.text("wrong", DEFAULTS.wrong());
                String answers = options.text("answers", null);
                if (answers != null) {
                    String[] parts = answers.split(",");
                    if (parts.length > 2 || answers.isEmpty()) {
                        throw new IllegalArgumentException("parameter 'answers': write A, A,B or auto, got '" + answers + "'");
                    }
                    answer = parts[0];
                    wrong = parts.length == 2 ? parts[1] : wrong;
                }
                return new Params(answer, wrong);
            }
        }

        /** The attribution and the labels its report shows. */
        public record Result(Params params, Attribution attribution, long answer, long wrong, String answerLabel, String wrongLabel,
                             String normNote) {
            public HeadReport toReport(Provenance provenance) {
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("answer", answerLabel);
                p.put("wrong", wrong < 0 ? "none (the answer's logit)" : wrongLabel);
                p.put("position", "last");
                return dlaReport(attribution, provenance, p, normNote);
            }
        }

        public static Result run(HookedModel model, HsTokenizer.Tokens tokens, Params params, Progress progress, CancelToken cancel) {
            LogitLens lens = new LogitLens(model);
            long[] ids = tokens.ids();
            long a = resolve(model, ids, params.answer(), "answer", cancel);
            long b = params.wrong().equals("none") ? -1 : resolve(model, ids, params.wrong(), "wrong", cancel);
            Attribution r = lens.attribute(ids, a, b, cancel);
            return new Result(params, r, a, b, label(model, params.answer(), a), b < 0 ? "none" : label(model, params.wrong(), b),
                    lens.normNote());
        }
    }

    /**
     * The logit lens in the shape of every analysis: {@link #NAME}, {@link #METRICS}, {@link Params} and its recipe,
     * {@link #run} and a typed {@link Result}.
     */
    public static final class Lens {
        public static final String NAME = LENS;
        public static final Map<String, String> METRICS = LENS_METRICS;

        private Lens() {
        }

        /** The answer whose rank is followed ({@code none}, {@code auto}, a word or {@code #ID}) and the top tokens kept. */
        public record Params(String answer, int top) {
            public static final Params DEFAULTS = new Params("none", 5);
            public static final List<String> OPTIONS = List.of("answer", "top");

            public Params {
                answer = answer == null || answer.isBlank() ? "none" : answer.strip();
                if (top < 1 || top > 100) {
                    throw new IllegalArgumentException("top k must be 1..100, got " + top);
                }
            }

            public Params withAnswer(String a) {
                return new Params(a, top);
            }

            public Params withTop(int t) {
                return new Params(answer, t);
            }

            /** The recipe the {@code lens} command and the Logit lens panel share. */
            public static Params fromOptions(Options options) {
                return new Params(options.text("answer", DEFAULTS.answer()), options.whole("top", DEFAULTS.top()));
            }
        }

        /** The lens logits [rows, T, V] and what its report shows. */
        public record Result(Params params, FloatTensor logits, long answer, String answerLabel, String[] tokens,
                             java.util.function.LongFunction<String> tokenString, String normNote) {
            public HeadReport toReport(Provenance provenance) {
                return lensReport(logits, answer, answerLabel, params.top(), tokens, tokenString, provenance, normNote);
            }
        }

        public static Result run(HookedModel model, HsTokenizer.Tokens tokens, Params params, Progress progress, CancelToken cancel) {
            long[] ids = tokens.ids();
            if (ids.length == 0) {
                throw new IllegalArgumentException("the prompt has no tokens");
            }
            LogitLens lens = new LogitLens(model);
            long answer = params.answer().equals("none") ? -1 : resolve(model, ids, params.answer(), "answer", cancel);
            FloatTensor logits = lens.lens(ids, cancel);
            if (answer >= logits.dim(2) || answer < -1) {
                throw new IllegalArgumentException("answer token id " + answer + " is outside the vocabulary 0.." + (logits.dim(2) - 1));
            }
            String label = answer < 0 ? "none" : label(model, params.answer(), answer);
            return new Result(params, logits, answer, label, tokens.strings(),
                    id -> model.tokenizer().map(tk -> tk.tokenString(id)).orElse("#" + id), lens.normNote());
        }
    }

    /** {@code auto}: the model's top next token; {@code #ID}; else the word's first token. */
    static long resolve(HookedModel model, long[] ids, String spec, String option, CancelToken cancel) {
        if (spec.equals("auto")) {
            return topNext(model, ids, cancel);
        }
        if (spec.startsWith("#")) {
            try {
                return Long.parseLong(spec.substring(1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + ": '" + spec + "' is not a token id; write #ID, e.g. #42");
            }
        }
        long[] t = model.requireTokenizer().encodePlain(spec);
        if (t.length == 0) {
            throw new IllegalArgumentException(option + " '" + spec + "' has no tokens");
        }
        return t[0];
    }

    /** A report's label for a token: as the user wrote it, or the token's text for {@code auto}. */
    private static String label(HookedModel model, String spec, long id) {
        return spec.equals("auto") ? model.requireTokenizer().tokenString(id) : spec;
    }

    /** The model's most likely next token after {@code ids}. */
    public static long topNext(HookedModel model, long[] ids, CancelToken cancel) {
        String out = model.model().outputNames().stream().filter(n -> !n.startsWith("present")).findFirst().orElseThrow();
        FloatTensor logits = model.session(TapSet.NONE, HookSet.NONE).run(RunRequest.tokens(ids).withOutputs(Set.of(out)), cancel).output(out);
        float[] last = logits.slice(0, logits.dim(1) - 1).data();
        int best = 0;
        for (int i = 1; i < last.length; i++) {
            if (last[i] > last[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The final norm and unembedding, as the reports name them. */
    public String normNote() {
        return unembedding.norm() + "; unembedding " + unembedding.unembed();
    }

    private final HookedModel model;
    private final Unembedding unembedding;

    public LogitLens(HookedModel model) {
        this.model = model;
        this.unembedding = model.unembedding().require("The logit lens and direct logit attribution");
    }

    public Unembedding unembedding() {
        return unembedding;
    }

    /**
     * Direct logit attribution at the last position.
     *
     * @param heads  [layer][head] logit of each head's write
     * @param embed  the embeddings (direct path)
     * @param other  MLPs and the attention output biases (the residual less the embeddings and the heads)
     * @param bias   the final norm's beta and the unembedding's bias ({@code f(0)})
     * @param total  the sum of all parts
     * @param actual the model's own logit (difference)
     * @param sigma  the frozen scale of the final norm at the last position
     */
    public record Attribution(double[][] heads, double embed, double other, double bias, double total, double actual, double sigma) {
    }

    /** DLA onto {@code logit[answer] - logit[wrong]}, or {@code logit[answer]} when {@code wrong < 0}. */
    public Attribution attribute(long[] ids, long answer, long wrong, CancelToken cancel) {
        if (unembedding.normalized() == null) {
            throw new ModelException("The final norm of this graph is one fused operator (" + unembedding.norm()
                    + "), so its normalised output before the scale cannot be fed.",
                    "Export without norm fusion (the eager export writes the norm out); the logit lens works on this graph.");
        }
        int layers = model.layers();
        int heads = model.heads();
        int t = ids.length;
        List<Integer> all = IntStream.range(0, layers).boxed().toList();
        RunResult tapped = model.session(TapSet.of(TapKind.HEAD_WRITE, all).with(TapKind.RESIDUAL, List.of(0)), HookSet.NONE)
                .run(RunRequest.tokens(ids), cancel);
        float[] x;
        float[] n;
        FloatTensor actual;
        try (HookedModel.ExposedSession e = model.openExposedSession(List.of(unembedding.residual(), unembedding.normalized()))) {
            RunResult r = e.session().run(RunRequest.tokens(ids).withOutputs(Set.of(e.outputFor().get(unembedding.residual()),
                    e.outputFor().get(unembedding.normalized()), unembedding.logits())), cancel);
            x = last(r.output(e.outputFor().get(unembedding.residual())));
            n = last(r.output(e.outputFor().get(unembedding.normalized())));
            actual = r.output(unembedding.logits());
        }
        int d = x.length;
        float[] cx = centre(x);
        double sigma = norm(cx) / norm(n);
        double misfit = 0;
        for (int i = 0; i < d; i++) {
            misfit = Math.max(misfit, Math.abs(cx[i] / sigma - n[i]));
        }
        if (!(misfit < 1e-3 * Math.max(1, max(n)))) {
            throw new ModelException("The tensor found as the final norm's input (" + unembedding.residual() + ") does not normalise to its "
                    + "output (largest misfit " + misfit + ").", "Direct logit attribution is unavailable for this graph.");
        }
        // parts: 0 = zero (biases), 1 = embeddings, 2 = the rest, then the heads
        int parts = 3 + layers * heads;
        float[] feed = new float[parts * d];
        float[] embed = last(tapped.tap(TapKind.RESIDUAL, 0));
        float[] rest = x.clone();
        for (int i = 0; i < d; i++) {
            rest[i] -= embed[i];
        }
        for (int l = 0; l < layers; l++) {
            FloatTensor w = tapped.tap(TapKind.HEAD_WRITE, l);
            for (int h = 0; h < heads; h++) {
                float[] part = w.slice(0, h).data();
                for (int i = 0; i < d; i++) {
                    rest[i] -= part[i];
                }
                put(feed, 3 + l * heads + h, centre(part), sigma, d);
            }
        }
        put(feed, 1, centre(embed), sigma, d);
        put(feed, 2, centre(rest), sigma, d);
        FloatTensor logits = unembed(unembedding.normalized(), new FloatTensor(new long[]{parts, 1, d}, feed), cancel);
        double base = score(logits, 0, 0, answer, wrong);
        double[][] grid = new double[layers][heads];
        double total = base;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                grid[l][h] = score(logits, 3 + l * heads + h, 0, answer, wrong) - base;
                total += grid[l][h];
            }
        }
        double e = score(logits, 1, 0, answer, wrong) - base;
        double o = score(logits, 2, 0, answer, wrong) - base;
        total += e + o;
        return new Attribution(grid, e, o, base, total, score(actual, 0, t - 1, answer, wrong), sigma);
    }

    /**
     * Logit lens: [rows][T] logits of the residual after the embeddings (row 0) and after each layer (row l+1),
     * through the graph's own final norm and unembedding; {@code [rows, T, V]}.
     */
    public FloatTensor lens(long[] ids, CancelToken cancel) {
        int layers = model.layers();
        int t = ids.length;
        List<Integer> all = IntStream.range(0, layers).boxed().toList();
        RunResult tapped = model.session(TapSet.of(TapKind.RESIDUAL, all), HookSet.NONE).run(RunRequest.tokens(ids), cancel);
        float[] x;
        try (HookedModel.ExposedSession e = model.openExposedSession(List.of(unembedding.residual()))) {
            RunResult r = e.session().run(RunRequest.tokens(ids).withOutputs(Set.of(e.outputFor().get(unembedding.residual()))), cancel);
            x = r.output(e.outputFor().get(unembedding.residual())).data();
        }
        int d = x.length / t;
        float[] feed = new float[(layers + 1) * t * d];
        for (int l = 0; l < layers; l++) {
            float[] r = tapped.tap(TapKind.RESIDUAL, l).data();
            System.arraycopy(r, 0, feed, l * t * d, t * d);
        }
        System.arraycopy(x, 0, feed, layers * t * d, t * d);
        return unembed(unembedding.residual(), new FloatTensor(new long[]{layers + 1, t, d}, feed), cancel);
    }

    /** The graph from {@code start} to the logits, run on {@code states} [N, T, D]. */
    private FloatTensor unembed(String start, FloatTensor states, CancelToken cancel) {
        int b = states.dim(0);
        int t = states.dim(1);
        long[][] ids = new long[b][t];
        try (OwnedSession s = model.openCutSession(start, List.of(unembedding.logits()))) {
            return s.run(RunRequest.batch(ids).withStates(Map.of(start, states)), cancel).output(unembedding.logits());
        }
    }

    /** One lens row: the top tokens and the answer's rank at each position. */
    public record LensCell(int row, int position, long[] top, float[] topLogits, int answerRank) {
    }

    public static List<LensCell> cells(FloatTensor logits, long answer, int topK) {
        List<LensCell> out = new ArrayList<>();
        int rows = logits.dim(0);
        int t = logits.dim(1);
        for (int r = 0; r < rows; r++) {
            for (int p = 0; p < t; p++) {
                float[] v = logits.slice(r, p).data();
                Integer[] order = IntStream.range(0, v.length).boxed().toArray(Integer[]::new);
                java.util.Arrays.sort(order, (a, c) -> Float.compare(v[c], v[a]));
                int k = Math.min(topK, v.length);
                long[] top = new long[k];
                float[] tl = new float[k];
                for (int i = 0; i < k; i++) {
                    top[i] = order[i];
                    tl[i] = v[order[i]];
                }
                int rank = -1;
                if (answer >= 0) {
                    rank = 0;
                    for (float f : v) {
                        if (f > v[(int) answer]) {
                            rank++;
                        }
                    }
                }
                out.add(new LensCell(r, p, top, tl, rank));
            }
        }
        return out;
    }

    /**
     * The lens report, as the {@code lens} command writes it and the Logit lens panel shows it: one row per lens row at
     * the last position ({@code layer} -1 = the embeddings, {@code head} -1) with its top token, top logit and the
     * answer's rank; every cell (layer, position) in the "cells" section; the answer's rank by layer and position as a
     * heat map.
     *
     * @param answer      the answer's token id, or -1 for none
     * @param answerLabel the answer as the user wrote it (for the figure and parameters)
     * @param tokens      the prompt's token strings
     * @param tokenString a token id's text
     */
    public static HeadReport lensReport(FloatTensor logits, long answer, String answerLabel, int top, String[] tokens,
                                        java.util.function.LongFunction<String> tokenString, Provenance provenance, String normNote) {
        List<LensCell> cells = cells(logits, answer, top);
        int positions = logits.dim(1);
        List<Map<String, Object>> table = new ArrayList<>();
        List<List<Double>> ranks = new ArrayList<>();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int r = 0; r < logits.dim(0); r++) {
            ranks.add(new ArrayList<>());
        }
        for (LensCell c : cells) {
            Map<String, Object> cell = new LinkedHashMap<>();
            cell.put("row", c.row() == 0 ? "embeddings" : "after layer " + (c.row() - 1));
            cell.put("position", c.position());
            cell.put("token", tokens[c.position()]);
            List<String> words = new ArrayList<>();
            for (long id : c.top()) {
                words.add(tokenString.apply(id));
            }
            cell.put("top", words);
            cell.put("top_logits", c.topLogits());
            if (answer >= 0) {
                cell.put("answer_rank", c.answerRank());
                ranks.get(c.row()).add((double) c.answerRank());
            }
            table.add(cell);
            if (c.position() == positions - 1) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("layer", c.row() - 1);
                row.put("head", -1);
                row.put("top_token", words.get(0));
                row.put("top_logit", (double) c.topLogits()[0]);
                if (answer >= 0) {
                    row.put("answer_rank", (double) c.answerRank());
                }
                rows.add(row);
            }
        }
        Map<String, Object> sections = new LinkedHashMap<>();
        sections.put("rows", "row 0 is the embeddings, row l+1 the residual after layer l (the last equals the model's logits)");
        sections.put("final_norm", normNote);
        sections.put("cells", table);
        sections.put("departures", List.of("The lens applies the model's own final norm to each layer's residual (its own scale, "
                + "not frozen); no tuned lens."));
        List<HeadReport.Figure> figures = new ArrayList<>();
        if (answer >= 0) {
            figures.add(new HeadReport.Figure("heatmap", "Rank of '" + answerLabel + "' by layer (row 0: embeddings) and position",
                    "position", "layer", new ArrayList<>(List.of(tokens)), List.of("answer_rank"), ranks));
        }
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("answer", answer < 0 ? "none" : answerLabel);
        params.put("top", top);
        return new HeadReport(LENS, params, provenance, rows, sections, figures);
    }

    public static HeadReport dlaReport(Attribution a, Provenance provenance, Map<String, Object> parameters, String normNote) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int l = 0; l < a.heads().length; l++) {
            for (int h = 0; h < a.heads()[l].length; h++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("layer", l);
                r.put("head", h);
                r.put("dla", a.heads()[l][h]);
                rows.add(r);
            }
        }
        Map<String, Object> sections = new LinkedHashMap<>();
        sections.put("direct_path_embeddings", a.embed());
        sections.put("mlps_and_biases", a.other());
        sections.put("norm_and_unembedding_bias", a.bias());
        sections.put("sum_of_parts", a.total());
        sections.put("model_logit", a.actual());
        sections.put("frozen_norm_scale", a.sigma());
        sections.put("final_norm", normNote);
        sections.put("departures", new Departures()
                .add("The final norm's scale is frozen at its value on this prompt (as TransformerLens does), so each part's logit is "
                        + "linear in the part; the parts sum to the model's logit exactly only on this prompt.")
                .add("Heads are attributed at the last position only; the output projection's bias is counted with the MLPs.")
                .list());
        List<HeadReport.Figure> figures = List.of(HeadReport.headHeatmap("Direct logit attribution per head", "dla", rows),
                HeadReport.rankedBars("Heads writing most toward the answer", "dla", rows, 20));
        return new HeadReport(DLA, parameters, provenance, rows, sections, figures);
    }

    private static double score(FloatTensor logits, int b, int pos, long answer, long wrong) {
        float[] v = logits.slice(b, pos).data();
        return wrong < 0 ? v[(int) answer] : (double) v[(int) answer] - v[(int) wrong];
    }

    private void put(float[] feed, int row, float[] v, double sigma, int d) {
        for (int i = 0; i < d; i++) {
            feed[row * d + i] = (float) (v[i] / sigma);
        }
    }

    private float[] centre(float[] v) {
        if (!unembedding.centred()) {
            return v.clone();
        }
        double mean = 0;
        for (float f : v) {
            mean += f;
        }
        mean /= v.length;
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] - mean);
        }
        return out;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }

    private static double max(float[] v) {
        double m = 0;
        for (float f : v) {
            m = Math.max(m, Math.abs(f));
        }
        return m;
    }

    /** The last position of a [1, T, D] tensor. */
    private static float[] last(FloatTensor t) {
        return t.slice(0, t.dim(1) - 1).data();
    }
}
