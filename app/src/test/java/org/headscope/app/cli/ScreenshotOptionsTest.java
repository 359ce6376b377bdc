package org.headscope.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.headscope.app.workbench.WorkbenchViewModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `screenshot` refuses a panel title it does not have (exit 2, listing the titles) and a scale other than 1, 2 or 4. */
class ScreenshotOptionsTest {
    @Test
    void aWrongPanelTitleListsThePanelsAndExitsTwo(@TempDir java.nio.file.Path dir) {
        CliRun r = CliRun.of("screenshot", dir.resolve("x.png").toString(), "--panel", "Redistributon");
        assertEquals(2, r.code(), r.err());
        for (String title : WorkbenchViewModel.builtInPanels()) {
            assertTrue(r.err().contains(title), r.err());
        }
        assertTrue(!r.err().contains("Exception"), r.err());
    }

    @Test
    void theScaleIsOneTwoOrFour(@TempDir java.nio.file.Path dir) {
        CliRun r = CliRun.of("screenshot", dir.resolve("x.png").toString(), "--scale", "3");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--scale must be 1, 2 or 4"), r.err());
    }
}
