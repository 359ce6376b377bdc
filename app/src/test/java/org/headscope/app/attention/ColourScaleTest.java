package org.headscope.app.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.headscope.analysis.report.Viridis;
import org.junit.jupiter.api.Test;

class ColourScaleTest {
    @Test
    void logScaleSpansFourDecades() {
        assertEquals(0.0, ColourScale.LOG.position(1e-4), 1e-12);
        assertEquals(0.5, ColourScale.LOG.position(1e-2), 1e-12);
        assertEquals(1.0, ColourScale.LOG.position(1.0), 1e-12);
        assertEquals(0.0, ColourScale.LOG.position(1e-9), 1e-12);
        assertEquals(0.75, ColourScale.LOG.position(0.1), 1e-12);
    }

    @Test
    void probabilityInvertsPosition() {
        for (double p : new double[]{3e-4, 0.02, 0.37, 0.999}) {
            assertEquals(p, ColourScale.LOG.probability(ColourScale.LOG.position(p)), 1e-12);
            assertEquals(p, ColourScale.LINEAR.probability(ColourScale.LINEAR.position(p)), 1e-12);
        }
    }

    @Test
    void colourIsViridisAtThePosition() {
        assertEquals(0xff000000 | Viridis.rgb(0.25), ColourScale.LINEAR.argb(0.25));
        assertEquals(0xff000000 | Viridis.rgb(0.5), ColourScale.LOG.argb(0.01));
    }
}
