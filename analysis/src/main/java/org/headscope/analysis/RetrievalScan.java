package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.analysis.core.Numerics;
import org.headscope.analysis.core.Options;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.GreedyDecoder;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HookedSession;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.OutputGather;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Retrieval heads (Wu et al., "Retrieval Head Mechanistically Explains Long-Context Factuality", 2024; reference code
 * nightdessert/Retrieval_Head). A needle is inserted at depth d of a haystack trimmed to length L, the question is
 * asked, and the answer is decoded greedily. At every decoding step, for every head,
 * {@code j = argmax_k A[l,h,last,k]}; the head gains {@code 1/|answer span|} when j lies in the needle's answer span
 * and the token generated at this step equals the prompt token at j. A test counts only when the ROUGE-1 recall of
 * the response against the answer exceeds 50%; a head's retrieval score is its mean over counted tests, and a
 * retrieval head is one scoring above 0.1.
 *
 * <p>The argmax is the in-graph {@link TapKind#ARGMAX} reduction: no attention matrix leaves the device. The
 * generative mode decodes with {@link GreedyDecoder}: the prompt once, then one-token steps on the key/value cache
 * when the graph has past inputs (each step's attention row spans every key), else the growing sequence once per
 * token. The teacher-forced mode feeds prompt and answer once and reads, at each answer position s, the argmax
 * of the row before it and the model's own greedy prediction there; its ROUGE gate is taken over those
 * predictions. When the greedy answer equals the needle's answer (followed by EOS) both modes give identical scores.
 */
public final class RetrievalScan {
    public static final String METRIC_VERSION = "wu2024-top1-copy/1";
    /** The reference's gate: rouge_scorer with use_stemmer=True (Porter stems of the words longer than 3 letters). */
    public static final String ROUGE_VERSION = "rouge1-recall lowercase-alnum-unigrams porter-stemmed-above-3-letters/2";
    /** The gate without stemming ("two apple" recalls half of "two apples"). */
    public static final String ROUGE_VERSION_UNSTEMMED = "rouge1-recall lowercase-alnum-unigrams no-stemming/1";

    /** How the answer is produced. */
    public enum Mode {
        /** Prompt and needle answer in one pass; the grid costs one run per test. */
        TEACHER,
        /** Greedy decoding as the reference does (prefill + KV-cache steps when the graph has past inputs), argmax in the graph. */
        GENERATE,
        /**
         * The reference code's way, kept as the baseline: greedy decoding (prefill + KV-cache steps when the graph has
         * past inputs), the attention probabilities of every layer fetched from every run and the argmax taken on the host.
         */
        REFERENCE;

        public static Mode parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "teacher", "teacher-forced" -> TEACHER;
                case "generate", "generative" -> GENERATE;
                case "reference" -> REFERENCE;
                default -> throw new IllegalArgumentException("mode must be teacher, generate or reference, got '" + s + "'");
            };
        }
    }

    /**
     * Params of a scan; {@link #defaults(List)} holds the paper's values.
     *
     * @param lengths        total tokens per test (prompt, answer and one more token)
     * @param depths         number of needle depths, evenly spaced over 0..100% as the reference's linspace
     * @param rougeGate      a test counts when ROUGE-1 recall (0..1) is above this (reference: 50%)
     * @param threshold      retrieval head when the score is above this (paper: 0.1)
     * @param maxNewTokens   generation stops after this many tokens or at EOS (reference: 50)
     * @param rougeStemmer   the gate stems words with the Porter stemmer as the reference's rouge_scorer(use_stemmer=True)
     */
    public record Params(List<Integer> lengths, int depths, Mode mode, double rougeGate, double threshold, int maxNewTokens,
                             boolean rougeStemmer) {
        /** With the reference's stemmed ROUGE gate. */
        public Params(List<Integer> lengths, int depths, Mode mode, double rougeGate, double threshold, int maxNewTokens) {
            this(lengths, depths, mode, rougeGate, threshold, maxNewTokens, true);
        }

        public Params {
            lengths = List.copyOf(lengths);
            if (lengths.isEmpty() || lengths.stream().anyMatch(l -> l < 8)) {
                throw new IllegalArgumentException("lengths must be at least 8 tokens each, got " + lengths);
            }
            if (depths < 1) {
                throw new IllegalArgumentException("depths must be at least 1, got " + depths);
            }
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("maxNewTokens must be at least 1");
            }
        }

        public static Params defaults(List<Integer> lengths) {
            return new Params(lengths, 10, Mode.TEACHER, 0.5, 0.1, 50);
        }

        /**
         * The recipe the {@code retrieval} command and the Retrieval heads panel share: {@code lengths} (comma-separated,
         * or {@code auto}: {@link #defaultLengths}), {@code depths}, {@code mode} and {@code rouge_stemmer}
         * ({@code porter} or {@code none}) from {@code options}, the reference's values otherwise.
         */
        public static Params fromOptions(HookedModel model, Options o) {
            String lengths = o.text("lengths", "auto");
            Params p = defaults(lengths.equalsIgnoreCase("auto") ? defaultLengths(model) : o.wholes("lengths", List.of()));
            String stemmer = o.text("rouge_stemmer", "porter");
            if (!stemmer.equals("porter") && !stemmer.equals("none")) {
                throw new IllegalArgumentException("parameter 'rouge_stemmer' must be porter or none, got '" + stemmer + "'");
            }
            return p.withMode(Mode.parse(o.text("mode", p.mode().name()))).withDepths(o.whole("depths", p.depths()))
                    .withRougeStemmer(stemmer.equals("porter"));
        }

        public Params withMode(Mode m) {
            return new Params(lengths, depths, m, rougeGate, threshold, maxNewTokens, rougeStemmer);
        }

        public Params withDepths(int n) {
            return new Params(lengths, n, mode, rougeGate, threshold, maxNewTokens, rougeStemmer);
        }

        public Params withMaxNewTokens(int n) {
            return new Params(lengths, depths, mode, rougeGate, threshold, n, rougeStemmer);
        }

        public Params withRougeStemmer(boolean stem) {
            return new Params(lengths, depths, mode, rougeGate, threshold, maxNewTokens, stem);
        }

        /** Depth percents as the reference rounds them: round(linspace(0, 100, depths)). */
        public int[] depthPercents() {
            if (depths == 1) {
                return new int[]{0};
            }
            return IntStream.range(0, depths).map(i -> (int) Math.round(100.0 * i / (depths - 1))).toArray();
        }
    }

    /**
     * One test of the grid.
     *
     * @param scores    per-head score of this test, [layers][heads]
     * @param rouge     ROUGE-1 recall of the response against the answer (0..1)
     * @param exact     the greedy answer equals the needle's answer (and then EOS, when the model has one)
     */
    public record Test(int needle, int length, int depth, String response, double rouge, boolean counted, boolean exact,
                       double[][] scores) {
    }

    private RetrievalScan() {
    }

    /** Default lengths: an eighth, a quarter, half and all of the model's maximum length (512 when unknown). */
    public static List<Integer> defaultLengths(HookedModel model) {
        int max = model.manifest().maxLength() == null ? 512 : model.manifest().maxLength();
        return List.of(max / 8, max / 4, max / 2, max);
    }

    /** Runs the grid needles x lengths x depths. Cancelled scans throw and return nothing. */
    public static RetrievalResult run(HookedModel model, List<Needle> needles, String haystack, Params p,
                                      Progress progress, CancelToken cancel) {
        return run(model, needles, haystack, p, GreedyDecoder.way(model), progress, cancel);
    }

    /** The scan with the decoding way chosen (tests compare the KV-cache steps with the full re-run). */
    static RetrievalResult run(HookedModel model, List<Needle> needles, String haystack, Params p, GreedyDecoder.Way way,
                               Progress progress, CancelToken cancel) {
        Heads.requireDecoder(model, "needle retrieval");
        Grid grid = grid(model, needles, haystack, p);
        List<NeedleEpisodes.Episode> episodes = grid.episodes();
        TapKind tap = p.mode() == Mode.REFERENCE ? TapKind.PROBS : TapKind.ARGMAX;
        HookedSession session = model.session(TapSet.of(tap, Heads.allLayers(model)), HookSet.NONE);
        String logits = model.requireLogits();
        Long eos = model.manifest().eos();
        HsTokenizer tok = model.requireTokenizer();
        List<Test> tests = new ArrayList<>();
        Traffic traffic = new Traffic();
        int done = 0;
        for (NeedleEpisodes.Episode e : episodes) {
            cancel.check();
            progress.update(done, episodes.size(), "retrieval L=" + e.length() + " d=" + e.depth() + "% needle " + (e.needleIndex() + 1));
            Scored s = p.mode() == Mode.TEACHER ? teacher(model, session, logits, e, eos, traffic, cancel)
                    : generate(model, session, logits, e, eos, p.maxNewTokens(), tap, way, traffic, cancel);
            double rouge = rouge1Recall(tok.decode(answerOf(s, eos)), needles.get(e.needleIndex()).answer(), p.rougeStemmer());
            tests.add(new Test(e.needleIndex(), e.length(), e.depth(), tok.decode(s.tokens()), rouge, rouge > p.rougeGate(),
                    s.exact(), s.scores()));
            done++;
        }
        progress.update(done, episodes.size(), "retrieval done");
        return new RetrievalResult(p, model.layers(), model.heads(), tests, needles.size(), grid.template(), grid.sentenceEnd(),
                traffic.runs, traffic.bytes);
    }

    /**
     * The grid's tests as token ids, for running the same tests elsewhere (the PyTorch side of the benchmarks): per
     * test the needle index, length, depth, prompt ids, the answer span [answerStart, answerEnd) in the prompt and the
     * answer's ids.
     */
    public static List<Map<String, Object>> episodeIds(HookedModel model, List<Needle> needles, String haystack, Params p) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (NeedleEpisodes.Episode e : grid(model, needles, haystack, p).episodes()) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("needle", e.needleIndex());
            m.put("length", e.length());
            m.put("depth", e.depth());
            m.put("prompt", e.prompt());
            m.put("answerStart", e.answerStart());
            m.put("answerEnd", e.answerEnd());
            m.put("answer", e.answer());
            out.add(m);
        }
        return out;
    }

    /** Runs made and bytes of output tensors copied out of the runtime. */
    private static final class Traffic {
        long runs;
        long bytes;

        RunResult add(RunResult r) {
            runs++;
            r.floats().values().forEach(t -> bytes += 4L * t.data().length);
            r.longs().values().forEach(t -> bytes += 8L * t.data().length);
            return r;
        }
    }

    /** Every test of the grid (needle, length, depth order) and the template and sentence-end mark that built them. */
    record Grid(List<NeedleEpisodes.Episode> episodes, String template, String sentenceEnd) {
    }

    static Grid grid(HookedModel model, List<Needle> needles, String haystack, Params p) {
        Integer max = model.manifest().maxLength();
        for (int l : p.lengths()) {
            if (max != null && l > max) {
                throw new IllegalArgumentException("length " + l + " exceeds " + model.manifest().name() + "'s maximum of "
                        + max + " tokens; use lengths up to " + max);
            }
        }
        int longest = p.lengths().stream().mapToInt(Integer::intValue).max().orElseThrow();
        NeedleEpisodes builder = new NeedleEpisodes(model, haystack, longest);
        List<NeedleEpisodes.Episode> out = new ArrayList<>();
        for (int n = 0; n < needles.size(); n++) {
            for (int l : p.lengths()) {
                for (int d : p.depthPercents()) {
                    out.add(builder.build(n, needles.get(n), l, d));
                }
            }
        }
        return new Grid(List.copyOf(out), builder.template(), builder.sentenceEnd());
    }

    private record Scored(long[] tokens, boolean exact, double[][] scores) {
    }

    /** The answer the gate judges: the generated tokens up to EOS. */
    private static long[] answerOf(Scored s, Long eos) {
        long[] t = s.tokens();
        for (int i = 0; i < t.length; i++) {
            if (eos != null && t[i] == eos) {
                return Arrays.copyOf(t, i);
            }
        }
        return t;
    }

    private static Scored teacher(HookedModel model, HookedSession session, String logits, NeedleEpisodes.Episode e, Long eos,
                                  Traffic traffic, CancelToken cancel) {
        long[] prompt = e.prompt();
        long[] answer = e.answer();
        long[] seq = Numerics.concat(prompt, answer);
        // logits only where read: the answer positions and the one after the answer (EOS), gathered before the LM head
        float[] at = new float[answer.length + 1];
        for (int s = 0; s < at.length; s++) {
            at[s] = prompt.length - 1 + s;
        }
        RunResult r = traffic.add(model.readingSession(0, session.taps(), HookSet.NONE, logits).run(RunRequest.tokens(seq)
                .withOutputs(Set.of(logits)).withStates(Map.of(OutputGather.POSITIONS, new FloatTensor(new long[]{1, at.length}, at))), cancel));
        FloatTensor lg = r.output(logits);
        double[][] scores = new double[model.layers()][model.heads()];
        long[] predicted = new long[answer.length];
        boolean exact = true;
        for (int s = 0; s < answer.length; s++) {
            int q = prompt.length - 1 + s;
            predicted[s] = GreedyDecoder.argmax(lg, 0, s);
            exact &= predicted[s] == answer[s];
            addCopyScores(model, (l, h) -> (int) r.argmax(l).get(0, h, q), answer[s], prompt, e, scores);
        }
        if (eos != null) {
            exact &= GreedyDecoder.argmax(lg, 0, answer.length) == eos;
        }
        return new Scored(predicted, exact, scores);
    }

    private static Scored generate(HookedModel model, HookedSession session, String logits, NeedleEpisodes.Episode e, Long eos,
                                   int maxNew, TapKind tap, GreedyDecoder.Way way, Traffic traffic, CancelToken cancel) {
        long[] prompt = e.prompt();
        Integer max = model.manifest().maxLength();
        double[][] scores = new double[model.layers()][model.heads()];
        int steps = max == null ? maxNew : Math.min(maxNew, Math.max(1, max - prompt.length));
        long[] tokens = GreedyDecoder.decode(model, session, GreedyDecoder.Inputs.tokens(), prompt, List.of(), logits, steps, eos,
                way, step -> {
                    RunResult r = traffic.add(step.result());
                    int q = step.row();
                    TopKey top = tap == TapKind.PROBS ? (l, h) -> argmaxKey(r.tap(TapKind.PROBS, l), h, q)
                            : (l, h) -> (int) r.argmax(l).get(0, h, q);
                    addCopyScores(model, top, step.next()[0], prompt, e, scores);
                }, cancel)[0];
        long[] answer = e.answer();
        boolean exact = tokens.length >= answer.length && Arrays.equals(Arrays.copyOf(tokens, answer.length), answer)
                && (eos == null || tokens.length == answer.length + 1 && tokens[answer.length] == eos);
        return new Scored(tokens, exact, scores);
    }

    /** The most attended key of a head at the step's query row. */
    @FunctionalInterface
    private interface TopKey {
        int of(int layer, int head);
    }

    /** First index of the largest probability in row q of head h, as torch's topk(1) and ONNX ArgMax pick it. */
    private static int argmaxKey(FloatTensor probs, int h, int q) {
        return Numerics.argmax(probs.data(), probs.offset(0, h, q, 0), probs.dim(3));
    }

    /** The reference's retrieval_calculate for one decoding step whose output is token. */
    private static void addCopyScores(HookedModel model, TopKey top, long token, long[] prompt, NeedleEpisodes.Episode e,
                                      double[][] scores) {
        double unit = 1.0 / e.answerLength();
        for (int l = 0; l < model.layers(); l++) {
            for (int h = 0; h < model.heads(); h++) {
                int j = top.of(l, h);
                if (j >= e.answerStart() && j < e.answerEnd() && prompt[j] == token) {
                    scores[l][h] += unit;
                }
            }
        }
    }

    /**
     * Needle accuracy (greedy exact match) of every intervention over the grid, from teacher-forced runs: the greedy
     * answer equals the needle's answer exactly when every answer position predicts its token given the correct prefix
     * (and EOS after it). All interventions of a test run as one batch.
     */
    public static double[] needleAccuracy(HookedModel model, List<Needle> needles, String haystack, Params p,
                                          List<Intervention> interventions, Progress progress, CancelToken cancel) {
        Heads.requireDecoder(model, "needle retrieval");
        List<NeedleEpisodes.Episode> episodes = grid(model, needles, haystack, p).episodes();
        HookSet hooks = HookSet.NONE;
        for (Intervention i : interventions) {
            hooks = hooks.union(i.hooks());
        }
        HookedSession session = model.session(TapSet.NONE, hooks);
        String logits = model.requireLogits();
        Long eos = model.manifest().eos();
        double[] correct = new double[interventions.size()];
        int done = 0;
        for (NeedleEpisodes.Episode e : episodes) {
            cancel.check();
            progress.update(done++, episodes.size(), "needle accuracy L=" + e.length() + " d=" + e.depth() + "%");
            long[] answer = e.answer();
            long[] seq = Numerics.concat(e.prompt(), answer);
            RunResult r = session.run(RunRequest.tokens(seq).withInterventions(interventions).withOutputs(Set.of(logits)), cancel);
            FloatTensor lg = r.output(logits);
            for (int b = 0; b < interventions.size(); b++) {
                boolean ok = true;
                for (int s = 0; s < answer.length && ok; s++) {
                    ok = GreedyDecoder.argmax(lg, b, e.prompt().length - 1 + s) == answer[s];
                }
                if (ok && eos != null) {
                    ok = GreedyDecoder.argmax(lg, b, seq.length - 1) == eos;
                }
                correct[b] += ok ? 1 : 0;
            }
        }
        progress.update(episodes.size(), episodes.size(), "needle accuracy done");
        for (int b = 0; b < correct.length; b++) {
            correct[b] /= episodes.size();
        }
        return correct;
    }

    /** ROUGE-1 recall with the reference's stemming, {@link #rouge1Recall(String, String, boolean)}. */
    public static double rouge1Recall(String prediction, String reference) {
        return rouge1Recall(prediction, reference, true);
    }

    /**
     * ROUGE-1 recall as rouge_score computes it: unigram overlap (clipped counts) over the reference's unigrams, after
     * lower-casing and splitting on everything that is not a letter or digit; with {@code stem}, words longer than three
     * letters are replaced by their Porter stems first (rouge_scorer's use_stemmer=True, what the reference uses).
     */
    public static double rouge1Recall(String prediction, String reference, boolean stem) {
        List<String> ref = words(reference, stem);
        if (ref.isEmpty()) {
            return 0;
        }
        Map<String, Integer> pred = new HashMap<>();
        for (String w : words(prediction, stem)) {
            pred.merge(w, 1, Integer::sum);
        }
        Map<String, Integer> refCount = new HashMap<>();
        for (String w : ref) {
            refCount.merge(w, 1, Integer::sum);
        }
        int overlap = 0;
        for (var en : refCount.entrySet()) {
            overlap += Math.min(en.getValue(), pred.getOrDefault(en.getKey(), 0));
        }
        return overlap / (double) ref.size();
    }

    private static List<String> words(String s, boolean stem) {
        return Arrays.stream(s.toLowerCase(Locale.ROOT).split("[^a-z0-9]+")).filter(w -> !w.isEmpty())
                .map(w -> stem && w.length() > 3 ? PorterStemmer.stem(w) : w).toList();
    }
}
