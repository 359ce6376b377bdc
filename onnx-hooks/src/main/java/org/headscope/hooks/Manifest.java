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
                       Retrieval retrieval, Vision vision, String sha256) {

    public static final String FILE = "headscope.json";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Retrieval(String template, String sentenceEnd) {
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Vision(String model, String pixelInput, String output, String embed, String embedInput, String embedOutput,
                         Integer imageSize, List<Float> mean, List<Float> std, Integer imageStart, Integer imageTokens,
                         List<Integer> grid, Long imageTokenId) {

        void validate(Path file, Path folder, Integer maxLength) {
            if (model == null || embed == null) {
                throw bad(file, "the \"vision\" block needs \"model\" (the vision encoder) and \"embed\" (the token embedding)",
                        "name both files, as export_hf.py writes them");
            }
            inside(file, folder, "vision.model", model);
            inside(file, folder, "vision.embed", embed);
            if (imageSize == null || imageSize < 1 || imageSize > MAX_IMAGE_SIZE) {
                throw bad(file, "\"vision.imageSize\" is " + imageSize, "give the encoder's input side in pixels, 1.." + MAX_IMAGE_SIZE);
            }
            channels(file, "mean", mean, false);
            channels(file, "std", std, true);
            if (imageTokens == null || imageTokens < 1) {
                throw bad(file, "\"vision.imageTokens\" is " + imageTokens, "give the number of image tokens, a positive number");
            }
            if (grid == null || grid.size() != 2 || grid.get(0) == null || grid.get(1) == null || grid.get(0) < 1 || grid.get(1) < 1
                    || (long) grid.get(0) * grid.get(1) != imageTokens) {
                throw bad(file, "\"vision.grid\" is " + grid + " for " + imageTokens + " image tokens",
                        "give [rows, cols] with rows x cols = imageTokens");
            }
            int start = imageStart == null ? 1 : imageStart;
            if (start < 0 || (maxLength != null && (long) start + imageTokens > maxLength)) {
                throw bad(file, "\"vision.imageStart\" is " + start + " with " + imageTokens + " image tokens"
                        + (maxLength == null ? "" : " and maxLength " + maxLength),
                        "give the position of the first image token (1 after BOS), so that the image fits the sequence");
            }
            if (imageTokenId != null && imageTokenId < 0) {
                throw bad(file, "\"vision.imageTokenId\" is " + imageTokenId, "give the tokenizer's image token id or remove it");
            }
        }

        private static void channels(Path file, String key, List<Float> v, boolean positive) {
            if (v == null || v.size() != 3 || v.stream().anyMatch(x -> x == null || !Float.isFinite(x) || (positive && x <= 0))) {
                throw bad(file, "\"vision." + key + "\" is " + v, "give three finite numbers (R, G, B)" + (positive ? ", each above 0" : ""));
            }
        }
    }

    /** Largest manifest HeadScope reads; a real one is a few hundred bytes. */
    static final long MAX_BYTES = 1 << 20;
    /** Largest image side a vision block may ask for. */
    static final int MAX_IMAGE_SIZE = 4096;

    /** Reads and validates a manifest: every value is checked before the model is touched. */
    public static Manifest read(Path file) {
        Manifest m;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new ModelException("Manifest " + file + " is " + Files.size(file) + " bytes; a manifest is a small JSON file.",
                        "Replace it with a headscope.json as described in the README ('Opening your own model').");
            }
            m = parse(Files.readString(file));
        } catch (IOException | RuntimeException e) {
            if (e instanceof ModelException me) {
                throw me;
            }
            throw new ModelException("Manifest " + file + " cannot be read: " + firstLine(e.getMessage()),
                    "Fix the JSON (see README, 'Opening your own model') or delete it to let HeadScope infer the roles.", e);
        }
        if (m == null) {
            throw bad(file, "is empty (JSON null)", "write a JSON object");
        }
        m.validate(file);
        return m;
    }

    /**
     * The manifest in a JSON text. A well-formed one (every known key absent, null or of its plain JSON type) is read
     * from the tree; anything else goes through Jackson's record binding, whose coercions and messages stay the rule.
     * Binding records costs 100-150 ms of reflection on a cold start, more than the rest of reading a manifest.
     */
    static Manifest parse(String json) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode tree = mapper.readTree(json);
        Manifest plain = tree != null && tree.isObject() ? Plain.of(tree) : null;
        return plain != null ? plain : mapper.readValue(json, Manifest.class);
    }

    /** The tree reading of {@link #parse}: null as soon as a value is not of its plain type. */
    static final class Plain {
        private static final class NotPlain extends RuntimeException {
            NotPlain() {
                super(null, null, false, false);
            }
        }

        private Plain() {
        }

        static Manifest of(com.fasterxml.jackson.databind.JsonNode n) {
            try {
                return new Manifest(str(n, "format"), str(n, "name"), str(n, "kind"), str(n, "architecture"), str(n, "model"),
                        str(n, "tokenizer"), map(n, "inputs"), map(n, "outputs"), lng(n, "bos"), lng(n, "eos"), lng(n, "pad"),
                        integer(value(n, "maxLength")), retrieval(value(n, "retrieval")), vision(value(n, "vision")), str(n, "sha256"));
            } catch (NotPlain e) {
                return null;
            }
        }

        private static Retrieval retrieval(com.fasterxml.jackson.databind.JsonNode r) {
            if (r == null) {
                return null;
            }
            object(r);
            return new Retrieval(str(r, "template"), str(r, "sentenceEnd"));
        }

        private static Vision vision(com.fasterxml.jackson.databind.JsonNode v) {
            if (v == null) {
                return null;
            }
            object(v);
            return new Vision(str(v, "model"), str(v, "pixelInput"), str(v, "output"), str(v, "embed"), str(v, "embedInput"),
                    str(v, "embedOutput"), integer(value(v, "imageSize")), floats(value(v, "mean")), floats(value(v, "std")),
                    integer(value(v, "imageStart")), integer(value(v, "imageTokens")), ints(value(v, "grid")), lng(v, "imageTokenId"));
        }

        private static com.fasterxml.jackson.databind.JsonNode value(com.fasterxml.jackson.databind.JsonNode n, String key) {
            com.fasterxml.jackson.databind.JsonNode v = n.get(key);
            return v == null || v.isNull() ? null : v;
        }

        private static void object(com.fasterxml.jackson.databind.JsonNode v) {
            if (!v.isObject()) {
                throw new NotPlain();
            }
        }

        private static String str(com.fasterxml.jackson.databind.JsonNode n, String key) {
            com.fasterxml.jackson.databind.JsonNode v = value(n, key);
            if (v != null && !v.isTextual()) {
                throw new NotPlain();
            }
            return v == null ? null : v.textValue();
        }

        private static Long lng(com.fasterxml.jackson.databind.JsonNode n, String key) {
            com.fasterxml.jackson.databind.JsonNode v = value(n, key);
            if (v != null && !(v.isIntegralNumber() && v.canConvertToLong())) {
                throw new NotPlain();
            }
            return v == null ? null : v.longValue();
        }

        private static Integer integer(com.fasterxml.jackson.databind.JsonNode v) {
            if (v != null && !(v.isIntegralNumber() && v.canConvertToInt())) {
                throw new NotPlain();
            }
            return v == null ? null : v.intValue();
        }

        private static Map<String, String> map(com.fasterxml.jackson.databind.JsonNode n, String key) {
            com.fasterxml.jackson.databind.JsonNode v = value(n, key);
            if (v == null) {
                return null;
            }
            object(v);
            Map<String, String> out = new java.util.LinkedHashMap<>();
            for (var e : v.properties()) {
                com.fasterxml.jackson.databind.JsonNode x = e.getValue();
                if (!x.isNull() && !x.isTextual()) {
                    throw new NotPlain();
                }
                out.put(e.getKey(), x.isNull() ? null : x.textValue());
            }
            return out;
        }

        private static List<Float> floats(com.fasterxml.jackson.databind.JsonNode v) {
            return list(v, x -> {
                if (!x.isNumber()) {
                    throw new NotPlain();
                }
                return x.floatValue();
            });
        }

        private static List<Integer> ints(com.fasterxml.jackson.databind.JsonNode v) {
            return list(v, Plain::integer);
        }

        private static <T> List<T> list(com.fasterxml.jackson.databind.JsonNode v,
                                        java.util.function.Function<com.fasterxml.jackson.databind.JsonNode, T> element) {
            if (v == null) {
                return null;
            }
            if (!v.isArray()) {
                throw new NotPlain();
            }
            List<T> out = new java.util.ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode x : v) {
                out.add(x.isNull() ? null : element.apply(x));
            }
            return out;
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static ModelException bad(Path file, String problem, String fix) {
        return new ModelException("Manifest " + file + ": " + problem + ".",
                "Fix " + file.getFileName() + ": " + fix + " (see README, 'Opening your own model').");
    }

    /** Checks every field of a manifest read from {@code file}; throws a ModelException naming the first bad one. */
    void validate(Path file) {
        Path folder = file.toAbsolutePath().normalize().getParent();
        if (model == null || model.isBlank()) {
            throw bad(file, "has no \"model\" key", "name the .onnx file, e.g. \"model\": \"model.onnx\"");
        }
        inside(file, folder, "model", model);
        if (tokenizer != null) {
            inside(file, folder, "tokenizer", tokenizer);
        }
        if (inputs != null) {
            for (Map.Entry<String, String> e : inputs.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw bad(file, "\"inputs\" has a null entry", "map each role to an input name");
                }
                boolean known = false;
                for (InputRole r : InputRole.values()) {
                    known |= r.name().equalsIgnoreCase(e.getKey());
                }
                if (!known) {
                    throw bad(file, "\"inputs\" names the unknown role '" + e.getKey() + "'",
                            "use roles among " + java.util.Arrays.stream(InputRole.values()).map(r -> r.name().toLowerCase(java.util.Locale.ROOT)).toList());
                }
            }
        }
        if (outputs != null) {
            for (Map.Entry<String, String> e : outputs.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw bad(file, "\"outputs\" has a null entry", "map each role to an output name");
                }
                if (OutputRole.ofKey(e.getKey()).isEmpty()) {
                    throw bad(file, "\"outputs\" names the unknown role '" + e.getKey() + "'",
                            "use roles among " + java.util.Arrays.stream(OutputRole.values()).map(OutputRole::key).toList());
                }
            }
        }
        nonNegative(file, "bos", bos);
        nonNegative(file, "eos", eos);
        nonNegative(file, "pad", pad);
        if (sha256 != null && !sha256.matches("[0-9a-fA-F]{64}")) {
            throw bad(file, "\"sha256\" is '" + sha256 + "'", "give the model file's SHA-256 as 64 hex digits, or remove it");
        }
        if (maxLength != null && maxLength < 1) {
            throw bad(file, "\"maxLength\" is " + maxLength, "give the longest sequence the model takes, a positive number");
        }
        if (vision != null) {
            vision.validate(file, folder, maxLength);
        }
    }

    private static void nonNegative(Path file, String key, Long v) {
        if (v != null && v < 0) {
            throw bad(file, "\"" + key + "\" is " + v + ", and token ids are never negative", "give the tokenizer's id or remove the key");
        }
    }

    /** A file named by the manifest must be a plain relative path that stays inside the manifest's folder. */
    private static void inside(Path file, Path folder, String key, String name) {
        Path p;
        try {
            p = Path.of(name);
        } catch (java.nio.file.InvalidPathException e) {
            throw bad(file, "\"" + key + "\" is not a valid file name ('" + name + "')", "name a file beside the manifest");
        }
        if (name.isBlank() || p.isAbsolute() || !folder.resolve(p).normalize().startsWith(folder)) {
            throw bad(file, "\"" + key + "\" points at '" + name + "', outside the model's folder; HeadScope refuses paths that escape it",
                    "move the file beside the manifest and name it plainly");
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
                Map.of(), Map.of(), null, null, null, null, null, null, null);
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        return n.endsWith(".onnx") ? n.substring(0, n.length() - 5) : n;
    }

    public boolean isVisionLanguage() {
        return vision != null;
    }
}
