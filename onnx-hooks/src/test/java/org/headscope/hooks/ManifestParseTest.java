package org.headscope.hooks;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Manifests read from the JSON tree equal what Jackson's record binding makes of the same text; values of another
 * type than the plain one (a number in a string, a fraction for a count) leave the tree reading to the binding.
 */
class ManifestParseTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Manifest bound(String json) throws Exception {
        return JSON.readValue(json, Manifest.class);
    }

    @Test
    void bundledAndWrittenManifestsReadFromTheTreeAsTheBindingReadsThem() throws Exception {
        List<String> texts = new ArrayList<>();
        for (String name : List.of("needle-gpt", "needle-llama", "shapes-vlm")) {
            texts.add(Files.readString(Path.of("../assets/models", name, "headscope.json")));
        }
        texts.add("{\"model\": \"m.onnx\", \"inputs\": {\"input_ids\": \"ids\", \"attention_mask\": null}, \"extra\": [1, {\"x\": 2}],"
                + " \"bos\": 9007199254740993, \"maxLength\": 2147483647, \"retrieval\": null, \"vision\": {\"model\": \"v.onnx\","
                + " \"mean\": [0.48145466, 1, -2.5e-3], \"std\": [null, 0.26862954, 3], \"grid\": [8, null]}}");
        texts.add("{}");
        for (String t : texts) {
            Manifest plain = Manifest.Plain.of(JSON.readTree(t));
            assertNotNull(plain, t);
            assertEquals(bound(t), plain, t);
            assertEquals(bound(t), Manifest.parse(t), t);
        }
    }

    @Test
    void otherTypesGoThroughTheBinding() throws Exception {
        for (String t : List.of("{\"model\": \"m.onnx\", \"bos\": \"5\"}", "{\"model\": \"m.onnx\", \"maxLength\": 512.0}",
                "{\"model\": \"m.onnx\", \"inputs\": {\"input_ids\": 3}}", "{\"model\": 7}",
                "{\"model\": \"m.onnx\", \"vision\": {\"grid\": [\"8\", 8], \"mean\": [\"0.5\", 0.5, 0.5]}}",
                "{\"model\": \"m.onnx\", \"bos\": 99999999999999999999}")) {
            assertNull(Manifest.Plain.of(JSON.readTree(t)), t);
            Manifest want;
            try {
                want = bound(t);
            } catch (Exception e) {
                String message = e.getMessage();
                Exception got = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> Manifest.parse(t), t);
                assertEquals(message, got.getMessage(), t);
                continue;
            }
            assertEquals(want, Manifest.parse(t), t);
        }
    }
}
