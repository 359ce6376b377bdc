package org.headscope.app.attention;

import java.util.List;
import java.util.Locale;

import org.headscope.analysis.Needle;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.GreedyDecoder;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
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
     * Greedy decoding of {@code steps} tokens after the prompt through {@link GreedyDecoder}, batched over [clean, edit]
     * when an edit is given (the edit's hooks applied at every step). Text decoders only; the caller checks the model has logits.
     */
    public static NeedleAnswer generate(HookedModel model, Needle needle, long[] prompt, Intervention edit, CancelToken cancel) {
        HsTokenizer tok = model.requireTokenizer();
        int answerTokens = Math.max(1, tok.encodePlain(needle.answer()).length);
        Integer max = model.manifest().maxLength();
        int steps = max == null ? answerTokens : Math.max(1, Math.min(answerTokens, max - prompt.length + 1));
        boolean edited = edit != null && !edit.isEmpty();
        HookSet hooks = edited ? edit.hooks() : HookSet.NONE;
        long[][] out = GreedyDecoder.decode(model, model.session(TapSet.NONE, hooks), GreedyDecoder.Inputs.tokens(), prompt,
                edited ? List.of(Intervention.NONE, edit) : List.of(), model.requireLogits(), steps, null, GreedyDecoder.way(model),
                step -> { }, cancel);
        String clean = tok.decode(out[0]);
        String after = edited ? tok.decode(out[1]) : null;
        return new NeedleAnswer(needle.answer(), clean, after, steps, answerTokens);
    }
}
