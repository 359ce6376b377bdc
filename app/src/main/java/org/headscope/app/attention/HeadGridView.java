package org.headscope.app.attention;

import java.util.function.Consumer;

import javafx.beans.InvalidationListener;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.ObservableSet;
import javafx.collections.SetChangeListener;
import javafx.geometry.Pos;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.image.ImageView;
import javafx.scene.input.MouseButton;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.StackPane;
import org.headscope.hooks.Intervention.Head;

/**
 * Every head of every layer as a small multiple of its map (layers down, heads across). A click selects the head
 * for the big map; a right click (or Ctrl+click) toggles it in the ablation set. A panel's per-head score colours
 * the tiles' frames.
 */
public final class HeadGridView extends GridPane {
    private static final int TILE = 40;

    private final AttentionViewModel vm;
    private final ObservableSet<Head> toggled;
    private final Consumer<Head> onToggle;
    private final ObjectProperty<HeadScores> scores = new SimpleObjectProperty<>();
    /** The tiles of the run on screen by head (each tile also carries its head as user data). */
    private final java.util.Map<Head, StackPane> tiles = new java.util.LinkedHashMap<>();

    public HeadGridView(AttentionViewModel vm, ObservableSet<Head> toggled, Consumer<Head> onToggle) {
        this.vm = vm;
        this.toggled = toggled;
        this.onToggle = onToggle;
        setId("head-grid");
        getStyleClass().add("head-grid");
        setHgap(3);
        setVgap(3);
        vm.runProperty().addListener(o -> rebuild());
        vm.scaleProperty().addListener(o -> rebuild());
        vm.showAblatedProperty().addListener(o -> rebuild());
        InvalidationListener restyle = o -> restyle();
        vm.layerProperty().addListener(restyle);
        vm.headProperty().addListener(restyle);
        scores.addListener(restyle);
        toggled.addListener((SetChangeListener<Head>) c -> restyle());
        rebuild();
    }

    /** The per-head score colouring the frames, or null for none. */
    public ObjectProperty<HeadScores> scoresProperty() {
        return scores;
    }

    /** The tile of a head (ids are {@code tile-L-H}). */
    public static String tileId(int layer, int head) {
        return "tile-" + layer + "-" + head;
    }

    /** The tile of a head, or null when the run on screen has no such head. */
    public StackPane tile(Head head) {
        return tiles.get(head);
    }

    private void rebuild() {
        getChildren().clear();
        tiles.clear();
        AttentionRun r = vm.runProperty().get();
        if (r == null) {
            return;
        }
        for (int h = 0; h < r.heads(); h++) {
            Label col = new Label("H" + h);
            col.getStyleClass().add("axis");
            add(col, h + 1, 0);
        }
        RunOverview overview = vm.overview();
        for (int l = 0; l < r.layers(); l++) {
            Label row = new Label("L" + l);
            row.getStyleClass().add("axis");
            add(row, 0, l + 1);
            for (int h = 0; h < r.heads(); h++) {
                StackPane tile = tile(overview, l, h);
                tiles.put(new Head(l, h), tile);
                add(tile, h + 1, l + 1);
            }
        }
        restyle();
    }

    private StackPane tile(RunOverview overview, int l, int h) {
        // the map pooled to the tile's size with the run, off the FX thread: here only its <= 40 x 40 cells are coloured
        var thumb = overview.thumbnail(l, h, vm.showAblatedProperty().get());
        int cell = Math.max(1, TILE / Math.max(thumb.dim(0), thumb.dim(1)));
        ImageView iv = new ImageView(HeatmapImages.renderPooled(thumb, cell, vm.scaleProperty().get()));
        iv.setSmooth(false);
        iv.setFitWidth(TILE);
        iv.setFitHeight(TILE);
        StackPane tile = new StackPane(iv);
        tile.setId(tileId(l, h));
        tile.setUserData(new Head(l, h));
        tile.setAlignment(Pos.CENTER);
        tile.getStyleClass().add("tile");
        Tooltip.install(tile, new Tooltip("layer " + l + ", head " + h + "\nclick: show  \u00b7  right click: toggle ablation"));
        tile.setOnMouseClicked(e -> {
            if (e.getButton() == MouseButton.SECONDARY || e.isControlDown()) {
                onToggle.accept(new Head(l, h));
            } else if (e.getButton() == MouseButton.PRIMARY) {
                vm.layerProperty().set(l);
                vm.headProperty().set(h);
            }
        });
        return tile;
    }

    private void restyle() {
        HeadScores s = scores.get();
        for (var entry : tiles.entrySet()) {
            Head head = entry.getKey();
            StackPane node = entry.getValue();
            boolean selected = head.layer() == vm.layerProperty().get() && head.head() == vm.headProperty().get();
            node.pseudoClassStateChanged(javafx.css.PseudoClass.getPseudoClass("selected"), selected);
            node.pseudoClassStateChanged(javafx.css.PseudoClass.getPseudoClass("ablated"), toggled.contains(head));
            String colour = s == null ? null : s.hex(head);
            node.setStyle(colour == null ? "" : "-fx-background-color: " + colour + ";");
        }
    }
}
