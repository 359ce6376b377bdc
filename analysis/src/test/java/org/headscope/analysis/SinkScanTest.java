package org.headscope.analysis;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.RunRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sink scan on decoders whose sink head, massive dimension and uniform heads are planted by construction. */
class SinkScanTest {
    private static final int T = 40;

    static List<HsTokenizer.Tokens> prompts(PlantedModels.Spec spec, int n, int length) {
        List<HsTokenizer.Tokens> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long[] ids = PlantedModels.prompt(spec, length, 100 + i);
            String[] strings = new String[ids.length];
            int[][] spans = new int[ids.length][];
            for (int k = 0; k < ids.length; k++) {
                strings[k] = k == 0 ? "<bos>" : "t" + ids[k];
                spans[k] = k == 0 ? new int[]{-1, -1} : new int[]{k, k + 1};
            }
            out.add(new HsTokenizer.Tokens(ids, strings, spans));
        }
        return out;
    }

    @Test
    void thePlantedBosHeadIsTheOnlySinkHeadAndTheOnlyDormantOne(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.oneSink(2, 4, 1, 2);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            SinkScan.Result r = SinkScan.run(m, "a", prompts(spec, 3, T), "b", prompts(spec, 2, 24),
                    SinkScan.Params.DEFAULTS, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(new Intervention.Head(1, 2)), r.sinkHeads());
            // one head of eight exceeds eps at key 0 in every sample; uniform heads give key 0 only H_40/40 = 0.107
            assertEquals(12.5, r.sinkRate().get(0), 1e-9);
            assertEquals(T, r.sinkRate().size());
            for (int k = 1; k < T; k++) {
                assertEquals(0.0, r.sinkRate().get(k), "no head sinks at key " + k);
            }
            double harmonic = 0;
            for (int q = 1; q <= T; q++) {
                harmonic += 1.0 / q;
            }
            assertEquals(harmonic / T, r.heat().get(0, 0), 1e-5, "a uniform causal head gives key 0 H_T / T");
            assertTrue(r.heat().get(1, 2) > 0.99, "the planted head puts almost all mass on key 0");
            assertEquals(100.0, r.sinkRateKey0().get(1, 2), 1e-9);
            assertTrue(r.hiddenSinks().isEmpty(), "uniform heads stay below 0.1 at every k > 0: " + r.hiddenSinks());
            for (SinkScan.Domain d : List.of(r.first(), r.second())) {
                for (int l = 0; l < 2; l++) {
                    for (int h = 0; h < 4; h++) {
                        boolean planted = l == 1 && h == 2;
                        assertEquals(planted ? 1.0 : 0.0, d.dormant().get(l, h), d.name() + " head " + l + "." + h);
                        if (!planted) {
                            assertEquals(1.0, d.rowEntropy().get(l, h), 1e-5, "uniform rows have maximal entropy");
                        }
                    }
                }
            }
            assertTrue(r.first().rowEntropy().get(1, 2) < 0.01);
        }
    }

    @Test
    void aPlantedMassiveActivationIsFoundAndMarksBosAsTheVisualSink(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.withMassiveBos(PlantedModels.oneSink(2, 4, 0, 1), 100f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            // hidden size 16 caps the normalised value at sqrt(16) = 4, so the paper's tau of 20 is lowered to 3
            SinkScan.Params p = new SinkScan.Params(0.3, 64, 0, 0.1, 0.25, 0.8, 3.0, null, 10, 4);
            SinkScan.Result r = SinkScan.run(m, "a", prompts(spec, 2, 16), null, null, p, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(PlantedModels.MASSIVE_DIM), r.massiveDims());
            assertFalse(r.massiveDimsGiven());
            assertEquals(2, r.visualSinks().size(), "BOS at both layers: " + r.visualSinks());
            for (SinkScan.VisualSink v : r.visualSinks()) {
                assertEquals(0, v.position());
                assertEquals(PlantedModels.MASSIVE_DIM, v.dim());
            }
            SinkScan.Result overridden = SinkScan.run(m, "a", prompts(spec, 1, 16), null, null, p.withMassiveDims(List.of(5)),
                    Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(5), overridden.massiveDims());
            assertTrue(overridden.massiveDimsGiven());
            assertTrue(r.first().residualPeak().get(0) > 5, "the BOS residual towers over the rest: " + r.first().residualPeak());
            assertEquals(r.visualSinks(), SinkScan.visualSinks(m, RunRequest.tokens(prompts(spec, 1, 16).get(0).ids()),
                    r.massiveDims(), 3.0, CancelToken.NEVER), "the stand-alone entry point (also for embeddings) agrees");
        }
    }

    @Test
    void reportRoundTripsAndACancelledScanWritesNothing(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.oneSink(2, 4, 1, 2);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir.resolve("model")), DevicePreference.CPU)) {
            SinkScan.Result r = SinkScan.run(m, "a", prompts(spec, 2, 20), null, null, SinkScan.Params.DEFAULTS,
                    Progress.NONE, CancelToken.NEVER);
            HeadReport report = r.toReport(Provenance.of(m, "2 planted prompts", SinkScan.METRICS));
            HeadReport back = ReportRoundTrip.check(report, dir.resolve("report"));
            assertEquals(8, back.heads().size());
            assertEquals(1.0, back.heads().get(6).get("sink_head"));

            CancelToken cancel = new CancelToken();
            Path cancelled = dir.resolve("cancelled");
            Files.createDirectories(cancelled);
            assertThrows(CancellationException.class, () -> ReportWriter.write(SinkScan.run(m, "a", prompts(spec, 3, 20), null, null,
                    SinkScan.Params.DEFAULTS, (done, total, msg) -> {
                        if (done == 1) {
                            cancel.cancel();
                        }
                    }, cancel).toReport(Provenance.of(m, "", SinkScan.METRICS)), cancelled));
            try (var files = Files.list(cancelled)) {
                assertEquals(0, files.count());
            }
        }
    }
}
