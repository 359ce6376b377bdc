package org.headscope.app.attention;

import javafx.beans.InvalidationListener;
import javafx.geometry.Insets;
import javafx.geometry.VPos;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.image.ImageView;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Pane;
import javafx.scene.paint.Color;
import javafx.scene.shape.Rectangle;
import javafx.scene.text.Font;
import javafx.scene.text.TextAlignment;
import org.headscope.hooks.FloatTensor;

/**
 * One head's attention map with token labels (queries down, keys across), a colour legend and a hover readout.
 * The map is one image from {@link HeatmapImages}; zoom changes the cell size and the scroll pane pans. Maps of
 * more than 1024 tokens open as a max-pooled overview, and zooming in brings back one cell per token.
 */
public final class HeatmapView extends BorderPane {
    private static final double LABEL_SPACE = 96;
    private static final int FIT = 440;
    /** Largest map image side in pixels. */
    private static final int MAX_SIDE = 4096;

    private final AttentionViewModel vm;
    private final ImageView map = new ImageView();
    private final Canvas queryLabels = new Canvas();
    private final Canvas keyLabels = new Canvas();
    private final Pane overlay = new Pane();
    private final Rectangle hoverRow = highlight();
    private final Rectangle hoverCol = highlight();
    private final ImageView legend = new ImageView();
    private final Canvas legendTicks = new Canvas(46, 0);
    private final Label readout = new Label(" ");
    private final GridPane figure = new GridPane();
    private double zoom = 1;
    private int cell = 1;
    private int pool = 1;

    public HeatmapView(AttentionViewModel vm) {
        this.vm = vm;
        map.setId("heatmap");
        map.setSmooth(false);
        readout.setId("readout");
        readout.getStyleClass().add("readout");
        overlay.setMouseTransparent(true);
        overlay.getChildren().addAll(hoverRow, hoverCol);
        Pane mapPane = new Pane(map, overlay);
        figure.add(keyLabels, 1, 0);
        figure.add(queryLabels, 0, 1);
        figure.add(mapPane, 1, 1);
        HBox legendBox = new HBox(4, legend, legendTicks);
        legendBox.setPadding(new Insets(LABEL_SPACE, 0, 0, 8));
        figure.add(legendBox, 2, 0, 1, 2);
        figure.setPadding(new Insets(6));
        figure.getStyleClass().add("figure");
        ScrollPane scroll = new ScrollPane(figure);
        scroll.setPannable(true);
        setCenter(scroll);
        setBottom(readout);
        map.setOnMouseMoved(e -> {
            FloatTensor m = vm.currentMap();
            if (m == null) {
                return;
            }
            int k = Math.min(m.dim(1) - 1, (int) (e.getX() / cell) * pool);
            int q = Math.min(m.dim(0) - 1, (int) (e.getY() / cell) * pool);
            readout.setText(vm.readout(q, k) + (pool > 1 ? "  (overview: each cell is the largest of " + pool + " x " + pool
                    + " tokens from here; zoom in for every token)" : ""));
        });
        map.setOnMouseExited(e -> readout.setText(" "));
        InvalidationListener redraw = o -> redraw();
        vm.runProperty().addListener(redraw);
        vm.layerProperty().addListener(redraw);
        vm.headProperty().addListener(redraw);
        vm.scaleProperty().addListener(redraw);
        vm.showAblatedProperty().addListener(redraw);
        vm.hoveredTokenProperty().addListener(o -> placeHighlight());
        redraw();
    }

    private static Rectangle highlight() {
        Rectangle r = new Rectangle();
        r.setFill(Color.TRANSPARENT);
        r.setStroke(Color.web("#ff6d00"));
        r.setStrokeWidth(1.5);
        r.setVisible(false);
        return r;
    }

    /** Multiplies the automatic cell size (1 = fit about 440 px). */
    public void setZoom(double factor) {
        zoom = Math.max(0.25, Math.min(16, factor));
        redraw();
    }

    public double zoom() {
        return zoom;
    }

    /** Pixel size of one cell on screen. */
    public int cellSize() {
        return cell;
    }

    /** Tokens per cell along each axis: 1 shows every token, more is the pooled overview of a long map. */
    public int poolSize() {
        return pool;
    }

    /** The map image view (its pixels are what the user sees). */
    public ImageView mapView() {
        return map;
    }

    /** The whole figure: labels, map and legend, for export. */
    public GridPane figure() {
        return figure;
    }

