package org.headscope.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.assets.BundledModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The retrieval and vhd commands: the report contract, refusals, and exit codes. */
class RetrievalCommandsTest {
    @TempDir
    Path dir;

    @Test
    void badUsageExitsWithTwo() {
        assertEquals(ExitCode.USAGE.code(), CliRun.of("retrieval", "needle-gpt").code(), "no --out");
        assertEquals(ExitCode.USAGE.code(), CliRun.of("retrieval", "needle-gpt", "--out", dir.toString(), "--mode", "fast").code());
        assertEquals(ExitCode.USAGE.code(), CliRun.of("retrieval", "needle-gpt", "--out", dir.toString(), "--lengths", "64,x").code());
        assertEquals(ExitCode.USAGE.code(), CliRun.of("retrieval", "needle-gpt", "--out", dir.toString(), "--needles", dir.resolve("none.jsonl").toString()).code());
        assertEquals(ExitCode.USAGE.code(), CliRun.of("vhd", "shapes-vlm", "--prompt", "what ?", "--out", dir.toString()).code(), "no --image");
        assertEquals(ExitCode.USAGE.code(), CliRun.of("vhd", "shapes-vlm", "--image", dir.resolve("none.png").toString(), "--prompt", "x", "--out",
                dir.toString()).code());
        CliRun o = CliRun.of("vhd", "shapes-vlm", "--image", dir.toString(), "--prompt", "x", "--out", dir.resolve("r").toString(),
                "--layers", "1,2,3");
        assertEquals(ExitCode.USAGE.code(), o.code(), o.err());
    }

    @Test
    void anEncoderIsRefusedWithoutWritingAReport() {
        Path out = dir.resolve("minilm");
        CliRun o = CliRun.of("retrieval", BundledModels.MINILM, "--lengths", "64", "--depths", "2", "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.MODEL.code(), o.code(), o.err());
        assertTrue(o.err().contains("bidirectional encoder"), o.err());
        assertFalse(Files.exists(out.resolve("report.json")));
    }

    @Test
    void aModelThatNeverRetrievesGetsAClearMessageAndNoFiles() throws Exception {
        Path model = dir.resolve("random-gpt2");
        Files.createDirectories(model);
        Files.copy(Path.of("../onnx-hooks/src/test/fixtures/gpt2/model.onnx"), model.resolve("model.onnx"));
        StringBuilder vocab = new StringBuilder("\"<bos>\": 0, \"<eos>\": 1, \".\": 2");
        for (int i = 3; i < 64; i++) {
            vocab.append(", \"w").append(i).append("\": ").append(i);
        }
        Files.writeString(model.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"added_tokens\": [], \"normalizer\": null, "
                + "\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"post_processor\": null, \"decoder\": null, "
                + "\"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "}, \"unk_token\": \"w3\"}}");
        Files.writeString(model.resolve("headscope.json"), "{\"model\": \"model.onnx\", \"tokenizer\": \"tokenizer.json\", \"kind\": "
                + "\"decoder\", \"bos\": 0, \"eos\": 1, \"maxLength\": 64, \"retrieval\": {\"template\": \"{haystack} w9 w10 {question}\"}}");
        Path needles = dir.resolve("needles.jsonl");
        Files.writeString(needles, "{\"needle\": \"w20 w21 w22 w23 .\", \"question\": \"w20 w21\", \"answer\": \"w22 w23\"}\n");
        Path haystack = dir.resolve("haystack.txt");
        Files.writeString(haystack, "w30 w31 w32 . w33 w34 . w35 w36 w37 w38 . w39 w40 .");
        Path out = dir.resolve("never");
        CliRun o = CliRun.of("retrieval", model.toString(), "--needles", needles.toString(), "--haystack", haystack.toString(),
                "--lengths", "32,48", "--depths", "3", "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.MODEL.code(), o.code(), o.err());
        assertTrue(o.err().contains("none of the 6 tests passed the ROUGE-1 gate"), o.err());
        assertTrue(o.err().contains("[6/6]"), "progress line on stderr: " + o.err());
        assertFalse(Files.exists(out.resolve("report.json")));
    }

    @Test
    void retrievalWritesTheThreeFilesWithTheContractsKeys() throws Exception {
        assumeTrue(BundledModels.available().contains("needle-gpt"), "needle-gpt is not in this build");
        Path needles = dir.resolve("needles.jsonl");
        Files.write(needles, Files.readAllLines(BundledModels.needles().resolve("needles.jsonl")).subList(0, 3));
        Path out = dir.resolve("retrieval");
        CliRun o = CliRun.of("retrieval", "needle-gpt", "--needles", needles.toString(), "--lengths", "64,96", "--depths", "3",
                "--copy-tokens", "20", "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), o.code(), o.err());
        JsonNode j = contract(out);
        assertEquals("retrieval", j.get("analysis").asText());
        JsonNode row = j.get("heads").get(0);
        for (String key : List.of("retrieval_score", "retrieval_head", "echo", "induction", "previous_token", "duplicate_token")) {
            assertTrue(row.has(key), key);
        }
        assertEquals(List.of(0, 50, 100), List.of(j.get("parameters").get("depth_percents").get(0).asInt(),
                j.get("parameters").get("depth_percents").get(1).asInt(), j.get("parameters").get("depth_percents").get(2).asInt()));
        assertEquals(6, j.get("sections").get("accuracy_grid").size());
    }

    @Test
    void vhdWritesTheThreeFilesWithTheContractsKeys() throws Exception {
        assumeTrue(BundledModels.available().contains("shapes-vlm"), "shapes-vlm is not in this build");
        Path samples = BundledModels.folder("shapes-vlm").resolve("samples");
        JsonNode sample = new ObjectMapper().readTree(samples.resolve("samples.json").toFile()).get("samples").get(0);
        Path out = dir.resolve("vhd");
        CliRun o = CliRun.of("vhd", "shapes-vlm", "--image", samples.resolve(sample.get("image").asText()).toString(),
                "--prompt", sample.get("question").asText(), "--alpha", "2", "--out", out.toString(), "--device", "cpu");
        assertEquals(ExitCode.OK.code(), o.code(), o.err());
        JsonNode j = contract(out);
        assertEquals("vhd", j.get("analysis").asText());
        assertEquals(2.0, j.get("parameters").get("alpha").asDouble());
        for (String key : List.of("vhd", "vhd_raw", "text_norm", "vision_aware", "reinforced", "vhd_after_vhr", "vhd_raw_after_vhr")) {
            assertTrue(j.get("heads").get(0).has(key), key);
        }
        assertTrue(j.get("sections").get("summary").has("answer_with_vhr"));
    }

    private static JsonNode contract(Path out) throws Exception {
        for (String f : List.of("report.json", "report.csv", "report.html")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode j = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        for (String key : List.of("analysis", "parameters", "provenance", "heads")) {
            assertTrue(j.has(key), key);
        }
        JsonNode row = j.get("heads").get(0);
        assertTrue(row.has("layer") && row.has("head"));
        return j;
    }
}
