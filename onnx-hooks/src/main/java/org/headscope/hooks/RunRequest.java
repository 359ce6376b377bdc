package org.headscope.hooks;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One forward pass: token ids (or embeddings), optional mask, positions and past key/values, a batch of
 * interventions (one per batch element, or one for all), and which model outputs to fetch.
 *
 * @param inputIds      [B,T] token ids, or null when the model takes embeddings
 * @param attentionMask [B,P+T], or null for all ones
 * @param positionIds   [B,T], or null for P..P+T-1
 * @param tokenTypeIds  [B,T] segment ids for BERT-style encoders, or null for zeros
 * @param inputsEmbeds  [B,T,D] for decoders fed embeddings (vision-language models), else null
 * @param keySpan       [B or 1, K] marks keys for the span-mass tap, or null
 * @param past          past key/value inputs by name, or empty
 * @param states        intermediate tensors fed in place of computing them (the residual stream a layer-suffix
 *                      session starts from), by tensor name, or empty
 * @param interventions empty (no edits), one (applied to every element), or one per batch element
 * @param outputs       model outputs to fetch (taps always come); null fetches every non-cache output
 */
public record RunRequest(LongTensor inputIds, LongTensor attentionMask, LongTensor positionIds, LongTensor tokenTypeIds,
                         FloatTensor inputsEmbeds,
                         FloatTensor keySpan, Map<String, FloatTensor> past, Map<String, FloatTensor> states,
                         List<Intervention> interventions, Set<String> outputs) {
    public RunRequest {
        past = past == null ? Map.of() : Map.copyOf(past);
        states = states == null ? Map.of() : Map.copyOf(states);
        interventions = interventions == null ? List.of() : List.copyOf(interventions);
        outputs = outputs == null ? null : Set.copyOf(outputs);
        if (inputIds == null && inputsEmbeds == null) {
            throw new IllegalArgumentException("a run needs token ids or input embeddings");
        }
    }

    /** One sequence of token ids. */
    public static RunRequest tokens(long... ids) {
        return new RunRequest(new LongTensor(new long[]{1, ids.length}, ids.clone()), null, null, null, null, null, null, null, null, null);
    }

    /** Several sequences of the same length. */
    public static RunRequest batch(long[][] ids) {
        int t = ids[0].length;
        long[] flat = new long[ids.length * t];
        for (int b = 0; b < ids.length; b++) {
            if (ids[b].length != t) {
                throw new IllegalArgumentException("sequences in a batch must have equal length; pad them and pass a mask");
            }
            System.arraycopy(ids[b], 0, flat, b * t, t);
        }
        return new RunRequest(new LongTensor(new long[]{ids.length, t}, flat), null, null, null, null, null, null, null, null, null);
    }

    public static RunRequest embeddings(FloatTensor embeds) {
        return new RunRequest(null, null, null, null, embeds, null, null, null, null, null);
    }

    public int batchSize() {
        return inputIds != null ? inputIds.dim(0) : inputsEmbeds.dim(0);
    }

    public int length() {
        return inputIds != null ? inputIds.dim(1) : inputsEmbeds.dim(1);
    }

    public RunRequest withInterventions(List<Intervention> list) {
        return new RunRequest(inputIds, attentionMask, positionIds, tokenTypeIds, inputsEmbeds, keySpan, past, states, list, outputs);
    }

    public RunRequest withIntervention(Intervention i) {
        return withInterventions(i == null || i.isEmpty() ? List.of() : List.of(i));
    }

    public RunRequest withMask(LongTensor mask) {
        return new RunRequest(inputIds, mask, positionIds, tokenTypeIds, inputsEmbeds, keySpan, past, states, interventions, outputs);
    }

    public RunRequest withPositions(LongTensor positions) {
        return new RunRequest(inputIds, attentionMask, positions, tokenTypeIds, inputsEmbeds, keySpan, past, states, interventions, outputs);
    }

    public RunRequest withTokenTypes(LongTensor types) {
        return new RunRequest(inputIds, attentionMask, positionIds, types, inputsEmbeds, keySpan, past, states, interventions, outputs);
    }

    public RunRequest withPast(Map<String, FloatTensor> pastValues) {
        return new RunRequest(inputIds, attentionMask, positionIds, tokenTypeIds, inputsEmbeds, keySpan, pastValues, states, interventions, outputs);
    }

    public RunRequest withStates(Map<String, FloatTensor> values) {
        return new RunRequest(inputIds, attentionMask, positionIds, tokenTypeIds, inputsEmbeds, keySpan, past, values, interventions, outputs);
    }

    public RunRequest withKeySpan(FloatTensor span) {
        return new RunRequest(inputIds, attentionMask, positionIds, tokenTypeIds, inputsEmbeds, span, past, states, interventions, outputs);
    }

    public RunRequest withOutputs(Set<String> names) {
        return new RunRequest(inputIds, attentionMask, positionIds, tokenTypeIds, inputsEmbeds, keySpan, past, states, interventions, names);
    }

    /** Copies this request B times along the batch axis, for a batch of B interventions on one input. */
    public RunRequest repeat(int times) {
        if (batchSize() != 1) {
            throw new IllegalStateException("only a single sequence can be repeated");
        }
        return new RunRequest(repeatL(inputIds, times), repeatL(attentionMask, times), repeatL(positionIds, times),
                repeatL(tokenTypeIds, times), repeatF(inputsEmbeds, times), keySpan, repeatPast(past, times),
                repeatPast(states, times), interventions, outputs);
    }

    private static Map<String, FloatTensor> repeatPast(Map<String, FloatTensor> past, int times) {
        java.util.Map<String, FloatTensor> out = new java.util.HashMap<>();
        past.forEach((k, v) -> out.put(k, repeatF(v, times)));
        return out;
    }

    private static LongTensor repeatL(LongTensor t, int times) {
        if (t == null) {
            return null;
        }
        long[] shape = t.shape().clone();
        shape[0] = times;
        long[] data = new long[t.data().length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(t.data(), 0, data, i * t.data().length, t.data().length);
        }
        return new LongTensor(shape, data);
    }

    private static FloatTensor repeatF(FloatTensor t, int times) {
        if (t == null) {
            return null;
        }
        long[] shape = t.shape().clone();
        shape[0] = times;
        float[] data = new float[t.data().length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(t.data(), 0, data, i * t.data().length, t.data().length);
        }
        return new FloatTensor(shape, data);
    }
}
