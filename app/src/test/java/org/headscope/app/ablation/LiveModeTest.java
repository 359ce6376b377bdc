package org.headscope.app.ablation;

import org.headscope.analysis.AblationMode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The live view reads the analysis's mode type: "mean" of older sessions is the prompt's own mean it always was. */
class LiveModeTest {
    @Test
    void theLiveViewTakesTheSweepsModesButTheReferenceMean() {
        assertEquals(AblationMode.MEAN_PROMPT, AblationViewModel.liveMode("mean"));
        assertEquals(AblationMode.MEAN_PROMPT, AblationViewModel.liveMode("mean-prompt"));
        assertEquals(AblationMode.UNIFORM, AblationViewModel.liveMode("uniform"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AblationViewModel.liveMode("MEAN_REFERENCE"));
        assertTrue(e.getMessage().contains("zero, mean-prompt, uniform, bos or scale"), e.getMessage());
        assertEquals("mean-prompt", AblationMode.MEAN_PROMPT.toString(), "what a session file stores");
    }
}
