package org.headscope.analysis;

import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Manifest;
import org.headscope.hooks.ModelException;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds the needle-in-a-haystack prompts of a retrieval scan with the model's own tokenizer, as the reference
 * ({@code insert_needle} of nightdessert/Retrieval_Head) does: the haystack is trimmed to the length budget, the
 * insertion point is {@code int(n * depth / 100)} and moves back until the token before it ends a sentence (a token
 * whose text ends with the sentence-end mark, found through the tokenizer's own spans rather than fixed ids), the
 * needle goes there ({@code depth = 100} appends it), and the prompt is the template filled with the haystack and
 * the question. The answer span is the set of prompt tokens covering the answer inside the needle.
 */
final class NeedleEpisodes {
    /** The reference's prompt for models whose manifest gives no retrieval template. */
    static final String DEFAULT_TEMPLATE = "{haystack}\nBased on the content of the book, Question: {question}\nAnswer:";
    static final String DEFAULT_SENTENCE_END = ".";

    /**
     * One test of the grid.
     *
     * @param prompt      prompt token ids (with BOS when the model has one)
     * @param answerStart first prompt index of the answer inside the needle
     * @param answerEnd   one past the last prompt index of the answer
     */
    record Episode(int needleIndex, int length, int depth, long[] prompt, int answerStart, int answerEnd) {
        long[] answer() {
            return java.util.Arrays.copyOfRange(prompt, answerStart, answerEnd);
        }

        int answerLength() {
            return answerEnd - answerStart;
        }
    }

    private final HsTokenizer tokenizer;
    private final String template;
    private final String sentenceEnd;
    private final String haystackText;
    private final int[][] spans;
    private final boolean[] ends;
    private final List<Integer> sentenceStarts = new ArrayList<>();

    NeedleEpisodes(HookedModel model, String haystack, int longest) {
        this.tokenizer = model.requireTokenizer();
        Manifest.Retrieval r = model.manifest().retrieval();
        this.template = r != null && r.template() != null ? r.template() : DEFAULT_TEMPLATE;
        this.sentenceEnd = r != null && r.sentenceEnd() != null ? r.sentenceEnd() : DEFAULT_SENTENCE_END;
        if (!template.contains("{haystack}") || !template.contains("{question}")
                || template.indexOf("{haystack}") > template.indexOf("{question}")) {
            throw new ModelException("The retrieval template \"" + template + "\" must contain {haystack} and then {question}.",
                    "Fix \"retrieval\".\"template\" in the model's headscope.json.");
        }
        String base = haystack.replaceAll("\\s+", " ").trim();
        if (base.isEmpty()) {
            throw new IllegalArgumentException("the haystack text is empty");
        }
        StringBuilder text = new StringBuilder(base);
        HsTokenizer.Tokens t = content(tokenizer.encode(text.toString()));
        while (t.size() < 2 * longest + 8) {
            text.append(' ').append(base);
            t = content(tokenizer.encode(text.toString()));
        }
        this.haystackText = text.toString();
        this.spans = t.spans();
        this.ends = new boolean[t.size()];
        sentenceStarts.add(0);
        for (int i = 0; i < t.size(); i++) {
            ends[i] = haystackText.substring(spans[i][0], spans[i][1]).strip().endsWith(sentenceEnd);
            if (ends[i] && i + 1 < t.size()) {
                sentenceStarts.add(i + 1);
            }
        }
    }

    String template() {
        return template;
    }

    String sentenceEnd() {
        return sentenceEnd;
    }

    /** Tokens that come from the text (special tokens such as BOS or [SEP] dropped). */
    private static HsTokenizer.Tokens content(HsTokenizer.Tokens t) {
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            if (t.spans()[i][0] >= 0 && t.spans()[i][1] > t.spans()[i][0]) {
                keep.add(i);
            }
        }
        long[] ids = new long[keep.size()];
        String[] s = new String[keep.size()];
        int[][] sp = new int[keep.size()][];
        for (int j = 0; j < keep.size(); j++) {
            ids[j] = t.ids()[keep.get(j)];
            s[j] = t.strings()[keep.get(j)];
            sp[j] = t.spans()[keep.get(j)];
        }
        return new HsTokenizer.Tokens(ids, s, sp);
    }

    /**
     * The episode for one needle, total length and depth: the prompt plus the answer and one more token fit in
     * {@code length} tokens. Each needle reads the haystack from its own sentence, so tests do not share one context.
     */
    Episode build(int needleIndex, Needle needle, int length, int depth) {
        int answerTokens = content(tokenizer.encode(needle.answer())).size();
        int fixed = tokenizer.encode(fill(needle.needle(), needle.question())).size();
        int budget = length - fixed - answerTokens - 1;
        int start = sentenceStarts.get((needleIndex * 17) % sentenceStarts.size());
        if (start + budget > spans.length) {
            start = 0;
        }
        for (int attempt = 0; attempt < 8; attempt++) {
            if (budget < 1) {
                throw new IllegalArgumentException("length " + length + " leaves no room for a haystack around needle \""
                        + needle.needle() + "\" (" + fixed + " tokens of needle, question and template); use longer lengths");
            }
            Episode e = assemble(needleIndex, needle, length, depth, start, budget);
            int excess = e.prompt().length + e.answerLength() + 1 - length;
            if (excess <= 0) {
                return e;
            }
            budget -= excess;
        }
        throw new IllegalStateException("could not fit needle " + needleIndex + " into " + length + " tokens");
    }

    private Episode assemble(int needleIndex, Needle needle, int length, int depth, int start, int budget) {
        int end = start + budget;
        int insert;
        if (depth >= 100) {
            insert = end;
        } else {
            insert = start + (int) (budget * (depth / 100.0));
            while (insert > start && !ends[insert - 1]) {
                insert--;
            }
        }
        String before = insert > start ? haystackText.substring(spans[start][0], spans[insert - 1][1]) : "";
        String after = insert < end ? haystackText.substring(spans[insert][0], spans[end - 1][1]) : "";
        StringBuilder context = new StringBuilder(before);
        if (!before.isEmpty()) {
            context.append(' ');
        }
        int needleAt = context.length();
        context.append(needle.needle());
        if (!after.isEmpty()) {
            context.append(' ').append(after);
        }
        int haystackAt = template.indexOf("{haystack}");
        String prompt = template.substring(0, haystackAt) + context
                + template.substring(haystackAt + "{haystack}".length()).replace("{question}", needle.question());
        int[] range = needle.answerRange();
        int a0 = haystackAt + needleAt + range[0];
        int a1 = haystackAt + needleAt + range[1];
        HsTokenizer.Tokens t = tokenizer.encode(prompt);
        int first = -1;
        int last = -1;
        for (int i = 0; i < t.size(); i++) {
            int[] s = t.spans()[i];
            if (s[0] >= 0 && s[0] < a1 && s[1] > a0) {
                if (first < 0) {
                    first = i;
                }
                last = i;
            }
        }
        if (first < 0) {
            throw new IllegalStateException("the answer of needle " + needleIndex + " has no tokens in the prompt");
        }
        return new Episode(needleIndex, length, depth, t.ids(), first, last + 1);
    }

    private String fill(String haystack, String question) {
        return template.replace("{haystack}", haystack).replace("{question}", question);
    }
}
