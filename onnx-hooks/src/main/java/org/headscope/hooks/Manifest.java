package org.headscope.hooks;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The {@code headscope.json} beside a model: which file is which, input roles, special tokens, and for
 * vision-language models how image embeddings enter the sequence. Optional; inferred when absent.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(String format, String name, String kind, String architecture, String model, String tokenizer,
                       Map<String, String> inputs, Map<String, String> outputs,
                       Long bos, Long eos, Long pad, Integer maxLength,
                       Retrieval retrieval, Vision vision) {

    public static final String FILE = "headscope.json";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Retrieval(String template, String sentenceEnd) {
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Vision(String model, String pixelInput, String output, String embed, String embedInput, String embedOutput,
                         Integer imageSize, List<Float> mean, List<Float> std, Integer imageStart, Integer imageTokens,
                         List<Integer> grid, Long imageTokenId) {
    }

    public static Manifest read(Path file) {
        try {
            return new ObjectMapper().readValue(Files.readString(file), Manifest.class);
        } catch (IOException e) {
            throw new ModelException("Manifest " + file + " cannot be read: " + e.getMessage(),
                    "Fix the JSON (see README, 'Opening your own model') or delete it to let HeadScope infer the roles.", e);
        }
    }

    /** A manifest for a bare .onnx file: roles inferred from input names, tokenizer.json beside it if present. */
    public static Manifest inferred(Path modelFile) {
        Path folder = modelFile.getParent();
        String tok = null;
        for (String candidate : List.of("tokenizer.json", stem(modelFile) + "-tokenizer.json")) {
            if (Files.isRegularFile(folder.resolve(candidate))) {
                tok = candidate;
                break;
            }
        }
        return new Manifest("headscope-manifest/1", stem(modelFile), null, null, modelFile.getFileName().toString(), tok,
                Map.of(), Map.of(), null, null, null, null, null, null);
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        return n.endsWith(".onnx") ? n.substring(0, n.length() - 5) : n;
    }

    public boolean isVisionLanguage() {
        return vision != null;
    }
}
