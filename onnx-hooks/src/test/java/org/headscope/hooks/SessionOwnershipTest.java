package org.headscope.hooks;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who owns a session: a cached handle keeps working after its compiled graph is evicted from the model's cache (the
 * next run compiles it again), a session the caller opened refuses runs once closed, and a closed model refuses runs
 * on the handles it gave out.
 */
class SessionOwnershipTest {
    private static final Path MODEL = Path.of("src/test/fixtures/gpt2/model.onnx");

    @Test
    void aCachedHandleOutlivesTheEvictionOfItsGraph() throws Exception {
        try (HookedModel model = HookedModel.open(MODEL, DevicePreference.CPU)) {
            RunRequest req = RunRequest.tokens(1, 2, 3, 4, 5, 6);
            HookedSession handle = model.session(TapSet.of(TapKind.LAST_ROW, List.of(0)), HookSet.NONE);
            float[] first = handle.run(req).tap(TapKind.LAST_ROW, 0).data().clone();
            // fill the cache with other tap sets until the first graph has certainly been retired and closed
            List<TapKind> kinds = List.of(TapKind.PROBS, TapKind.SCORES, TapKind.COL_SUM, TapKind.ENTROPY, TapKind.ARGMAX);
            List<TapSet> others = new ArrayList<>();
            List<List<Integer>> layerSets = List.of(List.of(0), List.of(1), List.of(0, 1));
            for (List<Integer> ls : layerSets) {
                for (TapKind k : kinds) {
                    others.add(TapSet.of(k, ls));
                }
            }
            assertTrue(others.size() > 12, "enough distinct tap sets to evict: " + others.size());
            for (TapSet t : others) {
                model.session(t, HookSet.NONE).run(req);
            }
            float[] again = handle.run(req).tap(TapKind.LAST_ROW, 0).data();
            assertArrayEquals(first, again, 0f);
        }
    }

    @Test
    void anOwnedSessionRefusesRunsOnceClosed() throws Exception {
        try (HookedModel model = HookedModel.open(MODEL, DevicePreference.CPU)) {
            RunRequest req = RunRequest.tokens(1, 2, 3, 4);
            OwnedSession s = model.openNormalisedSession();
            String out = model.model().outputNames().get(0);
            float[] owned = s.run(req).output(out).data();
            assertArrayEquals(model.plain().run(req).output(out).data(), owned, 1e-5f);
            s.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.run(req));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            s.close(); // closing twice is harmless
        }
    }

    @Test
    void aClosedModelRefusesRunsOnItsHandles() throws Exception {
        HookedSession handle;
        try (HookedModel model = HookedModel.open(MODEL, DevicePreference.CPU)) {
            handle = model.session(TapSet.of(TapKind.LAST_ROW, List.of(0)), HookSet.NONE);
            handle.run(RunRequest.tokens(1, 2, 3));
        }
        HookedSession h = handle;
        RuntimeException e = assertThrows(RuntimeException.class, () -> h.run(RunRequest.tokens(1, 2, 3)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
