package org.headscope.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.app.model.BundledSample;
import org.headscope.app.util.SafeImages;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.headscope.hooks.VisionParts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code sinks} and {@code ablate} take {@code --image} on a vision-language model, as {@code redistribute} and {@code vhd}
 * do: the numbers in their reports are recomputed here from the decoder fed the embeddings built by hand (image after BOS).
 */
class VisionInputCommandsTest {
    private static final String VLM = "shapes-vlm";

    private static BundledSample sample() {
        assumeTrue(BundledModels.available().contains(VLM), "shapes-vlm is not in this build");
        return BundledSample.of(VLM).orElseThrow();
    }

    /** The decoder's input built by hand: the question's ids with the sample image's embeddings placed by the vision parts. */
    private static FloatTensor embeddings(HookedModel m, long[] ids, String image) throws Exception {
        VisionParts v = m.vision().orElseThrow();
        return v.sequence(ids, v.encodeImage(v.pixels(SafeImages.read(Path.of(image)))));
    }

    @Test
    void sinksRunTheQuestionWithItsImage(@TempDir Path dir) throws Exception {
        BundledSample s = sample();
        CliRun run = CliRun.of("sinks", VLM, "--image", s.image(), "--prompt", s.prompt(), "--out", dir.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), run.code(), run.err());
        JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        try (HookedModel m = HookedModel.open(BundledModels.folder(VLM), DevicePreference.CPU)) {
            long[] ids = m.requireTokenizer().encode(s.prompt()).ids();
            FloatTensor embeds = embeddings(m, ids, s.image());
            int t = embeds.dim(1);
            assertEquals(ids.length + 64, t, "64 image tokens");
            assertEquals(t, report.get("parameters").get("tokens").asInt(), "the window covers the image and the question");
            List<Integer> layers = IntStream.range(0, m.layers()).boxed().toList();
            var r = m.session(TapSet.of(TapKind.PROBS, layers), HookSet.NONE).run(RunRequest.embeddings(embeds), CancelToken.NEVER);
            var textOnly = m.session(TapSet.of(TapKind.PROBS, layers), HookSet.NONE)
                    .run(RunRequest.embeddings(m.vision().orElseThrow().sequence(ids, null)), CancelToken.NEVER);
            int checked = 0;
            for (JsonNode row : report.get("heads")) {
                int l = row.get("layer").asInt();
                int h = row.get("head").asInt();
                // colmean at key 0: every query sees key 0, so sum_q A[q,0] / T
                double expected = colmean0(r.tap(TapKind.PROBS, l), h);
                assertEquals(expected, row.get("colmean_k0").asDouble(), 1e-5, "head " + l + "." + h);
                if (Math.abs(expected - colmean0(textOnly.tap(TapKind.PROBS, l), h)) > 1e-3) {
                    checked++;
                }
            }
            assertTrue(checked > 0, "the image changes where the heads look");
        }
        assertTrue(report.get("provenance").toString().contains("[image sample_0.png]"), report.get("provenance").toString());
    }

    private static double colmean0(FloatTensor probs, int h) {
        int t = probs.dim(2);
        double sum = 0;
        for (int q = 0; q < t; q++) {
            sum += probs.get(0, h, q, 0);
        }
        return sum / t;
    }

    @Test
    void ablateMeasuresTheTargetAfterTheQuestionWithItsImage(@TempDir Path dir) throws Exception {
        BundledSample s = sample();
        String answer = " blue";
        CliRun run = CliRun.of("ablate", VLM, "--image", s.image(), "--prompt", s.prompt(), "--target", answer, "--heads", "1.0,2.1",
                "--out", dir.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), run.code(), run.err());
        JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        try (HookedModel m = HookedModel.open(BundledModels.folder(VLM), DevicePreference.CPU)) {
            long[] prompt = m.requireTokenizer().encode(s.prompt()).ids();
            long[] target = m.requireTokenizer().encodePlain(answer);
            assertEquals(1, target.length);
            long[] ids = Arrays.copyOf(prompt, prompt.length + 1);
            ids[prompt.length] = target[0];
            FloatTensor embeds = embeddings(m, ids, s.image());
            int predicting = embeds.dim(1) - 2; // the position before the target token
            Intervention zero = Intervention.builder().zeroHead(1, 0).build();
            FloatTensor logits = m.session(TapSet.NONE, HookSet.HEAD).run(RunRequest.embeddings(embeds)
                    .withInterventions(List.of(Intervention.NONE, zero)).withOutputs(Set.of("logits")), CancelToken.NEVER).output("logits");
            double clean = crossEntropy(logits.slice(0, predicting).data(), target[0]);
            double ablated = crossEntropy(logits.slice(1, predicting).data(), target[0]);
            assertEquals(clean, report.get("sections").get("clean_loss").asDouble(), 1e-4);
            JsonNode row = report.get("heads").get(0);
            assertEquals(1, row.get("layer").asInt());
            assertEquals(0, row.get("head").asInt());
            assertEquals(ablated - clean, row.get("loss_delta").asDouble(), 1e-4);
        }
    }

    private static double crossEntropy(float[] row, long token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double z = 0;
        for (float v : row) {
            z += Math.exp(v - max);
        }
        return max + Math.log(z) - row[(int) token];
    }

    @Test
    void withoutTheImageAVisionLanguageModelIsRefusedWithTheWayOut(@TempDir Path dir) {
        BundledSample s = sample();
        CliRun sinks = CliRun.of("sinks", VLM, "--prompt", s.prompt(), "--out", dir.toString(), "--device", "cpu");
        assertEquals(ExitCode.MODEL.code(), sinks.code(), sinks.err());
        assertTrue(sinks.err().contains("--image FILE"), sinks.err());
        CliRun ablate = CliRun.of("ablate", VLM, "--prompt", s.prompt(), "--target", " blue", "--out", dir.toString(), "--device", "cpu");
        assertEquals(ExitCode.MODEL.code(), ablate.code(), ablate.err());
        CliRun noQuestion = CliRun.of("sinks", VLM, "--image", s.image(), "--out", dir.toString(), "--device", "cpu");
        assertEquals(ExitCode.USAGE.code(), noQuestion.code(), noQuestion.err());
    }
}
