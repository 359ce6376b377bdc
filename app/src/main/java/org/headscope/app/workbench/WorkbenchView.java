package org.headscope.app.workbench;

import java.io.File;
import java.util.List;

import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.MenuBar;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TextField;
import javafx.scene.input.TransferMode;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.headscope.app.ablation.AblationView;
import org.headscope.app.attention.AttentionView;
import org.headscope.app.attention.HeadGridView;
import org.headscope.app.attention.ImagePane;
import org.headscope.app.attention.OutputStrip;
import org.headscope.app.attention.ScoreHeatmap;
import org.headscope.app.attention.TokenStrip;
import org.headscope.app.model.ModelBar;
import org.headscope.app.redistribution.RedistributionView;
import org.headscope.app.panel.ScanPanel;
import org.headscope.app.panel.ScanViewModel;
import org.headscope.app.vision.VisionScan;
import org.headscope.app.util.MessageBar;
import org.headscope.app.util.StatusBar;

/**
 * The window's content: menus, model bar, prompt and the output strip (the model's answer) on top; below them, in
 * resizable split panes whose positions are remembered, the token strip (scrolling inside its own region), the
 * chosen head's map (filling its pane), the head grid with the active score's heat map, and the panels; messages
 * and the task status at the bottom. Dropping a model file
 * or folder anywhere opens it.
 */
public final class WorkbenchView extends BorderPane {
    private final WorkbenchViewModel vm;
    private final AttentionView attentionView;
    private final HeadGridView grid;
    private final TabPane panels = new TabPane();
    private final MenuBar menus = new MenuBar();
    private final SplitPane outer = new SplitPane();
    private final SplitPane center = new SplitPane();
    private final SplitPane right = new SplitPane();
    /** Each tab's per-head scores (colouring the grid) and, for scan panels, its view model: found by tab, never by title. */
    private final java.util.Map<Tab, javafx.beans.value.ObservableValue<org.headscope.app.attention.HeadScores>> tabScores = new java.util.HashMap<>();
    private final java.util.Map<Tab, ScanViewModel> tabScans = new java.util.HashMap<>();

