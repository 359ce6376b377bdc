package org.headscope.analysis;

import org.headscope.analysis.core.Numerics;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Metrics;
import org.headscope.analysis.core.Options;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Copy-pattern scores on random tokens repeated {@code repeats} times (with BOS in front when the model has one).
 * RazorAttention (Tang et al., 2024): echo score {@code = mean_q sum_{k<q, x_k = x_q} A[q,k]} (attention to earlier
 * copies of the current token) and induction score {@code = mean_q sum_{k<=q, x_{k-1} = x_q} A[q,k]} (attention to
 * the token after an earlier copy), averaged over the queries that have an earlier copy. TransformerLens' head
 * detector ({@code error_measure="mul"}): {@code score = sum(A * P) / sum(A)} over the whole sequence for the
 * previous-token pattern {@code P[q,q-1]=1}, the duplicate-token pattern {@code P[q,k]=[x_k=x_q, k<q]} and the
 * induction pattern {@code P[q,k]=[x_{k-1}=x_q, k-1<q, k<=q]}. Scores are in [0,1], arrays are [layers][heads].
 */
public record CopyScores(int length, int repeats, long seed, double[][] echo, double[][] induction, double[][] previousToken,
                         double[][] duplicateToken, double[][] inductionTl, double[] chance) {
    /** Column names of the five scores, in the order of {@link #chance}. */
    public static final List<String> COLUMNS = List.of("echo", "induction", "previous_token", "duplicate_token", "induction_tl");
    public static final String METRIC_VERSION = "razor-echo-induction/1 + transformerlens-detectors-mul/1";
    /** RazorAttention repeats a random sequence 4 times. */
    public static final int REPEATS = 4;
    /** The name the head atlas gives its copy-score columns. */
    public static final String NAME = "copy";
    /** The five scores' metric versions, in the order of {@link #COLUMNS}. */
    public static final Map<String, String> METRICS = Metrics.ordered(
            "echo", METRIC_VERSION, "induction", METRIC_VERSION, "previous_token", METRIC_VERSION,
            "duplicate_token", METRIC_VERSION, "induction_tl", METRIC_VERSION);

    /**
     * The random sequence: {@code length} non-special tokens (repeated {@link #REPEATS} times) drawn with {@code seed}.
     * The defaults are the retrieval scan's: 50 tokens, seed 0.
     */
    public record Params(int length, long seed) {
        public static final Params DEFAULTS = new Params(50, 0);
        /** The options by the retrieval panel's names. */
        public static final List<String> OPTIONS = List.of("copy_tokens", "copy_seed");

        public Params {
            if (length < 1) {
                throw new IllegalArgumentException("parameter 'copy_tokens' must be at least 1, got " + length);
            }
        }

        public Params withLength(int l) {
            return new Params(l, seed);
        }

        public Params withSeed(long s) {
            return new Params(length, s);
        }

        /** The recipe: {@link #OPTIONS} over {@link #DEFAULTS}. */
        public static Params fromOptions(Options options) {
            return new Params(options.whole("copy_tokens", DEFAULTS.length()), options.whole("copy_seed", (int) DEFAULTS.seed()));
        }
    }

    Map<String, Object> parameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("copy_random_tokens", length);
        m.put("copy_repeats", repeats);
        m.put("copy_seed", seed);
        return m;
    }

    /**
     * Measures the scores with one run on {@code params.length()} random non-special tokens repeated {@link #REPEATS}
     * times; the record is the result.
     */
    public static CopyScores run(HookedModel model, Params params, Progress progress, CancelToken cancel) {
        int length = params.length();
        long seed = params.seed();
        Heads.requireDecoder(model, "the copy scores (echo and induction on a repeated sequence)");
        String logits = model.requireLogits();
        int vocab = model.plain().run(RunRequest.tokens(firstId(model)).withOutputs(java.util.Set.of(logits)), cancel).output(logits).dim(2);
        long[] tokens = sequence(model, vocab, length, REPEATS, seed);
        RunResult r = model.session(TapSet.of(TapKind.PROBS, Heads.allLayers(model)), HookSet.NONE)
                .run(RunRequest.tokens(tokens).withOutputs(java.util.Set.of(logits)), cancel);
        int layers = model.layers();
        int heads = model.heads();
        double[][][] s = new double[5][layers][heads];
        for (int l = 0; l < layers; l++) {
            FloatTensor p = r.tap(TapKind.PROBS, l);
            for (int h = 0; h < heads; h++) {
                double[] v = scores(p.slice(0, h).toMatrix(), tokens);
                for (int i = 0; i < 5; i++) {
                    s[i][l][h] = v[i];
                }
            }
        }
        return new CopyScores(length, REPEATS, seed, s[0], s[1], s[2], s[3], s[4], chance(tokens, model.isCausal()));
    }

    /**
     * The chance level of each score on this sequence: what a head that spreads its attention evenly over the keys it
     * can see ({@code A[q,k] = 1/(q+1)} for {@code k <= q}; {@code 1/T} without a causal mask) scores, in the order of
     * {@link #COLUMNS}. A head is a copy head only as far as it scores above this.
     */
    public static double[] chance(long[] tokens, boolean causal) {
        return scores(Numerics.evenAttention(tokens.length, tokens.length, causal).toMatrix(), tokens);
    }

    /** The chance levels by column name (see {@link #chance(long[], boolean)}). */
    public Map<String, Double> chanceByColumn() {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < COLUMNS.size(); i++) {
            m.put(COLUMNS.get(i), chance[i]);
        }
        return m;
    }

    private static long firstId(HookedModel model) {
        return model.manifest().bos() != null ? model.manifest().bos() : 0;
    }

    /** BOS (if any) followed by {@code repeats} copies of {@code length} random ids that are not special tokens. */
    static long[] sequence(HookedModel model, int vocab, int length, int repeats, long seed) {
        java.util.Set<Long> special = new java.util.HashSet<>();
        for (Long id : new Long[]{model.manifest().bos(), model.manifest().eos(), model.manifest().pad()}) {
            if (id != null) {
                special.add(id);
            }
        }
        Random rnd = new Random(seed);
        long[] chunk = new long[length];
        for (int i = 0; i < length; i++) {
            long id;
            do {
                id = rnd.nextInt(vocab);
            } while (special.contains(id));
            chunk[i] = id;
        }
        int offset = model.manifest().bos() != null ? 1 : 0;
        long[] out = new long[offset + length * repeats];
        if (offset == 1) {
            out[0] = model.manifest().bos();
        }
        for (int r = 0; r < repeats; r++) {
            System.arraycopy(chunk, 0, out, offset + r * length, length);
        }
        Integer max = model.manifest().maxLength();
        if (max != null && out.length > max) {
            throw new IllegalArgumentException(repeats + " x " + length + " random tokens exceed the model's " + max
                    + " tokens; use at most " + (max - offset) / repeats + " random tokens");
        }
        return out;
    }

    /** Echo, induction (RazorAttention), previous-token, duplicate, induction (TransformerLens) of one head. */
    static double[] scores(float[][] a, long[] x) {
        int t = x.length;
        double echo = 0;
        double induction = 0;
        int rows = 0;
        double total = 0;
        double prev = 0;
        double dup = 0;
        double ind = 0;
        for (int q = 0; q < t; q++) {
            boolean hasCopy = false;
            double e = 0;
            double i = 0;
            for (int k = 0; k <= q; k++) {
                total += a[q][k];
                if (k < q && x[k] == x[q]) {
                    hasCopy = true;
                    e += a[q][k];
                }
                if (k >= 1 && x[k - 1] == x[q] && k - 1 < q) {
                    i += a[q][k];
                }
            }
            if (q >= 1) {
                prev += a[q][q - 1];
            }
            dup += e;
            ind += i;
            if (hasCopy) {
                rows++;
                echo += e;
                induction += i;
            }
        }
        return new double[]{rows == 0 ? 0 : echo / rows, rows == 0 ? 0 : induction / rows, prev / total, dup / total, ind / total};
    }
}
