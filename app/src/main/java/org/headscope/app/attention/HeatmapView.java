package org.headscope.app.attention;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import javafx.beans.InvalidationListener;
import javafx.geometry.Bounds;
import javafx.geometry.Insets;
import javafx.geometry.VPos;
import javafx.scene.Node;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.image.ImageView;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.ColumnConstraints;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.Pane;
import javafx.scene.layout.Priority;
import javafx.scene.layout.RowConstraints;
import javafx.scene.paint.Color;
import javafx.scene.shape.Rectangle;
import javafx.scene.text.Font;
import javafx.scene.text.FontWeight;
import javafx.scene.text.TextAlignment;
import org.headscope.hooks.FloatTensor;

/**
 * One head's attention map as a figure: a title (model, layer, head, clean or edited), query labels down and key labels
 * across that stay pinned while the map scrolls and zooms, a colour bar with its label, and a hover readout. The map
 * fills its pane: the cell size follows the pane, and zoom multiplies it. Maps wider than the pane at one pixel per
 * token scroll (up to 1024 tokens), longer ones open as a max-pooled overview and zooming in restores one cell per
 * token. Labels are chosen by importance, not every n-th: the hovered token, the last query, the needle span, the
 * sinks and the first token first, then evenly spaced tokens where room is left.
 */
public final class HeatmapView extends BorderPane {
    static final double QUERY_SPACE = 74;
    static final double KEY_SPACE = 54;
    static final double LEGEND_WIDTH = 64;
    /** Height of the last query row's bars under the map. */
    static final double LAST_ROW = 64;
    /** Largest map image side in pixels. */
    private static final int MAX_SIDE = 4096;
    /** Smallest distance between two labels' centres, in pixels. */
    static final double LABEL_GAP = 11;

    private final AttentionViewModel vm;
    private final Supplier<String> modelName;
    private final ImageView map = new ImageView();
    private final Canvas queryLabels = new Canvas();
    private final Canvas keyLabels = new Canvas();
    private final Pane queryClip = new Pane(queryLabels);
    private final Pane keyClip = new Pane(keyLabels);
    private final Pane overlay = new Pane();
    private final Rectangle hoverRow = highlight();
    private final Rectangle hoverCol = highlight();
    private final Canvas legend = new Canvas(LEGEND_WIDTH, 0);
    private final Label title = new Label();
    private final Canvas lastRow = new Canvas();
    private final Pane lastRowClip = new Pane(lastRow);
    private final Label lastRowLabel = new Label();
    private final javafx.beans.property.BooleanProperty showLastRow = new javafx.beans.property.SimpleBooleanProperty(false);
    private final Label readout = new Label(" ");
    private final ScrollPane scroll;
    private final GridPane figure = new GridPane();
    private double zoom = 1;
    /** Pixels per cell and tokens per cell across (keys) and down (queries): equal unless the keys are cropped. */
    private int cell = 1;
    private int pool = 1;
    private int cellY = 1;
    private int poolY = 1;
    /** The first key shown (the crop's start). */
    private int keyOffset;
    /** Where a drag across the key labels started (a key index), or -1. */
    private int dragFrom = -1;
    private double pressX;
    private final Rectangle dragBand = new Rectangle();

    public HeatmapView(AttentionViewModel vm) {
        this(vm, () -> "");
    }

