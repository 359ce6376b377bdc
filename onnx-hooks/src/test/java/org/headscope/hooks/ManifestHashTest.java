package org.headscope.hooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A manifest that records its model's SHA-256: a matching file opens quietly, a changed one opens with a warning. */
class ManifestHashTest {
    private static final Path GPT2 = Path.of("src/test/fixtures/gpt2/model.onnx");

    private static String manifest(String sha) {
        return "{\"format\": \"headscope-manifest/1\", \"name\": \"g\", \"kind\": \"decoder\", \"model\": \"model.onnx\""
                + (sha == null ? "" : ", \"sha256\": \"" + sha + "\"") + "}";
    }

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void aMatchingFileOpensWithoutWarning(@TempDir Path dir) throws Exception {
        byte[] model = Files.readAllBytes(GPT2);
        Files.write(dir.resolve("model.onnx"), model);
        Files.writeString(dir.resolve(Manifest.FILE), manifest(sha256(model)));
        try (HookedModel m = HookedModel.open(dir, DevicePreference.CPU)) {
            assertEquals(java.util.List.of(), m.warnings());
        }
    }

    @Test
    void aChangedFileOpensWithAWarningNamingBothHashes(@TempDir Path dir) throws Exception {
        byte[] model = Files.readAllBytes(GPT2);
        Files.write(dir.resolve("model.onnx"), model);
        String recorded = sha256("another model".getBytes());
        Files.writeString(dir.resolve(Manifest.FILE), manifest(recorded));
        try (HookedModel m = HookedModel.open(dir, DevicePreference.CPU)) {
            assertEquals(1, m.warnings().size());
            String w = m.warnings().get(0);
            assertTrue(w.contains(sha256(model).substring(0, 16)) && w.contains(recorded.substring(0, 16)), w);
        }
    }

    @Test
    void aMalformedHashIsRefused(@TempDir Path dir) throws IOException {
        Files.copy(GPT2, dir.resolve("model.onnx"));
        Files.writeString(dir.resolve(Manifest.FILE), manifest("not-a-hash"));
        ModelException e = assertThrows(ModelException.class, () -> HookedModel.open(dir, DevicePreference.CPU).close());
        assertTrue(e.problem().contains("sha256"), e.getMessage());
    }
}
