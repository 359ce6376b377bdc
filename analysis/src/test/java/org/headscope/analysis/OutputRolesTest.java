package org.headscope.analysis;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.OutputRole;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Output roles are resolved once, from the manifest first: a decoder whose logits output is not called "logits" (named
 * in headscope.json) gets the decoder metrics in ablation and retrieval alike, the same numbers as the same model with
 * its output called "logits". Before the roles were resolved in one place the ablation took such a decoder for an
 * encoder (cosine distance of a pooled "embedding") while retrieval read the manifest.
 */
class OutputRolesTest {
    private static final String RENAMED = "next_token_scores";

    @Test
    void aDecoderWithRenamedLogitsGetsTheDecoderMetricsInAblationAndRetrieval(@TempDir Path dir) throws Exception {
        try (HookedModel plain = HookedModel.open(PlantedDecoders.plantedCopyModel(dir.resolve("plain")), DevicePreference.CPU);
             HookedModel renamed = HookedModel.open(PlantedDecoders.plantedCopyModel(dir.resolve("renamed"), RENAMED), DevicePreference.CPU)) {
            assertEquals(List.of(RENAMED), renamed.model().outputNames());
            assertEquals(Optional.of(RENAMED), renamed.output(OutputRole.LOGITS));
            assertEquals(Optional.empty(), renamed.output(OutputRole.HIDDEN_STATES));
            assertEquals(RENAMED, renamed.measuredOutput());
            assertEquals(RENAMED, renamed.requireLogits());

            long[] ids = renamed.requireTokenizer().encode("red fox runs far . the magic word is quartz . the magic word is quartz").ids();
            AblationScan.Target target = AblationScan.Target.of(Arrays.copyOf(ids, ids.length - 1), Arrays.copyOfRange(ids, ids.length - 1, ids.length));
            AblationScan.Params params = AblationScan.Params.DEFAULTS.withGeneration(0, 0).withAmp(false);
            AblationScan.Result a = AblationScan.run(plain, target, params, Progress.NONE, CancelToken.NEVER);
            AblationScan.Result b = AblationScan.run(renamed, target, params, Progress.NONE, CancelToken.NEVER);
            assertTrue(b.languageModel(), "the renamed logits are logits");
            assertEquals(RENAMED, b.output());
            HeadReport report = b.toReport(Provenance.of(renamed, "renamed", AblationScan.METRICS));
            assertTrue(report.heads().get(0).containsKey("loss_delta"), report.heads().get(0).keySet().toString());
            assertEquals(a.clean().loss(), b.clean().loss(), 1e-9);
            for (int i = 0; i < a.effects().size(); i++) {
                assertEquals(a.effects().get(i).effect().lossDelta(), b.effects().get(i).effect().lossDelta(), 1e-9);
                assertEquals(a.effects().get(i).effect().kl(), b.effects().get(i).effect().kl(), 1e-9);
            }
            assertTrue(b.effect(new org.headscope.hooks.Intervention.Head(0, PlantedDecoders.COPY_HEAD)).lossDelta() > 1,
                    "the copy head carries the answer");

            RetrievalScan.Params grid = new RetrievalScan.Params(List.of(40), 2, RetrievalScan.Mode.GENERATE, 0.5, 0.1, 3);
            RetrievalResult ra = RetrievalScan.run(plain, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, grid, Progress.NONE, CancelToken.NEVER);
            RetrievalResult rb = RetrievalScan.run(renamed, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, grid, Progress.NONE, CancelToken.NEVER);
            assertEquals(1.0, rb.scores()[0][PlantedDecoders.COPY_HEAD], 1e-12);
            assertTrue(Arrays.deepEquals(ra.scores(), rb.scores()));
        }
    }

    @Test
    void aManifestNamingAMissingOutputOrAnUnknownRoleIsRefused(@TempDir Path dir) throws Exception {
        Path folder = PlantedDecoders.plantedCopyModel(dir.resolve("m"));
        Path manifest = folder.resolve("headscope.json");
        String text = Files.readString(manifest);
        Files.writeString(manifest, text.replace("\"outputs\": {\"logits\": \"logits\"}", "\"outputs\": {\"logits\": \"scores\"}"));
        ModelException missing = assertThrows(ModelException.class, () -> HookedModel.open(folder, DevicePreference.CPU).close());
        assertTrue(missing.getMessage().contains("'scores'"), missing.getMessage());
        Files.writeString(manifest, text.replace("\"outputs\": {\"logits\": \"logits\"}", "\"outputs\": {\"probabilities\": \"logits\"}"));
        ModelException unknown = assertThrows(ModelException.class, () -> HookedModel.open(folder, DevicePreference.CPU).close());
        assertTrue(unknown.getMessage().contains("'probabilities'"), unknown.getMessage());
    }
}
