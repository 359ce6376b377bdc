package org.headscope.app;

import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.ColourScale;
import org.headscope.app.workbench.SessionFile;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.hooks.ModelException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Session files and settings with bad values: checked whole before anything is applied. A bad session changes
 * nothing (model and prompt stay); a bad settings file is set aside and the workbench starts on its defaults.
 */
class BadSessionAndSettingsTest {
    private static final String PROMPT = "The cat sat on the mat because it was warm.";
    private static WorkbenchViewModel vm;

    @BeforeAll
    static void open() {
        vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.inMemory());
        vm.attention().promptProperty().set(PROMPT);
        vm.start();
    }

    @AfterAll
    static void close() {
        vm.close();
    }

    private static SessionFile session(String model, int layer, String scale, Map<String, Map<String, Object>> panels) {
        return new SessionFile(SessionFile.FORMAT, model, "a different prompt", "", layer, 0, scale, false, panels);
    }

    @Test
    void aSessionWithABadValueChangesNothingAndSaysWhich() {
        String modelBefore = vm.models().current().source();
        List<SessionFile> bad = List.of(
                session("needle-gpt", 0, "BOGUS", Map.of()),
                session("needle-gpt", -1, "LINEAR", Map.of()),
                session("needle-gpt", 0, "LINEAR", Map.of("ablation", Map.of("mode", "explode"))),
                session("needle-gpt", 0, "LINEAR", Map.of("ablation", Map.of("heads", List.of("x.y")))),
                session("needle-gpt", 0, "LINEAR", Map.of("ablation", Map.of("alpha", "two"))),
                session("needle-gpt", 0, "LINEAR", Map.of("redistribution", Map.of("method", 7))));
        for (SessionFile s : bad) {
            vm.messageProperty().set(null);
            vm.restore(s);
            assertNotNull(vm.messageProperty().get(), "a message for " + s);
            assertTrue(vm.messageProperty().get().problem().contains("bad value"), vm.messageProperty().get().problem());
            assertEquals(modelBefore, vm.models().current().source(), "the model stays");
            assertEquals(PROMPT, vm.attention().promptProperty().get(), "the prompt stays");
            assertEquals(AblationMode.ZERO, vm.ablation().modeProperty().get());
        }
    }

    @Test
    void aSessionFileWithWrongTypesOrValuesIsRefusedWhenRead(@TempDir Path dir) throws Exception {
        String[] files = {
                "{\"format\": \"headscope-session/1\", \"model\": \"needle-gpt\", \"prompt\": \"p\", \"layer\": \"two\", \"scale\": \"LINEAR\"}",
                "{\"format\": \"headscope-session/1\", \"model\": \"needle-gpt\", \"prompt\": \"p\", \"layer\": 0, \"scale\": \"BOGUS\"}",
                "{\"format\": \"headscope-session/1\", \"model\": \"needle-gpt\", \"prompt\": \"p\", \"layer\": -3, \"scale\": \"LOG\"}",
                "{\"format\": \"headscope-session/1\", \"prompt\": \"p\", \"scale\": \"LOG\"}",
                "[1, 2, 3]",
        };
        for (String text : files) {
            Path f = Files.writeString(dir.resolve("s.headscope.json"), text);
            assertThrows(ModelException.class, () -> SessionFile.read(f), text);
        }
    }

    @Test
    void aBogusSettingsFileIsSetAsideAndTheDefaultsUsed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(Settings.FILE);
        Files.writeString(file, "{\"scale\": \"BOGUS\", \"prompt\": \"kept?\"}");
        try (WorkbenchViewModel fresh = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.load(file))) {
            assertEquals(ColourScale.LINEAR, fresh.attention().scaleProperty().get());
            assertNotNull(fresh.messageProperty().get());
            assertTrue(fresh.messageProperty().get().problem().contains("'scale' is 'BOGUS'"), fresh.messageProperty().get().problem());
            assertFalse(fresh.attention().promptProperty().get().equals("kept?"), "all or nothing: no value of the bad file applies");
        }
        assertTrue(Files.isRegularFile(dir.resolve(Settings.FILE + ".bad")), "the bad file is kept aside");
    }

    @Test
    void settingsThatAreNotJsonOrHaveBadPanelValuesAreSetAsideToo(@TempDir Path dir) throws Exception {
        for (String text : List.of("{not json", "null", "{\"width\": -5}", "{\"panels\": {\"ablation\": {\"heads\": [\"1.x\"]}}}",
                "{\"recent\": 3}")) {
            Path file = dir.resolve(Settings.FILE);
            Files.writeString(file, text);
            try (WorkbenchViewModel fresh = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.load(file))) {
                assertNotNull(fresh.messageProperty().get(), text);
                assertTrue(fresh.ablation().heads().isEmpty());
            }
        }
    }
}
