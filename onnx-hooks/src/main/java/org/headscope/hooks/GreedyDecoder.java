package org.headscope.hooks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Greedy decoding for every place HeadScope generates text (retrieval's generate mode, VHD answers, ablation
 * continuations). When the graph has past key/value inputs and present outputs, the prompt runs once (on an empty
 * past) and each further token is one single-token step on the returned cache; otherwise every token re-runs the
 * whole sequence. Both ways run through the same tapped and hooked session: taps on a step cover the step's query
 * row over the full key length (past + new), and hooks index keys over that full length, so a step reads the same
 * attention row and output as the full run would at that position.
 *
 * <p>A batch decodes B sequences of equal length at once (one intervention per element, or one for all).
 */
public final class GreedyDecoder {
    /** How the tokens after a prompt are computed. */
    public enum Way {
        /** Past key/value inputs: prefill once, then one-token steps on the cache. */
        KV_CACHE,
        /** No past inputs: the whole sequence is re-run for every new token. */
        FULL_RERUN
    }

    /**
     * What a step hands to its listener: the run, the query row of the new token's prediction in its taps, the row of
     * the logits output holding that prediction (the logits are computed only there), and the chosen tokens.
     */
    public record Step(int index, RunResult result, int row, int logitsRow, long[] next) {
    }

    @FunctionalInterface
    public interface Listener {
        void onStep(Step step);
    }

    /**
     * The model's inputs for a run: token ids, or the input embeddings of a model fed embeddings (a vision-language
     * decoder: the prompt's embeddings with its image, and each new token's embedding).
     */
    public interface Inputs {
        /** The prompt (batch 1) or a whole sequence per batch element, for the full re-run. */
        RunRequest full(long[][] sequences);

        /** Only the new tokens, one per batch element, for a cached step ({@code [B,1]}). */
        RunRequest step(long[] next);

        /** Inputs of plain token ids. */
        static Inputs tokens() {
            return new Inputs() {
                @Override
                public RunRequest full(long[][] sequences) {
                    return RunRequest.batch(sequences);
                }

                @Override
                public RunRequest step(long[] next) {
                    long[][] col = new long[next.length][];
                    for (int b = 0; b < next.length; b++) {
                        col[b] = new long[]{next[b]};
                    }
                    return RunRequest.batch(col);
                }
            };
        }

        /** Inputs of embeddings: {@code full} embeds a whole sequence (batch 1 only), {@code step} the new tokens. */
        static Inputs embeddings(Function<long[], FloatTensor> fullSequence, Function<long[], FloatTensor> tokens) {
            return new Inputs() {
                @Override
                public RunRequest full(long[][] sequences) {
                    if (sequences.length != 1) {
                        throw new IllegalArgumentException("embedding inputs decode one sequence at a time");
                    }
                    return RunRequest.embeddings(fullSequence.apply(sequences[0]));
                }

                @Override
                public RunRequest step(long[] next) {
                    if (next.length != 1) {
                        throw new IllegalArgumentException("embedding inputs decode one sequence at a time");
                    }
                    FloatTensor e = tokens.apply(next);
                    return RunRequest.embeddings(e.rank() == 2 ? new FloatTensor(new long[]{1, e.dim(0), e.dim(1)}, e.data()) : e);
                }
            };
        }
    }

    private GreedyDecoder() {
    }

    /** The way this model decodes: with the KV cache when it has past inputs and present outputs for them all. */
    public static Way way(HookedModel model) {
        return pastPairs(model).isEmpty() ? Way.FULL_RERUN : Way.KV_CACHE;
    }

    /** One line for reports and progress: how generation ran on this model. */
    public static String describe(Way way) {
        return way == Way.KV_CACHE ? "KV cache: the prompt runs once, then one-token steps on the past key/values"
                : "no past key/value inputs: every generated token re-runs the whole sequence (slower; export the decoder "
                + "with past key/values, assets/export/export_hf.py --past on)";
    }

