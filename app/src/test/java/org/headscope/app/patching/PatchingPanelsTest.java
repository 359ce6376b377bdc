package org.headscope.app.patching;

import org.headscope.analysis.LogitLens;
import org.headscope.analysis.Patching;
import org.headscope.analysis.Progress;
import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The Patching, Logit attribution and Head atlas panels on the bundled needle decoder show what the analyses return. */
class PatchingPanelsTest {
    private static final String PROMPT = "dont worry , be happy . the magic word of the green forest is quartz . give your very best today . "
            + "question : what is the magic word of the green forest ? answer :";

    @Test
    void panelsShowTheAnalysesNumbers() throws Exception {
        assumeTrue(BundledModels.available().contains("needle-gpt"), "needle-gpt is not in this build");
        Settings settings = Settings.inMemory();
        settings.put("model", "needle-gpt");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.start();
            vm.attention().promptProperty().set(PROMPT);
            var model = vm.models().current().model();

            var patch = vm.scan("Patching");
            patch.valueProperty("corrupted").set("quartz->copper");
            patch.run(PROMPT);
            assertNull(vm.messageProperty().get());
            var tk = model.requireTokenizer();
            Patching.Setup s = new Patching.Setup(tk.encode(PROMPT).ids(), tk.encode(PROMPT.replace("quartz", "copper")).ids(),
                    tk.encodePlain("quartz")[0], tk.encodePlain("copper")[0]);
            Patching p = new Patching(model, 16);
            double[][] direct = Patching.normalise(p.heads(s, Patching.Direction.DENOISING, null, Progress.NONE, CancelToken.NEVER),
                    p.baseline(s, CancelToken.NEVER));
            for (Map<String, Object> row : patch.ranked("patch_effect")) {
                int l = ((Number) row.get("layer")).intValue();
                int h = ((Number) row.get("head")).intValue();
                assertEquals(direct[l][h], ((Number) row.get("patch_effect")).doubleValue(), 1e-9, l + "." + h);
            }

            var dla = vm.scan("Logit attribution");
            dla.valueProperty("answers").set("quartz,copper");
            dla.run(PROMPT);
            assertNull(vm.messageProperty().get());
            LogitLens.Attribution a = new LogitLens(model).attribute(s.clean(), s.answer(), s.wrong(), CancelToken.NEVER);
            for (Map<String, Object> row : dla.ranked("dla")) {
                int l = ((Number) row.get("layer")).intValue();
                int h = ((Number) row.get("head")).intValue();
                assertEquals(a.heads()[l][h], ((Number) row.get("dla")).doubleValue(), 1e-9, l + "." + h);
            }

            var atlas = vm.scan("Head atlas");
            atlas.valueProperty("probes").set("2");
            atlas.valueProperty("corrupted").set("quartz->copper");
            atlas.valueProperty("answers").set("quartz,copper");
            atlas.run(PROMPT);
            assertNull(vm.messageProperty().get());
            assertNotNull(atlas.reportProperty().get());
            var columns = atlas.columns();
            for (String c : new String[]{"patching.patch_effect", "dla.dla", "ablation.loss_delta", "ablation.amp_importance",
                    "copy.induction", "sinks.colmean_k0"}) {
                assertTrue(columns.contains(c), c + " in " + columns);
            }
            // the atlas's patching column is the Patching panel's
            for (Map<String, Object> row : atlas.ranked("patching.patch_effect")) {
                int l = ((Number) row.get("layer")).intValue();
                int h = ((Number) row.get("head")).intValue();
                assertEquals(direct[l][h], ((Number) row.get("patching.patch_effect")).doubleValue(), 1e-9);
            }
        }
    }
}
