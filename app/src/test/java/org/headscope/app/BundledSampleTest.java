package org.headscope.app;

import org.headscope.app.workbench.WorkbenchViewModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.headscope.app.attention.AttentionRun;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.app.model.BundledSample;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.assets.BundledModels;
import org.junit.jupiter.api.Test;

/** Opening a bundled model brings its sample prompt (and image) unless the prompt on screen is the user's own. */
class BundledSampleTest {
    /** The output strip's greedy answer to the sample is the needle's answer. */
    private static void assertAnswersRight(WorkbenchViewModel vm, String model) {
        var answer = vm.attention().answerProperty().get();
        assertNotNull(answer, model + " shows its answer");
        assertEquals("nineteen apples", answer.expected(), model);
        assertTrue(answer.cleanRight(), model + " answers its sample right, got '" + answer.clean() + "'");
    }

    @Test
    void eachBundledModelOpensOnItsSampleAndAUsersPromptIsKept() {
        assumeTrue(BundledModels.available().containsAll(BundledModels.TRAINED), "trained models are not in this build");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), Settings.inMemory())) {
            vm.start();
            assertEquals(AttentionViewModel.SAMPLE_PROMPT, vm.attention().promptProperty().get());

            vm.open("needle-gpt");
            assertEquals(BundledSample.NEEDLE_PROMPT, vm.attention().promptProperty().get());
            AttentionRun needle = vm.attention().runProperty().get();
            assertEquals("needle-gpt", vm.models().titleProperty().get());
            assertEquals(BundledSample.NEEDLE_PROMPT.split(" ").length + 1, needle.tokens().ids().length,
                    "word-level tokens of the sample plus <bos>");
            assertNull(needle.patches(), "a text model gets no image");
            assertAnswersRight(vm, "needle-gpt");
            vm.open("needle-llama");
            assertEquals("needle-llama", vm.models().titleProperty().get());
            assertAnswersRight(vm, "needle-llama");

            vm.open("shapes-vlm");
            BundledSample vlm = BundledSample.of("shapes-vlm").orElseThrow();
            assertEquals(vlm.prompt(), vm.attention().promptProperty().get());
            assertTrue(Files.isRegularFile(Path.of(vlm.image())), vlm.image());
            assertEquals(vlm.image(), vm.scan("Vision").valueProperty("image").get(), "the Vision panel reads the same image");
            AttentionRun withImage = vm.attention().runProperty().get();
            assertNotNull(withImage.patches(), "the sample image goes in");
            assertEquals(1 + 64 + vlm.prompt().split(" ").length, withImage.tokens().ids().length,
                    "<bos>, 8 x 8 image tokens and the question");

            vm.attention().promptProperty().set("how many shapes are there");
            vm.open("needle-llama");
            assertEquals("how many shapes are there", vm.attention().promptProperty().get(), "the user's prompt is kept");
            assertEquals(vlm.image(), vm.attention().imagePathProperty().get(), "and so is the image chosen with it");
        }
    }
}
