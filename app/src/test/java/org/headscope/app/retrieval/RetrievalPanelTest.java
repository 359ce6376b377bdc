package org.headscope.app.retrieval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import org.headscope.analysis.Needle;
import org.headscope.analysis.Progress;
import org.headscope.analysis.RetrievalScan;
import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.junit.jupiter.api.Test;

/** The Retrieval heads panel on the bundled needle decoder (skipped until needle-gpt is in the build). */
class RetrievalPanelTest {
    @Test
    void thePanelsScoresAreRetrievalScansForTheSameNeedles() throws Exception {
        assumeTrue(BundledModels.available().contains("needle-gpt"), "needle-gpt is not in this build yet");
        Settings settings = Settings.inMemory();
        settings.put("model", "needle-gpt");
        try (WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)) {
            vm.start();
            assertNull(vm.messageProperty().get());
            var scan = vm.scan("Retrieval heads");
            scan.valueProperty("lengths").set("64,128");
            scan.valueProperty("depths").set("3");
            scan.valueProperty("needles").set("6");
            scan.valueProperty("copy_tokens").set("0");
            scan.run(vm.attention().promptProperty().get());
            assertNull(vm.messageProperty().get());
            var model = vm.models().current().model();
            List<Needle> needles = Needle.read(BundledModels.needles().resolve("needles.jsonl")).subList(0, 6);
            var direct = RetrievalScan.run(model, needles, Files.readString(BundledModels.needles().resolve("haystack.txt")),
                    RetrievalScan.Params.defaults(List.of(64, 128)).withDepths(3), Progress.NONE, CancelToken.NEVER);
            var shown = scan.ranked("retrieval_score");
            for (Map<String, Object> row : shown) {
                int l = ((Number) row.get("layer")).intValue();
                int h = ((Number) row.get("head")).intValue();
                assertEquals(direct.scores()[l][h], ((Number) row.get("retrieval_score")).doubleValue(), 1e-12, l + "." + h);
            }
        }
    }
}
