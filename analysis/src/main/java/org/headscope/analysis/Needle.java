package org.headscope.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One needle of a needle-in-a-haystack test: the sentence inserted into the haystack, the question asked after
 * it, and the answer (the reference's {@code real_needle}: the part of the needle the model must copy).
 */
public record Needle(String needle, String question, String answer) {
    public Needle {
        if (needle == null || question == null || answer == null || needle.isBlank() || question.isBlank() || answer.isBlank()) {
            throw new IllegalArgumentException("a needle needs non-empty \"needle\", \"question\" and \"answer\"");
        }
        if (!needle.toLowerCase(Locale.ROOT).contains(answer.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("needle \"" + needle + "\" does not contain its answer \"" + answer
                    + "\"; the answer must be copied from the needle");
        }
    }

    /**
     * Which tokens lie inside an occurrence of one of the needle sentences in a text (case-insensitive), from the
     * tokens' character spans; tokens without a span (added tokens such as BOS) are never marked.
     */
    public static boolean[] tokensInside(String text, int[][] spans, List<Needle> needles) {
        boolean[] inside = new boolean[spans.length];
        String lower = text.toLowerCase(Locale.ROOT);
        for (Needle n : needles) {
            String sentence = n.needle().toLowerCase(Locale.ROOT).strip();
            for (int at = lower.indexOf(sentence); at >= 0; at = lower.indexOf(sentence, at + 1)) {
                int end = at + sentence.length();
                for (int t = 0; t < spans.length; t++) {
                    if (spans[t][0] >= at && spans[t][1] <= end && spans[t][1] > spans[t][0]) {
                        inside[t] = true;
                    }
                }
            }
        }
        return inside;
    }

    /** Reads a JSON-lines file of {@code {"needle","question","answer"}} objects ({@code real_needle} is accepted for answer). */
    public static List<Needle> read(Path jsonl) {
        ObjectMapper json = new ObjectMapper();
        List<Needle> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(jsonl);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read needles " + jsonl + ": " + e.getMessage(), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty()) {
                continue;
            }
            try {
                JsonNode n = json.readTree(line);
                JsonNode answer = n.has("answer") ? n.get("answer") : n.get("real_needle");
                out.add(new Needle(text(n.get("needle")), text(n.get("question")), text(answer)));
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException(jsonl.getFileName() + " line " + (i + 1) + ": " + e.getMessage()
                        + " (each line must be {\"needle\": ..., \"question\": ..., \"answer\": ...})", e);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(jsonl + " holds no needles");
        }
        return List.copyOf(out);
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText().trim();
    }

    /** Character range of the answer inside the needle sentence. */
    int[] answerRange() {
        int at = needle.toLowerCase(Locale.ROOT).lastIndexOf(answer.toLowerCase(Locale.ROOT));
        return new int[]{at, at + answer.length()};
    }
}
