package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Every reduction computed inside the graph equals the same number recomputed here from the full attention
 * matrix, the head outputs, the values and the output-projection weight read straight from the ONNX file.
 */
class TapReductionTest {
    private static final Path LLAMA = Path.of("src/test/fixtures/llama/model.onnx");

    @Test
    void inGraphReductionsEqualPlainRecomputation() throws Exception {
        long[] ids = {1, 7, 3, 22, 9, 40, 5, 3, 12};
        int t = ids.length;
        try (HookedModel m = HookedModel.open(LLAMA, DevicePreference.CPU)) {
            List<Integer> all = List.of(0, 1);
            TapSet full = TapSet.of(TapKind.PROBS, all).with(TapKind.HEAD_OUTPUT, all);
            TapSet reduced = TapSet.NONE;
            for (TapKind k : List.of(TapKind.COL_SUM, TapKind.LAST_ROW, TapKind.ARGMAX, TapKind.ENTROPY, TapKind.SPAN_MASS,
                    TapKind.HEAD_NORM, TapKind.HEAD_CONTRIBUTION, TapKind.VALUE_DRAIN, TapKind.RESIDUAL)) {
                reduced = reduced.with(k, all);
            }
            float[] span = new float[t];
            span[2] = 1;
            span[3] = 1;
            span[4] = 1;
            RunRequest req = RunRequest.tokens(ids).withKeySpan(new FloatTensor(new long[]{1, t}, span));
            RunResult f = m.session(full, HookSet.NONE).run(req);
            RunResult r = m.session(reduced, HookSet.NONE).run(req);
            OnnxMl.GraphProto graph = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(LLAMA)).getGraph();
            for (int l : all) {
                AttentionSite site = m.sites().get(l);
                FloatTensor p = f.tap(TapKind.PROBS, l);
                FloatTensor z = f.tap(TapKind.HEAD_OUTPUT, l);
                float[][] w = weight(graph, site.outputWeight());
                int heads = site.queryHeads();
                int dh = site.headDim();
                for (int h = 0; h < heads; h++) {
                    for (int k = 0; k < t; k++) {
                        double col = 0;
                        for (int q = 0; q < t; q++) {
                            col += p.get(0, h, q, k);
                        }
                        assertEquals(col, r.tap(TapKind.COL_SUM, l).get(0, h, k), 1e-5, "colsum");
                        assertEquals(p.get(0, h, t - 1, k), r.tap(TapKind.LAST_ROW, l).get(0, h, k), 1e-7, "last row");
                    }
                    for (int q = 0; q < t; q++) {
                        int best = 0;
                        double ent = 0;
                        double mass = 0;
                        for (int k = 0; k < t; k++) {
                            double v = p.get(0, h, q, k);
                            if (v > p.get(0, h, q, best)) {
                                best = k;
                            }
                            ent -= v > 0 ? v * Math.log(v) : 0;
                            mass += v * span[k];
                        }
                        assertEquals(best, r.argmax(l).get(0, h, q), "argmax");
                        assertEquals(ent, r.tap(TapKind.ENTROPY, l).get(0, h, q), 1e-5, "entropy");
                        assertEquals(mass, r.tap(TapKind.SPAN_MASS, l).get(0, h, q), 1e-6, "span mass");
                        double norm = 0;
                        double contribution = 0;
                        for (int d = 0; d < dh; d++) {
                            norm += z.get(0, h, q, d) * z.get(0, h, q, d);
                        }
                        for (int o = 0; o < w[0].length; o++) {
                            double y = 0;
                            for (int d = 0; d < dh; d++) {
                                y += z.get(0, h, q, d) * w[h * dh + d][o];
                            }
                            contribution += Math.abs(y);
                        }
                        assertEquals(Math.sqrt(norm), r.tap(TapKind.HEAD_NORM, l).get(0, h, q), 1e-5, "head norm");
                        assertEquals(contribution, r.tap(TapKind.HEAD_CONTRIBUTION, l).get(0, h, q), 1e-4, "contribution");
                    }
                }
                assertEquals(List.of(1L, (long) t, 32L), java.util.Arrays.stream(r.tap(TapKind.RESIDUAL, l).shape()).boxed().toList());
            }
            // Under causal attention the first query sees only key 0, so z[h,0] is exactly v[h,0]: the drain of key 0
            // is ||z[h,0] W_O^h||_2.
            for (int l : all) {
                AttentionSite site = m.sites().get(l);
                float[][] w = weight(graph, site.outputWeight());
                FloatTensor z = f.tap(TapKind.HEAD_OUTPUT, l);
                for (int h = 0; h < site.queryHeads(); h++) {
                    double sq = 0;
                    for (int o = 0; o < w[0].length; o++) {
                        double y = 0;
                        for (int d = 0; d < site.headDim(); d++) {
                            y += z.get(0, h, 0, d) * w[h * site.headDim() + d][o];
                        }
                        sq += y * y;
                    }
                    assertEquals(Math.sqrt(sq), r.tap(TapKind.VALUE_DRAIN, l).get(0, h, 0), 1e-5, "value drain of key 0");
                }
            }
        }
    }

    @Test
    void aCancelledTokenStopsARunBeforeAndDuringIt() throws Exception {
        try (HookedModel m = HookedModel.open(LLAMA, DevicePreference.CPU)) {
            CancelToken before = new CancelToken();
            before.cancel();
            assertThrows(CancellationException.class, () -> m.plain().run(RunRequest.tokens(1, 2, 3), before));
        }
        try (HookedModel m = HookedModel.open(org.headscope.assets.BundledModels.folder(org.headscope.assets.BundledModels.MINILM), DevicePreference.CPU)) {
            long[][] batch = new long[48][512];
            for (long[] row : batch) {
                java.util.Arrays.fill(row, 2000);
            }
            HookedSession s = m.session(TapSet.NONE, HookSet.ALL);
            CancelToken during = new CancelToken();
            Thread canceller = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
                during.cancel();
            });
            assertThrows(CancellationException.class, () -> s.run(RunRequest.batch(batch), during));
            canceller.join();
            assertEquals(1, s.run(RunRequest.tokens(101, 2000, 102)).output("output_0").dim(0), "the session still runs after a cancel");
        }
    }

    /** A float initializer as a matrix [rows][cols]. */
    private static float[][] weight(OnnxMl.GraphProto g, String name) {
        for (OnnxMl.TensorProto t : g.getInitializerList()) {
            if (t.getName().equals(name)) {
                int rows = (int) t.getDims(0);
                int cols = (int) t.getDims(1);
                java.nio.FloatBuffer fb = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                float[][] w = new float[rows][cols];
                for (int i = 0; i < rows; i++) {
                    fb.get(w[i]);
                }
                return w;
            }
        }
        throw new AssertionError("no initializer " + name);
    }
}
