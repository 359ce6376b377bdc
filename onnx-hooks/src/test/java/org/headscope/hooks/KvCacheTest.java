package org.headscope.hooks;

import ai.onnxruntime.OnnxTensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The key/value cache left in ONNX Runtime between steps: it holds what copying the present outputs to Java would
 * hold, a step fed from it computes exactly what a step fed the copies computes (logits and attention rows), the step
 * does not close the tensors it borrowed, and closing the cache closes them (a second close does nothing).
 */
class KvCacheTest {
    @Test
    void aStepOnTheHeldCacheEqualsAStepOnCopies() {
        try (HookedModel model = HookedModel.open(Path.of("src/test/fixtures/gpt2-past/model.onnx"), DevicePreference.CPU)) {
            Map<String, String> pairs = GreedyDecoder.pastPairs(model);
            HookedSession session = model.session(TapSet.of(TapKind.PROBS, List.of(0, 1)), HookSet.NONE);
            Set<String> all = new LinkedHashSet<>(pairs.values());
            all.add("logits");
            RunRequest prompt = RunRequest.tokens(3, 17, 9, 41, 5);

            CompiledSession.Cached held = session.run(prompt.withOutputs(Set.of("logits")), null, pairs, CancelToken.NEVER);
            RunResult copied = session.run(prompt.withOutputs(all));
            assertEquals(5, held.cache().length());
            assertEquals(1, held.cache().batchSize());
            Map<String, FloatTensor> past = new LinkedHashMap<>();
            Map<String, FloatTensor> fromCache = held.cache().toFloats();
            pairs.forEach((in, out) -> {
                past.put(in, copied.output(out));
                assertArrayEquals(copied.output(out).shape(), fromCache.get(in).shape(), in);
                assertArrayEquals(copied.output(out).data(), fromCache.get(in).data(), 0f, in);
                assertFalse(held.result().floats().containsKey(out), out + " stays in ONNX Runtime");
            });

            RunRequest step = RunRequest.tokens(22);
            CompiledSession.Cached next = session.run(step.withOutputs(Set.of("logits")), held.cache(), pairs, CancelToken.NEVER);
            RunResult viaCopies = session.run(step.withPast(past).withOutputs(all));
            assertArrayEquals(viaCopies.output("logits").data(), next.result().output("logits").data(), 0f);
            for (int layer = 0; layer < 2; layer++) {
                FloatTensor want = viaCopies.tap(TapKind.PROBS, layer);
                FloatTensor got = next.result().tap(TapKind.PROBS, layer);
                assertArrayEquals(want.shape(), got.shape());
                assertEquals(6, got.dim(3), "the step's row covers past and new keys");
                assertArrayEquals(want.data(), got.data(), 0f);
            }
            assertEquals(6, next.cache().length());

            List<OnnxTensor> borrowed = pairs.keySet().stream().map(held.cache()::tensor).toList();
            borrowed.forEach(t -> assertFalse(t.isClosed(), "the step leaves the cache it read open"));
            held.cache().close();
            borrowed.forEach(t -> assertTrue(t.isClosed()));
            held.cache().close();
            assertThrows(IllegalStateException.class, () -> held.cache().tensor("past_key_values.0.key"));
            next.cache().close();

            CompiledSession.Cached plain = session.run(prompt, null, Map.of(), CancelToken.NEVER);
            assertNull(plain.cache());
        }
    }
}