    /** {@code modelName} names the open model in the title. */
    public HeatmapView(AttentionViewModel vm, Supplier<String> modelName) {
        this.vm = vm;
        this.modelName = modelName;
        map.setId("heatmap");
        map.setSmooth(false);
        readout.setId("readout");
        readout.getStyleClass().add("readout");
        title.setId("heatmap-title");
        title.getStyleClass().add("figure-title");
        overlay.setMouseTransparent(true);
        overlay.getChildren().addAll(hoverRow, hoverCol);
        Pane mapPane = new Pane(map, overlay);
        scroll = new ScrollPane(mapPane);
        scroll.setId("heatmap-scroll");
        scroll.setPannable(true);
        scroll.getStyleClass().add("edge-to-edge");
        Label axes = new Label("keys \u2192\nqueries \u2193");
        axes.getStyleClass().add("axis-title");
        axes.setId("heatmap-axes");
        clip(queryClip);
        clip(keyClip);
        keyClip.setId("key-labels");
        queryClip.setMinWidth(QUERY_SPACE);
        keyClip.setMinHeight(KEY_SPACE);
        figure.add(axes, 0, 0);
        figure.add(keyClip, 1, 0);
        figure.add(queryClip, 0, 1);
        figure.add(scroll, 1, 1);
        figure.add(legend, 2, 1);
        clip(lastRowClip);
        lastRowClip.setMinHeight(LAST_ROW);
        lastRowClip.setPrefHeight(LAST_ROW);
        lastRowLabel.getStyleClass().add("axis-title");
        lastRowLabel.setWrapText(true);
        lastRowLabel.setMaxWidth(QUERY_SPACE - 4);
        lastRow.setId("last-row-bars");
        figure.add(lastRowLabel, 0, 2);
        figure.add(lastRowClip, 1, 2);
        for (Node n : new Node[]{lastRowLabel, lastRowClip}) {
            n.visibleProperty().bind(showLastRow);
            n.managedProperty().bind(showLastRow);
        }
        showLastRow.addListener(o -> drawLastRow());
        figure.getColumnConstraints().addAll(new ColumnConstraints(QUERY_SPACE), grow(new ColumnConstraints()), new ColumnConstraints(LEGEND_WIDTH + 6));
        RowConstraints r0 = new RowConstraints(KEY_SPACE);
        RowConstraints r1 = new RowConstraints();
        r1.setVgrow(Priority.ALWAYS);
        figure.getRowConstraints().addAll(r0, r1, new RowConstraints());
        figure.setPadding(new Insets(2, 4, 2, 2));
        figure.getStyleClass().add("figure");
        setTop(title);
        setCenter(figure);
        setBottom(readout);
        map.setOnMouseMoved(e -> {
            FloatTensor m = vm.shownMap();
            if (m == null) {
                return;
            }
            int k = keyOffset + Math.min(m.dim(1) - 1, (int) (e.getX() / cell) * pool);
            int q = Math.min(m.dim(0) - 1, (int) (e.getY() / cellY) * poolY);
            readout.setText(vm.readout(q, k) + (pool > 1 || poolY > 1 ? "  (overview: each cell is the largest of " + poolY + " x " + pool
                    + " tokens from here; zoom in for every token)" : ""));
        });
        // drag across the key labels to crop the map to those keys (double-click them to show every key again)
        dragBand.setFill(Color.web("#ff6d00", 0.25));
        dragBand.setMouseTransparent(true);
        dragBand.setVisible(false);
        keyClip.getChildren().add(dragBand);
        keyClip.setOnMousePressed(e -> {
            dragFrom = keyAt(e.getX());
            pressX = e.getX();
            dragBand.setX(e.getX());
            dragBand.setWidth(0);
            dragBand.setHeight(KEY_SPACE);
            dragBand.setVisible(dragFrom >= 0);
        });
        keyClip.setOnMouseDragged(e -> {
            if (dragFrom >= 0) {
                dragBand.setX(Math.min(pressX, e.getX()));
                dragBand.setWidth(Math.abs(e.getX() - pressX));
            }
        });
        keyClip.setOnMouseReleased(e -> {
            dragBand.setVisible(false);
            int to = keyAt(e.getX());
            if (dragFrom >= 0 && to >= 0 && to != dragFrom) {
                vm.cropKeys(dragFrom, to);
            }
            dragFrom = -1;
        });
        keyClip.setOnMouseClicked(e -> {
            if (e.getClickCount() == 2) {
                vm.showAllKeys();
            }
        });
        keyClip.setCursor(javafx.scene.Cursor.H_RESIZE);
        javafx.scene.control.Tooltip.install(keyClip, new javafx.scene.control.Tooltip(
                "Drag across the keys to crop the map to them; double-click to show every key"));
        map.setOnMouseExited(e -> readout.setText(" "));
        InvalidationListener redraw = o -> redraw();
        vm.runProperty().addListener(redraw);
        vm.layerProperty().addListener(redraw);
        vm.headProperty().addListener(redraw);
        vm.scaleProperty().addListener(redraw);
        vm.showAblatedProperty().addListener(redraw);
        vm.keyFromProperty().addListener(redraw);
        vm.keyToProperty().addListener(redraw);
        vm.hoveredTokenProperty().addListener(o -> {
            placeHighlight();
            drawLabels();
        });
        scroll.viewportBoundsProperty().addListener((o, a, b) -> {
            if (a == null || Math.abs(a.getWidth() - b.getWidth()) > 0.5 || Math.abs(a.getHeight() - b.getHeight()) > 0.5) {
                resize();
            }
            follow();
        });
        scroll.hvalueProperty().addListener(o -> follow());
        scroll.vvalueProperty().addListener(o -> follow());
        redraw();
    }

