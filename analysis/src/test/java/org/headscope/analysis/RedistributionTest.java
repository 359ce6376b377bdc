package org.headscope.analysis;

import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.headscope.analysis.PlantedModels.Wiring.BOS_SINK;
import static org.headscope.analysis.PlantedModels.Wiring.FLAG_READER;
import static org.headscope.analysis.PlantedModels.Wiring.FLAG_WRITER;
import static org.headscope.analysis.PlantedModels.Wiring.MARKER_SINK;
import static org.headscope.analysis.PlantedModels.Wiring.RANDOM;
import static org.headscope.analysis.PlantedModels.Wiring.UNIFORM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ACT, VAR, ZeroTuning and PAI through the graph, against closed forms computed here from the clean attention. */
class RedistributionTest {
    private static final PlantedModels.Wiring[] ALL_UNIFORM = {UNIFORM, UNIFORM, UNIFORM, UNIFORM};

    @Test
    void zeroTuningThroughTheGraphEqualsTheClosedForm(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.random(2, 4, 21);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            RunRequest in = RunRequest.tokens(PlantedModels.prompt(spec, 12, 2));
            double gamma = 3.5;
            Redistribution.Result all = Redistribution.run(m, in, new Redistribution.ZeroTuning(gamma, Redistribution.Scope.ALL,
                    List.of(), List.of()), null, Progress.NONE, CancelToken.NEVER);
            assertEquals(8, all.selected().size());
            for (int h = 0; h < 4; h++) {
                assertClosedForm(all.before().get(0), all.after().get(0), h, gamma);
            }
            Redistribution.Result one = Redistribution.run(m, in, new Redistribution.ZeroTuning(0.3, Redistribution.Scope.HEADS,
                    List.of(), List.of(new Head(1, 2))), null, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(new Head(1, 2)), one.selected());
            assertClosedForm(one.before().get(1), one.after().get(1), 2, 0.3);
            assertUntouchedExcept(one, Set.of(new Head(1, 2)));
            List<Double> gammas = List.of(0.3, 1.0, 2.0, 4.0);
            List<Redistribution.GammaPoint> sweep = Redistribution.gammaSweep(m, in, new Redistribution.ZeroTuning(1,
                    Redistribution.Scope.LAYERS, List.of(0), List.of()), gammas, CancelToken.NEVER);
            FloatTensor clean = all.before().get(0);
            for (int i = 0; i < gammas.size(); i++) {
                double g = gammas.get(i);
                double expected = 0;
                for (int h = 0; h < 4; h++) {
                    for (int q = 0; q < 12; q++) {
                        double a0 = clean.get(h, q, 0);
                        expected += g * a0 / (1 + (g - 1) * a0) / 48;
                    }
                }
                assertEquals(expected, sweep.get(i).key0Mass(), 1e-5, "gamma " + g);
            }
            assertEquals(0.0, sweep.get(1).outputShift(), 1e-9, "gamma 1 changes nothing");
            assertTrue(sweep.get(3).outputShift() > 0);
            Redistribution.Result layer = Redistribution.run(m, in, new Redistribution.ZeroTuning(2, Redistribution.Scope.LAYERS,
                    List.of(1), List.of()), null, Progress.NONE, CancelToken.NEVER);
            assertEquals(4, layer.selected().size());
            assertTrue(layer.selected().stream().allMatch(h -> h.layer() == 1));
        }
    }

    @Test
    void actDampsThePlantedHiddenSinkKeepsRowsNormalisedAndLeavesOtherHeadsBitIdentical(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.of(ALL_UNIFORM,
                new PlantedModels.Wiring[]{MARKER_SINK, UNIFORM, UNIFORM, BOS_SINK}), 3, 0f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 40, 6);
            int marker = 20;
            ids[marker] = PlantedModels.MARKER;
            Redistribution.Act key0Clean = new Redistribution.Act(0.4, 0.1, List.of(1), null, SinkRule.KEY0, Redistribution.Calibration.CLEAN);
            Redistribution.Result r = Redistribution.run(m, RunRequest.tokens(ids), key0Clean, null, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(new Head(1, 0)), r.selected());
            assertTrue(r.departures().stream().anyMatch(d -> d.contains("sink rule key0")), r.departures().toString());
            assertTrue(r.departures().stream().anyMatch(d -> d.contains("calibration clean")), r.departures().toString());
            assertTrue(Redistribution.metrics(key0Clean).get("act").startsWith("act2024-v2-key0-clean"));
            ReportRoundTrip.check(r.toReport(Provenance.of(m, "planted marker", Redistribution.METRICS)), dir.resolve("report"));
            assertEquals("[" + marker + "]", ((List<?>) r.details().get("sink_columns")).stream()
                    .map(o -> ((java.util.Map<?, ?>) o).get("keys")).findFirst().orElseThrow());
            assertRowsSumToOne(r);
            assertUntouchedExcept(r, Set.of(new Head(1, 0)));
            FloatTensor b = r.before().get(1);
            FloatTensor a = r.after().get(1);
            int t = ids.length;
            for (int q = 0; q < t; q++) {
                double others = 0;
                for (int k = 0; k <= q; k++) {
                    others += k == marker ? 0 : b.get(0, q, k);
                }
                double moved = q >= marker ? 0.6 * b.get(0, q, marker) : 0;
                for (int k = 0; k < t; k++) {
                    double expected = k == marker ? 0.4 * b.get(0, q, k) : b.get(0, q, k) + (q >= marker ? moved * b.get(0, q, k) / others : 0);
                    assertEquals(expected, a.get(0, q, k), 1e-5, "row " + q + " key " + k);
                }
            }
            Redistribution.HeadChange change = r.heads().get(4);
            assertEquals(20.0 / 40, change.targetBefore(), 1e-4, "rows 20..39 of 40 sit on the marker");
            assertEquals(0.4 * change.targetBefore(), change.targetAfter(), 1e-5);

            // the code's rule: the marker is head 1.0's first detected sink (key 0 has H_20 / 40 = 0.0899), so it is left out
            Redistribution.Result first = Redistribution.run(m, RunRequest.tokens(ids), Redistribution.Act.DEFAULT.withLayers(List.of(1)),
                    null, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(), first.selected());
            assertEquals(1, first.selectionNotes().size(), first.selectionNotes().toString());
            assertTrue(first.selectionNotes().get(0).contains("0.08994") && first.selectionNotes().get(0).contains("threshold = 0.1"),
                    first.selectionNotes().get(0));
            // and its layers 2..L-2 are empty on two layers: nothing is edited and the report says why
            Redistribution.Result none = Redistribution.run(m, RunRequest.tokens(ids), Redistribution.Act.DEFAULT, null, Progress.NONE,
                    CancelToken.NEVER);
            assertEquals(List.of(), none.selected());
            assertTrue(none.selectionNotes().get(0).startsWith("no layer to edit"), none.selectionNotes().toString());
        }
    }

    /**
     * Layer 0: head 0 writes into a flag dimension the share of its row's attention on the marker (key 5), about 1 from
     * row 5 on. Layer 1: head 0 scores each key 4 x its flag (2 after the 1/sqrt(4) scaling). At T = 20 its column means
     * are, clean (flag 1 on keys 5..): 0.1317, 0.0860, 0.0630, 0.0471, 0.0344, 0.1729, 0.1427, 0.1249, 0.1127, 0.1035,
     * 0.0962, ...: first detected key 0 left out, sink columns {5, 6, 7, 8, 9}. ACT on layer 0 (key 0 with H_5 / 20 =
     * 0.114 is that head's first detected sink, the marker the hidden one) keeps 0.4 of the marker attention, so the
     * flag drops to 0.4 and layer 1's column means become 0.1560, 0.1115, 0.0900, 0.0756, 0.0647, 0.1240, 0.1109,
     * 0.1013, 0.0939, ...: sink columns {1, 5, 6, 7}. Detected inside the edited pass (the code's way) layer 1 gets the
     * second set; calibrated on the clean run it gets the first.
     */
    @Test
    void actInThePassSeesLayerOnesSinksAsLayerZerosEditLeavesThem(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.of(
                new PlantedModels.Wiring[]{FLAG_WRITER, UNIFORM}, new PlantedModels.Wiring[]{FLAG_READER, UNIFORM}), 9, 0f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 20, 3);
            ids[5] = PlantedModels.MARKER;
            Redistribution.Act act = Redistribution.Act.DEFAULT.withLayers(List.of(0, 1)).withHeads(List.of(new Head(0, 0), new Head(1, 0)));
            Redistribution.Result inPass = Redistribution.run(m, RunRequest.tokens(ids), act, null, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of("[5]", "[1, 5, 6, 7]"), sinkKeys(inPass));
            assertEquals(2, inPass.details().get("calibration_runs"), "one run before layer 0's edit, one after");
            Redistribution.Result clean = Redistribution.run(m, RunRequest.tokens(ids),
                    act.withRules(SinkRule.FIRST_DETECTED, Redistribution.Calibration.CLEAN), null, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of("[5]", "[5, 6, 7, 8, 9]"), sinkKeys(clean));
            // the edited pass really is what layer 1 saw: its clean attention before, the in-pass edit after
            FloatTensor after = inPass.after().get(1);
            double flagged = Math.exp(2 * 0.4);
            int q = 12;
            double z = 5 + flagged * (q - 4);
            double moved = 0;
            for (int k : List.of(1, 5, 6, 7)) {
                moved += 0.6 * (k < 5 ? 1 : flagged) / z;
            }
            double others = 1 - moved / 0.6;
            assertEquals(0.4 * flagged / z, after.get(0, q, 5), 1e-5, "a sink column keeps beta of the edited pass's attention");
            assertEquals((flagged / z) * (1 + moved / others), after.get(0, q, 9), 1e-5, "a receiver gains in proportion");
        }
    }

    /**
     * ACT's head search edits each head alone: its per-head loss must equal the loss of the same single-head edit made by
     * {@link Redistribution#run} (in-pass detection, one head given) and read off the logits here; with answers chosen as
     * the token the marker head's edit raises most, the loss criterion must pick that head; with the clean model's own
     * predictions as answers, no edit can raise the accuracy above 1 and the search says so.
     */
    @Test
    void actHeadSearchScoresEachHeadAloneAndPicksTheHeadsThatHelp(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.of(new PlantedModels.Wiring[]{MARKER_SINK, RANDOM, UNIFORM, RANDOM},
                new PlantedModels.Wiring[]{RANDOM, MARKER_SINK, RANDOM, UNIFORM}), 12, 0f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            Redistribution.Act act = Redistribution.Act.DEFAULT.withLayers(List.of(0, 1));
            Head marker = new Head(0, 0);
            List<long[]> prompts = new java.util.ArrayList<>();
            List<Redistribution.CalibrationItem> lossItems = new java.util.ArrayList<>();
            List<Redistribution.CalibrationItem> ownItems = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                long[] ids = PlantedModels.prompt(spec, 16, 40 + i);
                ids[8] = PlantedModels.MARKER;
                prompts.add(ids);
                double[] clean = logProbs(m, ids, Intervention.NONE);
                Redistribution.Result one = Redistribution.run(m, RunRequest.tokens(ids), act.withHeads(List.of(marker)), null,
                        Progress.NONE, CancelToken.NEVER);
                assertEquals(List.of(marker), one.selected(), "key 0 (H_8 / 16 = 0.17) is the marker head's first detected sink");
                double[] edited = logProbs(m, ids, one.intervention());
                int raised = 0;
                int top = 0;
                for (int v = 0; v < clean.length; v++) {
                    raised = edited[v] - clean[v] > edited[raised] - clean[raised] ? v : raised;
                    top = clean[v] > clean[top] ? v : top;
                }
                lossItems.add(new Redistribution.CalibrationItem(ids, raised, null));
                ownItems.add(new Redistribution.CalibrationItem(ids, top, null));
            }
            Redistribution.HeadSearch byLoss = Redistribution.actHeadSearch(m, lossItems, act, Redistribution.Criterion.LOSS, 3,
                    Progress.NONE, CancelToken.NEVER);
            assertEquals(8, byLoss.scores().size());
            assertTrue(byLoss.picked().contains(marker), byLoss.scores().toString());
            for (Redistribution.HeadScore sc : byLoss.scores()) {
                assertEquals(sc.edited() && sc.loss() < byLoss.baselineLoss() - 1e-9, sc.picked(), sc.toString());
                double expected = 0;
                for (int i = 0; i < 3; i++) {
                    Redistribution.Result one = Redistribution.run(m, RunRequest.tokens(prompts.get(i)), act.withHeads(List.of(sc.head())),
                            null, Progress.NONE, CancelToken.NEVER);
                    expected -= logProbs(m, prompts.get(i), one.intervention())[(int) lossItems.get(i).answer()] / 3;
                }
                assertEquals(expected, sc.loss(), 1e-4, "head " + sc.head());
            }
            assertEquals(byLoss.picked(), byLoss.pickedAct().heads());
            Redistribution.HeadSearch byAccuracy = Redistribution.actHeadSearch(m, ownItems, act, Redistribution.Criterion.ACCURACY, 8,
                    Progress.NONE, CancelToken.NEVER);
            assertEquals(1.0, byAccuracy.baselineAccuracy());
            assertEquals(List.of(), byAccuracy.picked());
            assertTrue(byAccuracy.selectionNotes().get(0).endsWith("not above the unedited 1.000"), byAccuracy.selectionNotes().toString());
        }
    }

    private static double[] logProbs(HookedModel m, long[] ids, Intervention edit) {
        float[] row = m.session(TapSet.NONE, edit.hooks()).run(RunRequest.tokens(ids).withIntervention(edit)).output("logits")
                .slice(0, ids.length - 1).data();
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double z = 0;
        for (float v : row) {
            z += Math.exp(v - max);
        }
        double[] out = new double[row.length];
        for (int v = 0; v < row.length; v++) {
            out[v] = row[v] - max - Math.log(z);
        }
        return out;
    }

    private static List<String> sinkKeys(Redistribution.Result r) {
        return ((List<?>) r.details().get("sink_columns")).stream().map(o -> String.valueOf(((java.util.Map<?, ?>) o).get("keys"))).toList();
    }

    @Test
    void varMovesSinkAttentionToImageTokensInImageCentricRowsOnly(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.of(ALL_UNIFORM,
                new PlantedModels.Wiring[]{UNIFORM, UNIFORM, UNIFORM, BOS_SINK}), 4, 100f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 30, 8);
            Redistribution.KeySpan image = new Redistribution.KeySpan(5, 25);
            // hidden size 16 caps the normalised residual at 4: tau 3 stands in for the paper's 20
            Redistribution.Var var = new Redistribution.Var(0.6, 0.5, 0.2, 3, null, List.of(1)).withRules(Redistribution.Calibration.CLEAN, false);
            Redistribution.Result r = Redistribution.run(m, RunRequest.tokens(ids), var, image, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(PlantedModels.MASSIVE_DIM), r.details().get("massive_dims"));
            assertEquals(List.of(new Head(1, 0), new Head(1, 1), new Head(1, 2)), r.selected(), "the BOS head looks at no image");
            assertRowsSumToOne(r);
            assertUntouchedExcept(r, Set.copyOf(r.selected()));
            FloatTensor b = r.before().get(1);
            FloatTensor a = r.after().get(1);
            for (int q = 0; q < ids.length; q++) {
                double img = 0;
                for (int k = image.start(); k < Math.min(q + 1, image.end()); k++) {
                    img += b.get(0, q, k);
                }
                boolean edited = img >= 0.2;
                for (int k = 0; k < ids.length; k++) {
                    double expected = b.get(0, q, k);
                    if (edited && k == 0) {
                        expected = 0.6 * b.get(0, q, 0);
                    } else if (edited && image.contains(k)) {
                        expected += 0.4 * b.get(0, q, 0) * b.get(0, q, k) / img;
                    }
                    assertEquals(expected, a.get(0, q, k), 1e-6, "row " + q + " key " + k);
                }
            }
        }
    }

    /**
     * Three layers, BOS massive in the planted dimension, image keys 5..24 of 30, uniform heads in layer 2 (the code's
     * first VAR layer). Every row from 6 on has image attention >= 0.2 (row 6: 2/7), so editing all rows touches rows
     * 6..29 of heads 2.0-2.2 (72 head-rows); the code edits only the rows after the image, 25..29 (15 head-rows), and
     * leaves layers 0 and 1 alone.
     */
    @Test
    void varEditsOnlyTheRowsAfterTheImageFromLayerTwo(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.of(ALL_UNIFORM, ALL_UNIFORM,
                new PlantedModels.Wiring[]{UNIFORM, UNIFORM, UNIFORM, BOS_SINK}), 4, 100f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 30, 8);
            Redistribution.KeySpan image = new Redistribution.KeySpan(5, 25);
            Redistribution.Var code = new Redistribution.Var(0.6, 0.5, 0.2, 3, null, null);
            Redistribution.Result r = Redistribution.run(m, RunRequest.tokens(ids), code, image, Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(2), r.details().get("edited_layers"));
            assertEquals(List.of(new Head(2, 0), new Head(2, 1), new Head(2, 2)), r.selected());
            assertEquals(15, editedRows(r));
            for (int l = 0; l < 2; l++) {
                assertArrayEquals(r.before().get(l).data(), r.after().get(l).data(), "layer " + l + " is below the code's first VAR layer");
            }
            FloatTensor b = r.before().get(2);
            FloatTensor a = r.after().get(2);
            for (int q = 0; q < ids.length; q++) {
                double img = 0;
                for (int k = image.start(); k < Math.min(q + 1, image.end()); k++) {
                    img += b.get(0, q, k);
                }
                for (int k = 0; k <= q; k++) {
                    double expected = b.get(0, q, k);
                    if (q >= 25 && k == 0) {
                        expected = 0.6 * b.get(0, q, 0);
                    } else if (q >= 25 && image.contains(k)) {
                        expected += 0.4 * b.get(0, q, 0) * b.get(0, q, k) / img;
                    }
                    assertEquals(expected, a.get(0, q, k), 1e-6, "row " + q + " key " + k);
                }
            }
            Redistribution.Result allRows = Redistribution.run(m, RunRequest.tokens(ids), code.withRules(Redistribution.Calibration.IN_PASS, false),
                    image, Progress.NONE, CancelToken.NEVER);
            assertEquals(72, editedRows(allRows));
            assertTrue(allRows.departures().stream().anyMatch(d -> d.contains("rows after the image")), allRows.departures().toString());
            assertTrue(r.departures().stream().noneMatch(d -> d.contains("rows after the image")), r.departures().toString());
        }
    }

    @Test
    void varAtTheDefaultTauSaysItSelectedNothingAndHowLargeTheLargestValueWas(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = new PlantedModels.Spec(32, 4, List.of(ALL_UNIFORM, ALL_UNIFORM, ALL_UNIFORM), 4, 100f);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 30, 8);
            Redistribution.Result r = Redistribution.run(m, RunRequest.tokens(ids), Redistribution.Var.DEFAULT,
                    new Redistribution.KeySpan(5, 25), Progress.NONE, CancelToken.NEVER);
            assertEquals(List.of(), r.selected());
            String note = r.selectionNotes().get(0);
            // BOS is [1, 100, 0, ...] plus gaussian dims: |x_1| / rms stays below sqrt(16) = 4, far below tau 20
            assertTrue(note.startsWith("no visual sink selected") && note.contains("tau = 20"), note);
            double largest = Double.parseDouble(note.replaceAll(".* is ([0-9.]+), not above.*", "$1"));
            assertTrue(largest > 3.5 && largest < 4, note);
        }
    }

    private static int editedRows(Redistribution.Result r) {
        return ((List<?>) r.details().get("image_centric_rows")).stream()
                .mapToInt(o -> ((Number) ((java.util.Map<?, ?>) o).get("rows")).intValue()).sum();
    }

    /**
     * PAI's logit refinement by hand: edited logits [2, 1, 0, -3] give log p = [-0.41208, -1.41208, -2.41208, -5.41208];
     * the cut at log 0.1 + max = -2.71467 removes token 3; the image-free input is uniform (log p = -1.38629); with
     * gamma 1.1 the refined scores 1.1 log p + 0.138629 normalise to p = 0.69268, 0.23058, 0.07675, 0.
     */
    @Test
    void paiLogitRefinementByHand() {
        double[] out = Redistribution.refine(new float[]{2, 1, 0, -3}, new float[]{1, 1, 1, 1}, 1.1);
        assertEquals(0.69268, Math.exp(out[0]), 1e-5);
        assertEquals(0.23058, Math.exp(out[1]), 1e-5);
        assertEquals(0.07675, Math.exp(out[2]), 1e-5);
        assertEquals(Double.NEGATIVE_INFINITY, out[3]);
        assertEquals(0.2, Redistribution.Pai.DEFAULT.alpha(), "PAI's own code and README");
        assertEquals(2, Redistribution.Pai.DEFAULT.firstLayer());
    }

    @Test
    void paiAmplifiesImageScoresOfTheLastRowFromTheFirstChosenLayer(@TempDir Path dir) throws Exception {
        PlantedModels.Spec spec = PlantedModels.random(2, 4, 17);
        try (HookedModel m = HookedModel.open(PlantedModels.write(spec, dir), DevicePreference.CPU)) {
            long[] ids = PlantedModels.prompt(spec, 14, 5);
            int t = ids.length;
            Redistribution.KeySpan image = new Redistribution.KeySpan(2, 9);
            Redistribution.Result r = Redistribution.run(m, RunRequest.tokens(ids), new Redistribution.Pai(0.7, 1), image,
                    Progress.NONE, CancelToken.NEVER);
            assertEquals(4, r.selected().size());
            assertRowsSumToOne(r);
            assertArrayEquals(r.before().get(0).data(), r.after().get(0).data(), "layer 0 is below the first edited layer");
            FloatTensor scores = m.session(TapSet.of(TapKind.SCORES, List.of(1)), HookSet.NONE).run(RunRequest.tokens(ids))
                    .tap(TapKind.SCORES, 1);
            for (int h = 0; h < 4; h++) {
                double[] s = new double[t];
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < t; k++) {
                    double v = scores.get(0, h, t - 1, k);
                    s[k] = image.contains(k) ? v + 0.7 * Math.abs(v) : v;
                    max = Math.max(max, s[k]);
                }
                double z = 0;
                for (int k = 0; k < t; k++) {
                    z += Math.exp(s[k] - max);
                }
                for (int k = 0; k < t; k++) {
                    assertEquals(Math.exp(s[k] - max) / z, r.after().get(1).get(h, t - 1, k), 1e-5);
                }
                for (int q = 0; q < t - 1; q++) {
                    for (int k = 0; k < t; k++) {
                        assertEquals(r.before().get(1).get(h, q, k), r.after().get(1).get(h, q, k), "only the last row is edited");
                    }
                }
            }
            assertTrue(r.kl() > 0);
            assertEquals(5, r.topTokens().size());
            assertTrue(r.departures().stream().anyMatch(d -> d.startsWith("alpha is 0.7; PAI's code and README")), r.departures().toString());
            assertTrue(r.departures().stream().anyMatch(d -> d.contains("--use-cfg")), r.departures().toString());
            Redistribution.Result cfg = Redistribution.run(m, RunRequest.tokens(ids), new Redistribution.Pai(0.2, 1, true, 1.1), image,
                    Progress.NONE, CancelToken.NEVER);
            java.util.Map<?, ?> refined = (java.util.Map<?, ?>) cfg.details().get("cfg");
            assertEquals(t - 7, refined.get("image_free_tokens"));
            float[] free = m.session(TapSet.NONE, HookSet.NONE).run(RunRequest.tokens(Redistribution.withoutSpan(RunRequest.tokens(ids), image).inputIds().data()))
                    .output("logits").slice(0, t - 8).data();
            float[] edited = m.session(TapSet.NONE, cfg.intervention().hooks())
                    .run(RunRequest.tokens(ids).withIntervention(cfg.intervention())).output("logits").slice(0, t - 1).data();
            double[] expected = Redistribution.refine(edited, free, 1.1);
            int best = 0;
            for (int v = 1; v < expected.length; v++) {
                best = expected[v] > expected[best] ? v : best;
            }
            assertEquals(best, refined.get("guided_next_token"));
            assertTrue(cfg.departures().stream().noneMatch(d -> d.contains("--use-cfg")), cfg.departures().toString());
        }
    }

    private static void assertClosedForm(FloatTensor before, FloatTensor after, int h, double gamma) {
        int t = before.dim(1);
        for (int q = 0; q < t; q++) {
            double a0 = before.get(h, q, 0);
            double norm = 1 + (gamma - 1) * a0;
            assertEquals(gamma * a0 / norm, after.get(h, q, 0), 1e-5, "a0' head " + h + " row " + q);
            for (int k = 1; k < t; k++) {
                assertEquals(before.get(h, q, k) / norm, after.get(h, q, k), 1e-5, "ak' head " + h + " row " + q);
            }
        }
    }

    private static void assertRowsSumToOne(Redistribution.Result r) {
        for (Redistribution.HeadChange c : r.heads()) {
            assertEquals(0.0, c.maxRowSumError(), 1e-5, "rows of " + c.head());
        }
        for (FloatTensor a : r.after()) {
            for (int h = 0; h < a.dim(0); h++) {
                for (int q = 0; q < a.dim(1); q++) {
                    double s = 0;
                    for (int k = 0; k < a.dim(2); k++) {
                        s += a.get(h, q, k);
                    }
                    assertEquals(1.0, s, 1e-5);
                }
            }
        }
    }

    /** Heads outside the set, in layers up to the last edited one, have exactly the clean attention. */
    private static void assertUntouchedExcept(Redistribution.Result r, Set<Head> edited) {
        int lastEdited = edited.stream().mapToInt(Head::layer).min().orElseThrow();
        for (int l = 0; l <= lastEdited; l++) {
            for (int h = 0; h < r.before().get(l).dim(0); h++) {
                if (!edited.contains(new Head(l, h))) {
                    assertArrayEquals(r.before().get(l).slice(h).data(), r.after().get(l).slice(h).data(), "head " + l + "." + h);
                }
            }
        }
    }
}
