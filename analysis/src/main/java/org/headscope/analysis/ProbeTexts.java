package org.headscope.analysis;

import org.headscope.assets.BundledModels;
import org.headscope.hooks.HsTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Prompt sets for scans: the bundled haystack's sentences joined into probe texts, or a user's file with one
 * prompt per line.
 */
public final class ProbeTexts {
    private ProbeTexts() {
    }

    /** Sentences of the bundled haystack text, one per line. */
    public static List<String> haystackSentences() {
        try {
            return Files.readAllLines(BundledModels.needles().resolve("haystack.txt"), StandardCharsets.UTF_8).stream()
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code count} probe texts, each made of consecutive haystack sentences (starting {@code stride} sentences
     * apart) until it holds at least {@code tokens} tokens.
     */
    public static List<String> haystackProbes(HsTokenizer tokenizer, int tokens, int count, int stride) {
        List<String> sentences = haystackSentences();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder b = new StringBuilder();
            int j = (i * stride) % sentences.size();
            while (tokenizer.encode(b.toString()).size() < tokens && b.length() < 100_000) {
                b.append(b.isEmpty() ? "" : " ").append(sentences.get(j));
                j = (j + 1) % sentences.size();
            }
            out.add(b.toString());
        }
        return out;
    }

    /** Non-blank lines of a text file, one prompt each. */
    public static List<String> lines(Path file) throws IOException {
        List<String> out = Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip)
                .filter(s -> !s.isEmpty()).toList();
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no prompts; write one prompt per line");
        }
        return out;
    }
}