    private static ColumnConstraints grow(ColumnConstraints c) {
        c.setHgrow(Priority.ALWAYS);
        return c;
    }

    private static void clip(Pane p) {
        Rectangle r = new Rectangle();
        r.widthProperty().bind(p.widthProperty());
        r.heightProperty().bind(p.heightProperty());
        p.setClip(r);
    }

    private static Rectangle highlight() {
        Rectangle r = new Rectangle();
        r.setFill(Color.TRANSPARENT);
        r.setStroke(Color.web("#ff6d00"));
        r.setStrokeWidth(1.5);
        r.setVisible(false);
        return r;
    }

    /** Multiplies the cell size that fits the pane (1 = the map fills the pane). */
    public void setZoom(double factor) {
        zoom = Math.max(0.25, Math.min(64, factor));
        redraw();
    }

    public double zoom() {
        return zoom;
    }

    /** Pixel size of one cell on screen (its width when the keys are cropped). */
    public int cellSize() {
        return cell;
    }

    /** Pixel height of one cell on screen (the width too unless the keys are cropped). */
    public int cellHeight() {
        return cellY;
    }

    /** The key under a point of the key label strip (in the strip's coordinates), or -1. */
    private int keyAt(double x) {
        FloatTensor m = vm.shownMap();
        if (m == null) {
            return -1;
        }
        double scrolled = x - keyLabels.getTranslateX();
        int c = (int) Math.floor(scrolled / cell) * pool;
        return c < 0 ? -1 : keyOffset + Math.min(m.dim(1) - 1, c);
    }



    /** Tokens per cell along each axis: 1 shows every token, more is the pooled overview of a long map. */
    public int poolSize() {
        return pool;
    }

    /** The map image view (its pixels are what the user sees). */
    public ImageView mapView() {
        return map;
    }

    /** The scroll pane the map sits in (its viewport is the map's visible area). */
    public ScrollPane mapScroll() {
        return scroll;
    }

    /** The figure as on screen: pinned labels, map and colour bar. */
    public GridPane figure() {
        return figure;
    }

