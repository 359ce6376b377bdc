package org.headscope.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-head damage of a quantised or half-precision export (conformance matrix pairs) matches a direct
 * recomputation: the float32 side from Hugging Face's own attention probabilities (reference.json), the variant's
 * probabilities fetched layer by layer in separate runs, the divergences computed here from the definitions.
 */
class VariantCompareTest {
    private static final Path MATRIX = Path.of("../onnx-hooks/src/test/fixtures/matrix");

    @ParameterizedTest
    @CsvSource({"gpt2,int8", "llama,int8", "bert,int8", "gpt2,fp16"})
    void damageMatchesADirectRecomputation(String arch, String variant) throws Exception {
        JsonNode ref = new ObjectMapper().readTree(MATRIX.resolve(arch).resolve("reference.json").toFile());
        long[] ids = new long[ref.get("input_ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ref.get("input_ids").get(i).asLong();
        }
        JsonNode hf = ref.get("probs");
        try (HookedModel a = HookedModel.open(MATRIX.resolve(arch).resolve("eager"), DevicePreference.CPU);
             HookedModel b = HookedModel.open(MATRIX.resolve(arch).resolve(variant), DevicePreference.CPU)) {
            List<VariantCompare.HeadDamage> damage = VariantCompare.compare(a, b, ids, CancelToken.NEVER);
            assertEquals(a.layers() * a.heads(), damage.size());
            double largest = 0;
            for (VariantCompare.HeadDamage d : damage) {
                FloatTensor pb = b.session(TapSet.of(TapKind.PROBS, Set.of(d.layer())), HookSet.NONE).run(RunRequest.tokens(ids))
                        .tap(TapKind.PROBS, d.layer());
                int t = ids.length;
                double max = 0;
                double js = 0;
                for (int q = 0; q < t; q++) {
                    double rowJs = 0;
                    for (int k = 0; k < t; k++) {
                        double p = hf.get(d.layer()).get(d.head()).get(q).get(k).asDouble();
                        double r = pb.get(0, d.head(), q, k);
                        max = Math.max(max, Math.abs(p - r));
                        double m = (p + r) / 2;
                        rowJs += (p > 0 ? 0.5 * p * Math.log(p / m) : 0) + (r > 0 ? 0.5 * r * Math.log(r / m) : 0);
                    }
                    js += rowJs / t;
                }
                // the float32 export equals Hugging Face within 1e-4 (ConformanceMatrixTest), hence the tolerance
                assertEquals(max, d.attnMaxAbs(), 2e-4, "max |dA| of head " + d.layer() + "." + d.head());
                assertEquals(js, d.jsMean(), 1e-5 + 1e-2 * js, "JS of head " + d.layer() + "." + d.head());
                assertTrue(d.jsMax() >= d.jsMean() && d.attnMaxAbs() >= d.attnMeanAbs() && d.zMaxAbs() >= d.zMeanAbs());
                largest = Math.max(largest, d.attnMaxAbs());
            }
            assertTrue(largest > 1e-5, "the variant moves attention somewhere: " + largest);
            System.out.printf("%s %s: largest |dA| %.3g%n", arch, variant, largest);
        }
    }
}
