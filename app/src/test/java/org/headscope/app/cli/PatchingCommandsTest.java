package org.headscope.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.assets.BundledModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The patch, dla, lens, compare and atlas commands: reports, refusals and exit codes. */
class PatchingCommandsTest {
    private static final String TEMPLATE = "dont worry , be happy . the magic word of the green forest is %s . give your very best today . "
            + "question : what is the magic word of the green forest ? answer :";
    private static final String CLEAN = String.format(TEMPLATE, "quartz");
    private static final String CORRUPTED = String.format(TEMPLATE, "copper");
    private static final Path MATRIX = Path.of("../onnx-hooks/src/test/fixtures/matrix");

    @TempDir
    Path dir;

    private static JsonNode json(Path report) throws Exception {
        return new ObjectMapper().readTree(report.resolve("report.json").toFile());
    }

    @Test
    void patchWritesHeadsPositionsAndResidualGrids() throws Exception {
        assumeTrue(BundledModels.available().contains("needle-gpt"));
        Path out = dir.resolve("patch");
        CliRun r = CliRun.of("patch", "needle-gpt", "--clean", CLEAN, "--corrupted", CORRUPTED, "--answers", "quartz,copper",
                "--position-head", "5", "--residual", "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), r.code(), r.err());
        JsonNode j = json(out);
        assertEquals("patching", j.get("analysis").asText());
        assertEquals(4 * 8, j.get("heads").size());
        int tokens = j.get("sections").get("tokens").size();
        assertEquals(4, j.get("sections").get("head_positions").size());
        assertEquals(tokens, j.get("sections").get("head_positions").get(0).size());
        assertEquals(tokens, j.get("sections").get("residual_positions").get(3).size());
        // the residual entering the last layer at the last position carries the answer: patching it restores it
        double last = j.get("sections").get("residual_positions").get(3).get(tokens - 1).asDouble();
        assertTrue(last > 0.5, "residual at the last position, last layer: " + last);
        assertTrue(r.out().contains("moves the answer most"), r.out());
        assertTrue(Files.readString(out.resolve("report.html")).contains("layers x positions"));
    }

    @Test
    void promptsOfDifferentLengthsAreRefusedWithoutAReport() {
        Path out = dir.resolve("bad");
        CliRun r = CliRun.of("patch", "needle-gpt", "--clean", CLEAN, "--corrupted", CORRUPTED + " again", "--answers", "quartz,copper",
                "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
        assertTrue(r.err().contains("same length") || r.err().contains("must match") || r.err().contains("tokens and --corrupted"), r.err());
        assertFalse(Files.exists(out.resolve("report.json")));
        assertEquals(ExitCode.USAGE.code(), CliRun.of("patch", "needle-gpt", "--clean", CLEAN, "--corrupted", CORRUPTED, "--answers", "quartz",
                "--out", out.toString()).code());
        assertEquals(ExitCode.USAGE.code(), CliRun.of("patch", "needle-gpt", "--clean", CLEAN, "--corrupted", CORRUPTED, "--answers", "quartz,copper",
                "--direction", "sideways", "--out", out.toString()).code());
    }

    @Test
    void dlaSumsToTheModelsLogitDifferenceAndAnEncoderIsRefused() throws Exception {
        Path out = dir.resolve("dla");
        CliRun r = CliRun.of("dla", "needle-llama", "--text", CLEAN, "--answer", "quartz", "--wrong", "copper", "--out", out.toString(),
                "--device", "cpu");
        assertEquals(ExitCode.OK.code(), r.code(), r.err());
        JsonNode s = json(out).get("sections");
        assertEquals(s.get("model_logit").asDouble(), s.get("sum_of_parts").asDouble(), 1e-3);
        assertTrue(s.get("final_norm").asText().contains("RMSNorm"), s.get("final_norm").asText());
        assertTrue(json(out).get("sections").get("departures").get(0).asText().contains("frozen"));
        CliRun enc = CliRun.of("dla", BundledModels.MINILM, "--text", "a cat", "--answer", "cat", "--out", dir.resolve("enc").toString(),
                "--device", "cpu");
        assertEquals(ExitCode.MODEL.code(), enc.code(), enc.err());
        assertTrue(enc.err().contains("not found"), enc.err());
        assertFalse(Files.exists(dir.resolve("enc").resolve("report.json")));
    }

    @Test
    void lensRanksTheAnswerPerLayer() throws Exception {
        Path out = dir.resolve("lens");
        CliRun r = CliRun.of("lens", "needle-gpt", "--text", CLEAN, "--answer", "quartz", "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), r.code(), r.err());
        JsonNode j = json(out);
        assertEquals(5, j.get("heads").size(), "embeddings and 4 layers");
        assertEquals(0, j.get("heads").get(4).get("answer_rank").asInt(), "the model's own answer is its top token");
        assertEquals("quartz", j.get("heads").get(4).get("top_token").asText());
    }

    @Test
    void compareAndAtlasGatherPerHeadColumnsWithProvenance() throws Exception {
        Path cmp = dir.resolve("cmp");
        CliRun c = CliRun.of("compare", MATRIX.resolve("gpt2/eager").toString(), MATRIX.resolve("gpt2/int8").toString(), "--ids", "1,5,9,13,20,30",
                "--out", cmp.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), c.code(), c.err());
        assertEquals(8, json(cmp).get("heads").size());
        assertTrue(json(cmp).get("heads").get(0).get("js_mean").asDouble() >= 0);
        // the atlas of the float32 export takes the comparison's columns, with their provenance
        Path atlas = dir.resolve("atlas");
        CliRun a = CliRun.of("atlas", MATRIX.resolve("gpt2/eager").toString(), "--reports", cmp.toString(), "--out", atlas.toString(),
                "--device", "cpu");
        assertEquals(ExitCode.OK.code(), a.code(), a.err());
        JsonNode j = json(atlas);
        assertEquals(8, j.get("heads").size());
        assertTrue(j.get("heads").get(0).has("compare.js_mean"));
        assertTrue(j.get("heads").get(0).has("copy.induction"));
        boolean named = false;
        for (JsonNode col : j.get("sections").get("columns")) {
            named |= col.get("column").asText().equals("compare.js_mean") && col.get("metric_version").asText().startsWith("headscope-v1");
        }
        assertTrue(named, j.get("sections").get("columns").toString());
        String html = Files.readString(atlas.resolve("report.html"));
        assertTrue(html.contains("Columns and their provenance") && html.contains("<script>"));
        // a report of another model is refused
        CliRun other = CliRun.of("atlas", MATRIX.resolve("llama/eager").toString(), "--reports", cmp.toString(), "--no-copy",
                "--out", dir.resolve("other").toString(), "--device", "cpu");
        assertEquals(ExitCode.USAGE.code(), other.code(), other.err());
        assertTrue(other.err().contains("another model"), other.err());
    }
}