    /**
     * The whole figure for export, off-screen: the title, the full map (not only the part scrolled into view) with its
     * labelled tokens on both axes, the axis titles and the colour bar with its label. Call on the FX thread.
     */
    public javafx.scene.layout.Region exportFigure() {
        FloatTensor m = vm.shownMap();
        AttentionRun r = vm.runProperty().get();
        if (m == null || r == null) {
            throw new IllegalStateException("nothing has run yet");
        }
        String[] tokens = r.tokens().strings();
        int rows = (m.dim(0) + poolY - 1) / poolY;
        int cols = (m.dim(1) + pool - 1) / pool;
        Canvas q = new Canvas(QUERY_SPACE, rows * cellY);
        Canvas k = new Canvas(cols * cell, KEY_SPACE);
        drawAxis(q.getGraphicsContext2D(), tokens, m.dim(0), true);
        drawAxis(k.getGraphicsContext2D(), tokens, m.dim(1), false);
        ImageView image = new ImageView(map.getImage());
        image.setSmooth(false);
        double h = Math.max(80, Math.min(260, rows * cellY));
        Canvas bar = new Canvas(LEGEND_WIDTH, h + 16);
        drawColourBar(bar.getGraphicsContext2D(), vm.scaleProperty().get(), h, legendLabel());
        Label axes = new Label("keys \u2192\nqueries \u2193");
        axes.setStyle("-fx-font-size: 10px; -fx-text-fill: #546e7a;");
        GridPane g = new GridPane();
        g.add(axes, 0, 0);
        g.add(k, 1, 0);
        g.add(q, 0, 1);
        g.add(image, 1, 1);
        g.add(bar, 2, 1);
        Label t = new Label(title());
        t.setStyle("-fx-font-weight: bold; -fx-font-size: 13px; -fx-padding: 2 0 4 0;");
        javafx.scene.layout.VBox figure = new javafx.scene.layout.VBox(t, g);
        figure.setPadding(new Insets(8));
        figure.setStyle("-fx-background-color: white;");
        new javafx.scene.Scene(figure);
        figure.applyCss();
        figure.layout();
        return figure;
    }

    /** The title: model, layer, head, clean or edited. */
    public String title() {
        AttentionRun r = vm.runProperty().get();
        String model = modelName.get();
        String state = r != null && r.hasAblation() && vm.showAblatedProperty().get() ? "after the edit" : "clean";
        return (model == null || model.isBlank() ? "" : model + " \u00b7 ") + "layer " + vm.layerProperty().get() + ", head "
                + vm.headProperty().get() + " \u00b7 " + state + (r == null ? "" : " \u00b7 " + r.tokens().size() + " tokens")
                + (vm.keysCropped() ? " \u00b7 keys " + vm.keyRange()[0] + "\u2013" + vm.keyRange()[1] : "");
    }

    /** The colour bar's label. */
    public String legendLabel() {
        return vm.scaleProperty().get() == ColourScale.LOG ? "attention probability (log10)" : "attention probability";
    }

    /** Token indices to label along an axis of {@code n} tokens drawn {@code step} pixels apart, most important first. */
    public List<Integer> labelledTokens(int n, double step) {
        return labelledTokens(0, n - 1, step);
    }

    /** {@link #labelledTokens(int, double)} for the tokens {@code [from, to]} of an axis (a cropped key range). */
    public List<Integer> labelledTokens(int from, int to, double step) {
        List<Integer> order = new ArrayList<>();
        int n = to + 1;
        int hovered = vm.hoveredTokenProperty().get();
        if (hovered >= from && hovered < n) {
            order.add(hovered);
        }
        order.add(n - 1);
        boolean[] needle = vm.needleMask();
        for (int i = from; i < Math.min(n, needle.length); i++) {
            if (needle[i]) {
                order.add(i);
            }
        }
        double[] sinkRates = sinkRates();
        for (int i = from; i < Math.min(n, sinkRates.length); i++) {
            if (sinkRates[i] >= TokenStrip.SINK_SHARE) {
                order.add(i);
            }
        }
        order.add(from);
        int every = Math.max(1, (int) Math.ceil(LABEL_GAP * (step < 8 ? 1.5 : 1) / step));
        for (int i = from; i < n; i += every) {
            order.add(i);
        }
        List<Integer> chosen = new ArrayList<>();
        for (int i : order) {
            if (chosen.contains(i)) {
                continue;
            }
            boolean free = chosen.stream().allMatch(c -> Math.abs(c - i) * step >= LABEL_GAP);
            if (free) {
                chosen.add(i);
            }
        }
        return chosen;
    }

