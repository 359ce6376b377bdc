package org.headscope.hooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The weights cache is used only when it holds the model's bytes: a same-size corruption is caught and rewritten. */
class WeightsCacheTest {
    private static final Path LLAMA = Path.of("src/test/fixtures/llama/model.onnx");

    @TempDir
    Path cache;

    @Test
    void aSameSizeCorruptionOfTheCachedWeightsIsRewrittenBeforeUse() throws Exception {
        OnnxModel first = OnnxModel.load(LLAMA, cache);
        Path weights = first.weightsFolder().resolve("weights.bin");
        byte[] clean = Files.readAllBytes(weights);
        byte[] corrupt = clean.clone();
        corrupt[corrupt.length / 2] ^= 0x40;
        Files.write(weights, corrupt);
        assertNotEquals(java.util.Arrays.hashCode(clean), java.util.Arrays.hashCode(Files.readAllBytes(weights)));

        OnnxModel again = OnnxModel.load(LLAMA, cache);
        assertEquals(weights, again.weightsFolder().resolve("weights.bin"));
        assertArrayEquals(clean, Files.readAllBytes(weights), "the cache holds the model's bytes again");
        try (var s = Files.list(again.weightsFolder())) {
            assertEquals(1, s.filter(f -> !f.getFileName().toString().equals(WeightsCache.USED)).count(), "no temporary file left beside the cache");
        }
    }

    @Test
    void anIntactCacheIsReusedAsItIs() throws Exception {
        OnnxModel first = OnnxModel.load(LLAMA, cache);
        Path weights = first.weightsFolder().resolve("weights.bin");
        var written = Files.getLastModifiedTime(weights);
        Files.setLastModifiedTime(weights, java.nio.file.attribute.FileTime.fromMillis(written.toMillis() - 60_000));
        var marked = Files.getLastModifiedTime(weights);
        OnnxModel.load(LLAMA, cache);
        assertEquals(marked, Files.getLastModifiedTime(weights), "not rewritten");
    }
}
