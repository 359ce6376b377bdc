package org.headscope.app.panel;

import org.headscope.analysis.report.MetricDefinitions;
import java.io.File;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.StringProperty;
import javafx.beans.value.ObservableValue;
import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.SplitPane;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import org.controlsfx.control.PropertySheet;
import org.controlsfx.property.editor.AbstractPropertyEditor;
import org.headscope.analysis.report.HeadReport;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.app.util.Message;

/**
 * The panel of one analysis. Left: its parameters in a property sheet (paper defaults, editable, each with its
 * meaning as tooltip), Run, Defaults and report export. Right, findings first: a paragraph that says what the run
 * found in words and numbers, the report's curve where it has one (axes from 0, chance drawn), and the heads ranked
 * by a score column in a table with units, ticks for flags, % for shares and the metric's definition on each column
 * header. The same column colours the head grid and its heat map. Clicking a row shows that head's map.
 */
public final class ScanPanel extends VBox {
    /** The most height the findings paragraph takes before it scrolls. */
    static final double FINDINGS_MAX = 120;
    private final ScanViewModel vm;
    private final TableView<Map<String, Object>> table = new TableView<>();
    private final ChoiceBox<String> column = new ChoiceBox<>();
    private final Label summary = new Label();
    private final PlotView plot = new PlotView();
    private final StackPane plotBox = new StackPane(plot);
    private final FlowPane actions = new FlowPane(6, 4);
    private final PropertySheet sheet = new PropertySheet();
    private final Label notes = new Label();
    private final javafx.scene.control.TitledPane notesPane = new javafx.scene.control.TitledPane("Notes and departures from the papers' code", null);

    public ScanPanel(ScanViewModel vm, AttentionViewModel attention, Supplier<String> prompt,
                     java.util.function.Consumer<Message> messages) {
        super(6);
        this.vm = vm;
        String id = vm.key();
        setId("panel-" + id);
        setPadding(new Insets(6));
        sheet.setId(id + "-parameters");
        sheet.setModeSwitcherVisible(false);
        sheet.setSearchBoxVisible(false);
        sheet.setMode(PropertySheet.Mode.NAME);
        for (Scan.Parameter p : vm.scan().parameters()) {
            sheet.getItems().add(new ParameterItem(p, vm.valueProperty(p.key())));
        }
        sheet.setPropertyEditorFactory(item -> {
            ParameterItem pi = (ParameterItem) item;
            TextField field = new TextField();
            field.setId(id + "-" + pi.parameter.key());
            field.setTooltip(new Tooltip(pi.getDescription()));
            return new AbstractPropertyEditor<String, TextField>(item, field) {
                @Override
                protected ObservableValue<String> getObservableValue() {
                    return field.textProperty();
                }

                @Override
                public void setValue(String value) {
                    field.setText(value);
                }
            };
        });
        VBox.setVgrow(sheet, Priority.ALWAYS);
        Button run = new Button("Run");
        run.setId(id + "-run");
        run.setDefaultButton(false);
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
        actions.getChildren().addAll(run, defaults, export);
        VBox left = new VBox(6, sheet, actions);
        left.setMinWidth(200);
        left.setPrefWidth(270);

        column.setId(id + "-column");
        column.valueProperty().bindBidirectional(vm.columnProperty());
        HBox rank = new HBox(6, new Label("rank and colour by"), column);
        rank.setAlignment(Pos.CENTER_LEFT);
        table.setId(id + "-table");
        table.setPlaceholder(new Label("Press Run to scan the open model."));
        table.setMinHeight(90);
        VBox.setVgrow(table, Priority.ALWAYS);
        table.getSelectionModel().selectedItemProperty().addListener((o, a, r) -> {
            if (r != null && ((Number) r.get("layer")).intValue() >= 0 && ((Number) r.get("head")).intValue() >= 0) {
                attention.layerProperty().set(((Number) r.get("layer")).intValue());
                attention.headProperty().set(((Number) r.get("head")).intValue());
            }
        });
        vm.reportProperty().addListener(o -> refresh());
        vm.columnProperty().addListener(o -> {
            table.getItems().setAll(vm.ranked(vm.columnProperty().get()));
            showFindings();
        });
        summary.setId(id + "-summary");
        summary.setWrapText(true);
        summary.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        summary.getStyleClass().add("findings");
        plotBox.setId(id + "-plot");
        plotBox.setMinHeight(0);
        plotBox.setPrefHeight(110);
        plotBox.setMinHeight(72);
        plot.widthProperty().bind(plotBox.widthProperty());
        plot.heightProperty().bind(plotBox.heightProperty());
        notes.setWrapText(true);
        notes.setId(id + "-notes");
        javafx.scene.control.ScrollPane notesScroll = new javafx.scene.control.ScrollPane(notes);
        notesScroll.setFitToWidth(true);
        notesScroll.setPrefHeight(110);
        notesPane.setContent(notesScroll);
        notesPane.setExpanded(false);
        notesPane.setAnimated(false);
        notesPane.setId(id + "-notes-pane");
        javafx.scene.control.ScrollPane summaryScroll = new javafx.scene.control.ScrollPane(summary);
        summaryScroll.setFitToWidth(true);
        // the findings come first: the paragraph keeps its full height (up to 7 lines, then it scrolls) and the plot and
        // the table give way, so a small window never clips the sentence that says what the scan found
        summaryScroll.setPrefViewportHeight(64);
        summaryScroll.setMaxHeight(FINDINGS_MAX);
        summaryScroll.setMinHeight(40);
        summary.heightProperty().addListener((o, a, h) -> {
            double fit = Math.min(FINDINGS_MAX, h.doubleValue() + 4);
            summaryScroll.setPrefViewportHeight(fit);
            summaryScroll.setMinHeight(Math.max(40, fit));
        });
        summaryScroll.getStyleClass().add("edge-to-edge");
        VBox results = new VBox(4, summaryScroll, notesPane, plotBox, rank, table);
        results.setMinWidth(260);
        SplitPane split = new SplitPane(left, results);
        split.setOrientation(Orientation.HORIZONTAL);
        split.setDividerPositions(0.32);
        SplitPane.setResizableWithParent(left, false);
        VBox.setVgrow(split, Priority.ALWAYS);
        getChildren().add(split);
        refresh();
    }

