package org.headscope.app.attention;

import java.util.Locale;

import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.VPos;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.TextAlignment;
import org.headscope.hooks.Intervention.Head;

/**
 * The active panel's score as a layers x heads heat map with a labelled colour bar (diverging around 0 for signed
 * scores, viridis from 0 otherwise; see {@link HeadScores}). Clicking a cell shows that head's map.
 */
public final class ScoreHeatmap extends VBox {
    static final int CELL = 16;
    /** The widest the heat map's cells take together: many heads get smaller cells (at least 5 px), not a wider panel. */
    private static final int MAX_MAP = 256;
    private int cell = CELL;
    private static final int LEFT = 26;
    private static final int TOP = 16;
    private static final int BAR = 12;
    private static final int BAR_GAP = 10;
    private static final int BAR_TEXT = 58;

    private final ObjectProperty<HeadScores> scores = new SimpleObjectProperty<>();
    private final Canvas canvas = new Canvas();
    private final AttentionViewModel vm;

    public ScoreHeatmap(AttentionViewModel vm) {
        this.vm = vm;
        setId("score-heatmap");
        canvas.setId("score-heatmap-canvas");
        getChildren().add(canvas);
        scores.addListener(o -> draw());
        vm.runProperty().addListener(o -> draw());
        vm.layerProperty().addListener(o -> draw());
        vm.headProperty().addListener(o -> draw());
        Tooltip tip = new Tooltip();
        Tooltip.install(canvas, tip);
        canvas.setOnMouseMoved(e -> {
            Head h = at(e.getX(), e.getY());
            HeadScores s = scores.get();
            Double v = h == null || s == null ? null : s.values().get(h);
            tip.setText(h == null ? "" : String.format(Locale.ROOT, "head %s: %s", h, v == null ? "no score" : fmt(v)));
        });
        canvas.setOnMouseClicked(e -> {
            Head h = at(e.getX(), e.getY());
            if (h != null) {
                vm.layerProperty().set(h.layer());
                vm.headProperty().set(h.head());
            }
        });
        draw();
    }

    public ObjectProperty<HeadScores> scoresProperty() {
        return scores;
    }

    private Head at(double x, double y) {
        AttentionRun r = vm.runProperty().get();
        if (r == null) {
            return null;
        }
        int h = (int) Math.floor((x - LEFT) / cell);
        int l = (int) Math.floor((y - TOP) / cell);
        return h >= 0 && l >= 0 && h < r.heads() && l < r.layers() ? new Head(l, h) : null;
    }

    private void draw() {
        HeadScores s = scores.get();
        AttentionRun r = vm.runProperty().get();
        setVisible(s != null && r != null);
        setManaged(isVisible());
        if (!isVisible()) {
            canvas.setWidth(0);
            canvas.setHeight(0);
            return;
        }
        int layers = r.layers();
        int heads = r.heads();
        cell = Math.max(5, Math.min(CELL, MAX_MAP / Math.max(heads, layers)));
        double mapW = heads * cell;
        double mapH = layers * cell;
        double barH = Math.max(60, mapH);
        canvas.setWidth(Math.max(LEFT + mapW + BAR_GAP + BAR + BAR_TEXT, 250));
        canvas.setHeight(TOP + Math.max(mapH, barH) + 32);
        GraphicsContext g = canvas.getGraphicsContext2D();
        g.clearRect(0, 0, canvas.getWidth(), canvas.getHeight());
        g.setFont(Font.font(9));
        g.setFill(Color.web("#607d8b"));
        g.setTextBaseline(VPos.CENTER);
        g.setTextAlign(TextAlignment.CENTER);
        for (int h = 0; h < heads; h += Math.max(1, heads / 8)) {
            g.fillText("H" + h, LEFT + h * cell + cell / 2.0, TOP / 2.0);
        }
        g.setTextAlign(TextAlignment.RIGHT);
        for (int l = 0; l < layers; l += (int) Math.ceil(12.0 / cell)) {
            g.fillText("L" + l, LEFT - 3, TOP + l * cell + cell / 2.0);
        }
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                Double v = s.values().get(new Head(l, h));
                double x = LEFT + h * cell;
                double y = TOP + l * cell;
                if (v == null || !Double.isFinite(v)) {
                    g.setFill(Color.web("#eceff1"));
                } else {
                    g.setFill(Color.rgb((s.rgb(v) >> 16) & 0xff, (s.rgb(v) >> 8) & 0xff, s.rgb(v) & 0xff));
                }
                g.fillRect(x, y, cell, cell);
            }
        }
        g.setStroke(Color.web("#ff6d00"));
        g.setLineWidth(2);
        g.strokeRect(LEFT + vm.headProperty().get() * cell + 1, TOP + vm.layerProperty().get() * cell + 1, cell - 2, cell - 2);
        // the colour bar, low at the bottom, with its ends, 0 when inside, and the score's name as its label
        double bx = LEFT + mapW + BAR_GAP;
        for (int i = 0; i < barH; i++) {
            double t = 1 - i / (barH - 1);
            int rgb = s.rgb(s.low() + t * (s.high() - s.low()));
            g.setFill(Color.rgb((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff));
            g.fillRect(bx, TOP + i, BAR, 1);
        }
        g.setStroke(Color.web("#90a4ae"));
        g.setLineWidth(0.5);
        g.strokeRect(bx, TOP, BAR, barH);
        g.setTextAlign(TextAlignment.LEFT);
        g.setFill(Color.web("#333"));
        g.fillText(fmt(s.high()), bx + BAR + 3, TOP + 4);
        g.fillText(fmt(s.low()), bx + BAR + 3, TOP + barH - 4);
        if (s.low() < 0 && s.high() > 0) {
            double y0 = TOP + (1 - s.position(0)) * barH;
            g.fillText("0", bx + BAR + 3, y0);
        }
        g.setFont(Font.font(10));
        g.setTextAlign(TextAlignment.LEFT);
        g.fillText(clip(s.name()), 0, TOP + Math.max(mapH, barH) + 12);
        g.fillText(s.signed() ? "signed: blue below 0, white 0, red above" : "viridis from " + fmt(s.low()), 0, TOP + Math.max(mapH, barH) + 25);
    }

    private static String clip(String s) {
        return s.length() > 44 ? s.substring(0, 43) + "\u2026" : s;
    }

    static String fmt(double v) {
        double a = Math.abs(v);
        return a != 0 && (a < 1e-3 || a >= 1e4) ? String.format(Locale.ROOT, "%.2e", v) : String.format(Locale.ROOT, "%.3g", v);
    }
}
