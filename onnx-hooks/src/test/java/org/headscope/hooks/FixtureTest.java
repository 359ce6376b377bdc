package org.headscope.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tiny GPT-2, Llama (GQA, RoPE) and BERT modules exported by torch.onnx, with and without past key/values,
 * against torch's own numbers (src/test/fixtures/make_fixtures.py): sites found, taps equal torch's
 * probabilities, scores and head outputs, and each hook equals the same edit made inside torch.
 */
class FixtureTest {
    private static final Path FIXTURES = Path.of("src/test/fixtures");
    private static final double TOL = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt2-past", "llama", "llama-past", "bert"})
    void locatesTapsAndSteersLikeTorch(String name) throws IOException {
        JsonNode expected = new ObjectMapper().readTree(FIXTURES.resolve(name).resolve("expected.json").toFile());
        JsonNode config = expected.get("config");
        try (HookedModel model = HookedModel.open(FIXTURES.resolve(name).resolve("model.onnx"), DevicePreference.CPU)) {
            assertEquals(config.get("layers").asInt(), model.sites().size());
            for (AttentionSite s : model.sites()) {
                assertEquals(config.get("heads").asInt(), s.queryHeads(), "query heads");
                assertEquals(config.get("kvHeads").asInt(), s.kvHeads(), "kv heads");
                assertEquals(config.get("headDim").asInt(), s.headDim(), "head dim");
                assertTrue(s.outputWeight() != null && s.residual() != null, "output projection and residual found");
            }
            assertEquals(config.get("causal").asBoolean(), model.isCausal());
            List<Integer> layers = IntStream.range(0, model.layers()).boxed().toList();
            RunRequest request = request(expected.get("inputs"));
            String outputName = expected.get("output_name").asText();

            TapSet clean = TapSet.of(TapKind.PROBS, layers).with(TapKind.SCORES, layers).with(TapKind.HEAD_OUTPUT, layers);
            RunResult r = model.session(clean, HookSet.NONE).run(request);
            JsonNode c = expected.get("clean");
            assertClose(c.get("output"), r.output(outputName), outputName);
            for (int l : layers) {
                assertClose(c.get("probs").get(l), r.tap(TapKind.PROBS, l), "probs L" + l);
                assertClose(c.get("scores").get(l), r.tap(TapKind.SCORES, l), "scores L" + l);
                assertClose(c.get("z").get(l), r.tap(TapKind.HEAD_OUTPUT, l), "z L" + l);
            }
            assertClose(c.get("output"), model.plain().run(request).output(outputName), "plain " + outputName);

            // each intervention through the graph with just its hook families, and through the graph with all
            // of them (the others left neutral): both must equal torch
            HookedSession routed = model.session(TapSet.of(TapKind.PROBS, layers), HookSet.ALL);
            for (HookedSession hooked : java.util.List.of(routed, routed.pinned())) {
                for (JsonNode iv : expected.get("interventions")) {
                    String label = name + "/" + iv.get("name").asText();
                    RunResult ri = hooked.run(request.withIntervention(intervention(iv.get("edits"))));
                    assertClose(iv.get("output"), ri.output(outputName), label + " output");
                    for (int l : layers) {
                        assertClose(iv.get("probs").get(l), ri.tap(TapKind.PROBS, l), label + " probs L" + l);
                    }
                }
            }
        }
    }

    static Intervention intervention(JsonNode edits) {
        Intervention.Builder b = Intervention.builder();
        for (JsonNode e : edits) {
            int l = e.get("layer").asInt();
            int h = e.get("head").asInt();
            int[] rows = e.has("rows") ? ints(e.get("rows")) : null;
            switch (e.get("kind").asText()) {
                case "head" -> b.headOutput(l, h, (float) e.path("gain").asDouble(1), e.has("bias") ? floats(e.get("bias")) : null);
                case "pre" -> b.pre(l, h, (float) e.path("gain").asDouble(1), 0f, sparse(e.get("bias")), 0f, sparse(e.get("amp")), rows);
                case "post" -> b.post(l, h, (float) e.path("keepDefault").asDouble(1), sparse(e.get("keep")),
                        (float) e.path("recvDefault").asDouble(1), sparse(e.get("recv")), rows);
                default -> throw new IllegalArgumentException(e.toString());
            }
        }
        return b.build();
    }

    static RunRequest request(JsonNode inputs) {
        LongTensor ids = longs(inputs.get("input_ids"));
        RunRequest r = new RunRequest(ids, null, null, null, null, null, null, null, null, null);
        Map<String, FloatTensor> past = new HashMap<>();
        var it = inputs.fields();
        while (it.hasNext()) {
            var e = it.next();
            switch (e.getKey()) {
                case "input_ids" -> {
                }
                case "attention_mask" -> r = r.withMask(longs(e.getValue()));
                case "position_ids" -> r = r.withPositions(longs(e.getValue()));
                case "token_type_ids" -> r = r.withTokenTypes(longs(e.getValue()));
                default -> past.put(e.getKey(), tensor(e.getValue()));
            }
        }
        return r.withPast(past);
    }

    private static Map<Integer, Float> sparse(JsonNode n) {
        Map<Integer, Float> m = new HashMap<>();
        if (n != null) {
            n.fields().forEachRemaining(e -> m.put(Integer.parseInt(e.getKey()), (float) e.getValue().asDouble()));
        }
        return m;
    }

    private static int[] ints(JsonNode n) {
        int[] v = new int[n.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = n.get(i).asInt();
        }
        return v;
    }

    private static float[] floats(JsonNode n) {
        float[] v = new float[n.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) n.get(i).asDouble();
        }
        return v;
    }

    private static long[] shape(JsonNode t) {
        long[] s = new long[t.get("shape").size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.get("shape").get(i).asLong();
        }
        return s;
    }

    private static LongTensor longs(JsonNode t) {
        List<Long> v = new ArrayList<>();
        t.get("data").forEach(x -> v.add(x.asLong()));
        return new LongTensor(shape(t), v.stream().mapToLong(Long::longValue).toArray());
    }

    static FloatTensor tensor(JsonNode t) {
        return new FloatTensor(shape(t), floats(t.get("data")));
    }

    static void assertClose(JsonNode expected, FloatTensor actual, String what) {
        FloatTensor e = tensor(expected);
        assertEquals(java.util.Arrays.toString(e.shape()), java.util.Arrays.toString(actual.shape()), what + " shape");
        for (int i = 0; i < e.data().length; i++) {
            float x = e.data()[i];
            float y = actual.data()[i];
            if (Float.isInfinite(x) || x < -1e30f) {
                assertTrue(y < -1e30f || Float.isInfinite(y), what + " masked entry " + i);
                continue;
            }
            assertEquals(x, y, TOL, what + " at flat index " + i);
        }
    }
}
