package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.hooks.CancelToken;
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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Echo, induction and detector scores, and the in-graph reductions the retrieval scan reads. */
class CopyScoresTest {
    @TempDir
    Path dir;

    @Test
    void scoresOfAHandWrittenAttentionMatrix() {
        long[] x = {1, 5, 6, 5, 6};
        float[][] a = {
                {1, 0, 0, 0, 0},
                {0.5f, 0.5f, 0, 0, 0},
                {0.2f, 0.8f, 0, 0, 0},
                {0.1f, 0.3f, 0.4f, 0.2f, 0},
                {0.1f, 0.1f, 0.2f, 0.5f, 0.1f}};
        double[] s = CopyScores.scores(a, x);
        // rows 3 and 4 have an earlier copy: echo mass 0.3 (row 3 on key 1) and 0.2 (row 4 on key 2)
        assertEquals((0.3 + 0.2) / 2, s[0], 1e-6);
        // induction: row 3 (token 5, copy at 1) -> key 2: 0.4; row 4 (token 6, copy at 2) -> key 3: 0.5
        assertEquals((0.4 + 0.5) / 2, s[1], 1e-6);
        // previous token: A[1,0] + A[2,1] + A[3,2] + A[4,3] over the total mass 5
        assertEquals((0.5 + 0.8 + 0.4 + 0.5) / 5, s[2], 1e-6);
        assertEquals((0.3 + 0.2) / 5, s[3], 1e-6);
        // row 2 (token 6) has no earlier 6; rows 1..2 add nothing; induction keys as above
        assertEquals((0.4 + 0.5) / 5, s[4], 1e-6);
    }

    @Test
    void chanceLevelIsTheScoreOfEvenAttentionWorkedOutByHand() {
        // BOS, then "a b c" twice: rows 4, 5, 6 have one earlier copy each (keys 1, 2, 3), and the token after it
        long[] x = {0, 11, 12, 13, 11, 12, 13};
        double[] c = CopyScores.chance(x, true);
        // even attention over q+1 visible keys gives each key 1/(q+1); one copy and one induction key per scored row
        double perRow = (1.0 / 5 + 1.0 / 6 + 1.0 / 7) / 3;
        assertEquals(perRow, c[0], 1e-6, "echo");
        assertEquals(perRow, c[1], 1e-6, "induction");
        // previous token: every row q >= 1 puts 1/(q+1) on q-1, over a total mass of 7 (each row sums to 1)
        double prev = 0;
        for (int q = 1; q < 7; q++) {
            prev += 1.0 / (q + 1);
        }
        assertEquals(prev / 7, c[2], 1e-6, "previous token");
        assertEquals((1.0 / 5 + 1.0 / 6 + 1.0 / 7) / 7, c[3], 1e-6, "duplicate token");
        // the planted copy head scores far above its chance level
        assertTrue(c[1] < 0.2);
    }

    @Test
    void plantedCopyHeadHasTheTopInductionScoreAndTheEchoHeadTheTopEchoScore() throws Exception {
        try (HookedModel m = HookedModel.open(PlantedDecoders.plantedCopyModel(dir), DevicePreference.CPU)) {
            CopyScores c = CopyScores.run(m, new CopyScores.Params(20, 7), Progress.NONE, CancelToken.NEVER);
            double[] induction = c.induction()[0];
            double[] echo = c.echo()[0];
            assertTrue(induction[PlantedDecoders.COPY_HEAD] > 0.9, "copy head induction " + induction[0]);
            assertTrue(induction[PlantedDecoders.COPY_HEAD] > induction[PlantedDecoders.ECHO_HEAD] + 0.5);
            assertTrue(echo[PlantedDecoders.ECHO_HEAD] > echo[PlantedDecoders.COPY_HEAD] + 0.3, "echo " + echo[1]);
            assertTrue(c.inductionTl()[0][PlantedDecoders.COPY_HEAD] > c.inductionTl()[0][2]);
            assertTrue(c.duplicateToken()[0][PlantedDecoders.ECHO_HEAD] > c.duplicateToken()[0][PlantedDecoders.COPY_HEAD]);
            // the chance level of 20 random tokens repeated 4 times (plus BOS) is far below the planted head's score
            assertTrue(c.chanceByColumn().get("induction") < 0.1, "chance " + c.chanceByColumn());
        }
    }

    @Test
    void argmaxAndLastRowTapsEqualWhatTheFullProbabilitiesGive() {
        try (HookedModel m = HookedModel.open(Path.of("../onnx-hooks/src/test/fixtures/gpt2/model.onnx"), DevicePreference.CPU)) {
            List<Integer> layers = Heads.allLayers(m);
            long[] ids = {5, 17, 3, 59, 42, 7, 7, 63, 12, 31, 8};
            RunResult r = m.session(TapSet.of(TapKind.PROBS, layers).with(TapKind.ARGMAX, layers).with(TapKind.LAST_ROW, layers),
                    HookSet.NONE).run(RunRequest.tokens(ids));
            int t = ids.length;
            for (int l : layers) {
                FloatTensor p = r.tap(TapKind.PROBS, l);
                LongTensor am = r.argmax(l);
                FloatTensor last = r.tap(TapKind.LAST_ROW, l);
                for (int h = 0; h < m.heads(); h++) {
                    for (int q = 0; q < t; q++) {
                        int best = 0;
                        for (int k = 1; k < t; k++) {
                            if (p.get(0, h, q, k) > p.get(0, h, q, best)) {
                                best = k;
                            }
                        }
                        assertEquals(best, am.get(0, h, q), "argmax layer " + l + " head " + h + " row " + q);
                    }
                    assertArrayEquals(p.slice(0, h, t - 1).data(), last.slice(0, h).data(), 1e-7f);
                }
            }
        }
    }
}
