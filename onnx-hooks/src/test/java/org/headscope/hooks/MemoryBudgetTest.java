package org.headscope.hooks;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs that cannot fit are refused before they start, with the estimate; runs that fit go ahead. */
class MemoryBudgetTest {
    @Test
    void theEstimateCountsOneLayersWorkingMapsAndEveryFullTapTwice() {
        // one [1, 8, 1000, 1000] float map is 32,000,000 bytes; 3 working copies + 2 x 4 tapped layers = 11 maps, x 1.25
        assertEquals((long) (11 * 32_000_000L * 1.25), MemoryBudget.estimate(1, 8, 1000, 1000, 4));
    }

    @Test
    void aRunLargerThanWhatIsFreeIsRefusedWithTheNumbers() {
        ModelException e = assertThrows(ModelException.class, () -> MemoryBudget.check(2, 32, 8192, 8192, 32, 8L << 30));
        assertTrue(e.problem().contains("needs about") && e.problem().contains("8.0 GB") && e.problem().contains("2 x 8192"), e.getMessage());
        assertTrue(e.fix().contains("shorter prompt"), e.getMessage());
        assertDoesNotThrow(() -> MemoryBudget.check(1, 4, 64, 64, 2, 8L << 30));
    }

    @Test
    void aHugePromptIsRefusedBeforeOnnxRuntimeTriesIt() {
        try (HookedModel m = HookedModel.open(Path.of("src/test/fixtures/gpt2/model.onnx"), DevicePreference.CPU)) {
            long[] ids = new long[300_000];
            java.util.Arrays.fill(ids, 1);
            // 4 heads x 300,000^2 floats per layer is 1.4 TB: no machine running this test has it free
            ModelException e = assertThrows(ModelException.class,
                    () -> m.session(TapSet.of(TapKind.PROBS, List.of(0)), HookSet.NONE).run(RunRequest.tokens(ids)));
            assertTrue(e.problem().contains("needs about"), e.getMessage());
        }
    }
}
