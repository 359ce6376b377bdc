package org.headscope.hooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The in-graph max-pooled probabilities ({@link TapKind#POOLED}) equal a plain max over each block of the full
 * probabilities ({@link TapKind#PROBS}) of the same run, computed here block by block: causal models (masked keys in
 * the blocks on the diagonal, blocks of masked keys only), a bidirectional encoder, an fp16 graph read through the
 * float view, lengths that are and are not a multiple of the block size, and a batch of two interventions.
 */
class PooledTapTest {
    @ParameterizedTest(name = "{0} T={1} side={2}")
    @CsvSource({
            "src/test/fixtures/gpt2/model.onnx, 10, 4",
            "src/test/fixtures/gpt2/model.onnx, 9, 3",
            "src/test/fixtures/gpt2/model.onnx, 11, 40",
            "src/test/fixtures/gpt2/model.onnx, 23, 5",
            "src/test/fixtures/bert/model.onnx, 10, 4",
            "src/test/fixtures/matrix/llama/fp16/model.onnx, 13, 4",
            "src/test/fixtures/matrix/gpt2/sdpa18/model.onnx, 14, 3",
    })
    void pooledEqualsPlainMaxOfFullProbabilities(String path, int t, int side) throws Exception {
        long[] ids = new long[t];
        for (int i = 0; i < t; i++) {
            ids[i] = 1 + (i * 37 + 11) % 60;
        }
        try (HookedModel m = HookedModel.open(Path.of(path), DevicePreference.CPU)) {
            List<Integer> all = java.util.stream.IntStream.range(0, m.layers()).boxed().toList();
            RunRequest req = RunRequest.tokens(ids);
            RunResult both = m.session(TapSet.of(TapKind.PROBS, all).with(TapKind.POOLED, all).withPoolSide(side), HookSet.NONE).run(req);
            // a session of its own, as the workbench runs it: ONNX Runtime may fold an fp16 graph's casts around the
            // softmax differently there, so fp16 probabilities can differ in their last fp16 bit
            RunResult alone = m.session(TapSet.of(TapKind.POOLED, all).withPoolSide(side), HookSet.NONE).run(req);
            float tol = path.contains("fp16") ? 1e-3f : 0f;
            for (int l : all) {
                assertPooled(both.tap(TapKind.PROBS, l), both.tap(TapKind.POOLED, l), side, 0f, path + " layer " + l);
                assertPooled(both.tap(TapKind.PROBS, l), alone.tap(TapKind.POOLED, l), side, tol, path + " layer " + l + " (own session)");
            }
        }
    }

    @Test
    void pooledFollowsTheHooksOfEachBatchElement() throws Exception {
        long[] ids = {1, 7, 3, 22, 9, 40, 5, 3, 12, 17, 2};
        try (HookedModel m = HookedModel.open(Path.of("src/test/fixtures/gpt2/model.onnx"), DevicePreference.CPU)) {
            List<Integer> all = java.util.stream.IntStream.range(0, m.layers()).boxed().toList();
            Intervention edit = Intervention.builder().uniform(m.layers() - 1, 0).bos(0, 1).build();
            RunRequest req = RunRequest.tokens(ids).withInterventions(List.of(Intervention.NONE, edit));
            RunResult both = m.session(TapSet.of(TapKind.PROBS, all).with(TapKind.POOLED, all).withPoolSide(4), edit.hooks()).run(req);
            for (int l : all) {
                assertPooled(both.tap(TapKind.PROBS, l), both.tap(TapKind.POOLED, l), 4, 0f, "layer " + l);
            }
        }
    }

    /** Every block of every head and batch element against the plain maximum of its cells. */
    private static void assertPooled(FloatTensor probs, FloatTensor pooled, int side, float tol, String what) {
        int batch = probs.dim(0);
        int heads = probs.dim(1);
        int t = probs.dim(2);
        int k = probs.dim(3);
        int p = Math.max(1, (Math.max(t, k) + side - 1) / side);
        int rows = (t + p - 1) / p;
        int cols = (k + p - 1) / p;
        assertArrayEquals(new long[]{batch, heads, rows, cols}, pooled.shape(), what + " shape");
        assertTrue(rows <= side && cols <= side, what);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int bq = 0; bq < rows; bq++) {
                    for (int bk = 0; bk < cols; bk++) {
                        float max = Float.NEGATIVE_INFINITY;
                        for (int q = bq * p; q < Math.min(t, (bq + 1) * p); q++) {
                            for (int key = bk * p; key < Math.min(k, (bk + 1) * p); key++) {
                                max = Math.max(max, probs.get(b, h, q, key));
                            }
                        }
                        assertEquals(max, pooled.get(b, h, bq, bk), tol, what + " b" + b + " h" + h + " block " + bq + "," + bk);
                    }
                }
            }
        }
    }
}
