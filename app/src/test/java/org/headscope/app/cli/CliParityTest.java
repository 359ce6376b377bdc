package org.headscope.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.Progress;
import org.headscope.analysis.Redistribution;
import org.headscope.analysis.report.HeadReport;
import org.headscope.app.profile.HeadProfileScan;
import org.headscope.app.model.BundledSample;
import org.headscope.app.panel.Scan;
import org.headscope.app.util.SafeImages;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What a panel does, a command does: the command's report holds the numbers the panel's analysis call gives. */
class CliParityTest {
    private static final String VLM = "shapes-vlm";

    @Test
    void redistributeFeedsTheImageAsTheWorkbenchDoes(@TempDir Path dir) throws Exception {
        assumeTrue(BundledModels.available().contains(VLM), "shapes-vlm is not in this build");
        BundledSample sample = BundledSample.of(VLM).orElseThrow();
        try (HookedModel m = HookedModel.open(BundledModels.folder(VLM), DevicePreference.CPU)) {
            Input input = Input.of(m, m.requireTokenizer().encode(sample.prompt()), SafeImages.read(Path.of(sample.image())));
            Redistribution.KeySpan span = new Redistribution.KeySpan(input.patches().start(), input.patches().end());
            assertEquals(new Redistribution.KeySpan(1, 65), span, "8 x 8 image tokens after BOS");
            for (Redistribution.Method method : List.<Redistribution.Method>of(Redistribution.Var.DEFAULT, Redistribution.Pai.DEFAULT)) {
                Redistribution.Result direct = Redistribution.run(m, input.request(), method, span, Progress.NONE, CancelToken.NEVER);
                Path out = dir.resolve(method.id());
                CliRun run = CliRun.of("redistribute", VLM, "--method", method.id(), "--image", sample.image(), "--prompt", sample.prompt(),
                        "--out", out.toString(), "--device", "cpu");
                assertEquals(0, run.code(), run.err());
                JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
                JsonNode sections = report.get("sections");
                assertEquals(direct.kl(), sections.get("kl_next_token").asDouble(), 1e-9 * Math.max(1, direct.kl()), method.id());
                JsonNode top = sections.get("top_tokens");
                assertEquals(direct.topTokens().size(), top.size());
                for (int i = 0; i < top.size(); i++) {
                    Redistribution.TokenShift t = direct.topTokens().get(i);
                    assertEquals(t.token(), top.get(i).get("token").asLong(), method.id() + " top token " + i);
                    assertEquals(t.before(), top.get(i).get("before").asDouble(), 1e-9);
                    assertEquals(t.after(), top.get(i).get("after").asDouble(), 1e-9);
                }
                assertTrue(report.get("provenance").toString().contains("[image sample_0.png]"), report.get("provenance").toString());
            }
        }
    }

    @Test
    void redistributeSaysWhichImageOptionIsMissing(@TempDir Path dir) throws Exception {
        assumeTrue(BundledModels.available().contains(VLM), "shapes-vlm is not in this build");
        CliRun noImage = CliRun.of("redistribute", VLM, "--method", "pai", "--prompt", "what color is the circle", "--out", dir.toString());
        assertEquals(2, noImage.code(), noImage.err());
        assertTrue(noImage.err().contains("--image FILE"), noImage.err());
        String image = BundledSample.of(VLM).orElseThrow().image();
        CliRun textModel = CliRun.of("redistribute", BundledModels.MINILM, "--method", "pai", "--image", image, "--prompt", "x",
                "--out", dir.toString());
        assertEquals(2, textModel.code(), textModel.err());
        assertTrue(textModel.err().contains("vision-language"), textModel.err());
        CliRun badSpan = CliRun.of("redistribute", VLM, "--method", "var", "--image", image, "--image-span", "60:99", "--prompt",
                "what color is the circle", "--out", dir.toString());
        assertEquals(2, badSpan.code(), badSpan.err());
        // an image-free run of a vision-language model takes the decoder's embeddings, as the workbench's does
        CliRun act = CliRun.of("redistribute", VLM, "--method", "act", "--prompt", "what color is the circle", "--out",
                dir.resolve("act").toString(), "--device", "cpu");
        assertEquals(0, act.code(), act.err());
    }

