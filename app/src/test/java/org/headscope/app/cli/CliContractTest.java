package org.headscope.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command-line contract other tools rely on: JSON shapes and exit codes. */
class CliContractTest {
    private static final Path LLAMA = Path.of("../onnx-hooks/src/test/fixtures/llama/model.onnx");

    @TempDir
    Path dir;

    @Test
    void inspectPrintsSitesWithGroupedQueryHeads() throws Exception {
        CliRun o = CliRun.of("inspect", LLAMA.toString(), "--device", "cpu");
        assertEquals(0, o.code(), o.err());
        JsonNode j = new ObjectMapper().readTree(o.out());
        for (String key : List.of("model", "producer", "opset", "inputs", "sites", "device")) {
            assertTrue(j.has(key), key);
        }
        assertEquals(2, j.get("sites").size());
        assertEquals(4, j.get("sites").get(0).get("queryHeads").asInt());
        assertEquals(2, j.get("sites").get(0).get("kvHeads").asInt());
        assertEquals(8, j.get("sites").get(0).get("headDim").asInt());
        assertEquals("position_ids", j.get("inputs").get(2).get("role").asText());
        assertEquals("CPU", j.get("device").asText());
    }

    @Test
    void attentionWritesTheProbabilitiesTheSessionComputes() throws Exception {
        Path out = dir.resolve("attn.json");
        CliRun o = CliRun.of("attention", LLAMA.toString(), "--ids", "3,17,42,5,9", "--layers", "1", "--out", out.toString(), "--device", "cpu");
        assertEquals(0, o.code(), o.err());
        JsonNode j = new ObjectMapper().readTree(out.toFile());
        assertEquals(5, j.get("tokens").size());
        assertEquals(1, j.get("layers").size());
        JsonNode probs = j.get("layers").get(0).get("probs");
        assertEquals(1, j.get("layers").get(0).get("layer").asInt());
        try (HookedModel m = HookedModel.open(LLAMA, DevicePreference.CPU)) {
            FloatTensor p = m.session(TapSet.of(TapKind.PROBS, List.of(1)), HookSet.NONE)
                    .run(RunRequest.tokens(3, 17, 42, 5, 9)).tap(TapKind.PROBS, 1);
            for (int h = 0; h < 4; h++) {
                for (int q = 0; q < 5; q++) {
                    for (int k = 0; k < 5; k++) {
                        assertEquals(p.get(0, h, q, k), probs.get(h).get(q).get(k).floatValue(), 1e-7);
                        if (k > q) {
                            assertEquals(0.0, probs.get(h).get(q).get(k).asDouble(), 1e-12, "causal");
                        }
                    }
                }
            }
        }
    }