    public WorkbenchView(WorkbenchViewModel vm) {
        this.vm = vm;
        setId("workbench");
        ModelBar modelBar = new ModelBar(vm.models(), vm::open);
        menus.getMenus().add(modelBar.menu());
        TextField prompt = new TextField();
        prompt.setId("prompt");
        prompt.textProperty().bindBidirectional(vm.attention().promptProperty());
        prompt.setOnAction(e -> vm.attention().run());
        HBox.setHgrow(prompt, Priority.ALWAYS);
        Button run = new Button("Run");
        run.setId("run");
        run.setDefaultButton(true);
        run.setOnAction(e -> vm.attention().run());
        HBox promptBar = new HBox(6, new Label("Prompt"), prompt, run);
        promptBar.setAlignment(Pos.CENTER_LEFT);
        promptBar.setPadding(new Insets(4, 8, 4, 8));
        TokenStrip strip = new TokenStrip(vm.attention());
        strip.setPadding(new Insets(2, 8, 6, 8));
        ImagePane imagePane = new ImagePane(vm.attention());
        imagePane.visibleProperty().bind(javafx.beans.binding.Bindings.createBooleanBinding(() -> vm.models().loadedProperty().get() != null
                && vm.models().loadedProperty().get().model().vision().isPresent(), vm.models().loadedProperty()));
        imagePane.managedProperty().bind(imagePane.visibleProperty());
        ScrollPane stripScroll = new ScrollPane(strip);
        stripScroll.setId("strip-scroll");
        stripScroll.setFitToWidth(true);
        stripScroll.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        stripScroll.setMinHeight(28);
        HBox.setHgrow(stripScroll, Priority.ALWAYS);
        HBox stripRow = new HBox(8, stripScroll);
        stripRow.setPadding(new Insets(0, 8, 0, 0));
        stripRow.setMinHeight(28);
        OutputStrip output = new OutputStrip(vm.attention(), id -> {
            var lm = vm.models().current();
            return lm == null ? Long.toString(id) : lm.model().tokenizer().map(t -> t.tokenString(id)).orElse(Long.toString(id));
        });
        setTop(new VBox(menus, modelBar, promptBar, output));

        attentionView = new AttentionView(vm.attention(), () -> vm.models().titleProperty().get());
        grid = new HeadGridView(vm.attention(), vm.ablation().heads(), vm.ablation()::toggle);
        Label gridLegend = new Label();
        gridLegend.setId("grid-legend");
        gridLegend.getStyleClass().add("grid-legend");
        gridLegend.textProperty().bind(javafx.beans.binding.Bindings.createStringBinding(() -> grid.scoresProperty().get() == null
                ? "Click a head to show it; right-click to toggle its ablation."
                : "Scores: " + grid.scoresProperty().get().name() + " (heat map on the right; frames: selected orange, ablated red dashed)",
                grid.scoresProperty()));
        gridLegend.setWrapText(true);
        ScoreHeatmap scoreMap = new ScoreHeatmap(vm.attention());
        scoreMap.scoresProperty().bind(grid.scoresProperty());
        ScrollPane gridScroll = new ScrollPane(new VBox(4, gridLegend, new HBox(12, imagePane, grid)));
        gridScroll.setId("grid-scroll");
        gridScroll.setPadding(new Insets(6));
        HBox.setHgrow(gridScroll, Priority.ALWAYS);
        // the score heat map and its colour bar sit beside the scrolling grid, not in it: a wide or tall grid never
        // pushes the colour bar out of view
        scoreMap.setPadding(new Insets(6, 6, 6, 0));
        scoreMap.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        HBox gridArea = new HBox(0, gridScroll, scoreMap);
        gridArea.setId("grid-area");
        panels.setId("panels");
        panels.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        panels.setMinHeight(120);
        addPanel("Ablation", new AblationView(vm.ablation(), vm.attention()));
        for (ScanViewModel scan : vm.scans()) {
            if (vm.laterScans().contains(scan)) {
                continue;
            }
            ScanPanel panel = new ScanPanel(scan, vm.attention(), () -> vm.attention().promptProperty().get(),
                    vm.messageProperty()::set);
            if (scan.scan() instanceof VisionScan) {
                Button vhr = new Button("Apply VHR to the live view");
                vhr.setId("apply-vhr");
                vhr.disableProperty().bind(scan.reportProperty().isNull());
                vhr.setOnAction(e -> vm.applyVhr());
                panel.addAction(vhr);
                panel.addAction(new org.headscope.app.vision.LayerRangeSlider("VHR layers", scan.valueProperty("first_layer"),
                        scan.valueProperty("last_layer"), javafx.beans.binding.Bindings.createIntegerBinding(() -> vm.models().loadedProperty().get() == null
                                ? 0 : vm.models().loadedProperty().get().model().layers(), vm.models().loadedProperty())));
            }
            addScanPanel(scan, panel);
        }
        Tab redistribution = addPanel("Redistribution", new RedistributionView(vm.redistribution(), vm.attention(), vm.messageProperty()::set));
        tabScores.put(redistribution, vm.redistribution().scoresProperty());
        for (ScanViewModel scan : vm.laterScans()) {
            addScanPanel(scan, new ScanPanel(scan, vm.attention(), () -> vm.attention().promptProperty().get(),
                    vm.messageProperty()::set));
        }
        panels.getSelectionModel().selectedItemProperty().addListener((o, a, tab) -> colourGrid(tab));
        right.getItems().setAll(gridArea, panels);
        right.setId("right-split");
        right.setOrientation(Orientation.VERTICAL);
        center.getItems().setAll(attentionView, right);
        center.setId("main-split");
        outer.getItems().setAll(stripRow, center);
        outer.setId("outer-split");
        outer.setOrientation(Orientation.VERTICAL);
        SplitPane.setResizableWithParent(stripRow, false);
        restoreDividers();
        setCenter(outer);
        setBottom(new VBox(new MessageBar(vm.messageProperty()), new StatusBar(vm.executor())));

        ExportMenu exports = new ExportMenu(this);
        menus.getMenus().addAll(exports.session(), exports.export());

        setOnDragOver(e -> {
            if (e.getDragboard().hasFiles()) {
                e.acceptTransferModes(TransferMode.COPY);
            }
            e.consume();
        });
        setOnDragDropped(e -> {
            boolean ok = e.getDragboard().hasFiles() && !e.getDragboard().getFiles().isEmpty();
            if (ok) {
                File f = e.getDragboard().getFiles().getFirst();
                vm.open(f.getPath());
            }
            e.setDropCompleted(ok);
            e.consume();
        });
    }

    /** Divider positions as last left (settings), else a layout that leaves the map at least 400 px at 1366 x 768. */
    private void restoreDividers() {
        var settings = vm.settings();
        outer.setDividerPositions(clampDivider(settings.number("split.strip", 0.12)));
        center.setDividerPositions(clampDivider(settings.number("split.main", 0.47)));
        right.setDividerPositions(clampDivider(settings.number("split.right", 0.30)));
        listen(outer, "split.strip");
        listen(center, "split.main");
        listen(right, "split.right");
    }

    private static double clampDivider(double v) {
        return Double.isFinite(v) ? Math.max(0.05, Math.min(0.95, v)) : 0.5;
    }

    private void listen(SplitPane split, String key) {
        split.getDividers().getFirst().positionProperty().addListener((o, a, b) -> vm.settings().put(key, b.doubleValue()));
    }

