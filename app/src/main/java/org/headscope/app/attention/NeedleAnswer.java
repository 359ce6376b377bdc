package org.headscope.app.attention;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.headscope.analysis.Needle;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapSet;

/**
 * The greedy answer of a needle episode on screen: when the prompt holds a bundled needle sentence and its question,
 * the model's greedy continuation of as many tokens as the answer has, for the clean model and (when an edit is
 * active) the edited one, each compared with the needle's answer.
 *
 * @param expected     the needle's answer
 * @param clean        the clean model's greedy continuation
 * @param ablated      the edited model's greedy continuation, or null without an edit
 * @param tokens       how many tokens were generated
 * @param answerTokens how many tokens the answer has
 */
public record NeedleAnswer(String expected, String clean, String ablated, int tokens, int answerTokens) {
    /** Whether the clean continuation is the answer (its first {@code tokens} words when the model's length cut it). */
    public boolean cleanRight() {
        return same(clean, expected);
    }

    public boolean ablatedRight() {
        return ablated != null && same(ablated, expected);
    }

    /** Whether the whole answer was generated (false when the prompt left room for only part of it). */
    public boolean complete() {
        return tokens >= answerTokens;
    }

    private boolean same(String a, String b) {
        String x = norm(a);
        String y = norm(b);
        if (complete()) {
            return x.equals(y);
        }
        return !x.isEmpty() && (y.equals(x) || y.startsWith(x + " "));
    }

    private static String norm(String s) {
        return s.trim().replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
    }

    /** The needle of a bundled set whose sentence and question the prompt both contain, or null. */
    public static Needle find(String prompt, List<Needle> needles) {
        if (prompt == null) {
            return null;
        }
        String p = prompt.replaceAll("\\s+", " ");
        for (Needle n : needles) {
            if (p.contains(n.needle().replaceAll("\\s+", " ").trim()) && p.contains(n.question().replaceAll("\\s+", " ").trim())) {
                return n;
            }
        }
        return null;
    }

    /**
     * Greedy decoding of {@code steps} tokens after the prompt, batched over [clean, edit] when an edit is given (the
     * edit's hooks applied at every step). Text decoders only; the caller checks the model has logits.
     */
    public static NeedleAnswer generate(HookedModel model, Needle needle, long[] prompt, Intervention edit, CancelToken cancel) {
        HsTokenizer tok = model.requireTokenizer();
        int answerTokens = Math.max(1, tok.encodePlain(needle.answer()).length);
        Integer max = model.manifest().maxLength();
        int steps = max == null ? answerTokens : Math.max(1, Math.min(answerTokens, max - prompt.length + 1));
        boolean edited = edit != null && !edit.isEmpty();
        int batch = edited ? 2 : 1;
        List<List<Long>> out = new ArrayList<>();
        long[][] ids = new long[batch][];
        for (int b = 0; b < batch; b++) {
            ids[b] = prompt.clone();
            out.add(new ArrayList<>());
        }
        for (int s = 0; s < steps; s++) {
            RunRequest request = RunRequest.batch(ids);
            var result = edited
                    ? model.session(TapSet.NONE, edit.hooks()).run(request.withInterventions(List.of(Intervention.NONE, edit)), cancel)
                    : model.session(TapSet.NONE, HookSet.NONE).run(request, cancel);
            FloatTensor logits = result.output(model.requireLogits());
            int t = logits.dim(1);
            for (int b = 0; b < batch; b++) {
                float[] row = logits.slice(b, t - 1).data();
                int best = 0;
                for (int i = 1; i < row.length; i++) {
                    if (row[i] > row[best]) {
                        best = i;
                    }
                }
                out.get(b).add((long) best);
                long[] next = java.util.Arrays.copyOf(ids[b], ids[b].length + 1);
                next[next.length - 1] = best;
                ids[b] = next;
            }
        }
        String clean = tok.decode(out.get(0).stream().mapToLong(Long::longValue).toArray());
        String after = edited ? tok.decode(out.get(1).stream().mapToLong(Long::longValue).toArray()) : null;
        return new NeedleAnswer(needle.answer(), clean, after, steps, answerTokens);
    }
}
