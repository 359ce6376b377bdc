package org.headscope.analysis;

import org.headscope.analysis.core.Options;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recipes the commands and the panels share: options by name over the papers' defaults. */
class RecipesTest {
    private static Options options(Map<String, String> m) {
        return Options.of(m::get);
    }

    @Test
    void noOptionsAreThePapersDefaults() {
        assertEquals(SinkScan.Params.DEFAULTS, SinkScan.Params.fromOptions(options(Map.of())));
        assertEquals(AblationScan.Params.DEFAULTS, AblationScan.Params.fromOptions(options(Map.of())));
        assertEquals(VisionDivergence.Params.DEFAULTS, VisionDivergence.Params.fromOptions(options(Map.of())));
    }

    @Test
    void eachOptionLandsInItsField() {
        SinkScan.Params s = SinkScan.Params.fromOptions(options(Map.of("eps", " 0.2", "tokens", "32", "heat_key", "3", "tau", "15",
                "massive_dims", "7, 2", "sink_rule", "key0", "row_entropy", "skip-row0")));
        SinkScan.Params d = SinkScan.Params.DEFAULTS;
        assertEquals(new SinkScan.Params(0.2, 32, 3, d.hiddenThreshold(), d.dormantRowEntropy(), d.dormantColEntropy(), 15,
                List.of(7, 2), d.massiveRatio(), d.maxMassiveDims(), SinkRule.KEY0, SinkScan.RowEntropy.SKIP_ROW0), s);
        AblationScan.Params a = AblationScan.Params.fromOptions(options(Map.of("mode", "mean-prompt", "alpha", "0.5", "batch", "4")));
        assertEquals(AblationMode.MEAN_PROMPT, a.mode());
        assertEquals(0.5f, a.alpha());
        assertEquals(4, a.batchSize());
        assertEquals(AblationScan.Params.DEFAULTS.pruneFractions(), a.pruneFractions());
        VisionDivergence.Params v = VisionDivergence.Params.fromOptions(options(Map.of("alpha", "3", "top_k", "2", "first_layer", "1",
                "last_layer", "2", "max_new", "5")));
        assertEquals(new VisionDivergence.Params(3, 2, 1, 2, 5), v);
        // explicit lengths: the model (asked only for "auto" lengths) is not needed
        RetrievalScan.Params r = RetrievalScan.Params.fromOptions(null, options(Map.of("lengths", "40, 56", "depths", "3",
                "mode", "generate", "rouge_stemmer", "none")));
        assertEquals(new RetrievalScan.Params(List.of(40, 56), 3, RetrievalScan.Mode.GENERATE, 0.5, 0.1, 50, false), r);
        assertEquals(RetrievalScan.Params.defaults(List.of(64)), RetrievalScan.Params.fromOptions(null, options(Map.of("lengths", "64"))));
    }

    @Test
    void redistributionMethodsFromOptions() {
        // no options: each paper's DEFAULT (the model is asked only for "all")
        for (Redistribution.Method d : List.<Redistribution.Method>of(Redistribution.Act.DEFAULT, Redistribution.Var.DEFAULT,
                Redistribution.ZeroTuning.DEFAULT, Redistribution.Pai.DEFAULT)) {
            assertEquals(d, Redistribution.Method.fromOptions(d.id(), options(Map.of()), null));
        }
        // the panel's layer choice names the reference range: the method's own
        assertEquals(Redistribution.Act.DEFAULT, Redistribution.Method.fromOptions("ACT", options(Map.of("layers", "2..L-2")), null));
        assertEquals(new Redistribution.Act(0.25, 0.2, List.of(1, 3), List.of(new org.headscope.hooks.Intervention.Head(1, 2)),
                        SinkRule.KEY0, Redistribution.Calibration.CLEAN),
                Redistribution.Method.fromOptions("act", options(Map.of("beta", "0.25", "threshold", "0.2", "layers", "1,3",
                        "heads", "1.2", "sink_rule", "key0", "calibrate", "clean")), null));
        assertEquals(new Redistribution.Var(0.5, 0.4, 0.3, 12, List.of(4), List.of(2), Redistribution.Calibration.CLEAN, false),
                Redistribution.Method.fromOptions("var", options(Map.of("p", "0.5", "rho", "0.4", "min_image", "0.3", "tau", "12",
                        "massive_dims", "4", "layers", "2", "calibrate", "clean", "rows", "all")), null));
        assertEquals(new Redistribution.ZeroTuning(2.5, Redistribution.Scope.LAYERS, List.of(0, 1), List.of()),
                Redistribution.Method.fromOptions("zerotuning", options(Map.of("gamma", "2.5", "scope", "layers", "layers", "0,1")), null));
        // the panel's slider gives the first layer as a number
        assertEquals(new Redistribution.Pai(0.7, 3, true, 1.5), Redistribution.Method.fromOptions("pai",
                options(Map.of("alpha", "0.7", "first_layer", "3.0", "use_cfg", "on", "cfg_gamma", "1.5")), null));
        assertThrows(IllegalArgumentException.class, () -> Redistribution.Method.fromOptions("var", options(Map.of("rows", "some")), null));
        assertThrows(IllegalArgumentException.class, () -> Redistribution.Method.fromOptions("spa", options(Map.of()), null));
    }

