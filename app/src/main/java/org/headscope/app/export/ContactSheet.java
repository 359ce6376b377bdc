package org.headscope.app.export;

import javafx.geometry.Insets;
import javafx.scene.Scene;
import javafx.scene.control.Label;
import javafx.scene.image.ImageView;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.VBox;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.attention.ColourScale;
import org.headscope.app.attention.HeatmapImages;
import org.headscope.hooks.FloatTensor;

/** Every head of one layer side by side, titled, for one PNG. */
public final class ContactSheet {
    private static final int TILE = 180;
    private static final int COLUMNS = 4;

    private ContactSheet() {
    }

    /** The sheet as a laid-out node (in a scene of its own, so CSS and layout are done before a snapshot). */
    public static GridPane build(AttentionRun run, int layer, ColourScale scale, boolean afterAblation) {
        GridPane grid = new GridPane();
        grid.setHgap(10);
        grid.setVgap(10);
        grid.setPadding(new Insets(12));
        grid.setStyle("-fx-background-color: white;");
        for (int h = 0; h < run.heads(); h++) {
            FloatTensor map = run.map(layer, h, afterAblation);
            int cell = Math.max(1, TILE / Math.max(map.dim(0), map.dim(1)));
            ImageView iv = new ImageView(HeatmapImages.render(map, cell, scale, run.causal()));
            iv.setSmooth(false);
            Label title = new Label("layer " + layer + " \u00b7 head " + h + (afterAblation && run.hasAblation() ? " (ablated run)" : ""));
            grid.add(new VBox(3, title, iv), h % COLUMNS, h / COLUMNS);
        }
        new Scene(grid);
        grid.applyCss();
        grid.resize(grid.prefWidth(-1), grid.prefHeight(-1));
        grid.layout();
        return grid;
    }
}