    private double[] sinkRates() {
        RunOverview o = vm.overview();
        return o == null ? new double[0] : o.sinkRates();
    }

    /** The colour of a token's label: hovered orange, needle amber, sink red, last query blue, others grey. */
    Color labelColour(int token, int n) {
        boolean[] needle = vm.needleMask();
        double[] sinkRates = sinkRates();
        if (token == vm.hoveredTokenProperty().get()) {
            return Color.web("#e65100");
        }
        if (token < needle.length && needle[token]) {
            return Color.web("#b26a00");
        }
        if (token < sinkRates.length && sinkRates[token] >= TokenStrip.SINK_SHARE) {
            return Color.web("#c62828");
        }
        if (token == n - 1) {
            return Color.web("#1565c0");
        }
        return Color.web("#455a64");
    }

    private void resize() {
        int[] before = {cell, pool, cellY, poolY};
        computeCell();
        if (before[0] != cell || before[1] != pool || before[2] != cellY || before[3] != poolY) {
            redraw();
        }
    }

    private void computeCell() {
        FloatTensor m = vm.shownMap();
        if (m == null) {
            return;
        }
        int[] keys = vm.keyRange();
        keyOffset = keys[0];
        Bounds v = scroll.getViewportBounds();
        boolean sized = v != null && v.getWidth() >= 40 && v.getHeight() >= 40;
        if (!vm.keysCropped()) {
            int[] both = cellFor(Math.max(m.dim(0), m.dim(1)), sized ? Math.min(v.getWidth(), v.getHeight()) - 2 : 440);
            cell = cellY = both[0];
            pool = poolY = both[1];
            return;
        }
        // a crop: the shown keys fill the width and the queries the height, each axis with its own cell size
        int[] across = cellFor(m.dim(1), sized ? v.getWidth() - 2 : 440);
        int[] down = cellFor(m.dim(0), sized ? v.getHeight() - 2 : 440);
        cell = across[0];
        pool = across[1];
        cellY = down[0];
        poolY = down[1];
    }

    /** {cell pixels, tokens per cell} for {@code n} tokens in {@code avail} pixels at the current zoom. */
    private int[] cellFor(int n, double avail) {
        double perToken = avail / n * zoom;
        perToken = Math.min(perToken, Math.floor(MAX_SIDE / (double) n) >= 1 ? Math.floor(MAX_SIDE / (double) n) : MAX_SIDE / (double) n);
        if (perToken >= 1) {
            return new int[]{(int) Math.floor(perToken), 1};
        } else if (n <= 1024 && zoom >= 1) {
            return new int[]{1, 1};
        }
        return new int[]{1, (int) Math.ceil(1 / perToken)};
    }

    private void redraw() {
        FloatTensor m = vm.shownMap();
        ColourScale scale = vm.scaleProperty().get();
        title.setText(title());
        drawLegend(scale);
        if (m == null) {
            map.setImage(null);
            queryLabels.setWidth(0);
            keyLabels.setWidth(0);
            return;
        }
        computeCell();
        int past = vm.currentMap().dim(1) - m.dim(0) - keyOffset;
        map.setImage(HeatmapImages.render(m, cell, cellY, pool, poolY, scale, vm.runProperty().get().causal(), past));
        drawLabels();
        placeHighlight();
    }

    private void drawLabels() {
        FloatTensor m = vm.shownMap();
        AttentionRun r = vm.runProperty().get();
        if (m == null || r == null) {
            return;
        }
        String[] tokens = r.tokens().strings();
        int rows = (m.dim(0) + poolY - 1) / poolY;
        int cols = (m.dim(1) + pool - 1) / pool;
        queryLabels.setWidth(QUERY_SPACE);
        queryLabels.setHeight(rows * cellY);
        keyLabels.setWidth(cols * cell);
        keyLabels.setHeight(KEY_SPACE);
        drawAxis(queryLabels.getGraphicsContext2D(), tokens, m.dim(0), true);
        drawAxis(keyLabels.getGraphicsContext2D(), tokens, m.dim(1), false);
        drawLastRow();
        follow();
    }