    private void redraw() {
        FloatTensor m = vm.currentMap();
        ColourScale scale = vm.scaleProperty().get();
        drawLegend(scale);
        if (m == null) {
            map.setImage(null);
            return;
        }
        int t = m.dim(0);
        int k = m.dim(1);
        int n = Math.max(t, k);
        // at least 2 px per token up to 1024 tokens; longer maps start as a pooled overview, and zooming in
        // shrinks the pool until every token has its own cell (images stay within MAX_SIDE pixels)
        double perToken = Math.min(32, Math.max(FIT / (double) n, n <= 1024 ? 2 : 0)) * zoom;
        perToken = Math.min(perToken, MAX_SIDE / (double) n >= 1 ? Math.floor(MAX_SIDE / (double) n) : MAX_SIDE / (double) n);
        if (perToken >= 1) {
            pool = 1;
            cell = Math.max(1, (int) Math.round(perToken));
        } else {
            cell = 1;
            pool = (int) Math.ceil(1 / perToken);
        }
        map.setImage(HeatmapImages.render(m, cell, pool, scale, vm.runProperty().get().causal()));
        String[] tokens = vm.runProperty().get().tokens().strings();
        drawQueryLabels(tokens, (t + pool - 1) / pool);
        drawKeyLabels(tokens, (k + pool - 1) / pool);
        placeHighlight();
    }

    private void drawQueryLabels(String[] tokens, int rows) {
        queryLabels.setWidth(LABEL_SPACE);
        queryLabels.setHeight(rows * cell);
        GraphicsContext g = queryLabels.getGraphicsContext2D();
        g.clearRect(0, 0, queryLabels.getWidth(), queryLabels.getHeight());
        int every = labelStride();
        g.setFont(Font.font(Math.min(12, Math.max(7, cell - 2))));
        g.setFill(Color.web("#333"));
        g.setTextAlign(TextAlignment.RIGHT);
        g.setTextBaseline(VPos.CENTER);
        for (int q = 0; q < rows; q += every) {
            g.fillText(clip(tokens[Math.min(tokens.length - 1, q * pool)]), LABEL_SPACE - 4, q * cell + cell / 2.0);
        }
    }

    private void drawKeyLabels(String[] tokens, int cols) {
        keyLabels.setWidth(cols * cell);
        keyLabels.setHeight(LABEL_SPACE);
        GraphicsContext g = keyLabels.getGraphicsContext2D();
        g.clearRect(0, 0, keyLabels.getWidth(), keyLabels.getHeight());
        int every = labelStride();
        g.setFont(Font.font(Math.min(12, Math.max(7, cell - 2))));
        g.setFill(Color.web("#333"));
        g.setTextAlign(TextAlignment.LEFT);
        g.setTextBaseline(VPos.CENTER);
        for (int k = 0; k < cols; k += every) {
            g.save();
            g.translate(k * cell + cell / 2.0, LABEL_SPACE - 4);
            g.rotate(-90);
            g.fillText(clip(tokens[Math.min(tokens.length - 1, k * pool)]), 0, 0);
            g.restore();
        }
    }

    private int labelStride() {
        return Math.max(1, (int) Math.ceil(9.0 / cell));
    }

    private static String clip(String s) {
        return s.length() > 12 ? s.substring(0, 11) + "\u2026" : s;
    }

    private void drawLegend(ColourScale scale) {
        int h = 200;
        legend.setImage(HeatmapImages.legend(14, h, scale));
        legendTicks.setHeight(h + 12);
        legend.setTranslateY(6);
        GraphicsContext g = legendTicks.getGraphicsContext2D();
        g.clearRect(0, 0, legendTicks.getWidth(), legendTicks.getHeight());
        g.setFont(Font.font(10));
        g.setFill(Color.web("#333"));
        g.setTextBaseline(VPos.CENTER);
        for (double tick : scale.ticks()) {
            double y = 6 + (1 - scale.position(tick)) * (h - 1);
            g.fillText(scale == ColourScale.LOG ? String.format("1e%d", Math.round(Math.log10(tick))) : String.valueOf(tick), 2, y);
        }
    }

    private void placeHighlight() {
        int token = vm.hoveredTokenProperty().get();
        FloatTensor m = vm.currentMap();
        boolean show = m != null && token >= 0 && token < m.dim(0);
        hoverRow.setVisible(show);
        hoverCol.setVisible(show);
        if (show) {
            hoverRow.setX(0);
            hoverRow.setY(token / pool * cell);
            hoverRow.setWidth((m.dim(1) + pool - 1) / pool * cell);
            hoverRow.setHeight(cell);
            hoverCol.setX(token / pool * cell);
            hoverCol.setY(0);
            hoverCol.setWidth(cell);
            hoverCol.setHeight((m.dim(0) + pool - 1) / pool * cell);
        }
    }
}
