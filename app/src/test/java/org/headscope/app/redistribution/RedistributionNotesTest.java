package org.headscope.app.redistribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.headscope.analysis.Redistribution;
import org.headscope.app.model.BundledSample;
import org.headscope.app.util.Settings;
import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.assets.BundledModels;
import org.junit.jupiter.api.Test;

/**
 * The Redistribution panel on the bundled vision-language model: VAR at its defaults finds no visual sink (no massive
 * dimension stands out, and no residual value comes near tau 20 at width 128, where it cannot exceed sqrt(128)), and
 * the panel says so with the largest value found instead of showing an unchanged output as a result; PAI at its code's alpha 0.2 names the logit refinement it leaves out.
 */
class RedistributionNotesTest {
    @Test
    void varAtItsDefaultsOnShapesVlmSaysItSelectedNothingAndPaiNamesWhatItLeavesOut() {
        assumeTrue(BundledModels.available().contains("shapes-vlm"), "trained models are not in this build");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.inMemory())) {
            vm.start();
            vm.open("shapes-vlm");
            BundledSample sample = BundledSample.of("shapes-vlm").orElseThrow();
            RedistributionViewModel red = vm.redistribution();
            red.methodProperty().set(RedistributionMethod.VAR);
            red.run(sample.prompt(), sample.image());
            assertNull(vm.messageProperty().get());
            Redistribution.Result r = red.resultProperty().get();
            assertEquals(0, r.selected().size());
            String notes = RedistributionView.notesText(r);
            assertTrue(notes.startsWith("Selected nothing: no visual sink selected: no massive dimension was found"), notes);
            double largest = Double.parseDouble(notes.replaceAll("(?s).* is ([0-9.]+) \\(dim [0-9]+\\), against tau = 20.*", "$1"));
            assertTrue(largest > 1 && largest < Math.sqrt(128), notes);
            assertTrue(notes.contains("Departures from the paper's code:\n- Massive dimensions are found on this input"), notes);

            red.methodProperty().set(RedistributionMethod.PAI);
            assertEquals(0.2, red.valueProperty(RedistributionMethod.PAI, "alpha").get());
            red.run(sample.prompt(), sample.image());
            Redistribution.Result pai = red.resultProperty().get();
            assertTrue(pai.departures().stream().anyMatch(d -> d.contains("--use-cfg")), pai.departures().toString());
            red.choiceProperty(RedistributionMethod.PAI, "use_cfg").set("on");
            red.run(sample.prompt(), sample.image());
            Redistribution.Result cfg = red.resultProperty().get();
            assertTrue(cfg.details().containsKey("cfg"), cfg.details().keySet().toString());
            assertTrue(cfg.departures().stream().noneMatch(d -> d.contains("--use-cfg")), cfg.departures().toString());
        }
    }
}
