package org.headscope.app.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.assets.BundledModels;

/**
 * The prompt, and for the vision-language model the image, that a bundled model opens with, so that each entry of the
 * Model menu shows at once what the model was made for: a sentence for MiniLM, a needle episode the decoders answer,
 * a held-out image and question for shapes-vlm (the first of its {@code samples/samples.json}).
 *
 * @param prompt the prompt text
 * @param image  an image file for vision-language models, or "" for none
 */
public record BundledSample(String prompt, String image) {
    /** The prompt the workbench opens with when a model has no sample of its own. */
    public static final String DEFAULT_PROMPT = "The cat sat on the mat because it was warm.";

    /**
     * A needle episode in the bundled decoders' format, both of them answer right ("nineteen apples"; BundledSampleTest
     * checks it): held-out needle 7 of assets/needles between two held-out haystack sentences.
     */
    public static final String NEEDLE_PROMPT = "be cautious in your daily affairs . the green palace was built by nineteen apples ."
            + " beware of a tall blond man with one black shoe . question : who built the green palace ? answer :";

    /**
     * The sample of a bundled model's name; empty for paths and names that are not bundled. For shapes-vlm this copies
     * the model out of the jar when it is not in the cache yet: off the FX thread, or use {@link #of(String, Path)}.
     */
    public static Optional<BundledSample> of(String source) {
        return of(source, null);
    }

    /**
     * The sample of a bundled model whose folder is known (the open model's): nothing is copied or resolved, so the
     * workbench calls it on the FX thread once the model has opened.
     */
    public static Optional<BundledSample> of(String source, Path folder) {
        if (source == null || !BundledModels.available().contains(source)) {
            return Optional.empty();
        }
        return switch (source) {
            case BundledModels.MINILM -> Optional.of(new BundledSample(DEFAULT_PROMPT, ""));
            case "needle-gpt", "needle-llama" -> Optional.of(new BundledSample(NEEDLE_PROMPT, ""));
            case "shapes-vlm" -> VlmSample.FIRST.map(s -> new BundledSample(s.get("question").asText(),
                    (folder == null ? BundledModels.folder("shapes-vlm") : folder).resolve("samples").resolve(s.get("image").asText()).toString()));
            default -> Optional.empty();
        };
    }

    /** Whether a prompt is blank or one of the bundled samples, i.e. nothing the user wrote. */
    public static boolean isSamplePrompt(String prompt) {
        return prompt == null || prompt.isBlank() || prompt.equals(DEFAULT_PROMPT)
                || prompt.equals(NEEDLE_PROMPT)
                || VlmSample.FIRST.map(s -> s.get("question").asText().equals(prompt)).orElse(false);
    }

    /** Whether an image path is blank or the bundled vision-language model's sample image. */
    public static boolean isSampleImage(String image) {
        if (image == null || image.isBlank()) {
            return true;
        }
        Path path;
        try {
            path = Path.of(image);
        } catch (InvalidPathException e) {
            return false;
        }
        // compared by its place in the bundled model's folder, so that no call here copies the model out of the jar
        return VlmSample.FIRST.map(s -> path.endsWith(Path.of("shapes-vlm", "samples", s.get("image").asText()))).orElse(false);
    }

    /** shapes-vlm's first held-out sample, read once from the classpath (empty when the model is not in this build). */
    private static final class VlmSample {
        static final Optional<JsonNode> FIRST = read();

        private static Optional<JsonNode> read() {
            try (InputStream in = BundledModels.class.getResourceAsStream("/headscope-assets/models/shapes-vlm/samples/samples.json")) {
                if (in == null) {
                    return Optional.empty();
                }
                JsonNode first = new ObjectMapper().readTree(in).path("samples").path(0);
                return first.hasNonNull("question") && first.hasNonNull("image") ? Optional.of(first) : Optional.empty();
            } catch (IOException e) {
                return Optional.empty();
            }
        }
    }
}