    /** Adds a button or control beside Run, Defaults and Export (a panel's own action, e.g. apply VHR). */
    public void addAction(Node node) {
        actions.getChildren().add(node);
    }

    /** The parameters' property sheet. */
    public PropertySheet parameters() {
        return sheet;
    }

    /** The plot of the report's curve. */
    public PlotView plot() {
        return plot;
    }

    private void refresh() {
        HeadReport r = vm.reportProperty().get();
        Optional<HeadReport.Figure> curve = r == null ? Optional.empty()
                : r.figures().stream().filter(f -> f.kind().equals("curve")).findFirst();
        plot.show(curve.orElse(null), curve.map(f -> ScanViewModel.chance(r, f)).orElse(null));
        plotBox.setVisible(curve.isPresent());
        plotBox.setManaged(curve.isPresent());
        String chosen = vm.columnProperty().get();
        column.getItems().setAll(vm.columns());
        vm.columnProperty().set(chosen != null && vm.columns().contains(chosen) ? chosen
                : vm.columns().contains(vm.scan().defaultColumn()) ? vm.scan().defaultColumn()
                : vm.columns().isEmpty() ? chosen : vm.columns().getFirst());
        showFindings();
        table.getColumns().clear();
        TableColumn<Map<String, Object>, String> head = new TableColumn<>("head");
        head.setCellValueFactory(d -> new ReadOnlyStringWrapper(ScanViewModel.head(d.getValue())));
        head.setSortable(false);
        head.setPrefWidth(48);
        table.getColumns().add(head);
        for (String c : vm.columns()) {
            MetricDefinitions.Definition def = vm.definition(c);
            TableColumn<Map<String, Object>, String> col = new TableColumn<>();
            Label header = new Label(c + (def.unit().isEmpty() || def.kind() == MetricDefinitions.Kind.PERCENT ? "" : " (" + def.unit() + ")"));
            header.setTooltip(new Tooltip(vm.tooltip(c)));
            col.setGraphic(header);
            col.setId(vm.key() + "-col-" + c);
            col.setCellValueFactory(d -> new ReadOnlyStringWrapper(MetricDefinitions.format(d.getValue().get(c), def.kind())));
            col.setSortable(false);
            col.setStyle(def.kind() == MetricDefinitions.Kind.FLAG ? "-fx-alignment: CENTER;" : "-fx-alignment: CENTER-RIGHT;");
            table.getColumns().add(col);
        }
        table.getItems().setAll(vm.ranked(vm.columnProperty().get()));
    }

    private void showFindings() {
        String headline = vm.headline();
        summary.setText(vm.report() == null ? "Press Run: the findings of the scan appear here."
                : vm.findings() + (headline.isEmpty() ? "" : "\n" + headline));
        notes.setText(vm.notes());
        notesPane.setVisible(!vm.notes().isEmpty());
        notesPane.setManaged(notesPane.isVisible());
    }

    /** Formats a report value as the table does for a plain number column. */
    static String format(Object v) {
        return MetricDefinitions.format(v, MetricDefinitions.Kind.NUMBER);
    }

    /** A parameter as a property sheet item, bound to the panel's value. */
    private static final class ParameterItem implements PropertySheet.Item {
        final Scan.Parameter parameter;
        final StringProperty value;

        ParameterItem(Scan.Parameter parameter, StringProperty value) {
            this.parameter = parameter;
            this.value = value;
        }

        @Override
        public Class<?> getType() {
            return String.class;
        }

        @Override
        public String getCategory() {
            return "Parameters";
        }

        @Override
        public String getName() {
            return parameter.label();
        }

        @Override
        public String getDescription() {
            return parameter.help() + "\nDefault: " + parameter.defaultValue();
        }

        @Override
        public Object getValue() {
            return value.get();
        }

        @Override
        public void setValue(Object v) {
            value.set(v == null ? "" : v.toString());
        }

        @Override
        public Optional<ObservableValue<? extends Object>> getObservableValue() {
            return Optional.of(value);
        }
    }
}
