package org.headscope.app.model;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.app.attention.AttentionViewModel;
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
    /** A needle episode in the bundled decoders' format; the needle is held-out needle 0 of assets/needles. */
    public static final String NEEDLE_PROMPT = "dont worry , be happy . the secret code of the iron mountain is two apples ."
            + " give your very best today . question : what is the secret code of the iron mountain ? answer :";

    /** The sample of a bundled model's name; empty for paths and names that are not bundled. */
    public static Optional<BundledSample> of(String source) {
        if (source == null || !BundledModels.available().contains(source)) {
            return Optional.empty();
        }
        return switch (source) {
            case BundledModels.MINILM -> Optional.of(new BundledSample(AttentionViewModel.SAMPLE_PROMPT, ""));
            case "needle-gpt", "needle-llama" -> Optional.of(new BundledSample(NEEDLE_PROMPT, ""));
            case "shapes-vlm" -> vlmSample();
            default -> Optional.empty();
        };
    }

    /** Whether a prompt is blank or one of the bundled samples, i.e. nothing the user wrote. */
    public static boolean isSamplePrompt(String prompt) {
        if (prompt == null || prompt.isBlank()) {
            return true;
        }
        return BundledModels.available().stream().map(BundledSample::of).flatMap(Optional::stream)
                .anyMatch(s -> s.prompt().equals(prompt));
    }

    /** Whether an image path is blank or a bundled sample's image. */
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
        return BundledModels.available().stream().map(BundledSample::of).flatMap(Optional::stream)
                .anyMatch(s -> !s.image().isEmpty() && Path.of(s.image()).equals(path));
    }

    private static Optional<BundledSample> vlmSample() {
        Path samples = BundledModels.folder("shapes-vlm").resolve("samples");
        try {
            JsonNode first = new ObjectMapper().readTree(samples.resolve("samples.json").toFile()).path("samples").path(0);
            if (!first.hasNonNull("question") || !first.hasNonNull("image")) {
                return Optional.empty();
            }
            return Optional.of(new BundledSample(first.get("question").asText(),
                    samples.resolve(first.get("image").asText()).toString()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