    /**
     * Past input name to the present output that feeds it, in graph order (past_key_values.i.key to present.i.key);
     * empty when the model has no past inputs, or its present outputs do not pair up with them.
     */
    static Map<String, String> pastPairs(HookedModel model) {
        List<String> past = model.inputs().stream()
                .filter(i -> i.role() == InputRole.PAST_KEY || i.role() == InputRole.PAST_VALUE).map(ModelInput::name).toList();
        List<String> present = model.model().outputNames().stream().filter(n -> n.startsWith("present")).toList();
        if (past.isEmpty() || past.size() != present.size()) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < past.size(); i++) {
            out.put(past.get(i), present.get(i));
        }
        return out;
    }

    /**
     * Decodes up to {@code maxNew} tokens greedily after {@code prompt} for every element of the batch.
     *
     * @param session       the session whose taps every run carries (runs go through the model's reading session with
     *                      those taps and the interventions' hook families)
     * @param interventions empty, one for all elements, or one per element (the batch size)
     * @param logits        the logits output
     * @param eos           stop token, or null; decoding stops when every element has produced it (the EOS is
     *                      included in the returned tokens; later tokens of an element that stopped are EOS)
     * @param way           {@link Way#KV_CACHE} needs past inputs (see {@link #way}); FULL_RERUN works for any decoder
     * @param listener      called after every step with the run and the query row of the new token's prediction
     * @return the generated tokens per element
     */
    public static long[][] decode(HookedModel model, HookedSession session, Inputs inputs, long[] prompt,
                                  List<Intervention> interventions, String logits, int maxNew, Long eos, Way way,
                                  Listener listener, CancelToken cancel) {
        int batch = Math.max(1, interventions.size());
        Map<String, String> pairs = way == Way.KV_CACHE ? pastPairs(model) : Map.of();
        if (way == Way.KV_CACHE && pairs.isEmpty()) {
            throw new IllegalArgumentException(model.manifest().name() + " has no past key/value inputs to decode with a cache");
        }
        // logits only where read: each run computes them at the last position alone (gathered before the LM head)
        HookSet needed = HookSet.NONE;
        for (Intervention i : interventions) {
            needed = needed.union(i.hooks());
        }
        HookedSession reader = model.readingSession(0, session.taps(), needed, logits);
        long[][] seqs = new long[batch][];
        Arrays.fill(seqs, prompt.clone());
        List<long[]> generated = new ArrayList<>();
        boolean[] done = new boolean[batch];
        // the cache stays in ONNX Runtime between steps: each step feeds the previous step's present tensors as its past
        // and the cache it read is closed once the step has run (the last one when decoding ends or fails)
        KvCache cache = null;
        try {
            for (int step = 0; step < maxNew; step++) {
                cancel.check();
                RunRequest req = cache == null ? inputs.full(way == Way.KV_CACHE ? new long[][]{prompt} : seqs)
                        : inputs.step(generated.get(generated.size() - 1));
                KvCache past = cache;
                if (past != null && past.batchSize() != req.batchSize()) {
                    req = req.withPast(repeatAll(past.toFloats(), req.batchSize()));
                    past = null;
                }
                CompiledSession.Cached ran = step(reader, req, past, pairs, logits, interventions, batch, cancel);
                if (cache != null) {
                    cache.close();
                }
                cache = ran.cache();
                if (next(ran.result(), step, req.length() - 1, logits, batch, done, eos, seqs, generated, listener)) {
                    break;
                }
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
        long[][] out = new long[batch][generated.size()];
        for (int s = 0; s < generated.size(); s++) {
            for (int b = 0; b < batch; b++) {
                out[b][s] = generated.get(s)[b];
            }
        }
        return out;
    }

    /** One run: logits at the last position only; the present outputs (when decoding with the cache) kept in ORT. */
    private static CompiledSession.Cached step(HookedSession reader, RunRequest req, KvCache past, Map<String, String> pairs,
                                               String logits, List<Intervention> interventions, int batch, CancelToken cancel) {
        int row = req.length() - 1;
        req = req.withOutputs(Set.of(logits)).withStates(Map.of(OutputGather.POSITIONS, new FloatTensor(new long[]{1, 1}, new float[]{row})));
        if (!interventions.isEmpty() && !(interventions.size() == 1 && interventions.get(0).isEmpty())) {
            req = req.withInterventions(interventions);
        } else if (batch > 1 && req.batchSize() == 1) {
            req = req.repeat(batch);
        }
        return reader.run(req, past, pairs, cancel);
    }

    /** Picks the next tokens from a run, tells the listener; true when every element has produced EOS. */
    private static boolean next(RunResult r, int step, int row, String logits, int batch, boolean[] done, Long eos, long[][] seqs,
                                List<long[]> generated, Listener listener) {
        FloatTensor lg = r.output(logits);
        long[] next = new long[batch];
        for (int b = 0; b < batch; b++) {
            next[b] = done[b] ? eos : argmax(lg, lg.dim(0) == 1 ? 0 : b, 0);
        }
        generated.add(next);
        listener.onStep(new Step(step, r, row, 0, next.clone()));
        boolean all = true;
        for (int b = 0; b < batch; b++) {
            done[b] |= eos != null && next[b] == eos;
            all &= done[b];
            seqs[b] = Arrays.copyOf(seqs[b], seqs[b].length + 1);
            seqs[b][seqs[b].length - 1] = next[b];
        }
        return all;
    }

    private static Map<String, FloatTensor> repeatAll(Map<String, FloatTensor> past, int batch) {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        past.forEach((name, p) -> out.put(name, p.dim(0) == batch ? p : repeat(p, batch)));
        return out;
    }

    private static FloatTensor repeat(FloatTensor t, int times) {
        long[] shape = t.shape().clone();
        shape[0] = times;
        float[] data = new float[t.data().length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(t.data(), 0, data, i * t.data().length, t.data().length);
        }
        return new FloatTensor(shape, data);
    }

    /** First index of the largest logit in row q of element b, as torch's argmax picks it. */
    public static long argmax(FloatTensor logits, int b, int q) {
        int v = logits.dim(2);
        int base = logits.offset(b, q, 0);
        float[] d = logits.data();
        int best = 0;
        for (int i = 1; i < v; i++) {
            if (d[base + i] > d[base + best]) {
                best = i;
            }
        }
        return best;
    }
}
