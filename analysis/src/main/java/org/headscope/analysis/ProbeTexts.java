package org.headscope.analysis;

import org.headscope.hooks.HsTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Prompt sets for scans: a haystack's sentences joined into probe texts, or a user's file with one prompt per line.
 * The haystack is the caller's (the app passes the bundled one), so the analyses need no bundled data.
 */
public final class ProbeTexts {
    private ProbeTexts() {
    }

    /** Sentences of a haystack text file, one per line. */
    public static List<String> sentences(Path haystack) {
        try {
            return Files.readAllLines(haystack, StandardCharsets.UTF_8).stream()
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code count} probe texts, each made of consecutive haystack sentences (starting {@code stride} sentences
     * apart) until it holds at least {@code tokens} tokens.
     */
    public static List<String> probes(List<String> sentences, HsTokenizer tokenizer, int tokens, int count, int stride) {
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("the haystack holds no sentences");
        }
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
