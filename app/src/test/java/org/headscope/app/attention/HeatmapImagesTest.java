package org.headscope.app.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import javafx.scene.image.PixelReader;
import javafx.scene.image.WritableImage;
import org.headscope.hooks.FloatTensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxToolkit;

class HeatmapImagesTest {
    @BeforeAll
    static void toolkit() throws Exception {
        FxToolkit.registerPrimaryStage();
    }

    @Test
    void everyCellIsABlockOfItsColourAndCausallyMaskedCellsAreGrey() {
        FloatTensor map = new FloatTensor(new long[]{3, 3}, new float[]{1f, 0f, 0f, 0.25f, 0.75f, 0f, 0.1f, 0.2f, 0.7f});
        WritableImage img = HeatmapImages.render(map, 4, ColourScale.LINEAR, true);
        assertEquals(12, img.getWidth());
        assertEquals(12, img.getHeight());
        PixelReader px = img.getPixelReader();
        for (int q = 0; q < 3; q++) {
            for (int k = 0; k < 3; k++) {
                int expected = k > q ? HeatmapImages.MASKED : ColourScale.LINEAR.argb(map.get(q, k));
                for (int[] corner : new int[][]{{0, 0}, {3, 3}, {0, 3}}) {
                    assertEquals(expected, px.getArgb(k * 4 + corner[0], q * 4 + corner[1]), "cell " + q + "," + k);
                }
            }
        }
        WritableImage bidirectional = HeatmapImages.render(map, 1, ColourScale.LOG, false);
        assertEquals(ColourScale.LOG.argb(0f), bidirectional.getPixelReader().getArgb(2, 0));
    }
}
