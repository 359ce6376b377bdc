package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe cache ({@link ProbeCache}): an open from the cache gives sites equal in every field to a fresh probe's,
 * on every fixture (GPT-2, Llama with GQA, BERT, the conformance matrix's architectures and exports, BLOOM's
 * head outputs folded into the batch); a damaged or changed entry and a changed model file are probed again.
 */
class ProbeCacheTest {
    private static final Path FIXTURES = Path.of("src/test/fixtures");

    @TempDir
    Path tmp;

    static Stream<Path> models() throws IOException {
        List<Path> out = new ArrayList<>();
        for (String name : List.of("gpt2", "gpt2-past", "llama", "llama-past", "bert")) {
            out.add(FIXTURES.resolve(name).resolve("model.onnx"));
        }
        Path matrix = FIXTURES.resolve("matrix");
        if (Files.isDirectory(matrix)) {
            try (Stream<Path> archs = Files.list(matrix)) {
                for (Path arch : archs.filter(Files::isDirectory).sorted().toList()) {
                    try (Stream<Path> paths = Files.list(arch)) {
                        paths.filter(p -> Files.isRegularFile(p.resolve(Manifest.FILE))).sorted(Comparator.comparing(Path::toString))
                                .forEach(out::add);
                    }
                }
            }
        }
        return out.stream();
    }

    private static List<AttentionSite> fresh(Path model) {
        try (HookedModel m = HookedModel.open(model, DevicePreference.CPU, null)) {
            assertFalse(m.probeCached());
            return m.sites();
        }
    }

    private static List<AttentionSite> opened(Path model, ProbeCache cache, boolean expectCached) {
        try (HookedModel m = HookedModel.open(model, DevicePreference.CPU, cache)) {
            assertEquals(expectCached, m.probeCached(), model + (expectCached ? " should open from the cache" : " should be probed"));
            return m.sites();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void cachedOpenEqualsFreshProbe(Path model) {
        ProbeCache cache = new ProbeCache(tmp.resolve("probe"));
        List<AttentionSite> probed = fresh(model);
        assertFalse(probed.isEmpty(), model + " has attention sites");
        assertEquals(probed, opened(model, cache, false));
        assertEquals(probed, opened(model, cache, true));
        assertEquals(probed, opened(model, cache, true));
    }

    @Test
    void cacheCoversGqaAndFoldedHeads() throws IOException {
        // the fixtures above must include what the probe exists for: fewer kv heads than query heads, folded heads
        List<AttentionSite> all = new ArrayList<>();
        try (Stream<Path> s = models()) {
            s.forEach(p -> all.addAll(fresh(p)));
        }
        assertTrue(all.stream().anyMatch(a -> a.kvHeads() < a.queryHeads()), "a GQA fixture");
        assertTrue(all.stream().anyMatch(a -> !a.layout().equals(AttentionSite.Layout.HEADS_AXIS)),
                "a fixture with heads folded into the batch (BLOOM's head outputs)");
    }

    @Test
    void deviceDecidedWithoutTheRuntimeOnlyWhenItHasNoCuda() {
        // a model opened from the cache decides the device without loading ONNX Runtime when no CUDA library exists
        if (!DevicePreference.cudaLibraryPresent()) {
            assertFalse(ai.onnxruntime.OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA));
        }
    }

    private static Path entry(ProbeCache cache) throws IOException {
        try (Stream<Path> s = Files.list(cache.folder())) {
            List<Path> files = s.filter(f -> f.toString().endsWith(".txt")).toList();
            assertEquals(1, files.size(), "one entry: " + files);
            return files.get(0);
        }
    }

    private void damaged(UnaryOperator<String> damage) throws IOException {
        Path model = FIXTURES.resolve("llama").resolve("model.onnx");
        ProbeCache cache = new ProbeCache(tmp.resolve("probe-" + System.nanoTime()));
        List<AttentionSite> probed = opened(model, cache, false);
        Path e = entry(cache);
        String good = Files.readString(e);
        Files.writeString(e, damage.apply(good), StandardCharsets.UTF_8);
        assertEquals(probed, opened(model, cache, false));
        assertEquals(good, Files.readString(e), "the entry is rewritten after the probe");
        assertEquals(probed, opened(model, cache, true));
    }

    /** Recomputes the entry's checksum after an edit, so that only the edited field can make it a miss. */
    private static String resealed(String text) {
        String body = text.substring(0, text.lastIndexOf("sha256 "));
        return body + "sha256 " + ProbeCache.sha256(body) + "\n";
    }

    @Test
    void corruptEntriesAreProbedAgain() throws IOException {
        damaged(s -> "");
        damaged(s -> s.substring(0, s.length() / 2));
        damaged(s -> s.replace("site 0 4 ", "site 0 5 "));                        // checksum no longer matches
        damaged(s -> s.replace("\nsha256 ", "\nsha256 0"));
        damaged(s -> "garbage\u0000\n" + s);
    }

    @Test
    void changedEntriesAreProbedAgain() throws IOException {
        damaged(s -> resealed(s.replaceFirst("key [0-9a-f]{8}", "key 00000000")));  // another key
        damaged(s -> resealed(s.replace(ProbeCache.FORMAT, "headscope-probe-cache 0")));
        damaged(s -> resealed(s.replaceFirst("sites (\\d+)", "sites 1")));           // fewer sites
        damaged(s -> resealed(s.replace("site 0 4 2 ", "site 0 4 3 ")));             // heads not a multiple of kv heads
        damaged(s -> resealed(s.replace("site 0 4 2 ", "site 0 4 2 x ")));
    }

    @Test
    void changedModelFileIsProbedAgain() throws IOException {
        ProbeCache cache = new ProbeCache(tmp.resolve("probe"));
        Path file = tmp.resolve("model").resolve("model.onnx");
        Files.createDirectories(file.getParent());
        Files.copy(FIXTURES.resolve("gpt2").resolve("model.onnx"), file);
        List<AttentionSite> gpt2 = opened(file, cache, false);
        assertEquals(gpt2, opened(file, cache, true));

        // the same graph under another producer name: another file, probed again even though its sites are equal
        OnnxMl.ModelProto proto = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(file));
        Files.write(file, proto.toBuilder().setProducerName("changed").build().toByteArray());
        assertEquals(gpt2, opened(file, cache, false));
        assertEquals(gpt2, opened(file, cache, true));

        // another model at the same path
        Files.copy(FIXTURES.resolve("llama").resolve("model.onnx"), file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        List<AttentionSite> llama = opened(file, cache, false);
        assertNotEquals(gpt2, llama);
        assertEquals(fresh(FIXTURES.resolve("llama").resolve("model.onnx")), llama);
        assertEquals(llama, opened(file, cache, true));
    }
}
