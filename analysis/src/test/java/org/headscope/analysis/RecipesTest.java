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
