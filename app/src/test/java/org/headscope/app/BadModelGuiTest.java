package org.headscope.app;

import org.headscope.app.workbench.Workbench;
import org.headscope.app.workbench.WorkbenchView;
import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.util.FxTaskExecutor;
import org.headscope.app.util.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opening files HeadScope must refuse, in the running workbench: each shows its message in the message bar, and the
 * model and prompt on screen stay as they were and keep running.
 */
class BadModelGuiTest {
    static WorkbenchViewModel vm;
    static WorkbenchView view;
    final FxRobot robot = new FxRobot();

    @TempDir
    static Path dir;

    @BeforeAll
    static void launch() throws Exception {
        FxToolkit.registerPrimaryStage();
        Settings settings = Settings.inMemory();
        vm = WaitForAsyncUtils.asyncFx(() -> new WorkbenchViewModel(new FxTaskExecutor(), settings)).get();
        FxToolkit.setupStage(stage -> view = Workbench.show(stage, vm));
        WaitForAsyncUtils.asyncFx(vm::start).get();
        await();
        assertNotNull(vm.attention().runProperty().get(), "the bundled model ran its prompt");
    }

    @AfterAll
    static void close() throws Exception {
        FxToolkit.cleanupStages();
        vm.close();
    }

    static void await() throws Exception {
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !vm.executor().busyProperty().get());
        WaitForAsyncUtils.waitForFxEvents();
    }

    private void refusedAndNothingLost(Path bad, String expected) throws Exception {
        var before = vm.models().loadedProperty().get();
        String title = vm.models().titleProperty().get();
        String prompt = vm.attention().promptProperty().get();
        WaitForAsyncUtils.asyncFx(() -> vm.open(bad.toString())).get();
        await();
        var m = vm.messageProperty().get();
        assertTrue(m != null && m.error() && (m.problem() + " " + m.fix()).contains(expected), String.valueOf(m));
        assertTrue(robot.lookup("#message-bar").query().isVisible(), "the message is on screen");
        assertSame(before, vm.models().loadedProperty().get(), "the model on screen is kept");
        assertEquals(title, vm.models().titleProperty().get());
        assertEquals(prompt, vm.attention().promptProperty().get(), "the prompt is kept");
        // and it still runs
        var run = vm.attention().runProperty().get();
        WaitForAsyncUtils.asyncFx(() -> vm.attention().run()).get();
        await();
        assertTrue(vm.attention().runProperty().get() != null && vm.attention().runProperty().get() != run, "the kept model re-ran");
    }

    @Test
    void aTruncatedModelIsRefusedAndTheOpenModelKeepsWorking() throws Exception {
        Path src = Path.of("../onnx-hooks/src/test/fixtures/gpt2/model.onnx");
        byte[] bytes = Files.readAllBytes(src);
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 3));
        refusedAndNothingLost(cut, "cut.onnx");
    }

    @Test
    void aManifestWithABadValueIsRefusedAndTheOpenModelKeepsWorking() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("badmanifest"));
        Files.copy(Path.of("../onnx-hooks/src/test/fixtures/gpt2/model.onnx"), folder.resolve("model.onnx"));
        Files.writeString(folder.resolve("headscope.json"),
                "{\"format\": \"headscope-manifest/1\", \"model\": \"model.onnx\", \"bos\": -5}");
        refusedAndNothingLost(folder, "bos");
    }

    @Test
    void aFileThatIsNotAModelIsRefusedAndTheOpenModelKeepsWorking() throws Exception {
        Path text = dir.resolve("notes.onnx");
        Files.writeString(text, "these are my notes, not a model");
        refusedAndNothingLost(text, "notes.onnx");
    }
}
