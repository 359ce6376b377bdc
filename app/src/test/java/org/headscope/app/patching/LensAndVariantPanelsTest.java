package org.headscope.app.patching;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Patching;
import org.headscope.analysis.Progress;
import org.headscope.analysis.VariantCompare;
import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Message;
import org.headscope.app.util.Settings;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Logit lens and Variant damage panels and the Patching panel's layers x positions view show what the analyses
 * return; a bad variant is refused in words.
 */
class LensAndVariantPanelsTest {
    private static final String PROMPT = "dont worry , be happy . the magic word of the green forest is quartz . give your very best today . "
            + "question : what is the magic word of the green forest ? answer :";
    private static final Path MATRIX = Path.of("../onnx-hooks/src/test/fixtures/matrix/gpt2").toAbsolutePath().normalize();

    @Test
    void lensPanelShowsTheLensNumbers() throws Exception {
        assumeTrue(BundledModels.available().contains("needle-gpt"), "needle-gpt is not in this build");
        Settings settings = Settings.inMemory();
        settings.put("model", "needle-gpt");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.start();
            vm.attention().promptProperty().set(PROMPT);
            HookedModel model = vm.models().current().model();
            var tk = model.requireTokenizer();
            long[] ids = tk.encode(PROMPT).ids();
            long answer = tk.encodePlain("quartz")[0];

            var lens = vm.scan("Logit lens");
            lens.valueProperty("answer").set("quartz");
            lens.valueProperty("top").set("3");
            lens.run(PROMPT);
            assertNull(vm.messageProperty().get());
            assertNotNull(lens.reportProperty().get());

            FloatTensor direct = new LogitLens(model).lens(ids, CancelToken.NEVER);
            List<LogitLens.LensCell> cells = LogitLens.cells(direct, answer, 3).stream()
                    .filter(c -> c.position() == ids.length - 1).toList();
            List<Map<String, Object>> rows = lens.reportProperty().get().heads();
            assertEquals(model.layers() + 1, rows.size());
            assertEquals(cells.size(), rows.size());
            for (LogitLens.LensCell c : cells) {
                Map<String, Object> row = rows.stream().filter(r -> ((Number) r.get("layer")).intValue() == c.row() - 1).findFirst().orElseThrow();
                assertEquals(c.answerRank(), ((Number) row.get("answer_rank")).intValue(), "rank after layer " + (c.row() - 1));
                assertEquals(c.topLogits()[0], ((Number) row.get("top_logit")).doubleValue(), 1e-6);
                assertEquals(tk.tokenString(c.top()[0]), row.get("top_token"));
            }
            // the table and findings: a row per layer, named by layer, with the answer's rank and the top tokens in words
            assertTrue(lens.columns().contains("answer_rank"), lens.columns().toString());
            String findings = lens.findings();
            assertTrue(findings.contains("Top token at the last position: embeddings '"), findings);
            assertTrue(findings.contains(model.layers() + 1 + " rows"), findings);
            assertTrue(findings.contains("The answer 'quartz'"), findings);
            assertNull(lens.scoresProperty().get(), "per-layer rows do not colour the head grid");

            // auto: the model's top token, which the last lens row (the model's logits) ranks 0
            lens.valueProperty("answer").set("auto");
            lens.run(PROMPT);
            assertNull(vm.messageProperty().get());
            Map<String, Object> last = lens.reportProperty().get().heads().getLast();
            assertEquals(0, ((Number) last.get("answer_rank")).intValue());

            lens.valueProperty("top").set("0");
            lens.run(PROMPT);
            Message m = vm.messageProperty().get();
            assertNotNull(m);
            assertTrue(m.toString().contains("top k must be 1..100"), m.toString());
            vm.messageProperty().set(null);
        }
    }

    @Test
    void patchingPanelShowsTheLayersByPositionsViewOfAHead() throws Exception {
        assumeTrue(BundledModels.available().contains("needle-gpt"), "needle-gpt is not in this build");
        Settings settings = Settings.inMemory();
        settings.put("model", "needle-gpt");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.start();
            vm.attention().promptProperty().set(PROMPT);
            HookedModel model = vm.models().current().model();
            var tk = model.requireTokenizer();
            Patching.Setup s = new Patching.Setup(tk.encode(PROMPT).ids(), tk.encode(PROMPT.replace("quartz", "copper")).ids(),
                    tk.encodePlain("quartz")[0], tk.encodePlain("copper")[0]);
            Patching p = new Patching(model, 16);
            double[][] direct = Patching.normalise(p.headPositions(s, Patching.Direction.DENOISING, 1, Progress.NONE, CancelToken.NEVER),
                    p.baseline(s, CancelToken.NEVER));

            var patch = vm.scan("Patching");
            patch.valueProperty("corrupted").set("quartz->copper");
            patch.valueProperty("answers").set("quartz,copper");
            patch.valueProperty("positionHead").set("1");
            patch.run(PROMPT);
            assertNull(vm.messageProperty().get());
            List<?> grid = (List<?>) patch.reportProperty().get().sections().get("head_positions");
            assertEquals(model.layers(), grid.size());
            for (int l = 0; l < direct.length; l++) {
                List<?> row = (List<?>) grid.get(l);
                assertEquals(s.clean().length, row.size());
                for (int q = 0; q < direct[l].length; q++) {
                    assertEquals(direct[l][q], ((Number) row.get(q)).doubleValue(), 1e-9, l + "," + q);
                }
            }
            assertTrue(patch.findings().contains("Head 1 of a layer patched at one position"), patch.findings());

            patch.valueProperty("positionHead").set(String.valueOf(model.heads()));
            patch.run(PROMPT);
            Message m = vm.messageProperty().get();
            assertNotNull(m);
            assertTrue(m.toString().contains("does not exist"), m.toString());
        }
    }

    @Test
    void variantPanelShowsTheCompareNumbersAndRefusesABadVariant(@TempDir Path dir) throws Exception {
        Path eager = MATRIX.resolve("eager");
        Path int8 = MATRIX.resolve("int8");
        assumeTrue(Files.exists(eager.resolve("model.onnx")) && Files.exists(int8.resolve("model.onnx")), "no gpt2 matrix fixture");
        Settings settings = Settings.inMemory();
        settings.put("model", eager.toString());
        String prompt = "the magic word is quartz . the magic word is";
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.start();
            assertEquals(eager, vm.models().current().path().toAbsolutePath().normalize());
            vm.attention().promptProperty().set(prompt);
            HookedModel model = vm.models().current().model();

            var variant = vm.scan("Variant damage");
            variant.valueProperty("variant").set(int8.toString());
            variant.run(prompt);
            assertNull(vm.messageProperty().get());
            assertNotNull(variant.reportProperty().get());
            List<VariantCompare.HeadDamage> direct;
            try (HookedModel b = HookedModel.open(int8)) {
                direct = VariantCompare.compare(model, b, model.requireTokenizer().encode(prompt).ids(), CancelToken.NEVER);
            }
            assertEquals(direct.size(), variant.ranked("js_mean").size());
            boolean moved = false;
            for (VariantCompare.HeadDamage d : direct) {
                Map<String, Object> row = variant.ranked("js_mean").stream().filter(r -> ((Number) r.get("layer")).intValue() == d.layer()
                        && ((Number) r.get("head")).intValue() == d.head()).findFirst().orElseThrow();
                assertEquals(d.jsMean(), ((Number) row.get("js_mean")).doubleValue(), 1e-12, d.layer() + "." + d.head());
                assertEquals(d.attnMaxAbs(), ((Number) row.get("attn_max_abs")).doubleValue(), 1e-12);
                assertEquals(d.zMeanAbs(), ((Number) row.get("z_mean_abs")).doubleValue(), 1e-12);
                moved |= d.jsMean() > 0;
            }
            assertTrue(moved, "int8 moves some head");
            assertTrue(variant.findings().contains("ranked by js_mean"), variant.findings());
            assertNotNull(variant.scoresProperty().get());

            // empty, missing, not a model, another model: a message in words, no stack trace, no result
            Files.writeString(dir.resolve("notes.onnx"), "not a model");
            assumeTrue(BundledModels.available().contains("needle-gpt"));
            for (String[] bad : new String[][]{{"", "give the path of the variant export"},
                    {dir.resolve("missing.onnx").toString(), "neither a file"},
                    {dir.resolve("notes.onnx").toString(), ""},
                    {"needle-gpt", "not an export of the same model"}}) {
                variant.valueProperty("variant").set(bad[0]);
                variant.run(prompt);
                Message m = vm.messageProperty().get();
                assertNotNull(m, bad[0]);
                String text = m.toString();
                assertTrue(text.startsWith("The Variant damage scan failed: "), text);
                assertTrue(text.contains(bad[1]), text);
                assertFalse(text.contains("Exception") || text.contains("\tat ") || text.contains("\n\tat"), text);
                assertNull(variant.reportProperty().get(), "a failed run clears the panel");
                vm.messageProperty().set(null);
            }
        }
    }
}
