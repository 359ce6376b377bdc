package org.headscope.analysis;

import ai.onnx.proto.OnnxMl;
import org.headscope.analysis.core.ColMean;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.LongTensor;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every in-graph reduction the analyses read equals the same number recomputed here from the full probabilities,
 * head outputs and (for the contribution and drain taps) the weights the planted model was built with.
 */
class TapReductionsTest {
    private static final List<Integer> LAYERS = List.of(0, 1);

    @Test
    void reductionsOfTheProbabilitiesMatchThePlainComputation(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.random(2, 4, 5);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            TapSet taps = TapSet.of(TapKind.PROBS, LAYERS).with(TapKind.COL_SUM, LAYERS).with(TapKind.ENTROPY, LAYERS)
                    .with(TapKind.LAST_ROW, LAYERS).with(TapKind.ARGMAX, LAYERS).with(TapKind.SPAN_MASS, LAYERS);
            long[] ids = PlantedModels.prompt(spec, 12, 3);
            int t = ids.length;
            float[] span = new float[2 * t];
            for (int k = 0; k < t; k++) {
                span[k] = k >= 3 && k < 7 ? 1 : 0;
                span[t + k] = k % 2;
            }
            RunResult r = m.session(taps, HookSet.NONE).run(RunRequest.batch(new long[][]{ids, ids})
                    .withKeySpan(new FloatTensor(new long[]{2, t}, span)));
            for (int l : LAYERS) {
                FloatTensor p = r.tap(TapKind.PROBS, l);
                FloatTensor colSum = r.tap(TapKind.COL_SUM, l);
                FloatTensor ent = r.tap(TapKind.ENTROPY, l);
                FloatTensor last = r.tap(TapKind.LAST_ROW, l);
                FloatTensor spanMass = r.tap(TapKind.SPAN_MASS, l);
                LongTensor argmax = r.argmax(l);
                for (int b = 0; b < 2; b++) {
                    double[][] colmean = ColMean.of(colSum, b, true);
                    for (int h = 0; h < 4; h++) {
                        for (int k = 0; k < t; k++) {
                            double s = 0;
                            for (int q = 0; q < t; q++) {
                                s += p.get(b, h, q, k);
                            }
                            assertEquals(s / (t - k), colmean[h][k], 1e-5, "colmean l" + l + " h" + h + " k" + k);
                            assertEquals(p.get(b, h, t - 1, k), last.get(b, h, k), 1e-6);
                        }
                        for (int q = 0; q < t; q++) {
                            double e = 0;
                            double mass = 0;
                            int best = 0;
                            for (int k = 0; k < t; k++) {
                                double v = p.get(b, h, q, k);
                                if (v > 0) {
                                    e -= v * Math.log(v);
                                }
                                mass += v * span[b * t + k];
                                if (v > p.get(b, h, q, best)) {
                                    best = k;
                                }
                            }
                            assertEquals(e, ent.get(b, h, q), 1e-5, "entropy");
                            assertEquals(mass, spanMass.get(b, h, q), 1e-5, "span mass");
                            assertEquals(best, argmax.data()[(b * 4 + h) * t + q], "argmax l" + l + " h" + h + " q" + q);
                        }
                    }
                }
            }
        }
    }

    @Test
    void contributionAndDrainEqualTheProjectedNormsComputedFromTheWeights(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.random(2, 4, 9);
        OnnxMl.ModelProto proto = PlantedModels.build(spec);
        int d = spec.hidden();
        int dh = spec.headDim();
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            TapSet taps = TapSet.of(TapKind.HEAD_OUTPUT, LAYERS).with(TapKind.HEAD_CONTRIBUTION, LAYERS)
                    .with(TapKind.VALUE_DRAIN, LAYERS).with(TapKind.RESIDUAL, LAYERS).with(TapKind.HEAD_NORM, LAYERS);
            long[] ids = PlantedModels.prompt(spec, 10, 4);
            int t = ids.length;
            RunResult r = m.session(taps, HookSet.NONE).run(RunRequest.tokens(ids));
            for (int l : LAYERS) {
                float[] wo = weight(proto, "l" + l + "_wo");
                float[] wv = weight(proto, "l" + l + "_wv");
                FloatTensor z = r.tap(TapKind.HEAD_OUTPUT, l);
                FloatTensor x = r.tap(TapKind.RESIDUAL, l);
                FloatTensor contrib = r.tap(TapKind.HEAD_CONTRIBUTION, l);
                FloatTensor drain = r.tap(TapKind.VALUE_DRAIN, l);
                FloatTensor norm = r.tap(TapKind.HEAD_NORM, l);
                for (int h = 0; h < 4; h++) {
                    for (int q = 0; q < t; q++) {
                        double l1 = 0;
                        double l2 = 0;
                        double vDrain = 0;
                        for (int o = 0; o < d; o++) {
                            double c = 0;
                            double cv = 0;
                            for (int j = 0; j < dh; j++) {
                                c += z.get(0, h, q, j) * wo[(h * dh + j) * d + o];
                                double v = 0;
                                for (int i = 0; i < d; i++) {
                                    v += x.get(0, q, i) * wv[i * d + h * dh + j];
                                }
                                cv += v * wo[(h * dh + j) * d + o];
                            }
                            l1 += Math.abs(c);
                            vDrain += cv * cv;
                        }
                        for (int j = 0; j < dh; j++) {
                            l2 += z.get(0, h, q, j) * z.get(0, h, q, j);
                        }
                        assertEquals(l1, contrib.get(0, h, q), 1e-4, "contribution l" + l + " h" + h);
                        assertEquals(Math.sqrt(vDrain), drain.get(0, h, q), 1e-4, "value drain l" + l + " h" + h);
                        assertEquals(Math.sqrt(l2), norm.get(0, h, q), 1e-5, "head norm");
                    }
                }
            }
        }
    }

    @Test
    void bidirectionalColmeanDividesByTheSequenceLength() {
        try (HookedModel m = HookedModel.open(BundledModels.folder(BundledModels.MINILM), DevicePreference.CPU)) {
            long[] ids = m.requireTokenizer().encode("Sinks gather attention at the first token.").ids();
            int t = ids.length;
            RunResult r = m.session(TapSet.of(TapKind.PROBS, List.of(2)).with(TapKind.COL_SUM, List.of(2)), HookSet.NONE)
                    .run(RunRequest.tokens(ids));
            FloatTensor p = r.tap(TapKind.PROBS, 2);
            double[][] colmean = ColMean.of(r.tap(TapKind.COL_SUM, 2), 0, m.isCausal());
            for (int h = 0; h < 12; h++) {
                for (int k = 0; k < t; k++) {
                    double s = 0;
                    for (int q = 0; q < t; q++) {
                        s += p.get(0, h, q, k);
                    }
                    assertEquals(s / t, colmean[h][k], 1e-5);
                }
            }
        }
    }

    private static float[] weight(OnnxMl.ModelProto proto, String name) {
        OnnxMl.TensorProto t = proto.getGraph().getInitializerList().stream().filter(i -> i.getName().equals(name))
                .findFirst().orElseThrow();
        float[] out = new float[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloatData(i);
        }
        return out;
    }
}