    @Test
    void attentionAsNpyHoldsTheSameProbabilities() throws Exception {
        Path json = dir.resolve("attn2.json");
        Path npy = dir.resolve("attn2.npy");
        String[] common = {"--ids", "3,17,42,5,9", "--layers", "1,0", "--device", "cpu"};
        List<String> a = new java.util.ArrayList<>(List.of("attention", LLAMA.toString(), "--out", json.toString()));
        a.addAll(List.of(common));
        List<String> b = new java.util.ArrayList<>(List.of("attention", LLAMA.toString(), "--format", "npy", "--out", npy.toString()));
        b.addAll(List.of(common));
        assertEquals(0, CliRun.of(a.toArray(String[]::new)).code());
        CliRun o = CliRun.of(b.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        byte[] bytes = java.nio.file.Files.readAllBytes(npy);
        assertEquals((byte) 0x93, bytes[0]);
        assertEquals("NUMPY", new String(bytes, 1, 5, java.nio.charset.StandardCharsets.US_ASCII));
        int headerLen = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        String header = new String(bytes, 10, headerLen, java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 4, 5, 5)"), header);
        assertEquals(0, (10 + headerLen) % 64, "header padded to 64 bytes");
        java.nio.FloatBuffer f = java.nio.ByteBuffer.wrap(bytes, 10 + headerLen, bytes.length - 10 - headerLen)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        assertEquals(2 * 4 * 5 * 5, f.remaining());
        JsonNode layers = new ObjectMapper().readTree(json.toFile()).get("layers");
        int i = 0;
        for (JsonNode layer : layers) {
            for (JsonNode head : layer.get("probs")) {
                for (JsonNode row : head) {
                    for (JsonNode v : row) {
                        assertEquals(v.floatValue(), f.get(i++), 0f);
                    }
                }
            }
        }
        assertEquals(2, CliRun.of("attention", LLAMA.toString(), "--ids", "1,2", "--format", "csv", "--out", dir.resolve("z").toString()).code());
    }

    @Test
    void attentionPooledIsTheMaxOverBlocksOfTheFullMaps() throws Exception {
        Path json = dir.resolve("full.json");
        Path pooled = dir.resolve("pooled.json");
        String ids = "3,17,42,5,9,11,4,8,21,30,6";
        assertEquals(0, CliRun.of("attention", LLAMA.toString(), "--ids", ids, "--out", json.toString(), "--device", "cpu").code());
        CliRun o = CliRun.of("attention", LLAMA.toString(), "--ids", ids, "--pool", "4", "--out", pooled.toString(), "--device", "cpu");
        assertEquals(0, o.code(), o.err());
        JsonNode full = new ObjectMapper().readTree(json.toFile());
        JsonNode pool = new ObjectMapper().readTree(pooled.toFile());
        int t = 11;
        int p = (t + 3) / 4; // 3 tokens a block, the last block of each axis 2
        assertEquals(p, pool.get("pool_block").asInt());
        for (int l = 0; l < full.get("layers").size(); l++) {
            JsonNode fl = full.get("layers").get(l).get("probs");
            JsonNode pl = pool.get("layers").get(l).get("pooled_max");
            for (int h = 0; h < fl.size(); h++) {
                assertEquals(4, pl.get(h).size());
                for (int bi = 0; bi < 4; bi++) {
                    for (int bj = 0; bj < 4; bj++) {
                        float max = 0;
                        for (int q = bi * p; q < Math.min(t, (bi + 1) * p); q++) {
                            for (int k = bj * p; k < Math.min(t, (bj + 1) * p); k++) {
                                max = Math.max(max, fl.get(h).get(q).get(k).floatValue());
                            }
                        }
                        assertEquals(max, pl.get(h).get(bi).get(bj).floatValue(), 1e-6f, "L" + l + " H" + h + " block " + bi + "," + bj);
                    }
                }
            }
        }
        assertEquals(2, CliRun.of("attention", LLAMA.toString(), "--ids", ids, "--pool", "1", "--out", dir.resolve("y").toString()).code());
    }

    @Test
    void badUsageExitsWithTwo() {
        assertEquals(2, CliRun.of("attention", LLAMA.toString(), "--out", dir.resolve("x.json").toString()).code());
        assertEquals(2, CliRun.of("attention", LLAMA.toString(), "--ids", "1,2", "--text", "hi", "--out", "x").code());
        assertEquals(2, CliRun.of("inspect").code());
        assertEquals(2, CliRun.of("no-such-command").code());
        assertEquals(2, CliRun.of("inspect", LLAMA.toString(), "--typo", "1").code());
        CliRun layer = CliRun.of("attention", LLAMA.toString(), "--ids", "1,2", "--layers", "7", "--out", dir.resolve("y.json").toString());
        assertEquals(2, layer.code());
        assertTrue(layer.err().contains("layers 0..1"), layer.err());
    }

    @Test
    void modelsItCannotHandleExitWithThreeAndNoStackTrace() throws Exception {
        Path junk = dir.resolve("junk.onnx");
        Files.write(junk, new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9});
        CliRun o = CliRun.of("inspect", junk.toString());
        assertEquals(3, o.code());
        assertTrue(o.err().contains("what to do:"), o.err());
        assertFalse(o.err().contains("\tat "), "no stack trace: " + o.err());
        CliRun noTok = CliRun.of("attention", LLAMA.toString(), "--text", "hello", "--out", dir.resolve("z.json").toString());
        assertEquals(3, noTok.code());
        assertTrue(noTok.err().contains("tokenizer"), noTok.err());
    }

    @Test
    void aPromptLongerThanTheModelTakesIsRefusedWithTheLimit() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("short"));
        Files.copy(LLAMA, folder.resolve("model.onnx"));
        Files.writeString(folder.resolve("headscope.json"),
                "{\"format\":\"headscope-manifest/1\",\"name\":\"tiny\",\"kind\":\"decoder\",\"model\":\"model.onnx\",\"maxLength\":4}");
        CliRun o = CliRun.of("attention", folder.toString(), "--ids", "1,2,3,4,5", "--out", dir.resolve("w.json").toString());
        assertEquals(3, o.code());
        assertTrue(o.err().contains("5 tokens") && o.err().contains("at most 4"), o.err());
        assertFalse(Files.exists(dir.resolve("w.json")));
    }

    /** Every model the project trains and bundles opens from the command line, with the architecture its card states. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"needle-gpt", "needle-llama", "shapes-vlm"})
    void everyBundledTrainedModelOpensWithInspect(String name) throws Exception {
        assertTrue(org.headscope.assets.BundledModels.available().contains(name), name + " is bundled");
        CliRun o = CliRun.of("inspect", name, "--device", "cpu");
        assertEquals(0, o.code(), o.err());
        JsonNode j = new ObjectMapper().readTree(o.out());
        JsonNode manifest = new ObjectMapper().readTree(org.headscope.assets.BundledModels.folder(name).resolve("headscope.json").toFile());
        assertTrue(j.get("sites").size() >= 2, name + " has attention sites");
        for (JsonNode site : j.get("sites")) {
            int q = site.get("queryHeads").asInt();
            int kv = site.get("kvHeads").asInt();
            if (manifest.path("architecture").asText().equals("llama")) {
                assertTrue(kv < q && q % kv == 0, name + " uses grouped-query attention: " + q + " query heads over " + kv);
            } else {
                assertEquals(q, kv, name + " uses plain multi-head attention");
            }
        }
        assertEquals("tokenizer.json", j.get("tokenizer").asText());
        assertTrue(j.get("causal").asBoolean(), name + " is a decoder");
    }
}
