package org.headscope.hooks;

import org.headscope.assets.BundledModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real all-MiniLM-L6-v2 export: 6 layers x 12 heads, found, tapped and steered. */
class MiniLmTest {
    private static HookedModel model;
    private static HsTokenizer.Tokens tokens;

    @BeforeAll
    static void open() {
        model = HookedModel.open(BundledModels.folder(BundledModels.MINILM), DevicePreference.CPU);
        tokens = model.requireTokenizer().encode("The quick brown fox jumps over the lazy dog.");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void findsSixLayersOfTwelveHeads() {
        assertEquals(6, model.sites().size());
        for (AttentionSite s : model.sites()) {
            assertEquals(12, s.queryHeads());
            assertEquals(12, s.kvHeads());
            assertEquals(32, s.headDim());
            assertTrue(s.outputWeight() != null, "output projection found");
            assertTrue(s.residual() != null, "residual found");
        }
        assertEquals("[CLS]", tokens.strings()[0]);
        assertEquals("[SEP]", tokens.strings()[tokens.size() - 1]);
    }

    @Test
    void probabilitiesAreSoftmaxOfTappedScoresAndRowsSumToOne() {
        List<Integer> all = IntStream.range(0, 6).boxed().toList();
        HookedSession s = model.session(TapSet.of(TapKind.PROBS, all).with(TapKind.SCORES, all), HookSet.NONE);
        // second sequence: the last three tokens are padding, so the mask must remove them
        long[] ids = tokens.ids();
        int t = ids.length;
        long[][] batch = {ids, ids};
        long[] mask = new long[2 * t];
        for (int i = 0; i < 2 * t; i++) {
            mask[i] = i < t || i < 2 * t - 3 ? 1 : 0;
        }
        RunResult r = s.run(RunRequest.batch(batch).withMask(new LongTensor(new long[]{2, t}, mask)));
        for (int l = 0; l < 6; l++) {
            FloatTensor p = r.tap(TapKind.PROBS, l);
            FloatTensor sc = r.tap(TapKind.SCORES, l);
            for (int b = 0; b < 2; b++) {
                for (int h = 0; h < 12; h++) {
                    for (int q = 0; q < t; q++) {
                        double max = Double.NEGATIVE_INFINITY;
                        int visible = b == 0 ? t : t - 3;
                        for (int k = 0; k < visible; k++) {
                            max = Math.max(max, sc.get(b, h, q, k));
                        }
                        double z = 0;
                        for (int k = 0; k < visible; k++) {
                            z += Math.exp(sc.get(b, h, q, k) - max);
                        }
                        double rowSum = 0;
                        for (int k = 0; k < t; k++) {
                            double expected = k < visible ? Math.exp(sc.get(b, h, q, k) - max) / z : 0;
                            assertEquals(expected, p.get(b, h, q, k), 1e-5, "layer " + l + " head " + h);
                            rowSum += p.get(b, h, q, k);
                        }
                        assertEquals(1.0, rowSum, 1e-5);
                    }
                }
            }
        }
    }

    @Test
    void neutralHooksGiveTheUntouchedOutputs() {
        RunRequest req = RunRequest.tokens(tokens.ids());
        FloatTensor plain = model.plain().run(req).output(model.model().outputNames().get(0));
        FloatTensor hooked = model.session(TapSet.NONE, HookSet.ALL).pinned().run(req).output(model.model().outputNames().get(0));
        assertEquals(plain.data().length, hooked.data().length);
        for (int i = 0; i < plain.data().length; i++) {
            assertEquals(plain.data()[i], hooked.data()[i], 1e-4);
        }
    }

    @Test
    void batchedInterventionsEqualSeparateRuns() {
        HookedSession s = model.session(TapSet.of(TapKind.LAST_ROW, Set.of(2)), HookSet.ALL);
        String out = model.model().outputNames().get(0);
        List<Intervention> list = List.of(
                Intervention.builder().zeroHead(1, 3).build(),
                Intervention.builder().uniform(2, 5).scaleHead(4, 0, 3f).build(),
                Intervention.builder().bos(2, 7).keyLogitBias(0, 1, 0, (float) Math.log(3)).build());
        RunRequest req = RunRequest.tokens(tokens.ids());
        RunResult batched = s.run(req.withInterventions(list));
        FloatTensor bOut = batched.output(out);
        FloatTensor bRow = batched.tap(TapKind.LAST_ROW, 2);
        int per = bOut.data().length / 3;
        int rowPer = bRow.data().length / 3;
        for (int i = 0; i < 3; i++) {
            RunResult single = s.run(req.withIntervention(list.get(i)));
            for (int j = 0; j < per; j++) {
                assertEquals(single.output(out).data()[j], bOut.data()[i * per + j], 1e-5);
            }
            for (int j = 0; j < rowPer; j++) {
                assertEquals(single.tap(TapKind.LAST_ROW, 2).data()[j], bRow.data()[i * rowPer + j], 1e-6);
            }
        }
        // and the interventions really change something
        FloatTensor clean = s.run(req).output(out);
        for (int i = 0; i < 3; i++) {
            double diff = 0;
            for (int j = 0; j < per; j++) {
                diff += Math.abs(clean.data()[j] - bOut.data()[i * per + j]);
            }
            assertTrue(diff > 1e-3, "intervention " + i + " changed the output");
        }
    }

    @Test
    void tokenSpansAreJavaCharIndicesEvenAfterSurrogatePairs() {
        String text = "A \uD83D\uDE00 smile, then caf\u00e9 tokens.";
        HsTokenizer.Tokens t = model.requireTokenizer().encode(text);
        int checked = 0;
        for (int i = 0; i < t.size(); i++) {
            String tok = t.strings()[i];
            int[] span = t.spans()[i];
            if (tok.startsWith("[") || span[0] < 0) {
                continue;
            }
            String piece = text.substring(span[0], span[1]).toLowerCase(java.util.Locale.ROOT)
                    .replace("\u00e9", "e");
            assertEquals(tok.replace("##", ""), piece, "token " + i);
            checked++;
        }
        assertTrue(checked >= 6, "checked " + checked + " tokens after the emoji");
    }

    @Test
    void layerSweepEqualsFullRunsOfEachIntervention() {
        String out = model.model().outputNames().get(0);
        List<Intervention> list = List.of(
                Intervention.builder().zeroHead(0, 4).build(),
                Intervention.builder().zeroHead(3, 11).build(),
                Intervention.builder().zeroHead(5, 0).build(),
                Intervention.builder().scaleHead(3, 2, 2f).uniform(4, 1).build(),
                Intervention.builder().bos(5, 6).build());
        RunRequest req = RunRequest.tokens(tokens.ids());
        List<java.util.Map<String, FloatTensor>> swept = LayerSweep.run(model, req, list, HookSet.ALL, List.of(out), 2,
                CancelToken.NEVER, (done, total) -> { });
        HookedSession full = model.session(TapSet.NONE, HookSet.ALL);
        for (int i = 0; i < list.size(); i++) {
            FloatTensor expected = full.run(req.withIntervention(list.get(i))).output(out);
            FloatTensor actual = swept.get(i).get(out);
            assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()));
            for (int j = 0; j < expected.data().length; j++) {
                assertEquals(expected.data()[j], actual.data()[j], 1e-5, "intervention " + i);
            }
        }
        assertEquals(3, LayerSweep.firstLayer(list.get(3)));
    }
}