    /** Draws one axis's labels (queries: right-aligned down the left; keys: rotated along the top). */
    private void drawAxis(GraphicsContext g, String[] tokens, int n, boolean queries) {
        Canvas c = g.getCanvas();
        g.clearRect(0, 0, c.getWidth(), c.getHeight());
        // keys of a cropped map start at the crop's first key; the colours and the bold last token follow the whole run
        int from = queries ? 0 : keyOffset;
        int px = queries ? cellY : cell;
        int per = queries ? poolY : pool;
        int total = tokens.length;
        double step = px / (double) per;
        g.setTextBaseline(VPos.CENTER);
        g.setTextAlign(queries ? TextAlignment.RIGHT : TextAlignment.LEFT);
        for (int t : labelledTokens(from, from + n - 1, step)) {
            boolean strong = t == total - 1 || t == vm.hoveredTokenProperty().get() || labelColour(t, total) != Color.web("#455a64");
            g.setFont(Font.font("System", strong ? FontWeight.BOLD : FontWeight.NORMAL, Math.min(12, Math.max(9, step - 2))));
            g.setFill(labelColour(t, total));
            double at = ((t - from) / per) * px + px / 2.0;
            String token = tokens[Math.min(tokens.length - 1, t)];
            String text = step < 8 ? (token.length() > 7 ? token.substring(0, 6) + "\u2026" : token) + " " + t : clip(token);
            if (queries) {
                g.fillText(text, QUERY_SPACE - 4, at);
            } else {
                g.save();
                g.translate(at, KEY_SPACE - 4);
                g.rotate(-90);
                g.fillText(text, 0, 0);
                g.restore();
            }
        }
    }

    /** Whether the last query's row is drawn as bars under the map (keys aligned with the map's columns). */
    public javafx.beans.property.BooleanProperty showLastRowProperty() {
        return showLastRow;
    }

    /**
     * The last query's attention over every key as bars under the map, in line with its columns, on a scale from 0 to
     * the row's largest value; needle keys amber, sink keys red, the rest blue.
     */
    private void drawLastRow() {
        FloatTensor m = vm.shownMap();
        if (!showLastRow.get() || m == null) {
            return;
        }
        int q = m.dim(0) - 1;
        int keys = m.dim(1);
        int cols = (keys + pool - 1) / pool;
        lastRow.setWidth(cols * cell);
        lastRow.setHeight(LAST_ROW);
        GraphicsContext g = lastRow.getGraphicsContext2D();
        g.clearRect(0, 0, lastRow.getWidth(), LAST_ROW);
        double max = 0;
        for (int k = 0; k < keys; k++) {
            max = Math.max(max, m.get(q, k));
        }
        boolean[] needle = vm.needleMask();
        double[] sinkRates = sinkRates();
        for (int c = 0; c < cols; c++) {
            double v = 0;
            int strongest = keyOffset + c * pool;
            for (int k = c * pool; k < Math.min(keys, (c + 1) * pool); k++) {
                if (m.get(q, k) > v) {
                    v = m.get(q, k);
                    strongest = keyOffset + k;
                }
            }
            double h = max > 0 ? v / max * (LAST_ROW - 6) : 0;
            g.setFill(strongest < needle.length && needle[strongest] ? Color.web("#f9a825")
                    : strongest < sinkRates.length && sinkRates[strongest] >= TokenStrip.SINK_SHARE ? Color.web("#c62828") : Color.web("#3b6ea5"));
            g.fillRect(c * cell, LAST_ROW - h, Math.max(1, cell - (cell > 3 ? 1 : 0)), h);
        }
        g.setStroke(Color.web("#90a4ae"));
        g.strokeLine(0, LAST_ROW - 0.5, cols * cell, LAST_ROW - 0.5);
        lastRowLabel.setText(String.format(Locale.ROOT, "last query row (0 to %.3f)", max));
    }

