package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Activation patching on the bundled needle decoders: a needle episode whose answer is "quartz" (clean) against the
 * same episode with "copper" (corrupted). Patching the heads that copy the answer (the retrieval heads: the most
 * attention from the last position onto the answer token) from the clean run into the corrupted one restores most of
 * the logit difference; as many other heads drawn at random do not.
 */
class PatchingBundledTest {
    static final String TEMPLATE = "dont worry , be happy . the magic word of the green forest is %s . give your very best today . "
            + "heaven knows its little enough . question : what is the magic word of the green forest ? answer :";

    static HookedModel open(String name) {
        assumeTrue(BundledModels.available().contains(name), name + " is not in this build");
        return HookedModel.open(BundledModels.folder(name), DevicePreference.CPU);
    }

    static Patching.Setup setup(HookedModel m) {
        HsTokenizer tk = m.requireTokenizer();
        long[] clean = tk.encode(String.format(TEMPLATE, "quartz")).ids();
        long[] corrupted = tk.encode(String.format(TEMPLATE, "copper")).ids();
        long a = tk.encodePlain("quartz")[0];
        long b = tk.encodePlain("copper")[0];
        assertEquals(1, tk.encodePlain("quartz").length);
        assertEquals(1, tk.encodePlain("copper").length);
        return new Patching.Setup(clean, corrupted, a, b);
    }

    /** Heads ranked by attention from the last position onto the answer token in the clean run. */
    static List<Head> copyHeads(HookedModel m, Patching.Setup s) {
        int answerAt = -1;
        for (int i = 0; i < s.clean().length; i++) {
            if (s.clean()[i] != s.corrupted()[i]) {
                answerAt = i;
            }
        }
        List<Integer> all = IntStream.range(0, m.layers()).boxed().toList();
        var r = m.session(TapSet.of(TapKind.LAST_ROW, all), HookSet.NONE).run(RunRequest.tokens(s.clean()));
        List<Head> heads = new ArrayList<>();
        double[][] mass = new double[m.layers()][m.heads()];
        for (int l = 0; l < m.layers(); l++) {
            FloatTensor t = r.tap(TapKind.LAST_ROW, l);
            for (int h = 0; h < m.heads(); h++) {
                mass[l][h] = t.get(0, h, answerAt);
                heads.add(new Head(l, h));
            }
        }
        heads.sort(Comparator.comparingDouble((Head h) -> -mass[h.layer()][h.head()]));
        return heads;
    }

    @ParameterizedTest
    @ValueSource(strings = {"needle-gpt", "needle-llama"})
    void retrievalHeadsCarryTheAnswerAndRandomHeadsDoNot(String name) {
        try (HookedModel m = open(name)) {
            Patching.Setup s = setup(m);
            Patching p = new Patching(m, 16);
            Patching.Baseline b = p.baseline(s, CancelToken.NEVER);
            assertTrue(b.clean() > 2 && b.corrupted() < -2, "the model answers both prompts: " + b);
            List<Head> ranked = copyHeads(m, s);
            List<Head> top = ranked.subList(0, 4);
            double retrieval = p.patchTogether(s, Patching.Direction.DENOISING, b, top, null, CancelToken.NEVER);
            List<Head> others = new ArrayList<>(ranked.subList(4, ranked.size()));
            Random rnd = new Random(15);
            double worstRandom = Double.NEGATIVE_INFINITY;
            List<Double> draws = new ArrayList<>();
            for (int draw = 0; draw < 5; draw++) {
                Collections.shuffle(others, rnd);
                double e = p.patchTogether(s, Patching.Direction.DENOISING, b, others.subList(0, 4), null, CancelToken.NEVER);
                draws.add(e);
                worstRandom = Math.max(worstRandom, e);
            }
            System.out.printf("%s: baseline %s; retrieval heads %s restore %.3f; random draws %s%n", name, b, top, retrieval, draws);
            // measured: needle-gpt 0.61 against random draws of at most 0.30; needle-llama 1.01 against at most 0.08
            assertTrue(retrieval > 0.5, "patching the retrieval heads restores most of the logit difference: " + retrieval);
            assertTrue(worstRandom < 0.35 && retrieval - worstRandom > 0.25, "random heads do not: " + draws);
            // the same heads patched from the corrupted run into the clean one (noising) break the answer
            double noised = p.patchTogether(s, Patching.Direction.NOISING, b, top, null, CancelToken.NEVER);
            System.out.printf("%s: noising the retrieval heads leaves %.3f%n", name, noised);
            assertTrue(noised < 0.4, "noising the retrieval heads removes most of the clean answer: " + noised);
        }
    }

