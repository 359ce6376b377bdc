package org.headscope.app.panel;

import java.util.List;
import java.util.Locale;

import javafx.geometry.VPos;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.TextAlignment;
import org.headscope.analysis.report.HeadReport;

/**
 * A report's curve figure (Sink_k by position, accuracy by depth, the pruning curve) drawn in the panel as the HTML
 * report draws it: title, axis titles, the y axis from 0 whenever the values are not negative, and the chance level
 * as a dashed line when the report gives one.
 */
public final class PlotView extends Canvas {
    public static final String[] COLOURS = {"#3b6ea5", "#d1495b", "#2e933c", "#edae49", "#7b4f9d"};
    private HeadReport.Figure figure;
    private Double chance;

    public PlotView() {
        setId("plot");
        widthProperty().addListener(o -> draw());
        heightProperty().addListener(o -> draw());
    }

    /** Shows a curve figure (null hides the plot) and its chance level (null: none). */
    public void show(HeadReport.Figure f, Double chanceLevel) {
        figure = f;
        chance = chanceLevel;
        draw();
    }

    public HeadReport.Figure figure() {
        return figure;
    }

    /** The y range [low, high]: from 0 when no value is negative, up to 1 for shares that stay in [0,1]. */
    public static double[] yRange(HeadReport.Figure f, Double chance) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (List<Double> s : f.values()) {
            for (Double x : s) {
                if (x != null && !x.isNaN()) {
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
            }
        }
        if (chance != null) {
            min = Math.min(min, chance);
            max = Math.max(max, chance);
        }
        if (!Double.isFinite(min)) {
            return new double[]{0, 1};
        }
        double lo = min >= 0 ? 0 : min;
        double hi = max <= 0 ? 0 : max;
        String y = (f.yLabel() + " " + f.title()).toLowerCase(Locale.ROOT);
        if (lo == 0 && max <= 1 && (y.contains("accuracy") || y.contains("share") || y.contains("fraction"))) {
            hi = 1;
        }
        if (y.contains("%") && lo == 0 && max <= 100) {
            hi = Math.max(hi, Math.min(100, Math.ceil(max / 10) * 10));
        }
        return hi > lo ? new double[]{lo, hi} : new double[]{lo, lo + 1};
    }

    private void draw() {
        GraphicsContext g = getGraphicsContext2D();
        double w = getWidth();
        double h = getHeight();
        g.clearRect(0, 0, w, h);
        if (figure == null || w < 60 || h < 50) {
            return;
        }
        double left = 44;
        double right = 8;
        double top = 18;
        double bottom = 30;
        double[] range = yRange(figure, chance);
        g.setFont(Font.font(11));
        g.setFill(Color.web("#222"));
        g.setTextAlign(TextAlignment.LEFT);
        g.setTextBaseline(VPos.TOP);
        g.fillText(figure.title(), left, 1);
        g.setStroke(Color.web("#888"));
        g.setLineWidth(1);
        g.strokeLine(left, h - bottom, w - right, h - bottom);
        g.strokeLine(left, top, left, h - bottom);
        g.setFont(Font.font(9));
        g.setTextAlign(TextAlignment.RIGHT);
        g.setTextBaseline(VPos.CENTER);
        int ticks = h < 150 ? 2 : 4;
        for (int i = 0; i <= ticks; i++) {
            double v = range[0] + i * (range[1] - range[0]) / ticks;
            double y = h - bottom - i * (h - bottom - top) / ticks;
            g.fillText(String.format(Locale.ROOT, "%.3g", v), left - 3, y);
        }
        int n = figure.values().isEmpty() ? 0 : figure.values().getFirst().size();
        g.setTextAlign(TextAlignment.CENTER);
        g.setTextBaseline(VPos.TOP);
        for (int i = 0; i < figure.labels().size(); i += Math.max(1, figure.labels().size() / 8)) {
            g.fillText(figure.labels().get(i), x(i, n, left, w - right), h - bottom + 2);
        }
        g.fillText(figure.xLabel(), (left + w - right) / 2, h - 12);
        g.save();
        g.translate(9, (top + h - bottom) / 2);
        g.rotate(-90);
        g.fillText(figure.yLabel(), 0, -6);
        g.restore();
        if (chance != null) {
            double y = y(chance, range, top, h - bottom);
            g.setStroke(Color.web("#9e9e9e"));
            g.setLineDashes(4, 3);
            g.strokeLine(left, y, w - right, y);
            g.setLineDashes();
            g.setTextAlign(TextAlignment.RIGHT);
            g.setTextBaseline(VPos.BOTTOM);
            g.fillText("chance " + String.format(Locale.ROOT, "%.3g", chance), w - right, y - 1);
        }
        for (int s = 0; s < figure.values().size(); s++) {
            List<Double> ys = figure.values().get(s);
            g.setStroke(Color.web(COLOURS[s % COLOURS.length]));
            g.setLineWidth(1.6);
            g.beginPath();
            boolean started = false;
            for (int i = 0; i < ys.size(); i++) {
                if (ys.get(i) == null || ys.get(i).isNaN()) {
                    continue;
                }
                double px = x(i, ys.size(), left, w - right);
                double py = y(ys.get(i), range, top, h - bottom);
                if (started) {
                    g.lineTo(px, py);
                } else {
                    g.moveTo(px, py);
                    started = true;
                }
            }
            g.stroke();
            if (s < figure.series().size() && figure.values().size() > 1) {
                g.setFill(Color.web(COLOURS[s % COLOURS.length]));
                g.setTextAlign(TextAlignment.RIGHT);
                g.setTextBaseline(VPos.TOP);
                g.fillText(figure.series().get(s), w - right, top + s * 11);
                g.setFill(Color.web("#222"));
            }
        }
    }

    private static double x(int i, int n, double from, double to) {
        return from + (n <= 1 ? 0 : i / (double) (n - 1) * (to - from));
    }

    private static double y(double v, double[] range, double top, double bottom) {
        return bottom - (v - range[0]) / (range[1] - range[0]) * (bottom - top);
    }
}