    /** Keeps the pinned labels in line with the scrolled map. */
    private void follow() {
        Bounds v = scroll.getViewportBounds();
        if (v == null) {
            return;
        }
        double cw = keyLabels.getWidth();
        double ch = queryLabels.getHeight();
        double x = scroll.getHvalue() * Math.max(0, cw - v.getWidth());
        double y = scroll.getVvalue() * Math.max(0, ch - v.getHeight());
        keyLabels.setTranslateX(-x);
        lastRow.setTranslateX(-x);
        queryLabels.setTranslateY(-y);
    }

    private static String clip(String s) {
        return s.length() > 12 ? s.substring(0, 11) + "\u2026" : s;
    }

    private void drawLegend(ColourScale scale) {
        double h = Math.max(80, Math.min(220, (scroll.getViewportBounds() == null ? 220 : scroll.getViewportBounds().getHeight()) - 20));
        legend.setHeight(h + 16);
        drawColourBar(legend.getGraphicsContext2D(), scale, h, legendLabel());
    }

    /** The colour bar with ticks and its label rotated beside it, on a canvas {@link #LEGEND_WIDTH} wide. */
    static void drawColourBar(GraphicsContext g, ColourScale scale, double h, String label) {
        Canvas c = g.getCanvas();
        g.clearRect(0, 0, c.getWidth(), c.getHeight());
        double top = 8;
        double x = 8;
        for (int i = 0; i < h; i++) {
            double t = 1 - i / (h - 1);
            int argb = scale.argb(scale.probability(t));
            g.setFill(Color.rgb((argb >> 16) & 0xff, (argb >> 8) & 0xff, argb & 0xff));
            g.fillRect(x, top + i, 14, 1);
        }
        g.setStroke(Color.web("#90a4ae"));
        g.setLineWidth(0.5);
        g.strokeRect(x, top, 14, h);
        g.setFont(Font.font(10));
        g.setFill(Color.web("#333"));
        g.setTextBaseline(VPos.CENTER);
        g.setTextAlign(TextAlignment.LEFT);
        for (double tick : scale.ticks()) {
            double y = top + (1 - scale.position(tick)) * (h - 1);
            g.fillText(tickText(scale, tick), x + 18, y);
        }
        g.save();
        g.translate(c.getWidth() - 6, top + h / 2);
        g.rotate(-90);
        g.setTextAlign(TextAlignment.CENTER);
        g.fillText(label, 0, 0);
        g.restore();
    }

    static String tickText(ColourScale scale, double tick) {
        return scale == ColourScale.LOG ? String.format(Locale.ROOT, "1e%d", Math.round(Math.log10(tick))) : String.valueOf(tick);
    }

    private void placeHighlight() {
        int token = vm.hoveredTokenProperty().get();
        FloatTensor m = vm.shownMap();
        boolean show = m != null && token >= 0 && token < m.dim(0);
        boolean column = show && token >= keyOffset && token < keyOffset + m.dim(1);
        hoverRow.setVisible(show);
        hoverCol.setVisible(column);
        if (show) {
            hoverRow.setX(0);
            hoverRow.setY(token / poolY * cellY);
            hoverRow.setWidth((m.dim(1) + pool - 1) / pool * cell);
            hoverRow.setHeight(cellY);
            hoverCol.setX((token - keyOffset) / pool * cell);
            hoverCol.setY(0);
            hoverCol.setWidth(cell);
            hoverCol.setHeight((m.dim(0) + poolY - 1) / poolY * cellY);
        }
    }
}
