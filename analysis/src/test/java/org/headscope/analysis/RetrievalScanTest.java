package org.headscope.analysis;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Retrieval scores on a decoder whose only copy head is planted by hand. */
class RetrievalScanTest {
    @TempDir
    static Path dir;
    private static HookedModel model;
    private static final RetrievalScan.Params GRID = new RetrievalScan.Params(List.of(40, 56), 3,
            RetrievalScan.Mode.TEACHER, 0.5, 0.1, 3);

    @BeforeAll
    static void open() throws Exception {
        model = HookedModel.open(PlantedDecoders.plantedCopyModel(dir.resolve("planted")), DevicePreference.CPU);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static RetrievalResult scan(RetrievalScan.Mode mode) {
        return RetrievalScan.run(model, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, GRID.withMode(mode),
                Progress.NONE, CancelToken.NEVER);
    }

    @Test
    void plantedCopyHeadIsTheOnlyRetrievalHeadInTeacherForcedMode() {
        RetrievalResult r = scan(RetrievalScan.Mode.TEACHER);
        assertEquals(2 * 2 * 3, r.tests().size());
        assertEquals(r.tests().size(), r.counted(), "the planted model answers every needle");
        double[][] s = r.scores();
        assertEquals(1.0, s[0][PlantedDecoders.COPY_HEAD], 1e-12, "one answer token, copied every time");
        assertEquals(0.0, s[0][PlantedDecoders.ECHO_HEAD]);
        assertEquals(0.0, s[0][2]);
        assertEquals(List.of(new Intervention.Head(0, PlantedDecoders.COPY_HEAD)), r.retrievalHeads());
    }

    @Test
    void generativeModeRanksThePlantedHeadTopAndAgreesWithTeacherForcing() {
        RetrievalResult gen = scan(RetrievalScan.Mode.GENERATE);
        RetrievalResult teach = scan(RetrievalScan.Mode.TEACHER);
        assertEquals(new Intervention.Head(0, PlantedDecoders.COPY_HEAD), gen.ranked().get(0));
        assertTrue(gen.tests().stream().allMatch(RetrievalScan.Test::counted));
        for (int i = 0; i < gen.tests().size(); i++) {
            RetrievalScan.Test g = gen.tests().get(i);
            assertTrue(g.response().startsWith(PlantedDecoders.NEEDLES.get(g.needle()).answer()), g.response());
            assertEquals(g.length(), teach.tests().get(i).length());
            assertEquals(g.scores()[0][PlantedDecoders.COPY_HEAD], teach.tests().get(i).scores()[0][PlantedDecoders.COPY_HEAD]);
            assertEquals(0.0, g.scores()[0][PlantedDecoders.ECHO_HEAD]);
        }
    }

    @Test
    void referenceModeWithFullMatricesGivesTheSameScoresAsTheInGraphArgmax() {
        RetrievalResult ref = scan(RetrievalScan.Mode.REFERENCE);
        RetrievalResult gen = scan(RetrievalScan.Mode.GENERATE);
        assertEquals(gen.runs(), ref.runs());
        assertTrue(ref.bytesFetched() > gen.bytesFetched(), "full matrices move more bytes");
        for (int i = 0; i < gen.tests().size(); i++) {
            assertArrayEquals(gen.tests().get(i).scores()[0], ref.tests().get(i).scores()[0], 0.0);
            assertEquals(gen.tests().get(i).response(), ref.tests().get(i).response());
        }
    }

    @Test
    void maskingThePlantedCopyHeadBreaksRetrievalWhileMaskingTheEchoHeadDoesNot() {
        double[] acc = RetrievalScan.needleAccuracy(model, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, GRID,
                List.of(Intervention.NONE, Intervention.builder().uniform(0, PlantedDecoders.COPY_HEAD).build(),
                        Intervention.builder().uniform(0, PlantedDecoders.ECHO_HEAD).build()),
                Progress.NONE, CancelToken.NEVER);
        assertArrayEquals(new double[]{0, 0, 0}, new double[]{acc[0] - 0, acc[1], acc[2] - acc[0]}, 1e-12);
    }

    @Test
    void needleSitsAfterASentenceEndFoundWithTheModelsTokenizer() {
        var grid = RetrievalScan.grid(model, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, GRID);
        long period = PlantedDecoders.WORDS.indexOf(".");
        long the = PlantedDecoders.WORDS.indexOf("the");
        for (NeedleEpisodes.Episode e : grid.episodes()) {
            int needleStart = e.answerStart() - 4;
            assertEquals(the, e.prompt()[needleStart], "needle starts with 'the'");
            if (e.depth() < 100) {
                assertTrue(needleStart == 1 || e.prompt()[needleStart - 1] == period, "needle follows BOS or a period at depth " + e.depth());
            } else {
                assertEquals(the, e.prompt()[e.answerEnd() + 1], "at 100% the needle is appended right before the question");
            }
            assertTrue(e.prompt().length + e.answerLength() + 1 <= e.length(), "prompt, answer and one more token fit");
            assertEquals(PlantedDecoders.WORDS.indexOf(PlantedDecoders.NEEDLES.get(e.needleIndex()).answer()), e.answer()[0]);
        }
        assertEquals(1, grid.episodes().get(0).answerStart() - 4, "depth 0 puts the needle right after BOS");
    }

    @Test
    void referenceHeadScoreFileRoundTrips() {
        RetrievalResult r = scan(RetrievalScan.Mode.TEACHER);
        double[][] back = RetrievalResult.fromReferenceJson(r.toReferenceJson());
        double[][] s = r.scores();
        for (int h = 0; h < PlantedDecoders.HEADS; h++) {
            assertEquals(s[0][h], back[0][h], 1e-12);
        }
        double[][] published = RetrievalResult.fromReferenceJson("{\"0-1\": [0.5, 1.0], \"1-0\": [0.25], \"1-1\": []}");
        assertArrayEquals(new double[]{0, 0.75}, published[0], 1e-12);
        assertArrayEquals(new double[]{0.25, 0}, published[1], 1e-12);
        assertThrows(IllegalArgumentException.class, () -> RetrievalResult.fromReferenceJson("[1,2]"));
    }

    @Test
    void reportHasOneRowPerHeadAndTheAccuracyGrid() throws Exception {
        RetrievalResult r = scan(RetrievalScan.Mode.TEACHER);
        CopyScores copy = CopyScores.run(model, new CopyScores.Params(12, 1), Progress.NONE, CancelToken.NEVER);
        HeadReport report = r.toReport(Provenance.of(model, "needles", RetrievalResult.metricVersions()), copy);
        assertEquals(PlantedDecoders.HEADS, report.heads().size());
        assertEquals(1.0, (Double) report.heads().get(0).get("retrieval_score"), 1e-12);
        Path out = dir.resolve("report");
        ReportWriter.write(report, out);
        HeadReport back = ReportWriter.read(out.resolve("report.json"));
        assertEquals(report.heads(), back.heads());
        assertEquals(6, ((List<?>) back.sections().get("accuracy_grid")).size());
    }

    @Test
    void cancelledScanThrowsAndLeavesNoReport() throws Exception {
        CancelToken cancel = new CancelToken();
        Path out = dir.resolve("cancelled");
        assertThrows(CancellationException.class, () -> {
            RetrievalResult r = RetrievalScan.run(model, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, GRID,
                    (done, total, msg) -> {
                        if (done == 2) {
                            cancel.cancel();
                        }
                    }, cancel);
            ReportWriter.write(r.toReport(Provenance.of(model, "", RetrievalResult.metricVersions()), null), out);
        });
        assertFalse(Files.exists(out));
    }

    @Test
    void noTestPastTheGateMeansNoScoresAndAClearMessage() {
        RetrievalScan.Test failed = new RetrievalScan.Test(0, 40, 0, "nothing", 0.0, false, false, new double[1][3]);
        RetrievalResult r = new RetrievalResult(GRID, 1, 3, List.of(failed), 1, "{haystack} {question}", ".", 1, 0);
        assertFalse(r.hasScores());
        IllegalStateException e = assertThrows(IllegalStateException.class, r::toReferenceJson);
        assertTrue(e.getMessage().contains("none of the 1 tests passed the ROUGE-1 gate"), e.getMessage());
    }

    @Test
    void rougeOneRecallCountsClippedUnigramsOfTheReference() {
        assertEquals(1.0, RetrievalScan.rouge1Recall("Two apples.", "two apples"), 1e-12);
        assertEquals(0.5, RetrievalScan.rouge1Recall("two two two", "two apples"), 1e-12);
        assertEquals(2 / 3.0, RetrievalScan.rouge1Recall("a falcon, a", "a falcon a? a"), 0.34);
        assertEquals(0.0, RetrievalScan.rouge1Recall("", "quartz"), 1e-12);
        // the reference's rouge_scorer(use_stemmer=True): "apples" and "apple" share the stem "appl"; unstemmed they differ
        assertEquals(1.0, RetrievalScan.rouge1Recall("two apple", "two apples", true), 1e-12);
        assertEquals(0.5, RetrievalScan.rouge1Recall("two apple", "two apples", false), 1e-12);
        // words of three letters or fewer are not stemmed: "was" stays "was", "is" stays "is"
        assertEquals(0.5, RetrievalScan.rouge1Recall("it is", "it was", true), 1e-12);
        assertEquals(List.of("appl", "appl", "run", "relat", "gener", "happi", "sky", "die", "is"),
                java.util.stream.Stream.of("apple", "apples", "running", "relational", "generalization", "happy", "skies", "dying", "is")
                        .map(PorterStemmer::stem).toList());
    }
}
