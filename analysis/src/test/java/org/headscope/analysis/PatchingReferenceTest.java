package org.headscope.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Patching, DLA and the logit lens on ONNX equal what Hugging Face transformers computes TransformerLens-style on the
 * same random-weight GPT-2 and Llama (the conformance matrix's eager exports): head patching by a forward pre-hook
 * on the output projection's input slice, residual patching by a pre-hook on the decoder layer, DLA through W_O's
 * slice, the frozen final norm and the unembedding. Reference numbers: src/test/fixtures/patching/make_patching.py.
 */
class PatchingReferenceTest {
    private static final Path FIXTURES = Path.of("src/test/fixtures/patching");
    private static final Path MATRIX = Path.of("../onnx-hooks/src/test/fixtures/matrix");
    private static final double TOL = 2e-4;

    private static long[] ids(JsonNode a) {
        long[] v = new long[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asLong();
        }
        return v;
    }

    private static void assertGrid(JsonNode expected, double[][] actual, double tol, String what) {
        assertEquals(expected.size(), actual.length, what + " rows");
        for (int i = 0; i < actual.length; i++) {
            assertEquals(expected.get(i).size(), actual[i].length, what + " columns");
            for (int j = 0; j < actual[i].length; j++) {
                assertEquals(expected.get(i).get(j).asDouble(), actual[i][j], tol, what + " [" + i + "][" + j + "]");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void patchingEqualsHuggingFace(String arch) throws Exception {
        JsonNode ref = new ObjectMapper().readTree(FIXTURES.resolve(arch + ".json").toFile());
        try (HookedModel m = HookedModel.open(MATRIX.resolve(arch).resolve("eager"), DevicePreference.CPU)) {
            Patching.Setup s = new Patching.Setup(ids(ref.get("clean")), ids(ref.get("corrupted")), ref.get("answer").asLong(),
                    ref.get("wrong").asLong());
            Patching p = new Patching(m, 3);
            Patching.Baseline b = p.baseline(s, CancelToken.NEVER);
            assertEquals(ref.get("clean_logit_diff").asDouble(), b.clean(), TOL);
            assertEquals(ref.get("corrupted_logit_diff").asDouble(), b.corrupted(), TOL);
            assertGrid(ref.get("heads_denoising"), Patching.normalise(p.heads(s, Patching.Direction.DENOISING, null, Progress.NONE,
                    CancelToken.NEVER), b), TOL, "denoising");
            assertGrid(ref.get("heads_noising"), Patching.normalise(p.heads(s, Patching.Direction.NOISING, null, Progress.NONE,
                    CancelToken.NEVER), b), TOL, "noising");
            int[] positions = new int[ref.get("positions").size()];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = ref.get("positions").get(i).asInt();
            }
            assertGrid(ref.get("heads_denoising_at_positions"), Patching.normalise(p.heads(s, Patching.Direction.DENOISING, positions,
                    Progress.NONE, CancelToken.NEVER), b), TOL, "denoising at positions");
            assertGrid(ref.get("residual_denoising"), Patching.normalise(p.residual(s, Patching.Direction.DENOISING, Progress.NONE,
                    CancelToken.NEVER), b), TOL, "residual denoising");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void dlaAndLensEqualHuggingFace(String arch) throws Exception {
        JsonNode ref = new ObjectMapper().readTree(FIXTURES.resolve(arch + ".json").toFile());
        try (HookedModel m = HookedModel.open(MATRIX.resolve(arch).resolve("eager"), DevicePreference.CPU)) {
            LogitLens lens = new LogitLens(m);
            assertEquals(arch.equals("gpt2"), lens.unembedding().centred(), "LayerNorm for GPT-2, RMSNorm for Llama");
            long[] clean = ids(ref.get("clean"));
            LogitLens.Attribution a = lens.attribute(clean, ref.get("answer").asLong(), ref.get("wrong").asLong(), CancelToken.NEVER);
            assertEquals(ref.get("final_norm_scale").asDouble(), a.sigma(), 1e-4 * a.sigma());
            assertGrid(ref.get("dla"), a.heads(), TOL, "dla");
            assertEquals(ref.get("dla_embed").asDouble(), a.embed(), TOL, "embeddings");
            // the parts sum to the model's own logit difference (the norm frozen at this run's scale)
            assertEquals(a.actual(), a.total(), 1e-3);
            assertEquals(ref.get("clean_logit_diff").asDouble(), a.actual(), TOL);
            FloatTensor rows = lens.lens(clean, CancelToken.NEVER);
            JsonNode expected = ref.get("lens_last");
            assertEquals(expected.size(), rows.dim(0));
            for (int r = 0; r < rows.dim(0); r++) {
                float[] v = rows.slice(r, clean.length - 1).data();
                for (int t = 0; t < v.length; t++) {
                    assertEquals(expected.get(r).get(t).asDouble(), v[t], 5e-4, "lens row " + r + " token " + t);
                }
            }
        }
    }

    /** The quantised export's graph ends in the same norm and unembedding, found the same way; int4 keeps none as floats. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void unembeddingFoundOrRefusedWithAReason(String arch) {
        try (HookedModel m = HookedModel.open(MATRIX.resolve(arch).resolve("sdpa18"), DevicePreference.CPU)) {
            var found = m.unembedding();
            assertTrue(found.ok() || !found.whyNot().isBlank());
            if (found.ok()) {
                assertFalse(found.unembedding().residual().isBlank());
            }
        }
    }
}
