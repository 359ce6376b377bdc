package org.headscope.hooks;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face tokenizer.json read offline through DJL. Gives ids, token strings and character spans in Java
 * {@code String} indices (DJL reports code points). When the manifest names a BOS id that the tokenizer does not
 * add itself, it is prepended.
 */
public final class HsTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final Long bos;

    /** Token ids, their strings, and for each token the [start, end) character span in the text (-1 for added tokens). */
    public record Tokens(long[] ids, String[] strings, int[][] spans) {
        public int size() {
            return ids.length;
        }
    }

    private HsTokenizer(HuggingFaceTokenizer tokenizer, Path file, Long bos) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.bos = bos;
    }

    /** The file, when it exists; else the error that says where the tokenizer belongs. */
    public static Path requireFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelException("Tokenizer file " + file + " is missing.",
                    "Copy the model's tokenizer.json beside it (export_hf.py does this), or pass token ids with --ids.");
        }
        return file;
    }

    public static HsTokenizer load(Path file, Long bos) {
        requireFile(file);
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(true)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
            return new HsTokenizer(t, file, bos);
        } catch (IOException | RuntimeException e) {
            throw new ModelException("Tokenizer " + file.getFileName() + " cannot be read: " + e.getMessage(),
                    "Use the tokenizer.json saved with the model (tokenizer.save_pretrained).", e);
        }
    }

    public Path file() {
        return file;
    }

    public Tokens encode(String text) {
        Encoding e = tokenizer.encode(text);
        long[] ids = e.getIds();
        String[] strings = e.getTokens();
        CharSpan[] cs = e.getCharTokenSpans();
        int[][] spans = new int[ids.length][];
        int[] charAt = charIndices(text);
        for (int i = 0; i < ids.length; i++) {
            CharSpan s = cs == null || i >= cs.length ? null : cs[i];
            spans[i] = s == null ? new int[]{-1, -1} : new int[]{charIndex(text, charAt, s.getStart()), charIndex(text, charAt, s.getEnd())};
        }
        if (bos != null && (ids.length == 0 || ids[0] != bos)) {
            long[] ids2 = new long[ids.length + 1];
            ids2[0] = bos;
            System.arraycopy(ids, 0, ids2, 1, ids.length);
            String[] s2 = new String[ids.length + 1];
            s2[0] = tokenString(bos);
            System.arraycopy(strings, 0, s2, 1, strings.length);
            int[][] sp2 = new int[ids.length + 1][];
            sp2[0] = new int[]{-1, -1};
            System.arraycopy(spans, 0, sp2, 1, spans.length);
            return new Tokens(ids2, s2, sp2);
        }
        return new Tokens(ids, strings, spans);
    }

    /** Ids of the text without special tokens (no BOS, no [CLS]/[SEP]), for splicing into longer prompts. */
    public long[] encodePlain(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    public String decode(long... ids) {
        return tokenizer.decode(ids, true);
    }

    public String tokenString(long id) {
        String s = tokenizer.decode(new long[]{id}, false);
        return s.isEmpty() ? "<" + id + ">" : s;
    }

    /**
     * The Java char index of every code-point offset of the text (one pass), or null when every code point is one char
     * (no surrogate pairs), where the two offsets are equal.
     */
    static int[] charIndices(String text) {
        int cps = text.codePointCount(0, text.length());
        if (cps == text.length()) {
            return null;
        }
        int[] at = new int[cps + 1];
        int c = 0;
        for (int cp = 0; cp < cps; cp++) {
            at[cp] = c;
            c += Character.charCount(text.codePointAt(c));
        }
        at[cps] = text.length();
        return at;
    }

    /** Converts a code-point offset into a Java char index, through the table of {@link #charIndices}. */
    static int charIndex(String text, int[] charAt, int codePoints) {
        int cp = Math.max(0, codePoints);
        if (charAt == null) {
            return Math.min(cp, text.length());
        }
        return cp >= charAt.length - 1 ? text.length() : charAt[cp];
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "HsTokenizer[" + file.getFileName() + (bos == null ? "" : ", bos " + bos) + "]";
    }
}
