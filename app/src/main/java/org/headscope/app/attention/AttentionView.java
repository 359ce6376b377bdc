package org.headscope.app.attention;

import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.Spinner;
import javafx.scene.control.SpinnerValueFactory;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.ToggleGroup;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;

/**
 * The chosen head's map with its controls: layer and head, linear or log colours, before or after ablation, zoom.
 */
public final class AttentionView extends BorderPane {
    private final HeatmapView heatmap;

    public AttentionView(AttentionViewModel vm) {
        this(vm, () -> "");
    }

    /** {@code modelName} names the open model in the map's title. */
    public AttentionView(AttentionViewModel vm, java.util.function.Supplier<String> modelName) {
        heatmap = new HeatmapView(vm, modelName);
        Spinner<Integer> layer = new Spinner<>(new SpinnerValueFactory.IntegerSpinnerValueFactory(0, 999, 0));
        Spinner<Integer> head = new Spinner<>(new SpinnerValueFactory.IntegerSpinnerValueFactory(0, 999, 0));
        layer.setId("layer-spinner");
        head.setId("head-spinner");
        layer.setPrefWidth(70);
        head.setPrefWidth(70);
        bind(layer, vm.layerProperty());
        bind(head, vm.headProperty());
        vm.runProperty().addListener((o, a, r) -> {
            if (r != null) {
                ((SpinnerValueFactory.IntegerSpinnerValueFactory) layer.getValueFactory()).setMax(r.layers() - 1);
                ((SpinnerValueFactory.IntegerSpinnerValueFactory) head.getValueFactory()).setMax(r.heads() - 1);
            }
        });
        ToggleButton linear = new ToggleButton("Linear");
        ToggleButton log = new ToggleButton("Log");
        linear.setId("scale-linear");
        log.setId("scale-log");
        // ControlsFX SegmentedButton: one choice of two, drawn as one control
        org.controlsfx.control.SegmentedButton scaleButtons = new org.controlsfx.control.SegmentedButton(linear, log);
        scaleButtons.setId("scale-buttons");
        scaleButtons.setMinWidth(Region.USE_PREF_SIZE);
        ToggleGroup scaleGroup = scaleButtons.getToggleGroup();
        (vm.scaleProperty().get() == ColourScale.LOG ? log : linear).setSelected(true);
        scaleGroup.selectedToggleProperty().addListener((o, a, b) -> {
            if (b == null) {
                a.setSelected(true);
            } else {
                vm.scaleProperty().set(b == log ? ColourScale.LOG : ColourScale.LINEAR);
            }
        });
        vm.scaleProperty().addListener((o, a, b) -> (b == ColourScale.LOG ? log : linear).setSelected(true));
        CheckBox after = new CheckBox("after edit");
        after.setId("show-ablated");
        after.selectedProperty().bindBidirectional(vm.showAblatedProperty());
        after.disableProperty().bind(javafx.beans.binding.Bindings.createBooleanBinding(
                () -> vm.runProperty().get() == null || !vm.runProperty().get().hasAblation(), vm.runProperty()));
        Button zoomOut = new Button("\u2212");
        Button zoomIn = new Button("+");
        zoomOut.setOnAction(e -> heatmap.setZoom(heatmap.zoom() / 1.5));
        zoomIn.setOnAction(e -> heatmap.setZoom(heatmap.zoom() * 1.5));
        CheckBox rowBars = new CheckBox("last row");
        rowBars.setId("show-last-row");
        rowBars.setTooltip(new javafx.scene.control.Tooltip("The last query's attention over every key as bars under the map"));
        rowBars.selectedProperty().bindBidirectional(heatmap.showLastRowProperty());
        Button fit = new Button("Fit");
        fit.setId("zoom-fit");
        fit.setOnAction(e -> heatmap.setZoom(1));
        // shown while the map is cropped to a key range (drag across the key labels): back to every key
        Button allKeys = new Button("All keys");
        allKeys.setId("keys-all");
        allKeys.setTooltip(new javafx.scene.control.Tooltip("The map is cropped to a key range; show every key again"));
        allKeys.setOnAction(e -> vm.showAllKeys());
        Runnable cropShown = () -> {
            allKeys.setVisible(vm.keysCropped());
            allKeys.setManaged(allKeys.isVisible());
        };
        vm.keyFromProperty().addListener(o -> cropShown.run());
        vm.keyToProperty().addListener(o -> cropShown.run());
        vm.runProperty().addListener(o -> cropShown.run());
        cropShown.run();
        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        zoomOut.setTooltip(new javafx.scene.control.Tooltip("Zoom out"));
        zoomIn.setTooltip(new javafx.scene.control.Tooltip("Zoom in"));
        fit.setTooltip(new javafx.scene.control.Tooltip("Fit the map to its pane"));
        layer.setPrefWidth(62);
        head.setPrefWidth(62);
        HBox bar = new HBox(5, new Label("Layer"), layer, new Label("Head"), head, scaleButtons, after, rowBars, allKeys, grow,
                zoomOut, zoomIn, fit);
        // the short labels and the scale toggles keep their text; the check boxes and the spacer give way first
        bar.getChildren().forEach(n -> {
            if (n instanceof Label || n instanceof ToggleButton) {
                ((Region) n).setMinWidth(Region.USE_PREF_SIZE);
            }
        });
        bar.setAlignment(javafx.geometry.Pos.CENTER_LEFT);
        bar.setPadding(new Insets(4));
        setTop(bar);
        setCenter(heatmap);
    }

    private static void bind(Spinner<Integer> spinner, javafx.beans.property.IntegerProperty p) {
        spinner.getValueFactory().setValue(p.get());
        spinner.valueProperty().addListener((o, a, b) -> {
            if (b != null) {
                p.set(b);
            }
        });
        p.addListener((o, a, b) -> spinner.getValueFactory().setValue(b.intValue()));
    }

    public HeatmapView heatmap() {
        return heatmap;
    }
}
