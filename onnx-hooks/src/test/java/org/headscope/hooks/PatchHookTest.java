package org.headscope.hooks;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The patch hook family ({@code z' = keep z + (1 - keep) value} per position) on every head layout and element type
 * of the conformance matrix: neutral inputs change nothing, a zero patch at every position is the zero ablation of
 * the head-output family, a patch at one position leaves the earlier positions of a decoder alone, and the
 * {@link TapKind#HEAD_WRITE} tap is z at the last position through the head's slice of W_O.
 */
class PatchHookTest {
    private static final Path MATRIX = Path.of("src/test/fixtures/matrix");

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/eager", "gpt2/fp16", "llama/sdpa18", "bloom/eager", "falcon/eager", "bert/eager"})
    void patchHookSemantics(String fixture) {
        try (HookedModel m = HookedModel.open(MATRIX.resolve(fixture), DevicePreference.CPU)) {
            String out = m.model().outputNames().get(0);
            long[] ids = {1, 17, 33, 8, 90, 41, 7, 12};
            int t = ids.length;
            int dh = m.sites().get(0).headDim();
            double tol = fixture.contains("fp16") ? 2e-2 : 1e-4;
            RunRequest req = RunRequest.tokens(ids).withOutputs(Set.of(out));
            FloatTensor plain = m.plain().run(req).output(out);
            FloatTensor neutral = m.session(TapSet.NONE, HookSet.PATCH).pinned().run(req).output(out);
            assertClose(plain, neutral, tol, "neutral patch inputs");

            Intervention zeroPatch = Intervention.builder().patchHead(1, 2, new float[t * dh], null).build();
            Intervention zeroHead = Intervention.builder().zeroHead(1, 2).build();
            FloatTensor patched = m.session(TapSet.NONE, HookSet.PATCH).run(req.withIntervention(zeroPatch)).output(out);
            FloatTensor ablated = m.session(TapSet.NONE, HookSet.HEAD).run(req.withIntervention(zeroHead)).output(out);
            assertClose(ablated, patched, tol, "a zero patch everywhere is the zero ablation");
            assertTrue(maxDiff(plain, patched) > 10 * tol, "the patch changes the output");

            if (m.isCausal()) {
                float[] value = new float[t * dh];
                java.util.Arrays.fill(value, 0.5f);
                Intervention at5 = Intervention.builder().patchHead(0, 1, value, new int[]{5}).build();
                FloatTensor p5 = m.session(TapSet.NONE, HookSet.PATCH).run(req.withIntervention(at5)).output(out);
                int v = plain.dim(2);
                for (int q = 0; q < 5; q++) {
                    for (int k = 0; k < v; k++) {
                        assertEquals(plain.get(0, q, k), p5.get(0, q, k), tol, "position " + q + " lies before the patch");
                    }
                }
                double moved = 0;
                for (int k = 0; k < v; k++) {
                    moved = Math.max(moved, Math.abs(plain.get(0, 5, k) - p5.get(0, 5, k)));
                }
                assertTrue(moved > 10 * tol, "position 5 moves: " + moved);
            }
        }
    }

    /** Two batch elements patching from different sources travel as a full [B,...] value tensor and stay apart. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2/eager"})
    void distinctSourcesInOneBatch(String fixture) {
        try (HookedModel m = HookedModel.open(MATRIX.resolve(fixture), DevicePreference.CPU)) {
            String out = m.model().outputNames().get(0);
            long[] ids = {1, 17, 33, 8, 90, 41};
            int dh = m.sites().get(0).headDim();
            float[] a = new float[ids.length * dh];
            float[] b = new float[ids.length * dh];
            java.util.Arrays.fill(b, 1f);
            Intervention pa = Intervention.builder().patchHead(0, 0, a, null).build();
            Intervention pb = Intervention.builder().patchHead(0, 0, b, null).build();
            RunRequest req = RunRequest.tokens(ids).withOutputs(Set.of(out));
            HookedSession s = m.session(TapSet.NONE, HookSet.PATCH);
            FloatTensor both = s.run(req.withInterventions(List.of(pa, pb))).output(out);
            FloatTensor onlyA = s.run(req.withIntervention(pa)).output(out);
            FloatTensor onlyB = s.run(req.withIntervention(pb)).output(out);
            assertClose(onlyA, both.slice(0).reshapeLeading(), 1e-5, "element 0");
            assertClose(onlyB, both.slice(1).reshapeLeading(), 1e-5, "element 1");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/eager", "llama/eager"})
    void headWriteTapIsZThroughItsSliceOfTheOutputProjection(String fixture) {
        try (HookedModel m = HookedModel.open(MATRIX.resolve(fixture), DevicePreference.CPU)) {
            long[] ids = {1, 17, 33, 8, 90};
            int layer = 1;
            RunResult r = m.session(TapSet.of(TapKind.HEAD_WRITE, List.of(layer)).with(TapKind.HEAD_OUTPUT, List.of(layer))
                    .with(TapKind.HEAD_CONTRIBUTION, List.of(layer)), HookSet.NONE).run(RunRequest.tokens(ids));
            FloatTensor w = r.tap(TapKind.HEAD_WRITE, layer);
            FloatTensor contrib = r.tap(TapKind.HEAD_CONTRIBUTION, layer);
            assertEquals(3, w.rank());
            for (int h = 0; h < m.heads(); h++) {
                double l1 = 0;
                for (float x : w.slice(0, h).data()) {
                    l1 += Math.abs(x);
                }
                // the contribution tap is ||z W_O^h||_1 at every position: its last position is the write's L1 norm
                assertEquals(contrib.get(0, h, ids.length - 1), l1, 1e-4 * Math.max(1, l1), "head " + h);
            }
        }
    }

    private static double maxDiff(FloatTensor a, FloatTensor b) {
        double m = 0;
        for (int i = 0; i < a.data().length; i++) {
            m = Math.max(m, Math.abs(a.data()[i] - b.data()[i]));
        }
        return m;
    }

    private static void assertClose(FloatTensor expected, FloatTensor actual, double tol, String what) {
        assertEquals(expected.data().length, actual.data().length, what + ": sizes");
        assertTrue(maxDiff(expected, actual) <= tol, what + ": max difference " + maxDiff(expected, actual));
    }
}