    /**
     * The exact ends of residual patching: the prompts differ in one token, so the residual entering layer 0 patched
     * at that position makes the target run the source run (1), and at any other position changes nothing (0).
     */
    @ParameterizedTest
    @ValueSource(strings = {"needle-gpt"})
    void residualPatchAtTheDifferingTokenIsTheSourceRun(String name) {
        try (HookedModel m = open(name)) {
            Patching.Setup s = setup(m);
            Patching p = new Patching(m, 16);
            Patching.Baseline b = p.baseline(s, CancelToken.NEVER);
            int at = -1;
            for (int i = 0; i < s.clean().length; i++) {
                if (s.clean()[i] != s.corrupted()[i]) {
                    at = i;
                }
            }
            for (Patching.Direction d : Patching.Direction.values()) {
                double[][] g = Patching.normalise(p.residual(s, d, Progress.NONE, CancelToken.NEVER), b);
                double expectAt = d == Patching.Direction.DENOISING ? 1 : 0;
                double expectElsewhere = d == Patching.Direction.DENOISING ? 0 : 1;
                assertEquals(expectAt, g[0][at], 1e-4, d + " at the differing token");
                for (int q = 0; q < at; q++) {
                    assertEquals(expectElsewhere, g[0][q], 1e-4, d + " before the differing token, position " + q);
                }
                // the last position's residual entering the last layer still decides much of the answer
                int last = s.clean().length - 1;
                assertTrue(Math.abs(g[m.layers() - 1][last] - expectElsewhere) > 0.1, d + " last layer, last position moves the answer");
            }
        }
    }

    /** The batched sweep (one source z shared by the batch, layer-suffix sessions) equals patches run one at a time. */
    @ParameterizedTest
    @ValueSource(strings = {"needle-llama"})
    void batchedSweepEqualsSinglePatches(String name) {
        try (HookedModel m = open(name)) {
            Patching.Setup s = setup(m);
            Patching p = new Patching(m, 7);
            int[] positions = {3, s.clean().length - 1};
            double[][] grid = p.heads(s, Patching.Direction.DENOISING, positions, Progress.NONE, CancelToken.NEVER);
            float[][][] z = p.headOutputs(s.clean(), CancelToken.NEVER);
            for (Head h : List.of(new Head(0, 0), new Head(1, 5), new Head(m.layers() - 1, m.heads() - 1))) {
                Intervention one = Patching.patch(z, List.of(h), positions);
                FloatTensor logits = m.session(TapSet.NONE, HookSet.PATCH).run(RunRequest.tokens(s.corrupted()).withIntervention(one)
                        .withOutputs(Set.of(p.output()))).output(p.output());
                assertEquals(Patching.logitDiff(logits, 0, s), grid[h.layer()][h.head()], 1e-4, "head " + h);
            }
            // a patch with the target's own head outputs changes nothing
            float[][][] own = p.headOutputs(s.corrupted(), CancelToken.NEVER);
            List<Head> every = Patching.patch(own, List.of(), null).isEmpty() ? Heads.all(m) : List.of();
            FloatTensor same = m.session(TapSet.NONE, HookSet.PATCH).run(RunRequest.tokens(s.corrupted())
                    .withIntervention(Patching.patch(own, every, null)).withOutputs(Set.of(p.output()))).output(p.output());
            assertEquals(p.baseline(s, CancelToken.NEVER).corrupted(), Patching.logitDiff(same, 0, s), 1e-4);
        }
    }
}
