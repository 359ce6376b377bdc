package org.headscope.app.patching;

import org.headscope.analysis.Patching;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapSet;

import java.util.Set;

/**
 * The clean/corrupted pair of the patching panels: the workbench's prompt is the clean one; the corrupted one is a
 * whole prompt, or {@code FROM->TO} (the first whole word FROM of the prompt replaced by TO). Answers are
 * {@code A,B} or {@code auto}: the model's top token on each prompt.
 */
public final class PromptPair {
    private PromptPair() {
    }

    public static String corrupted(String prompt, String spec) {
        String s = spec == null ? "" : spec.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("give the corrupted prompt (a whole prompt of the same length, or FROM->TO to replace a word "
                    + "of the prompt, e.g. quartz->copper)");
        }
        int arrow = s.indexOf("->");
        if (arrow < 0) {
            return s;
        }
        String from = s.substring(0, arrow).strip();
        String to = s.substring(arrow + 2).strip();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?<!\\S)" + java.util.regex.Pattern.quote(from) + "(?!\\S)").matcher(prompt);
        if (from.isEmpty() || !m.find()) {
            throw new IllegalArgumentException("the prompt has no word '" + from + "' to replace");
        }
        return prompt.substring(0, m.start()) + to + prompt.substring(m.end());
    }

    /** The setup for a prompt pair; answers {@code auto} take each prompt's top next token. */
    public static Patching.Setup setup(HookedModel model, String clean, String corrupted, String answers, CancelToken cancel) {
        HsTokenizer tk = model.requireTokenizer();
        long[] c = tk.encode(clean).ids();
        long[] x = tk.encode(corrupted).ids();
        if (c.length != x.length) {
            throw new IllegalArgumentException("the prompt has " + c.length + " tokens and the corrupted one " + x.length
                    + "; patching needs the same length");
        }
        long a;
        long b;
        if (answers == null || answers.isBlank() || answers.strip().equals("auto")) {
            a = top(model, c, cancel);
            b = top(model, x, cancel);
            if (a == b) {
                throw new IllegalArgumentException("the model's top answer is '" + tk.tokenString(a) + "' on both prompts; name the answers (A,B)");
            }
        } else {
            String[] parts = answers.split(",");
            if (parts.length != 2) {
                throw new IllegalArgumentException("answers: write A,B or auto");
            }
            a = first(tk, parts[0]);
            b = first(tk, parts[1]);
        }
        return new Patching.Setup(c, x, a, b);
    }

    static long first(HsTokenizer tk, String word) {
        long[] ids = tk.encodePlain(word.strip());
        if (ids.length == 0) {
            throw new IllegalArgumentException("answer '" + word + "' has no tokens");
        }
        return ids[0];
    }

    /** The model's most likely next token after {@code ids}. */
    public static long top(HookedModel model, long[] ids, CancelToken cancel) {
        return org.headscope.analysis.LogitLens.topNext(model, ids, cancel);
    }
}
