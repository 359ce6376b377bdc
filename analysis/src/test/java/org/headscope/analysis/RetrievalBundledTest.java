package org.headscope.analysis;

import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The paper's causal checks on the bundled needle decoders (trained to retrieve needles; held-out needles and
 * haystack): retrieval heads are few, masking them breaks retrieval, masking as many other heads does not, and the
 * teacher-forced scan agrees with the reference's generative one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RetrievalBundledTest {
    private static final RetrievalScan.Params GRID = new RetrievalScan.Params(List.of(64, 128), 3,
            RetrievalScan.Mode.TEACHER, 0.5, 0.1, 8);

    private static HookedModel open(String name) {
        assumeTrue(BundledModels.available().contains(name), name + " is not in this build (assets/models/" + name + ")");
        return HookedModel.open(BundledModels.folder(name), DevicePreference.CPU);
    }

    private static List<Needle> needles(int n) {
        return Needle.read(BundledModels.needles().resolve("needles.jsonl")).subList(0, n);
    }

    private static String haystack() throws Exception {
        return Files.readString(BundledModels.needles().resolve("haystack.txt"));
    }

    private final Map<String, RetrievalResult> scans = new HashMap<>();

    private RetrievalResult scan(HookedModel m, String name) throws Exception {
        RetrievalResult r = scans.get(name);
        if (r == null) {
            r = RetrievalScan.run(m, needles(12), haystack(), GRID, Progress.NONE, CancelToken.NEVER);
            scans.put(name, r);
        }
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"needle-gpt", "needle-llama"})
    void retrievalHeadsAreASmallMinority(String name) throws Exception {
        try (HookedModel m = open(name)) {
            int found = scan(m, name).retrievalHeads().size();
            int all = m.layers() * m.heads();
            // Published shares are 2-6% of 1024+ heads; a 32-head model spreads retrieval over more of its heads
            // (needle-gpt: 13 of 32 on the full grid), so the check here is that retrieval heads exist and stay a minority.
            assertTrue(found >= 1 && found < all / 2, name + ": " + found + " of " + all + " heads score above 0.1");
        }
    }

    /**
     * The paper masks its top 20 of 1024 heads (2%) against as many random heads; these models have 32 heads, so the
     * top retrieval heads masked here are at most an eighth of them, and the random heads are drawn from the heads that
     * are not retrieval heads (score at most 0.1).
     */
    @ParameterizedTest
    @ValueSource(strings = {"needle-gpt", "needle-llama"})
    void maskingTheTopRetrievalHeadsBreaksRetrievalWhileMaskingAsManyOthersDoesNot(String name) throws Exception {
        try (HookedModel m = open(name)) {
            RetrievalResult r = scan(m, name);
            int all = m.layers() * m.heads();
            int k = Math.max(1, Math.min(r.retrievalHeads().size(), all / 8));
            List<Intervention.Head> top = r.ranked().subList(0, k);
            List<Intervention.Head> others = new ArrayList<>(r.ranked().subList(r.retrievalHeads().size(), all));
            List<Intervention> edits = new ArrayList<>(List.of(Intervention.NONE, uniform(top)));
            Random rnd = new Random(42);
            for (int draw = 0; draw < 5; draw++) {
                Collections.shuffle(others, rnd);
                edits.add(uniform(others.subList(0, k)));
            }
            double[] acc = RetrievalScan.needleAccuracy(m, needles(12), haystack(), GRID, edits, Progress.NONE, CancelToken.NEVER);
            assertTrue(acc[0] >= 0.5, name + " retrieves needles at these lengths: " + acc[0]);
            assertTrue(acc[1] <= acc[0] / 2, name + ": masking " + top + " leaves accuracy " + acc[1] + " of " + acc[0]);
            // In a 32-head model a random draw of k = 4 heads can hit the previous-token heads the copy heads read
            // through (they score near 0 as retrieval heads but retrieval needs them): every draw must hurt less
            // than masking the top retrieval heads, and the typical (median) draw must cost at most 10 points.
            double[] costs = new double[5];
            for (int draw = 0; draw < 5; draw++) {
                costs[draw] = acc[0] - acc[2 + draw];
                assertTrue(acc[2 + draw] > acc[1], name + ": random draw " + draw + " hurts as much as the top heads " + Arrays.toString(acc));
            }
            Arrays.sort(costs);
            assertTrue(costs[2] <= 0.10, name + ": the median random draw costs " + costs[2] + " " + Arrays.toString(acc));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"needle-gpt", "needle-llama"})
    void teacherForcedScoresEqualGenerativeScoresWhenTheGreedyAnswerIsTheNeedle(String name) throws Exception {
        try (HookedModel m = open(name)) {
            String hay = haystack();
            List<Needle> n = needles(6);
            RetrievalResult teacher = RetrievalScan.run(m, n, hay, GRID, Progress.NONE, CancelToken.NEVER);
            RetrievalResult gen = RetrievalScan.run(m, n, hay, GRID.withMode(RetrievalScan.Mode.GENERATE), Progress.NONE, CancelToken.NEVER);
            int compared = 0;
            for (int i = 0; i < gen.tests().size(); i++) {
                RetrievalScan.Test g = gen.tests().get(i);
                RetrievalScan.Test t = teacher.tests().get(i);
                assertEquals(g.exact(), t.exact(), "greedy exact match is known from the teacher-forced pass, test " + i);
                if (g.exact()) {
                    compared++;
                    assertTrue(g.counted() && t.counted());
                    for (int l = 0; l < m.layers(); l++) {
                        assertArrayEquals(g.scores()[l], t.scores()[l], 0.0, "test " + i + " layer " + l);
                    }
                }
            }
            assertTrue(compared >= gen.tests().size() / 2, name + ": only " + compared + " exact answers to compare");
        }
    }

    private static Intervention uniform(List<Intervention.Head> heads) {
        Intervention.Builder b = Intervention.builder();
        heads.forEach(h -> b.uniform(h.layer(), h.head()));
        return b.build();
    }

}
