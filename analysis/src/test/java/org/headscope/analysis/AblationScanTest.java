package org.headscope.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.analysis.core.Heads;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ablation modes, the batched sweep, AMP importance, pruning and AttentionInfluence against independent numbers. */
class AblationScanTest {
    private static final Path GPT2 = Path.of("../onnx-hooks/src/test/fixtures/gpt2");

    @Test
    void batchedSweepEqualsOneRunPerHeadInEveryMode() throws Exception {
        try (HookedModel m = HookedModel.open(GPT2.resolve("model.onnx"), DevicePreference.CPU)) {
            AblationScan.Target target = new AblationScan.Target(new long[]{37, 43, 12, 8}, new long[]{63, 9, 11}, 5, 17);
            List<Head> heads = Heads.all(m);
            AblationScan.MeanOutputs means = AblationScan.meanOutputs(m, List.of(new long[]{1, 2, 3, 4, 5}, new long[]{9, 8, 7}),
                    CancelToken.NEVER);
            for (AblationMode mode : AblationMode.values()) {
                AblationScan.Params p = AblationScan.Params.DEFAULTS.withMode(mode, 1.7f);
                AblationScan batched = new AblationScan(m, p.withBatchSize(5), means);
                AblationScan single = new AblationScan(m, p.withBatchSize(1), means);
                AblationScan.Outcome clean = batched.clean(target, CancelToken.NEVER);
                List<AblationScan.HeadEffect> a = batched.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER);
                List<AblationScan.HeadEffect> b = single.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER);
                assertEquals(8, a.size());
                for (int i = 0; i < heads.size(); i++) {
                    AblationScan.Effect x = a.get(i).effect();
                    AblationScan.Effect y = b.get(i).effect();
                    String what = mode + " head " + heads.get(i);
                    assertEquals(y.lossDelta(), x.lossDelta(), 1e-5, what);
                    assertEquals(y.kl(), x.kl(), 1e-5, what);
                    assertEquals(y.logitDiffDelta(), x.logitDiffDelta(), 1e-5, what);
                    assertTrue(Math.abs(x.lossDelta()) > 1e-6 || x.kl() > 1e-9, what + " changes the model");
                }
            }
        }
    }

    @Test
    void singleHeadEffectsMatchTheTorchReferenceOfTheFixture() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(GPT2.resolve("expected.json").toFile());
        float[] clean = logitsOfFirstSequence(expected.get("clean").get("output"));
        Map<String, String> byName = Map.of("head_zero_ablation", "zero:1.2", "head_scale", "scale:0.1",
                "pre_uniform_attention", "uniform:0.3", "post_bos_ablation", "bos:1.3");
        long[] ids = {37, 43, 12, 8, 63, 9, 11};
        AblationScan.Target target = new AblationScan.Target(Arrays.copyOf(ids, 4), Arrays.copyOfRange(ids, 4, 7), 5, 17);
        try (HookedModel m = HookedModel.open(GPT2.resolve("model.onnx"), DevicePreference.CPU)) {
            int checked = 0;
            for (JsonNode i : expected.get("interventions")) {
                String spec = byName.get(i.get("name").asText());
                if (spec == null) {
                    continue;
                }
                String[] parts = spec.split(":");
                AblationScan scan = new AblationScan(m, AblationScan.Params.DEFAULTS.withMode(AblationMode.parse(parts[0]), 2.5f), null);
                AblationScan.Effect e = scan.sweep(target, scan.clean(target, CancelToken.NEVER), List.of(Head.parse(parts[1])),
                        Progress.NONE, CancelToken.NEVER).get(0).effect();
                float[] ablated = logitsOfFirstSequence(i.get("output"));
                assertEquals(loss(ablated, ids, 4) - loss(clean, ids, 4), e.lossDelta(), 1e-4, spec);
                assertEquals(kl(row(clean, 3), row(ablated, 3)), e.kl(), 1e-4, spec);
                assertEquals((row(ablated, 3)[5] - row(ablated, 3)[17]) - (row(clean, 3)[5] - row(clean, 3)[17]), e.logitDiffDelta(), 1e-4, spec);
                checked++;
            }
            assertEquals(4, checked);
        }
    }

    @Test
    void theOnlyActiveHeadIsFoundBySweepImportanceAndPruning(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.oneActive(2, 4, 1, 3);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 12, 8);
            AblationScan.Target target = AblationScan.Target.of(Arrays.copyOf(ids, 6), Arrays.copyOfRange(ids, 6, 12));
            AblationScan.Params params = AblationScan.Params.DEFAULTS.withPruning(List.of(0.0, 0.5, 0.75, 1.0), false)
                    .withGeneration(3, 1);
            AblationScan.Result r = AblationScan.run(m, target, params, Progress.NONE, CancelToken.NEVER);
            assertEquals(new Head(1, 3), r.ranked().get(0).head());
            HeadReport report = ReportRoundTrip.check(r.toReport(Provenance.of(m, "planted", AblationScan.METRICS)), dir.resolve("report"));
            assertEquals(Set.of("layer", "head", "loss_delta", "kl", "amp_importance", "abs_loss_delta"), report.heads().get(0).keySet());
            assertTrue(r.effect(new Head(1, 3)).lossDelta() != 0);
            for (AblationScan.HeadEffect e : r.effects()) {
                if (!e.head().equals(new Head(1, 3))) {
                    assertEquals(0.0, e.effect().lossDelta(), 1e-6, "muted head " + e.head());
                    assertEquals(0.0, r.importance().get(e.head().layer(), e.head().head()), 1e-9, "muted head importance");
                }
            }
            assertTrue(r.importance().get(1, 3) > 0);
            double cleanLoss = r.clean().loss();
            assertEquals(List.of(0, 2, 3), r.pruning().stream().limit(3).map(p -> p.heads() / 2).toList());
            for (AblationScan.PruningPoint p : r.pruning()) {
                if (p.fraction() < 1) {
                    assertEquals(cleanLoss, p.loss(), 1e-5, "muted heads pruned first at " + p.fraction());
                } else {
                    assertEquals(cleanLoss + r.effect(new Head(1, 3)).lossDelta(), p.loss(), 1e-5, "all heads pruned");
                }
            }
            assertEquals(List.of("clean", "1.3"), r.generated().stream().map(AblationScan.Generated::label).toList());
            long[] greedy = ids.clone();
            greedy = Arrays.copyOf(greedy, 6);
            for (int step = 0; step < 3; step++) {
                FloatTensor logits = m.plain().run(RunRequest.tokens(greedy)).output("logits");
                float[] last = logits.slice(0, greedy.length - 1).data();
                int best = 0;
                for (int v = 1; v < last.length; v++) {
                    best = last[v] > last[best] ? v : best;
                }
                greedy = Arrays.copyOf(greedy, greedy.length + 1);
                greedy[greedy.length - 1] = best;
            }
            assertEquals(Arrays.toString(Arrays.copyOfRange(greedy, 6, 9)), Arrays.toString(r.generated().get(0).ids()));

            AblationScan.DocumentScore active = AblationScan.documentScore(m, ids, List.of(new Head(1, 3)), CancelToken.NEVER);
            AblationScan.DocumentScore muted = AblationScan.documentScore(m, ids, List.of(new Head(0, 0), new Head(1, 1)), CancelToken.NEVER);
            float[] plain = m.plain().run(RunRequest.tokens(ids)).output("logits").data();
            assertEquals(loss(plain, ids, 1), active.baseLoss(), 1e-5);
            assertEquals((active.maskedLoss() - active.baseLoss()) / active.baseLoss(), active.score(), 1e-12);
            assertTrue(Math.abs(active.score()) > 1e-3, "zeroing the active head changes the document loss");
            assertEquals(0.0, muted.score(), 1e-6);
        }
    }

    @Test
    void encodersAreMeasuredByCosineDistanceOfThePooledEmbedding() {
        try (HookedModel m = HookedModel.open(BundledModels.folder(BundledModels.MINILM), DevicePreference.CPU)) {
            long[] ids = m.requireTokenizer().encode("Attention heads can be ablated one at a time.").ids();
            AblationScan scan = new AblationScan(m, AblationScan.Params.DEFAULTS.withBatchSize(12), null);
            assertTrue(!scan.languageModel());
            AblationScan.Target target = AblationScan.Target.of(ids, new long[0]);
            AblationScan.Outcome clean = scan.clean(target, CancelToken.NEVER);
            List<Head> heads = Heads.all(m).subList(0, 12);
            List<AblationScan.HeadEffect> effects = scan.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER);
            float[] hidden = m.session(TapSet.NONE, HookSet.HEAD).run(RunRequest.tokens(ids)
                    .withIntervention(scan.ablation(List.of(new Head(0, 5))))).output(scan.output()).data();
            int d = 384;
            int t = ids.length;
            double[] pooled = new double[d];
            for (int i = 0; i < t * d; i++) {
                pooled[i % d] += hidden[i] / t;
            }
            double ab = 0;
            double aa = 0;
            double bb = 0;
            for (int j = 0; j < d; j++) {
                ab += pooled[j] * clean.pooled()[j];
                aa += pooled[j] * pooled[j];
                bb += (double) clean.pooled()[j] * clean.pooled()[j];
            }
            assertEquals(1 - ab / Math.sqrt(aa * bb), effects.get(5).effect().cosineDistance(), 1e-5);
            assertTrue(effects.stream().allMatch(e -> Double.isNaN(e.effect().lossDelta()) && e.effect().cosineDistance() > 0));
        }
    }

    private static float[] logitsOfFirstSequence(JsonNode tensor) {
        JsonNode data = tensor.get("data");
        float[] out = new float[7 * 64];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) data.get(i).asDouble();
        }
        return out;
    }

    private static float[] row(float[] logits, int pos) {
        return Arrays.copyOfRange(logits, pos * 64, (pos + 1) * 64);
    }

    private static double logSoftmax(float[] row, int i) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (float v : row) {
            s += Math.exp(v - max);
        }
        return row[i] - max - Math.log(s);
    }

    private static double loss(float[] logits, long[] ids, int from) {
        int v = logits.length / ids.length;
        double sum = 0;
        for (int pos = from; pos < ids.length; pos++) {
            sum -= logSoftmax(Arrays.copyOfRange(logits, (pos - 1) * v, pos * v), (int) ids[pos]);
        }
        return sum / (ids.length - from);
    }

    private static double kl(float[] p, float[] q) {
        double s = 0;
        for (int i = 0; i < p.length; i++) {
            double lp = logSoftmax(p, i);
            s += Math.exp(lp) * (lp - logSoftmax(q, i));
        }
        return s;
    }
}