    @Test
    void profileWritesThePanelsNumbers(@TempDir Path dir) throws Exception {
        String prompt = "The cat sat on the mat because it was warm.";
        CliRun run = CliRun.of("profile", BundledModels.MINILM, "--prompt", prompt, "--offset", "2", "--out", dir.toString(),
                "--device", "cpu");
        assertEquals(0, run.code(), run.err());
        HeadReport panel;
        try (HookedModel m = HookedModel.open(BundledModels.folder(BundledModels.MINILM), DevicePreference.CPU)) {
            panel = new HeadProfileScan().run(m, prompt, new Scan.Values(Map.of("offset", "2")), Progress.NONE, CancelToken.NEVER);
        }
        JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        assertEquals("profile", report.get("analysis").asText());
        assertEquals(2, report.get("parameters").get("offset").asInt());
        assertEquals(panel.heads().size(), report.get("heads").size());
        for (int i = 0; i < panel.heads().size(); i++) {
            for (Map.Entry<String, Object> e : panel.heads().get(i).entrySet()) {
                assertEquals(((Number) e.getValue()).doubleValue(), report.get("heads").get(i).get(e.getKey()).asDouble(), 1e-12,
                        "head " + i + " " + e.getKey());
            }
        }
        for (String f : List.of("report.csv", "report.html")) {
            assertTrue(java.nio.file.Files.size(dir.resolve(f)) > 0, f);
        }
        assertEquals(2, CliRun.of("profile", BundledModels.MINILM, "--prompt", prompt, "--offset", "-1", "--out",
                dir.resolve("x").toString()).code());
        assertEquals(2, CliRun.of("profile", BundledModels.MINILM, "--offset", "1", "--out", dir.resolve("y").toString()).code(),
                "missing --prompt");
    }

    @Test
    void sinksAndAblateRefuseAVisionLanguageModelNamingTheCommandsThatTakeAnImage(@TempDir Path dir) {
        assumeTrue(BundledModels.available().contains(VLM), "shapes-vlm is not in this build");
        for (CliRun run : List.of(CliRun.of("sinks", VLM, "--out", dir.resolve("s").toString(), "--device", "cpu"),
                CliRun.of("ablate", VLM, "--prompt", "what color is the circle", "--target", "blue", "--out", dir.resolve("a").toString(),
                        "--device", "cpu"))) {
            assertEquals(3, run.code(), run.err());
            assertTrue(run.err().contains("vision-language model") && run.err().contains("--image"), run.err());
        }
    }

    @Test
    void vhdLayersIsAListOfLayersAsForAttention(@TempDir Path dir) throws Exception {
        assumeTrue(BundledModels.available().contains(VLM), "shapes-vlm is not in this build");
        BundledSample sample = BundledSample.of(VLM).orElseThrow();
        Path out = dir.resolve("r");
        CliRun run = CliRun.of("vhd", VLM, "--image", sample.image(), "--prompt", sample.prompt(), "--layers", "2,1", "--max-new", "2",
                "--out", out.toString(), "--device", "cpu");
        assertEquals(0, run.code(), run.err());
        JsonNode parameters = new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("parameters");
        assertEquals(1, parameters.get("vhr_first_layer").asInt());
        assertEquals(2, parameters.get("vhr_last_layer").asInt());
        CliRun gap = CliRun.of("vhd", VLM, "--image", sample.image(), "--prompt", sample.prompt(), "--layers", "0,2", "--out",
                dir.resolve("g").toString());
        assertEquals(2, gap.code(), gap.err());
        assertTrue(gap.err().contains("0,1,2"), gap.err());
        assertEquals(2, CliRun.of("vhd", VLM, "--image", sample.image(), "--prompt", sample.prompt(), "--layers", "99", "--out",
                dir.resolve("n").toString(), "--device", "cpu").code());
        assertEquals(2, CliRun.of("vhd", VLM, "--image", sample.image(), "--prompt", sample.prompt(), "--layers", "-1", "--out",
                dir.resolve("m").toString()).code());
    }
}
