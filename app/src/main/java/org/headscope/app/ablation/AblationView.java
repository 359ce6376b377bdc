package org.headscope.app.ablation;

import java.util.Locale;
import java.util.stream.Collectors;

import javafx.beans.binding.Bindings;
import javafx.collections.SetChangeListener;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.Slider;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.OutputSummary;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.hooks.Intervention.Head;

/**
 * The ablation panel: mode, scale factor, live re-run, the toggled heads, and the output before and after.
 */
public final class AblationView extends VBox {
    public AblationView(AblationViewModel vm, AttentionViewModel attention) {
        super(8);
        setId("ablation-panel");
        setPadding(new Insets(8));
        // ControlsFX SegmentedButton: every mode in view, one selected (the mode on screen is never a hidden choice)
        org.controlsfx.control.SegmentedButton mode = new org.controlsfx.control.SegmentedButton();
        mode.setId("ablation-mode");
        for (AblationMode m : AblationMode.withoutReferences()) {
            javafx.scene.control.ToggleButton b = new javafx.scene.control.ToggleButton(m.toString());
            b.setId("ablation-mode-" + m.toString().toLowerCase(Locale.ROOT));
            b.setUserData(m);
            b.setSelected(m == vm.modeProperty().get());
            mode.getButtons().add(b);
        }
        mode.getToggleGroup().selectedToggleProperty().addListener((o, was, now) -> {
            if (now == null) {
                was.setSelected(true);
            } else {
                vm.modeProperty().set((AblationMode) now.getUserData());
            }
        });
        vm.modeProperty().addListener((o, was, now) -> mode.getButtons().stream().filter(b -> b.getUserData() == now)
                .findFirst().ifPresent(b -> b.setSelected(true)));
        Slider alpha = new Slider(0, 2, vm.alphaProperty().get());
        alpha.setId("ablation-alpha");
        alpha.setShowTickLabels(true);
        alpha.setMajorTickUnit(0.5);
        alpha.valueProperty().bindBidirectional(vm.alphaProperty());
        alpha.disableProperty().bind(vm.modeProperty().isNotEqualTo(AblationMode.SCALE));
        Label alphaValue = new Label();
        alphaValue.textProperty().bind(Bindings.format(Locale.ROOT, "\u03b1 = %.2f", vm.alphaProperty()));
        CheckBox live = new CheckBox("re-run on toggle");
        live.setId("ablation-live");
        live.selectedProperty().bindBidirectional(vm.liveProperty());
        Button rerun = new Button("Re-run");
        rerun.setId("ablation-rerun");
        rerun.setOnAction(e -> attention.run());
        Button clear = new Button("Clear");
        clear.setId("ablation-clear");
        clear.setOnAction(e -> vm.clear());
        Label heads = new Label();
        heads.setId("ablation-heads");
        heads.setWrapText(true);
        Runnable showHeads = () -> heads.setText(vm.heads().isEmpty()
                ? "No head toggled: right-click (or Ctrl+click) heads in the grid."
                : "Ablated: " + vm.heads().stream().map(Head::toString).collect(Collectors.joining(", ")));
        vm.heads().addListener((SetChangeListener<Head>) c -> showHeads.run());
        showHeads.run();
        Label summary = new Label();
        summary.setId("ablation-summary");
        summary.setWrapText(true);
        TableView<OutputComparison.Row> table = new TableView<>();
        table.setId("ablation-table");
        table.setPrefHeight(200);
        table.getColumns().add(column("next token", r -> r.token()));
        table.getColumns().add(column("clean", r -> fmt(r.clean())));
        table.getColumns().add(column("ablated", r -> fmt(r.ablated())));
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        vm.comparisonProperty().addListener((o, a, c) -> {
            if (c == null) {
                summary.setText("Toggle heads to compare the output before and after.");
                table.getItems().clear();
                table.setVisible(false);
            } else if (c.kind() == OutputSummary.Kind.EMBEDDING) {
                summary.setText(String.format(Locale.ROOT, "cosine(clean, ablated) of the mean-pooled embedding = %.6f", c.cosine()));
                table.getItems().clear();
                table.setVisible(false);
            } else {
                summary.setText(String.format(Locale.ROOT, "KL(clean \u2016 ablated) of the next token = %.6f nats", c.kl()));
                table.getItems().setAll(c.rows());
                table.setVisible(true);
            }
        });
        summary.setText("Toggle heads to compare the output before and after.");
        table.setVisible(false);
        getChildren().addAll(new HBox(8, new Label("Mode"), mode, live, rerun, clear), new HBox(8, alpha, alphaValue),
                heads, summary, table);
    }

    private static TableColumn<OutputComparison.Row, String> column(String name,
                                                                  java.util.function.Function<OutputComparison.Row, String> value) {
        TableColumn<OutputComparison.Row, String> c = new TableColumn<>(name);
        c.setCellValueFactory(d -> new ReadOnlyStringWrapper(value.apply(d.getValue())));
        c.setSortable(false);
        return c;
    }

    static String fmt(double p) {
        return String.format(Locale.ROOT, "%.4f", p);
    }
}