    @Test
    void logitLensRecipes() {
        assertEquals(LogitLens.Dla.Params.DEFAULTS, LogitLens.Dla.Params.fromOptions(options(Map.of())));
        assertEquals(LogitLens.Lens.Params.DEFAULTS, LogitLens.Lens.Params.fromOptions(options(Map.of())));
        assertEquals(new LogitLens.Dla.Params("quartz", "copper"),
                LogitLens.Dla.Params.fromOptions(options(Map.of("answer", " quartz", "wrong", "copper"))));
        // the panel's one field for both
        assertEquals(new LogitLens.Dla.Params("quartz", "copper"), LogitLens.Dla.Params.fromOptions(options(Map.of("answers", "quartz,copper"))));
        assertEquals(new LogitLens.Dla.Params("#42", "none"), LogitLens.Dla.Params.fromOptions(options(Map.of("answers", "#42"))));
        assertEquals(new LogitLens.Lens.Params("quartz", 3), LogitLens.Lens.Params.fromOptions(options(Map.of("answer", "quartz", "top", "3"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LogitLens.Lens.Params.fromOptions(options(Map.of("top", "three"))));
        assertTrue(e.getMessage().contains("'top'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LogitLens.Lens.Params.fromOptions(options(Map.of("top", "0"))));
        assertTrue(e.getMessage().contains("top k must be 1..100"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LogitLens.Dla.Params.fromOptions(options(Map.of("answers", "a,b,c"))));
        assertTrue(e.getMessage().contains("'answers'"), e.getMessage());
    }

    @Test
    void patchingRecipe() {
        assertEquals(Patching.Params.DEFAULTS, Patching.Params.fromOptions(options(Map.of())));
        assertEquals(new Patching.Params(Patching.Direction.NOISING, List.of(3, -1), true, 2, true, 4),
                Patching.Params.fromOptions(options(Map.of("direction", "noising", "positions", "3, -1", "positionHead", "2",
                        "residual", "on", "batch", "4"))));
        assertEquals(Patching.Params.DEFAULTS.withPositionHead(null), Patching.Params.fromOptions(options(Map.of("positionHead", "all"))));
        assertEquals(Patching.Params.DEFAULTS, Patching.Params.fromOptions(options(Map.of("positions", "all", "positionHead", "none"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Patching.Params.fromOptions(options(Map.of("positions", "1,x"))));
        assertTrue(e.getMessage().contains("'positions'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Patching.Params.fromOptions(options(Map.of("batch", "0"))));
        assertTrue(e.getMessage().contains("'batch'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Patching.Params.fromOptions(options(Map.of("positionHead", "first"))));
        assertTrue(e.getMessage().contains("'positionHead'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Patching.Params.fromOptions(options(Map.of("direction", "sideways"))));
        assertEquals(2, Patching.Params.DEFAULTS.withPositions(List.of(-1)).positionsIn(3)[0]);
        assertThrows(IllegalArgumentException.class, () -> Patching.Params.DEFAULTS.withPositions(List.of(5)).positionsIn(3));
    }

    @Test
    void variantCompareRecipe() {
        // no settings of its own: any options give the defaults
        assertEquals(VariantCompare.Params.DEFAULTS, VariantCompare.Params.fromOptions(options(Map.of())));
        assertEquals(VariantCompare.Params.DEFAULTS, VariantCompare.Params.fromOptions(options(Map.of("variant", "int8"))));
        assertTrue(VariantCompare.Params.OPTIONS.isEmpty());
    }

    @Test
    void copyScoresRecipe() {
        assertEquals(CopyScores.Params.DEFAULTS, CopyScores.Params.fromOptions(options(Map.of())));
        assertEquals(new CopyScores.Params(12, 7), CopyScores.Params.fromOptions(options(Map.of("copy_tokens", "12", "copy_seed", "7"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CopyScores.Params.fromOptions(options(Map.of("copy_tokens", "lots"))));
        assertTrue(e.getMessage().contains("'copy_tokens'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CopyScores.Params.fromOptions(options(Map.of("copy_tokens", "0"))));
        assertTrue(e.getMessage().contains("'copy_tokens'"), e.getMessage());
        assertEquals(CopyScores.COLUMNS, List.copyOf(CopyScores.METRICS.keySet()));
    }

    @Test
    void headAtlasRecipe() {
        assertEquals(HeadAtlas.Params.DEFAULTS, HeadAtlas.Params.fromOptions(options(Map.of())));
        assertEquals(new HeadAtlas.Params(false, 16, 3),
                HeadAtlas.Params.fromOptions(options(Map.of("copy", "off", "copy_tokens", "16", "copy_seed", "3"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HeadAtlas.Params.fromOptions(options(Map.of("copy", "maybe"))));
        assertTrue(e.getMessage().contains("'copy'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HeadAtlas.Params.fromOptions(options(Map.of("copy_seed", "x"))));
        assertTrue(e.getMessage().contains("'copy_seed'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HeadAtlas.Params.fromOptions(options(Map.of("copy_tokens", "1"))));
        assertTrue(e.getMessage().contains("'copy_tokens'"), e.getMessage());
    }

    @Test
    void aMalformedOptionIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SinkScan.Params.fromOptions(options(Map.of("tokens", "many"))));
        assertTrue(e.getMessage().contains("'tokens'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SinkScan.Params.fromOptions(options(Map.of("massive_dims", "1,x"))));
        assertTrue(e.getMessage().contains("'massive_dims'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SinkScan.Params.fromOptions(options(Map.of("heat_key", "64"))),
                "the heat key lies inside the window");
        assertThrows(IllegalArgumentException.class, () -> AblationScan.Params.fromOptions(options(Map.of("mode", "half"))));
        e = assertThrows(IllegalArgumentException.class,
                () -> RetrievalScan.Params.fromOptions(null, options(Map.of("lengths", "64", "rouge_stemmer", "snowball"))));
        assertTrue(e.getMessage().contains("'rouge_stemmer'"), e.getMessage());
    }
}
