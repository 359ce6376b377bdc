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

    @Test
    void theOverviewOfALongMapShowsEachBlocksLargestValueAndMasksOnlyFullyMaskedBlocks() {
        int t = 7;
        float[] d = new float[t * t];
        for (int q = 0; q < t; q++) {
            for (int k = 0; k <= q; k++) {
                d[q * t + k] = 0.01f;
            }
        }
        d[5 * t + 1] = 0.9f;
        FloatTensor map = new FloatTensor(new long[]{t, t}, d);
        WritableImage img = HeatmapImages.render(map, 2, 3, ColourScale.LINEAR, true);
        assertEquals(6, img.getWidth(), "ceil(7 / 3) = 3 blocks of 2 px");
        PixelReader px = img.getPixelReader();
        // block (1, 0) holds queries 3..5 and keys 0..2: its largest value is the 0.9 at (5, 1)
        assertEquals(ColourScale.LINEAR.argb(0.9f), px.getArgb(0, 2));
        assertEquals(ColourScale.LINEAR.argb(0.01f), px.getArgb(0, 0));
        // block (0, 1): keys 3..5 all lie after queries 0..2, so it is masked; block (1, 1) holds the diagonal
        assertEquals(HeatmapImages.MASKED, px.getArgb(2, 0));
        assertEquals(ColourScale.LINEAR.argb(0.01f), px.getArgb(2, 2));
        // the last, partial block (queries and key 6 only) is drawn too
        assertEquals(ColourScale.LINEAR.argb(0.01f), px.getArgb(4, 4));
    }
}
