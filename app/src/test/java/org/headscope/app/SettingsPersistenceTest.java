package org.headscope.app;

import org.headscope.app.workbench.WorkbenchViewModel;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.ColourScale;
import org.headscope.app.redistribution.RedistributionMethod;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsPersistenceTest {
    @Test
    void panelSettingsAndTheColourScaleSurviveARestart(@TempDir Path dir) {
        Path file = dir.resolve(Settings.FILE);
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.load(file))) {
            vm.ablation().modeProperty().set(AblationMode.UNIFORM);
            vm.scan("Sinks").valueProperty("eps").set("0.2");
            vm.redistribution().methodProperty().set(RedistributionMethod.ZEROTUNING);
            vm.redistribution().valueProperty(RedistributionMethod.ZEROTUNING, "gamma").set(1.5);
            vm.attention().scaleProperty().set(ColourScale.LOG);
        }
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.load(file))) {
            assertEquals(AblationMode.UNIFORM, vm.ablation().modeProperty().get());
            assertEquals("0.2", vm.scan("Sinks").valueProperty("eps").get());
            assertEquals(RedistributionMethod.ZEROTUNING, vm.redistribution().methodProperty().get());
            assertEquals(1.5, vm.redistribution().valueProperty(RedistributionMethod.ZEROTUNING, "gamma").get(), 0);
            assertEquals(ColourScale.LOG, vm.attention().scaleProperty().get());
            assertEquals("1", vm.scan("Head profile").valueProperty("offset").get());
        }
    }
}
