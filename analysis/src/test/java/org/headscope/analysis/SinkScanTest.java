package org.headscope.analysis;

import org.headscope.analysis.core.Residuals;
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
            SinkScan.Result r = SinkScan.run(m, SinkScan.Prompts.texts(m, "a", prompts(spec, 3, T))
                    .withSecond("b", prompts(spec, 2, 24).stream().map(t -> org.headscope.analysis.core.Input.of(m, t, null)).toList()),
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
                            int t = d.name().equals("a") ? T : 24;
                            assertEquals((t - 1.0) / t, d.rowEntropy().get(l, h), 1e-5,
                                    "uniform rows 1.. have normalised entropy 1, row 0 counts as 0 (all-rows rule)");
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
            SinkScan.Result r = SinkScan.run(m, SinkScan.Prompts.texts(m, "a", prompts(spec, 2, 16)), p, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(PlantedModels.MASSIVE_DIM), r.massiveDims());
            assertFalse(r.massiveDimsGiven());
            assertEquals(2, r.visualSinks().size(), "BOS at both layers: " + r.visualSinks());
            for (Residuals.VisualSink v : r.visualSinks()) {
                assertEquals(0, v.position());
                assertEquals(PlantedModels.MASSIVE_DIM, v.dim());
            }
            SinkScan.Result overridden = SinkScan.run(m, SinkScan.Prompts.texts(m, "a", prompts(spec, 1, 16)), p.withMassiveDims(List.of(5)),
                    Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(5), overridden.massiveDims());
            assertTrue(overridden.massiveDimsGiven());
            assertTrue(r.first().residualPeak().get(0) > 5, "the BOS residual towers over the rest: " + r.first().residualPeak());
            assertEquals(r.visualSinks(), Residuals.visualSinks(m, RunRequest.tokens(prompts(spec, 1, 16).get(0).ids()),
                    r.massiveDims(), 3.0, CancelToken.NEVER), "the stand-alone entry point (also for embeddings) agrees");
        }
    }

    @Test
    void reportRoundTripsAndACancelledScanWritesNothing(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.oneSink(2, 4, 1, 2);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir.resolve("model")), DevicePreference.CPU)) {
            SinkScan.Result r = SinkScan.run(m, SinkScan.Prompts.texts(m, "a", prompts(spec, 2, 20)), SinkScan.Params.DEFAULTS,
                    Progress.NONE, CancelToken.NEVER);
            HeadReport report = r.toReport(Provenance.of(m, "2 planted prompts", SinkScan.METRICS));
            HeadReport back = ReportRoundTrip.check(report, dir.resolve("report"));
            assertEquals(8, back.heads().size());
            assertEquals(1.0, back.heads().get(6).get("sink_head"));

            CancelToken cancel = new CancelToken();
            Path cancelled = dir.resolve("cancelled");
            Files.createDirectories(cancelled);
            assertThrows(CancellationException.class, () -> ReportWriter.write(SinkScan.run(m, SinkScan.Prompts.texts(m, "a", prompts(spec, 3, 20)),
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

    /**
     * One layer: head 0 uniform, head 1 a marker sink with the marker at key 3. At T = 32 head 1 gives key 0 only
     * (1 + 1/2 + 1/3) / 32 = 0.0573 (rows 0..2 before the marker), key 3 almost all of rows 3..31: key 3 is its first
     * detected sink, so the ACT code's rule drops it; the key-0 rule keeps it. Head 0 gives key 0 H_32 / 32 = 0.1268,
     * its first detected sink under both rules, and key 1 (H_32 - 1) / 31 = 0.09866, below 0.1.
     */
    @Test
    void theFirstDetectedRuleDropsKey3WhereKey0IsNoSinkAndTheKey0RuleKeepsIt(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.<PlantedModels.Wiring[]>of(
                new PlantedModels.Wiring[]{PlantedModels.Wiring.UNIFORM, PlantedModels.Wiring.MARKER_SINK}), 5, 0f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            HsTokenizer.Tokens p = prompts(spec, 1, 32).get(0);
            p.ids()[3] = PlantedModels.MARKER;
            SinkScan.Result first = SinkScan.run(m, SinkScan.Prompts.texts(m, "a", List.of(p)), SinkScan.Params.DEFAULTS, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(), first.hiddenSinks(), "key 3 is head 1's first detected sink, key 0 head 0's");
            assertEquals(1, first.selectionNotes().stream().filter(n -> n.startsWith("no hidden sink selected")
                    && n.contains("0.09866") && n.contains("hidden_threshold = 0.1")).count(), first.selectionNotes().toString());
            assertTrue(first.departures().stream().noneMatch(d -> d.contains("key0")), first.departures().toString());
            assertTrue(SinkScan.metrics(SinkScan.Params.DEFAULTS).get("hidden_sink").startsWith("act2024-v2"));

            SinkScan.Params key0 = SinkScan.Params.DEFAULTS.withRules(SinkRule.KEY0, SinkScan.RowEntropy.ALL_ROWS);
            SinkScan.Result kept = SinkScan.run(m, SinkScan.Prompts.texts(m, "a", List.of(p)), key0, Progress.NONE, CancelToken.NEVER);
            assertEquals(1, kept.hiddenSinks().size(), kept.hiddenSinks().toString());
            SinkScan.HiddenSink s = kept.hiddenSinks().get(0);
            assertEquals(List.of(3, 0, 1), List.of(s.position(), s.layer(), s.head()));
            assertEquals(1.0, s.colmean(), 1e-6, "rows 3..31 put 1 / (1 + q e^-30) on the marker");
            assertTrue(kept.departures().stream().anyMatch(d -> d.contains("sink rule key0")), kept.departures().toString());
            assertTrue(SinkScan.metrics(key0).get("hidden_sink").startsWith("act2024-v1-key0"));
            HeadReport report = kept.toReport(Provenance.of(m, "marker at 3", SinkScan.metrics(key0)));
            assertEquals(kept.departures(), report.sections().get("departures"));
        }
    }

    @Test
    void sinkRulesOnAColumnMeanVector() {
        double[] colmean = {0.05, 0.02, 0.01, 0.9, 0.2};
        assertEquals(List.of(4), SinkRule.FIRST_DETECTED.hiddenSinks(colmean, 5, 0.1));
        assertEquals(List.of(3, 4), SinkRule.KEY0.hiddenSinks(colmean, 5, 0.1));
        double[] bos = {0.8, 0.02, 0.3};
        assertEquals(List.of(2), SinkRule.FIRST_DETECTED.hiddenSinks(bos, 3, 0.1), "the rules agree when key 0 is a sink");
        assertEquals(List.of(2), SinkRule.KEY0.hiddenSinks(bos, 3, 0.1));
    }

    /**
     * A causal 4x4 attention matrix, rows [1], [1/2, 1/2], [1/2, 1/4, 1/4], [1/4, 1/4, 1/4, 1/4]: entropies 0, ln 2,
     * 1.5 ln 2, ln 4; normalised by ln(q+1): -, 1, 1.5 ln 2 / ln 3 = 0.946395, 1. All rows (row 0 as 0):
     * 2.946395 / 4 = 0.736599; rows 1..3: 2.946395 / 3 = 0.982132.
     */
    @Test
    void rowEntropyOfAFourByFourMatrixByHandBothWays() {
        double ln2 = Math.log(2);
        double[] entropies = {0, ln2, 1.5 * ln2, Math.log(4)};
        assertEquals(0.736599, SinkScan.rowEntropy(entropies, true, SinkScan.RowEntropy.ALL_ROWS), 1e-6);
        assertEquals(0.982132, SinkScan.rowEntropy(entropies, true, SinkScan.RowEntropy.SKIP_ROW0), 1e-6);
        assertEquals(SinkScan.RowEntropy.SKIP_ROW0, SinkScan.RowEntropy.parse("skip-row0"));
    }
}
