package org.headscope.app.report;

import java.io.File;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.app.util.Message;

/**
 * The panel of one analysis: its parameters (paper defaults, editable), Run, the heads ranked by a score column
 * (the same column colours the head grid), and export of the report as JSON, CSV and HTML. Clicking a row shows
 * that head's map.
 */
public final class ScanPanel extends VBox {
    private final ScanViewModel vm;
    private final TableView<Map<String, Object>> table = new TableView<>();
    private final ChoiceBox<String> column = new ChoiceBox<>();

    public ScanPanel(ScanViewModel vm, AttentionViewModel attention, Supplier<String> prompt,
                     java.util.function.Consumer<Message> messages) {
        super(6);
        this.vm = vm;
        String id = vm.key();
        setId("panel-" + id);
        setPadding(new Insets(8));
        GridPane params = new GridPane();
        params.setHgap(6);
        params.setVgap(4);
        int row = 0;
        for (Scan.Parameter p : vm.scan().parameters()) {
            Label label = new Label(p.label());
            TextField field = new TextField();
            field.setId(id + "-" + p.key());
            field.setPrefColumnCount(8);
            field.textProperty().bindBidirectional(vm.valueProperty(p.key()));
            Tooltip tip = new Tooltip(p.help() + "\nDefault: " + p.defaultValue());
            label.setTooltip(tip);
            field.setTooltip(tip);
            Label def = new Label("default " + p.defaultValue());
            def.getStyleClass().add("default-value");
            params.addRow(row++, label, field, def);
        }
        Button run = new Button("Run");
        run.setId(id + "-run");
        run.setOnAction(e -> vm.run(prompt.get()));
        Button defaults = new Button("Defaults");
        defaults.setOnAction(e -> vm.resetDefaults());
        Button export = new Button("Export report\u2026");
        export.setId(id + "-export");
        export.disableProperty().bind(vm.reportProperty().isNull());
        export.setOnAction(e -> {
            DirectoryChooser dc = new DirectoryChooser();
            dc.setTitle("Folder for the " + vm.scan().title() + " report (JSON, CSV, HTML)");
            File dir = dc.showDialog(getScene().getWindow());
            if (dir != null) {
                try {
                    messages.accept(Message.info("Wrote " + vm.export(dir.toPath())));
                } catch (java.io.IOException | RuntimeException ex) {
                    messages.accept(Message.of("Writing the report", ex));
                }
            }
        });
        column.setId(id + "-column");
        column.valueProperty().bindBidirectional(vm.columnProperty());
        HBox actions = new HBox(6, run, defaults, export, new Label("rank and colour by"), column);
        actions.setAlignment(Pos.CENTER_LEFT);
        table.setId(id + "-table");
        table.setPlaceholder(new Label("Press Run to scan the open model."));
        VBox.setVgrow(table, Priority.ALWAYS);
        table.getSelectionModel().selectedItemProperty().addListener((o, a, r) -> {
            if (r != null) {
                attention.layerProperty().set(((Number) r.get("layer")).intValue());
                attention.headProperty().set(((Number) r.get("head")).intValue());
            }
        });
        vm.reportProperty().addListener(o -> refresh());
        vm.columnProperty().addListener(o -> table.getItems().setAll(vm.ranked(vm.columnProperty().get())));
        getChildren().addAll(params, actions, table);
        refresh();
    }

    private void refresh() {
        String chosen = vm.columnProperty().get();
        column.getItems().setAll(vm.columns());
        vm.columnProperty().set(chosen != null && vm.columns().contains(chosen) ? chosen
                : vm.columns().contains(vm.scan().defaultColumn()) ? vm.scan().defaultColumn()
                : vm.columns().isEmpty() ? chosen : vm.columns().getFirst());
        table.getColumns().clear();
        TableColumn<Map<String, Object>, String> head = new TableColumn<>("head");
        head.setCellValueFactory(d -> new ReadOnlyStringWrapper(d.getValue().get("layer") + "." + d.getValue().get("head")));
        head.setSortable(false);
        table.getColumns().add(head);
        for (String c : vm.columns()) {
            TableColumn<Map<String, Object>, String> col = new TableColumn<>(c);
            col.setCellValueFactory(d -> new ReadOnlyStringWrapper(format(d.getValue().get(c))));
            col.setSortable(false);
            table.getColumns().add(col);
        }
        table.getItems().setAll(vm.ranked(vm.columnProperty().get()));
    }

    static String format(Object v) {
        if (v instanceof Double d) {
            return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.4f", d);
        }
        return v == null ? "" : v.toString();
    }
}