    /** The attention map on screen as an SVG figure (title, axis titles, labelled tokens, colour bar and its label). */
    public String mapSvg() {
        var hv = attentionView.heatmap();
        var a = vm.attention();
        var run = a.runProperty().get();
        var full = a.currentMap();
        var map = a.shownMap();
        if (run == null || map == null) {
            throw new IllegalStateException("nothing has run yet");
        }
        // the figure shows what the map shows: a crop to a key range is exported as cropped, labelled by its own keys
        int[] keys = a.keyRange();
        boolean cropped = a.keysCropped();
        double step = Math.max(1, Math.min(24, 560.0 / Math.max(map.dim(0), map.dim(1))));
        List<Integer> labelled = new java.util.ArrayList<>(hv.labelledTokens(map.dim(0), cropped ? Math.max(1, Math.min(24, 560.0 / map.dim(0))) : step));
        if (cropped) {
            labelled.removeIf(t -> t >= keys[0] && t <= keys[1]);
            labelled.addAll(hv.labelledTokens(keys[0], keys[1], Math.max(1, Math.min(24, 560.0 / map.dim(1)))));
        }
        return org.headscope.app.export.Svg.attentionMap(hv.title(), run.tokens().strings(), map, a.scaleProperty().get(), run.causal(),
                labelled, hv.legendLabel(), keys[0], full.dim(1) - map.dim(0) - keys[0], cropped);
    }

    /** The active panel's score as a layers x heads SVG heat map with its colour bar. */
    public String scoresSvg() {
        var s = grid.scoresProperty().get();
        var run = vm.attention().runProperty().get();
        if (s == null || run == null) {
            throw new IllegalStateException("the selected panel has no per-head score yet: run it first");
        }
        return org.headscope.app.export.Svg.scoreHeatmap(vm.models().titleProperty().get() + " \u00b7 " + s.name(), s, run.layers(), run.heads());
    }

    /** The selected panel's curve (Sink_k by position, accuracy by depth, pruning curve) as SVG. */
    public String plotSvg() {
        Tab tab = panels.getSelectionModel().getSelectedItem();
        var scan = java.util.Optional.ofNullable(tab == null ? null : tabScans.get(tab))
                .orElseThrow(() -> new IllegalStateException("the selected panel has no plot"));
        var report = scan.report();
        var curve = report == null ? null : report.figures().stream().filter(f -> f.kind().equals("curve")).findFirst().orElse(null);
        if (curve == null) {
            throw new IllegalStateException("the " + scan.scan().title() + " panel has no plot" + (report == null ? " yet: run it first" : ""));
        }
        var titled = new org.headscope.analysis.report.HeadReport.Figure(curve.kind(), vm.models().titleProperty().get() + " \u00b7 " + curve.title(),
                curve.xLabel(), curve.yLabel(), curve.labels(), curve.series(), curve.values());
        return org.headscope.app.export.Svg.plot(titled, ScanViewModel.chance(report, curve));
    }

    /** The strip | main, map | right and grid | panels split panes, in that order. */
    public List<SplitPane> splits() {
        return List.of(outer, center, right);
    }

    /** The panel titles, in tab order. */
    public List<String> panelTitles() {
        return panels.getTabs().stream().map(Tab::getText).toList();
    }

    /** The tab pane of the panels. */
    public TabPane panels() {
        return panels;
    }

    /** Colours the grid by the selected panel's scores (none for panels without scores). */
    private void colourGrid(Tab tab) {
        grid.scoresProperty().unbind();
        var scores = tab == null ? null : tabScores.get(tab);
        if (scores == null) {
            grid.scoresProperty().set(null);
        } else {
            grid.scoresProperty().bind(scores);
        }
    }

    /** Shows the panel with this tab title. */
    public void selectPanel(String title) {
        Tab tab = panels.getTabs().stream().filter(t -> t.getText().equals(title)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no panel '" + title + "'; panels: "
                        + panels.getTabs().stream().map(Tab::getText).toList()));
        panels.getSelectionModel().select(tab);
    }

    private void addScanPanel(ScanViewModel scan, ScanPanel panel) {
        Tab tab = addPanel(scan.scan().title(), panel);
        tab.setUserData(scan);
        tabScans.put(tab, scan);
        tabScores.put(tab, scan.scoresProperty());
    }

    /** Adds a feature panel as a tab and returns it. */
    public Tab addPanel(String title, javafx.scene.Node content) {
        ScrollPane scroll = new ScrollPane(content);
        scroll.setFitToWidth(true);
        scroll.setFitToHeight(true);
        scroll.getStyleClass().add("panel-scroll");
        Tab tab = new Tab(title, scroll);
        tab.setId("tab-" + title.toLowerCase(java.util.Locale.ROOT).replace(' ', '-'));
        panels.getTabs().add(tab);
        return tab;
    }

    public MenuBar menus() {
        return menus;
    }

    public AttentionView attentionView() {
        return attentionView;
    }

    public HeadGridView grid() {
        return grid;
    }

    public WorkbenchViewModel viewModel() {
        return vm;
    }
}
