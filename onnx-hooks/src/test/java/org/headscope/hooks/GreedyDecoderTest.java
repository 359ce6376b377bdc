package org.headscope.hooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV-cache decoding against the full re-run on the fixtures exported with past key/values: the same tokens, and at
 * every step the same logits, the same attention row over the full key length (probabilities and in-graph argmax)
 * through a tapped and hooked session, clean and with a head zeroed, batched.
 */
class GreedyDecoderTest {
    private static final Path FIXTURES = Path.of("src/test/fixtures");

    private record Trace(long[][] tokens, List<float[]> logits, List<float[]> probs, List<long[]> argmax) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-past", "llama-past"})
    void cachedStepsEqualTheFullRerun(String name) {
        try (HookedModel model = HookedModel.open(FIXTURES.resolve(name).resolve("model.onnx"), DevicePreference.CPU)) {
            assertEquals(GreedyDecoder.Way.KV_CACHE, GreedyDecoder.way(model));
            List<Integer> layers = IntStream.range(0, model.layers()).boxed().toList();
            HookedSession session = model.session(TapSet.of(TapKind.PROBS, layers).with(TapKind.ARGMAX, layers), HookSet.HEAD);
            long[] prompt = {3, 17, 9, 41, 5, 22, 30, 11, 8};
            List<Intervention> batch = List.of(Intervention.NONE, Intervention.builder().zeroHead(1, 2).build(),
                    Intervention.builder().scaleHead(0, 1, 2f).build());
            Trace cached = trace(model, session, prompt, batch, GreedyDecoder.Way.KV_CACHE);
            Trace full = trace(model, session, prompt, batch, GreedyDecoder.Way.FULL_RERUN);
            for (int b = 0; b < batch.size(); b++) {
                assertArrayEquals(full.tokens()[b], cached.tokens()[b], name + " tokens of element " + b);
            }
            assertEquals(full.logits().size(), cached.logits().size());
            for (int s = 0; s < full.logits().size(); s++) {
                assertClose(full.logits().get(s), cached.logits().get(s), 1e-4, name + " logits at step " + s);
                assertClose(full.probs().get(s), cached.probs().get(s), 1e-5, name + " attention rows at step " + s);
                assertArrayEquals(full.argmax().get(s), cached.argmax().get(s), name + " argmax keys at step " + s);
            }
        }
    }

    /**
     * The bundled needle decoders (exported with past key/values by assets/scripts/export_models.py) decode their sample
     * prompt with the cache as the full re-run does, clean and with a head zeroed: tokens, logits, attention rows and
     * argmax keys; their answer is the needle's ("nineteen apples", then EOS); the tied unembedding is still found.
     */
    @ParameterizedTest
    @ValueSource(strings = {"needle-gpt", "needle-llama"})
    void bundledDecodersDecodeWithTheCacheAsTheFullRerunDoes(String name) {
        try (HookedModel model = HookedModel.open(Path.of("../assets/models").resolve(name), DevicePreference.CPU)) {
            assertEquals(GreedyDecoder.Way.KV_CACHE, GreedyDecoder.way(model));
            assertEquals(2 * model.layers(), GreedyDecoder.pastPairs(model).size());
            for (var e : GreedyDecoder.pastPairs(model).entrySet()) {
                InputRole role = model.inputs().stream().filter(i -> i.name().equals(e.getKey())).findFirst().orElseThrow().role();
                assertEquals(e.getKey().endsWith(".key") ? InputRole.PAST_KEY : InputRole.PAST_VALUE, role, e.getKey());
                assertEquals(e.getKey().replace("past_key_values", "present"), e.getValue());
            }
            assertTrue(model.unembedding().ok(), "the unembedding reads the embedding through its Transpose");
            assertTrue(OutputGather.apply(model.model().skeleton(), "logits").beforeHead(), "logits gathered before the LM head");
            List<Integer> layers = IntStream.range(0, model.layers()).boxed().toList();
            HookedSession session = model.session(TapSet.of(TapKind.PROBS, layers).with(TapKind.ARGMAX, layers), HookSet.HEAD);
            long[] prompt = model.requireTokenizer().encode("be cautious in your daily affairs . the green palace was built by "
                    + "nineteen apples . beware of a tall blond man with one black shoe . question : who built the green palace ? "
                    + "answer :").ids();
            List<Intervention> batch = List.of(Intervention.NONE, Intervention.builder().zeroHead(2, 3).build());
            Trace cached = trace(model, session, prompt, batch, GreedyDecoder.Way.KV_CACHE);
            Trace full = trace(model, session, prompt, batch, GreedyDecoder.Way.FULL_RERUN);
            for (int b = 0; b < batch.size(); b++) {
                assertArrayEquals(full.tokens()[b], cached.tokens()[b], name + " tokens of element " + b);
            }
            for (int s = 0; s < full.logits().size(); s++) {
                assertClose(full.logits().get(s), cached.logits().get(s), 1e-4, name + " logits at step " + s);
                assertClose(full.probs().get(s), cached.probs().get(s), 1e-5, name + " attention rows at step " + s);
                assertArrayEquals(full.argmax().get(s), cached.argmax().get(s), name + " argmax keys at step " + s);
            }
            long[] answer = cached.tokens()[0];
            assertEquals("nineteen apples", model.requireTokenizer().decode(answer[0], answer[1]));
            assertEquals(model.manifest().eos().longValue(), answer[2]);
        }
    }

