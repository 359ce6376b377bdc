package org.headscope.app.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.attention.OutputSummary;
import org.headscope.app.redistribution.RedistributionMethod;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.Intervention.Head;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The view models on the planted vision-language model, whose head 0 attends only to image tokens by construction. */
class VisionModelTest {
    @Test
    void imagePromptsRunAblateAndRedistributeThroughInputEmbeddings(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("quad.png");
        BufferedImage quad = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        quad.setRGB(0, 0, 0xff0000);
        quad.setRGB(1, 1, 0xffff00);
        ImageIO.write(quad, "png", png.toFile());
        Settings settings = Settings.inMemory();
        settings.put("model", Path.of("src/test/fixtures/planted-vlm").toAbsolutePath().toString());
        settings.put("prompt", "the magic word is quartz");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.attention().imagePathProperty().set(png.toString());
            vm.start();
            assertNull(vm.messageProperty().get());
            AttentionRun run = vm.attention().runProperty().get();
            assertEquals(1, run.patches().start());
            assertEquals(4, run.patches().count());
            FloatTensor head0 = run.map(0, 0, false);
            for (int q = run.patches().end(); q < head0.dim(0); q++) {
                double image = 0;
                for (int k = run.patches().start(); k < run.patches().end(); k++) {
                    image += head0.get(q, k);
                }
                assertEquals(1.0, image, 1e-4, "text query " + q + " of the image head");
            }

            vm.ablation().toggle(new Head(0, 0));
            AttentionRun ablated = vm.attention().runProperty().get();
            assertTrue(ablated.hasAblation());
            assertEquals(OutputSummary.Kind.NEXT_TOKEN, vm.ablation().comparisonProperty().get().kind());
            assertTrue(vm.ablation().comparisonProperty().get().kl() > 0, "removing the image head changes the next token");

            vm.ablation().heads().clear();
            var vision = vm.scan("Vision");
            vision.valueProperty("image").set(png.toString());
            vision.run(vm.attention().promptProperty().get());
            assertNull(vm.messageProperty().get());
            vm.applyVhr();
            var direct = org.headscope.analysis.VisionDivergence.analyse(vm.models().current().model(), quad,
                    "the magic word is quartz", org.headscope.analysis.VisionDivergence.Params.DEFAULTS,
                    org.headscope.analysis.Progress.NONE, org.headscope.hooks.CancelToken.NEVER);
            assertFalse(direct.reinforced().isEmpty());
            AttentionRun vhr = vm.attention().runProperty().get();
            assertEquals(direct.reinforcement().headEdits().keySet(), vhr.intervention().headEdits().keySet());
            direct.reinforcement().headEdits().forEach((h, e) -> assertEquals(e.gain(), vhr.intervention().headEdits().get(h).gain(), 0));

            var red = vm.redistribution();
            red.methodProperty().set(RedistributionMethod.PAI);
            red.valueProperty(RedistributionMethod.PAI, "first_layer").set(0);
            red.run(vm.attention().promptProperty().get(), png.toString());
            assertNull(vm.messageProperty().get());
            var r = red.resultProperty().get();
            assertFalse(r.selected().isEmpty());
            FloatTensor after = r.after().get(1);
            for (int h = 0; h < after.dim(0); h++) {
                double sum = 0;
                for (int k = 0; k < after.dim(2); k++) {
                    sum += after.get(h, after.dim(1) - 1, k);
                }
                assertEquals(1.0, sum, 1e-4, "head " + h + "'s last row stays a distribution");
            }
        }
    }
}
