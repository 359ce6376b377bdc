package org.headscope.hooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The weights cache keeps the most recently used entries within its size and never deletes the one being opened. */
class WeightsCachePruneTest {
    private static Path entry(Path root, String name, int bytes, long usedAt) throws IOException {
        Path d = Files.createDirectories(root.resolve(name));
        Path w = d.resolve("weights.bin");
        Files.write(w, new byte[bytes]);
        Files.setLastModifiedTime(w, FileTime.fromMillis(usedAt));
        return d;
    }

    @Test
    void prunesTheLeastRecentlyUsedBeyondTheSize(@TempDir Path root) throws IOException {
        entry(root, "old", 400, 1_000);
        entry(root, "middle", 300, 2_000);
        Path newest = entry(root, "new", 200, 3_000);
        WeightsCache cache = new WeightsCache(root);
        assertEquals(List.of("new", "middle", "old"), cache.entries().stream().map(e -> e.folder().getFileName().toString()).toList());
        assertEquals(900, cache.totalBytes());

        List<WeightsCache.Entry> gone = cache.prune(500, null);
        assertEquals(List.of("old"), gone.stream().map(e -> e.folder().getFileName().toString()).toList());
        assertEquals(500, cache.totalBytes());

        // the model being opened survives even when it alone is over the size
        List<WeightsCache.Entry> more = cache.prune(100, newest);
        assertEquals(List.of("middle"), more.stream().map(e -> e.folder().getFileName().toString()).toList());
        assertTrue(Files.isRegularFile(newest.resolve("weights.bin")));
    }

    @Test
    void openingAModelMarksItsEntryUsed(@TempDir Path root) throws IOException {
        OnnxModel first = OnnxModel.load(Path.of("src/test/fixtures/gpt2/model.onnx"), root);
        Path used = first.weightsFolder().resolve(WeightsCache.USED);
        Files.setLastModifiedTime(used, FileTime.fromMillis(1_000));
        assertEquals(1_000, new WeightsCache(root).entries().get(0).lastUsed().toMillis());
        OnnxModel.load(Path.of("src/test/fixtures/gpt2/model.onnx"), root);
        assertTrue(new WeightsCache(root).entries().get(0).lastUsed().toMillis() > 1_000_000, "reopening refreshed the entry's last use");
    }
}