    @Test
    void aModelWithoutPastInputsDecodesByFullRerun() {
        try (HookedModel model = HookedModel.open(FIXTURES.resolve("gpt2").resolve("model.onnx"), DevicePreference.CPU)) {
            assertEquals(GreedyDecoder.Way.FULL_RERUN, GreedyDecoder.way(model));
            long[][] t = GreedyDecoder.decode(model, model.session(TapSet.NONE, HookSet.NONE), GreedyDecoder.Inputs.tokens(),
                    new long[]{3, 4, 5}, List.of(), "logits", 4, null, GreedyDecoder.Way.FULL_RERUN, s -> { }, CancelToken.NEVER);
            assertEquals(1, t.length);
            assertEquals(4, t[0].length);
            assertTrue(GreedyDecoder.describe(GreedyDecoder.Way.FULL_RERUN).contains("slower"));
        }
    }

    /** Per step: every element's logits row, every layer's probability row and argmax of the new token's query. */
    private static Trace trace(HookedModel model, HookedSession session, long[] prompt, List<Intervention> batch,
                               GreedyDecoder.Way way) {
        List<float[]> logits = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
        List<long[]> argmax = new ArrayList<>();
        long[][] tokens = GreedyDecoder.decode(model, session, GreedyDecoder.Inputs.tokens(), prompt, batch, "logits", 6, null, way,
                step -> {
                    RunResult r = step.result();
                    FloatTensor lg = r.output("logits");
                    List<Float> l = new ArrayList<>();
                    List<Float> p = new ArrayList<>();
                    List<Long> a = new ArrayList<>();
                    for (int b = 0; b < batch.size(); b++) {
                        for (float x : lg.slice(b, step.logitsRow()).data()) {
                            l.add(x);
                        }
                        for (int layer = 0; layer < model.layers(); layer++) {
                            FloatTensor pr = r.tap(TapKind.PROBS, layer);
                            LongTensor am = r.argmax(layer);
                            for (int h = 0; h < model.heads(); h++) {
                                for (int k = 0; k < pr.dim(3); k++) {
                                    p.add(pr.get(b, h, step.row(), k));
                                }
                                a.add(am.get(b, h, step.row()));
                            }
                        }
                    }
                    logits.add(floats(l));
                    probs.add(floats(p));
                    argmax.add(a.stream().mapToLong(Long::longValue).toArray());
                }, CancelToken.NEVER);
        return new Trace(tokens, logits, probs, argmax);
    }

    private static float[] floats(List<Float> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    private static void assertClose(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst <= tol, what + ": max |diff| " + worst);
    }
}
