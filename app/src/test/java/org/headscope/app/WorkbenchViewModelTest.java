package org.headscope.app;

import org.headscope.app.workbench.WorkbenchViewModel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The workbench's view models on the bundled MiniLM, without a window, on a current-thread executor. */
class WorkbenchViewModelTest {
    private static WorkbenchViewModel vm;

    @BeforeAll
    static void open() {
        vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.inMemory());
        vm.start();
    }

    @AfterAll
    static void close() {
        vm.close();
    }

    @BeforeEach
    void reset() {
        vm.messageProperty().set(null);
        vm.ablation().liveProperty().set(false);
        vm.ablation().heads().clear();
        vm.ablation().modeProperty().set(AblationMode.ZERO);
        vm.ablation().liveProperty().set(true);
        vm.attention().promptProperty().set("The cat sat on the mat because it was warm.");
        vm.attention().run();
    }

    private static HookedModel model() {
        return vm.models().current().model();
    }

    @Test
    void startOpensTheBundledModelAndShowsItsFacts() {
        assertEquals("all-MiniLM-L6-v2", vm.models().titleProperty().get());
        assertEquals("CPU", vm.models().deviceProperty().get());
        assertFalse(vm.models().deviceReasonProperty().get().isBlank());
        assertTrue(vm.models().factsProperty().get().startsWith("6 layers \u00d7 12 heads, 12 kv heads, head dim 32"),
                vm.models().factsProperty().get());
    }

    @Test
    void theRunHoldsTheProbabilitiesTheEngineReturnsForTheSamePrompt() {
        AttentionRun run = vm.attention().runProperty().get();
        long[] ids = model().requireTokenizer().encode("The cat sat on the mat because it was warm.").ids();
        assertArrayEquals(ids, run.tokens().ids());
        assertEquals("[CLS]", run.tokens().strings()[0]);
        RunResult r = model().session(TapSet.of(TapKind.PROBS, List.of(4)), HookSet.NONE).run(RunRequest.tokens(ids));
        FloatTensor expected = r.tap(TapKind.PROBS, 4).slice(0, 7);
        FloatTensor shown = run.map(4, 7, false);
        assertArrayEquals(expected.shape(), shown.shape());
        for (int i = 0; i < expected.data().length; i++) {
            assertEquals(expected.data()[i], shown.data()[i], 1e-5);
        }
        for (int q = 0; q < shown.dim(0); q++) {
            double sum = 0;
            for (int k = 0; k < shown.dim(1); k++) {
                sum += shown.get(q, k);
            }
            assertEquals(1.0, sum, 1e-4);
        }
    }

    @Test
    void aFailedRunLeavesTheEarlierRunAndSaysWhatToDo() {
        AttentionRun before = vm.attention().runProperty().get();
        vm.attention().promptProperty().set("   ");
        vm.attention().run();
        assertSame(before, vm.attention().runProperty().get());
        assertTrue(vm.messageProperty().get().error());
        assertTrue(vm.messageProperty().get().problem().contains("prompt is empty"), vm.messageProperty().get().problem());
        assertFalse(vm.messageProperty().get().fix().isBlank());
    }

    @Test
    void openingAMissingFileKeepsTheOpenModel() {
        var before = vm.models().current();
        vm.open("/no/such/model.onnx");
        assertSame(before, vm.models().current());
        assertTrue(vm.messageProperty().get().problem().contains("does not exist"));
        assertTrue(vm.messageProperty().get().fix().contains("bundled"));
    }

    @Test
    void togglingAHeadReRunsWithItZeroedAsTheEngineDoes() {
        vm.ablation().toggle(new Head(1, 4));
        AttentionRun run = vm.attention().runProperty().get();
        assertTrue(run.hasAblation());
        assertEquals(java.util.Set.of(new Head(1, 4)), run.ablatedHeads());
        long[] ids = run.tokens().ids();
        float[] clean = pooled(model().plain().run(RunRequest.tokens(ids)));
        float[] ablated = pooled(model().session(TapSet.NONE, HookSet.HEAD)
                .run(RunRequest.tokens(ids).withIntervention(Intervention.builder().zeroHead(1, 4).build())));
        double cos = cosine(clean, ablated);
        assertTrue(cos < 0.99999, "zeroing a head changes the embedding: " + cos);
        assertEquals(cos, vm.ablation().comparisonProperty().get().cosine(), 2e-5);
    }

    @Test
    void uniformModeSpreadsTheHeadEvenlyAndBosModeMovesItToTheFirstToken() {
        vm.ablation().modeProperty().set(AblationMode.UNIFORM);
        vm.ablation().toggle(new Head(3, 2));
        FloatTensor uniform = vm.attention().runProperty().get().map(3, 2, true);
        int t = uniform.dim(1);
        for (float p : uniform.data()) {
            assertEquals(1.0 / t, p, 1e-5);
        }
        vm.ablation().modeProperty().set(AblationMode.BOS);
        FloatTensor bos = vm.attention().runProperty().get().map(3, 2, true);
        for (int q = 0; q < bos.dim(0); q++) {
            assertEquals(1.0, bos.get(q, 0), 1e-5);
        }
        FloatTensor untouched = vm.attention().runProperty().get().map(3, 3, true);
        assertNotNull(untouched);
        assertTrue(untouched.get(1, 0) < 0.999, "other heads keep their own attention");
    }

    @Test
    void scaleByOneChangesNothingAndMeanModeDiffersFromZero() {
        vm.ablation().modeProperty().set(AblationMode.SCALE);
        vm.ablation().alphaProperty().set(1.0);
        vm.ablation().toggle(new Head(0, 0));
        assertEquals(1.0, vm.ablation().comparisonProperty().get().cosine(), 1e-6);
        vm.ablation().modeProperty().set(AblationMode.ZERO);
        double zero = vm.ablation().comparisonProperty().get().cosine();
        vm.ablation().modeProperty().set(AblationMode.MEAN_PROMPT);
        double mean = vm.ablation().comparisonProperty().get().cosine();
        assertTrue(Math.abs(zero - mean) > 1e-7, "zero " + zero + " vs mean " + mean);
    }

    @Test
    void aSessionFileReopensTheSameModelPromptHeadsAndView(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        vm.attention().promptProperty().set("Paris is the capital of France.");
        vm.ablation().modeProperty().set(AblationMode.SCALE);
        vm.ablation().alphaProperty().set(0.25);
        vm.ablation().toggle(new Head(2, 5));
        vm.ablation().toggle(new Head(4, 1));
        vm.attention().layerProperty().set(4);
        vm.attention().headProperty().set(9);
        vm.attention().scaleProperty().set(org.headscope.app.attention.ColourScale.LOG);
        vm.attention().showAblatedProperty().set(true);
        var saved = vm.capture();
        AttentionRun before = vm.attention().runProperty().get();
        java.nio.file.Path file = saved.write(dir.resolve("s.headscope.json"));

        vm.ablation().clear();
        vm.ablation().modeProperty().set(AblationMode.ZERO);
        vm.attention().promptProperty().set("Something else entirely.");
        vm.attention().layerProperty().set(0);
        vm.attention().headProperty().set(0);
        vm.attention().scaleProperty().set(org.headscope.app.attention.ColourScale.LINEAR);
        vm.attention().showAblatedProperty().set(false);
        vm.attention().run();

        var read = org.headscope.app.workbench.SessionFile.read(file);
        assertEquals(saved, read);
        vm.restore(read);
        assertEquals(saved, vm.capture());
        AttentionRun after = vm.attention().runProperty().get();
        assertArrayEquals(before.tokens().ids(), after.tokens().ids());
        assertEquals(java.util.Set.of(new Head(2, 5), new Head(4, 1)), after.ablatedHeads());
        assertArrayEquals(before.map(4, 9, true).data(), after.map(4, 9, true).data(), 1e-6f);
        vm.attention().scaleProperty().set(org.headscope.app.attention.ColourScale.LINEAR);
        vm.attention().showAblatedProperty().set(false);
    }

    @Test
    void theProfilePanelRanksHeadsByScoresOfTheEnginesProbabilitiesAndKeepsThemWhenAValueIsBad() {
        var scan = vm.scan("Head profile");
        scan.valueProperty("offset").set("2");
        String prompt = vm.attention().promptProperty().get();
        scan.run(prompt);
        var report = scan.reportProperty().get();
        assertEquals(6 * 12, report.heads().size());
        long[] ids = model().requireTokenizer().encode(prompt).ids();
        FloatTensor a = model().session(TapSet.of(TapKind.PROBS, List.of(3)), HookSet.NONE).run(RunRequest.tokens(ids))
                .tap(TapKind.PROBS, 3).slice(0, 5);
        int t = a.dim(0);
        double first = 0;
        double back2 = 0;
        for (int q = 0; q < t; q++) {
            first += a.get(q, 0) / t;
            if (q >= 2) {
                back2 += a.get(q, q - 2) / (t - 2);
            }
        }
        var row = report.heads().stream().filter(h -> h.get("layer").equals(3) && h.get("head").equals(5)).findFirst().orElseThrow();
        assertEquals(first, (Double) row.get("first_token"), 1e-5);
        assertEquals(back2, (Double) row.get("offset"), 1e-5);

        scan.columnProperty().set("offset");
        var ranked = scan.ranked("offset");
        double best = report.heads().stream().mapToDouble(h -> (Double) h.get("offset")).max().orElseThrow();
        assertEquals(best, (Double) ranked.getFirst().get("offset"), 0);
        Head top = new Head((Integer) ranked.getFirst().get("layer"), (Integer) ranked.getFirst().get("head"));
        assertEquals(1.0, scan.scoresProperty().get().position(top), 0);

        scan.valueProperty("offset").set("two");
        scan.run(prompt);
        assertNull(scan.reportProperty().get(), "no result is shown beside the error of the run that failed");
        assertTrue(vm.messageProperty().get().problem().contains("must be a whole number"), vm.messageProperty().get().problem());
        assertEquals("two", scan.valueProperty("offset").get());
        scan.resetDefaults();
        assertEquals("1", scan.valueProperty("offset").get());
    }

    @Test
    void zeroTuningRaisesKeyZeroByTheClosedFormInTheFirstLayer() throws Exception {
        var red = vm.redistribution();
        red.methodProperty().set(org.headscope.app.redistribution.RedistributionMethod.ZEROTUNING);
        red.valueProperty(org.headscope.app.redistribution.RedistributionMethod.ZEROTUNING, "gamma").set(2.5);
        red.run(vm.attention().promptProperty().get(), "");
        var r = red.resultProperty().get();
        FloatTensor b = r.before().get(0).slice(3);
        FloatTensor a = r.after().get(0).slice(3);
        double g = 2.5;
        for (int q = 0; q < b.dim(0); q++) {
            double z = 1 + (g - 1) * b.get(q, 0);
            assertEquals(g * b.get(q, 0) / z, a.get(q, 0), 1e-5);
            for (int k = 1; k < b.dim(1); k++) {
                assertEquals(b.get(q, k) / z, a.get(q, k), 1e-5);
            }
        }
        assertNotNull(red.scoresProperty().get());
        var written = red.export(java.nio.file.Files.createTempDirectory("hs-redistribution"));
        var report = org.headscope.analysis.report.ReportWriter.read(written.getFirst());
        assertEquals("zerotuning", report.parameters().get("method"));
        assertEquals(2.5, ((Number) report.parameters().get("gamma")).doubleValue(), 0);
        assertEquals(6 * 12, report.heads().size());

        red.methodProperty().set(org.headscope.app.redistribution.RedistributionMethod.PAI);
        red.imageSpanProperty().set("");
        red.run(vm.attention().promptProperty().get(), "");
        assertNull(red.resultProperty().get(), "no result is shown beside the error of the run that failed");
        assertTrue(vm.messageProperty().get().fix().contains("START:END"));
        red.methodProperty().set(org.headscope.app.redistribution.RedistributionMethod.ACT);
    }

    @Test
    void theRetrievalPanelRefusesAnEncoderAndSaysWhichModelToOpen() {
        var scan = vm.scan("Retrieval heads");
        scan.run(vm.attention().promptProperty().get());
        assertEquals(null, scan.reportProperty().get());
        assertTrue(vm.messageProperty().get().problem().contains("bidirectional encoder"), vm.messageProperty().get().problem());
        assertTrue(vm.messageProperty().get().fix().contains("decoder"));
    }

    @Test
    void theVisionPanelRefusesATextModel() {
        var scan = vm.scan("Vision");
        scan.run(vm.attention().promptProperty().get());
        assertEquals(null, scan.reportProperty().get());
        assertTrue(vm.messageProperty().get().problem().contains("not a vision-language model"), vm.messageProperty().get().problem());
        assertTrue(vm.messageProperty().get().fix().contains("shapes-vlm"));
    }

    @Test
    void sinkRatesCountTheHeadsWhoseMeanAttentionOnAKeyExceedsEps() {
        AttentionRun run = vm.attention().runProperty().get();
        double[] rates = run.sinkRates(0.3);
        int t = run.tokens().size();
        for (int k = 0; k < t; k++) {
            int count = 0;
            for (int l = 0; l < run.layers(); l++) {
                for (int h = 0; h < run.heads(); h++) {
                    FloatTensor a = run.map(l, h, false);
                    double sum = 0;
                    for (int q = 0; q < t; q++) {
                        sum += a.get(q, k);
                    }
                    if (sum / t > 0.3) {
                        count++;
                    }
                }
            }
            assertEquals(count / (double) (run.layers() * run.heads()), rates[k], 1e-12);
        }
        assertTrue(rates[0] > 0.5, "[CLS] is MiniLM's sink: " + rates[0]);
    }

    static float[] pooled(RunResult r) {
        String name = r.floats().keySet().stream().filter(n -> r.floats().get(n).rank() == 3).sorted().findFirst().orElseThrow();
        FloatTensor h = r.output(name);
        int t = h.dim(1);
        int d = h.dim(2);
        float[] mean = new float[d];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < d; j++) {
                mean[j] += h.get(0, i, j) / t;
            }
        }
        return mean;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
