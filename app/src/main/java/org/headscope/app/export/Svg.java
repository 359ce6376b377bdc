package org.headscope.app.export;

import org.headscope.app.panel.PlotView;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.headscope.analysis.report.HeadReport;
import org.headscope.app.attention.ColourScale;
import org.headscope.app.attention.HeadScores;
import org.headscope.app.attention.HeatmapImages;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.Intervention.Head;

/**
 * Figures as standalone SVG documents for papers: the attention map, the layers x heads score heat map and a report's
 * curve, each with its title, axis titles and a labelled colour bar, drawn with the colours the workbench shows. Maps
 * with up to 96 tokens are one rectangle per cell; larger maps embed the cells as one PNG (pixelated), with labels,
 * colour bar and text still vector.
 */
public final class Svg {
    private static final int VECTOR_CELLS = 96;

    private Svg() {
    }

    /**
     * An attention map: rows are queries, columns keys; {@code labelled} are the token indices to label on each axis.
     */
    public static String attentionMap(String title, String[] tokens, FloatTensor map, ColourScale scale, boolean causal,
                                      List<Integer> labelled, String legendLabel) {
        return attentionMap(title, tokens, map, scale, causal, labelled, legendLabel, 0, map.dim(1) - map.dim(0), false);
    }

    /**
     * A map cropped to the keys from {@code keyOffset} on: column k is key {@code keyOffset + k} (labels and masking
     * follow; {@code past}: key column k is masked when {@code k > q + past}); {@code cropped} sizes the cells of each
     * axis on their own so that the shown keys fill the figure's width.
     */
    public static String attentionMap(String title, String[] tokens, FloatTensor map, ColourScale scale, boolean causal,
                                      List<Integer> labelled, String legendLabel, int keyOffset, int past, boolean cropped) {
        int rows = map.dim(0);
        int cols = map.dim(1);
        double cellY = Math.max(1, Math.min(24, 560.0 / (cropped ? rows : Math.max(rows, cols))));
        double cell = cropped ? Math.max(1, Math.min(24, 560.0 / cols)) : cellY;
        double left = 90;
        double top = 100;
        double w = cols * cell;
        double h = rows * cellY;
        StringBuilder b = open(left + w + 110, top + h + 30);
        text(b, left, 22, 14, "start", "bold", title);
        text(b, left + w / 2, 42, 11, "middle", "normal", "key (attended-to token) \u2192");
        b.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">query \u2193</text>",
                top + h / 2, top + h / 2));
        if (Math.max(rows, cols) <= VECTOR_CELLS) {
            for (int q = 0; q < rows; q++) {
                for (int k = 0; k < cols; k++) {
                    int argb = causal && k > q + past ? HeatmapImages.MASKED : scale.argb(map.get(q, k));
                    b.append(String.format(Locale.ROOT, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#%06x\"/>",
                            left + k * cell, top + q * cellY, cell + 0.05, cellY + 0.05, argb & 0xffffff));
                }
            }
        } else {
            BufferedImage img = new BufferedImage(cols, rows, BufferedImage.TYPE_INT_RGB);
            for (int q = 0; q < rows; q++) {
                for (int k = 0; k < cols; k++) {
                    img.setRGB(k, q, causal && k > q + past ? HeatmapImages.MASKED : scale.argb(map.get(q, k)));
                }
            }
            b.append(String.format(Locale.ROOT, "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" preserveAspectRatio=\"none\" "
                    + "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,%s\"/>", left, top, w, h, png(img)));
        }
        for (int t : labelled) {
            String raw = t < tokens.length && tokens[t] != null ? tokens[t] : String.valueOf(t);
            String s = esc(raw);
            if (t < rows) {
                // text() escapes what it writes
                text(b, left - 4, top + t * cellY + cellY / 2 + 3, 9, "end", "normal", raw);
            }
            int c = t - keyOffset;
            if (c >= 0 && c < cols) {
                double x = left + c * cell + cell / 2 + 3;
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>",
                        x, top - 4, x, top - 4, s));
            }
        }
        colourBar(b, left + w + 14, top, Math.min(h, 260), legendLabel, scale.ticks(), scale);
        return b.append("</svg>").toString();
    }

    /** The layers x heads heat map of a score, diverging around 0 for signed scores, with its colour bar. */
    public static String scoreHeatmap(String title, HeadScores s, int layers, int heads) {
        double cell = Math.max(10, Math.min(28, 480.0 / heads));
        double left = 40;
        double top = 44;
        StringBuilder b = open(left + heads * cell + 150, top + layers * cell + 40);
        text(b, left, 20, 13, "start", "bold", title);
        for (int l = 0; l < layers; l++) {
            text(b, left - 4, top + l * cell + cell / 2 + 4, 10, "end", "normal", "L" + l);
            for (int h = 0; h < heads; h++) {
                Double v = s.values().get(new Head(l, h));
                String fill = v == null || !Double.isFinite(v) ? "#eceff1" : String.format("#%06x", s.rgb(v));
                b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>L%d H%d: %s</title></rect>",
                        left + h * cell, top + l * cell, cell, cell, fill, l, h, v == null ? "n/a" : String.format(Locale.ROOT, "%.4g", v)));
            }
        }
        for (int h = 0; h < heads; h++) {
            text(b, left + h * cell + cell / 2, top - 4, 9, "middle", "normal", "H" + h);
        }
        text(b, left + heads * cell / 2, top + layers * cell + 16, 11, "middle", "normal", "head");
        double bx = left + heads * cell + 16;
        double bh = Math.max(80, layers * cell);
        for (int i = 0; i < 100; i++) {
            double t = 1 - i / 99.0;
            b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.2f\" width=\"12\" height=\"%.2f\" fill=\"#%06x\"/>",
                    bx, top + i * bh / 100, bh / 100 + 0.05, s.rgb(s.low() + t * (s.high() - s.low()))));
        }
        text(b, bx + 16, top + 8, 10, "start", "normal", String.format(Locale.ROOT, "%.3g", s.high()));
        text(b, bx + 16, top + bh, 10, "start", "normal", String.format(Locale.ROOT, "%.3g", s.low()));
        if (s.signed()) {
            text(b, bx + 16, top + (1 - s.position(0)) * bh + 3, 10, "start", "normal", "0");
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>",
                bx + 60, top + bh / 2, bx + 60, top + bh / 2, esc(s.name())));
        return b.append("</svg>").toString();
    }

    /** A report's curve with its title, axis titles, y from 0 for non-negative values and the chance level dashed. */
    public static String plot(HeadReport.Figure f, Double chance) {
        double w = 560;
        double h = 300;
        double left = 60;
        double top = 36;
        double bottom = h - 40;
        double right = w - 130;
        double[] range = PlotView.yRange(f, chance);
        StringBuilder b = open(w, h);
        text(b, left, 20, 13, "start", "bold", f.title());
        b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>", left, bottom, right, bottom));
        b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>", left, top, left, bottom));
        for (int i = 0; i <= 4; i++) {
            double v = range[0] + i * (range[1] - range[0]) / 4;
            text(b, left - 4, bottom - i * (bottom - top) / 4 + 3, 9, "end", "normal", String.format(Locale.ROOT, "%.3g", v));
        }
        text(b, (left + right) / 2, h - 8, 11, "middle", "normal", f.xLabel());
        b.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">%s</text>",
                (top + bottom) / 2, (top + bottom) / 2, esc(f.yLabel())));
        int n = f.values().isEmpty() ? 0 : f.values().getFirst().size();
        for (int i = 0; i < f.labels().size(); i += Math.max(1, f.labels().size() / 8)) {
            text(b, x(i, n, left, right), bottom + 12, 9, "middle", "normal", f.labels().get(i));
        }
        if (chance != null) {
            double y = bottom - (chance - range[0]) / (range[1] - range[0]) * (bottom - top);
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9e9e9e\" stroke-dasharray=\"4 3\"/>",
                    left, y, right, y));
            text(b, right, y - 2, 9, "end", "normal", "chance " + String.format(Locale.ROOT, "%.3g", chance));
        }
        for (int s = 0; s < f.values().size(); s++) {
            List<Double> ys = f.values().get(s);
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < ys.size(); i++) {
                if (ys.get(i) != null && !ys.get(i).isNaN()) {
                    pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(i, ys.size(), left, right),
                            bottom - (ys.get(i) - range[0]) / (range[1] - range[0]) * (bottom - top)));
                }
            }
            String colour = PlotView.COLOURS[s % PlotView.COLOURS.length];
            b.append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"").append(colour).append("\" points=\"").append(pts).append("\"/>");
            text(b, right + 8, top + 10 + s * 14, 10, "start", "normal", s < f.series().size() ? f.series().get(s) : "series " + s);
        }
        return b.append("</svg>").toString();
    }

    /** Writes an SVG document to a file (replaced whole, never half-written). */
    public static java.nio.file.Path write(String svg, java.nio.file.Path file) throws IOException {
        try (org.headscope.analysis.report.OutputTarget target = org.headscope.analysis.report.OutputTarget.file(file)) {
            target.writeFile(o -> o.write(svg.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        return file;
    }

    private static double x(int i, int n, double from, double to) {
        return from + (n <= 1 ? 0 : i / (double) (n - 1) * (to - from));
    }

    private static void colourBar(StringBuilder b, double x, double top, double h, String label, double[] ticks, ColourScale scale) {
        for (int i = 0; i < 100; i++) {
            double t = 1 - i / 99.0;
            b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"#%06x\"/>",
                    x, top + i * h / 100, h / 100 + 0.05, scale.argb(scale.probability(t)) & 0xffffff));
        }
        for (double tick : ticks) {
            double y = top + (1 - scale.position(tick)) * h;
            text(b, x + 18, y + 3, 9, "start", "normal", scale == ColourScale.LOG
                    ? String.format(Locale.ROOT, "1e%d", Math.round(Math.log10(tick))) : String.valueOf(tick));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>",
                x + 62, top + h / 2, x + 62, top + h / 2, esc(label)));
    }

    private static StringBuilder open(double w, double h) {
        return new StringBuilder(String.format(Locale.ROOT, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"><rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>",
                w, h, w, h));
    }

    private static void text(StringBuilder b, double x, double y, int size, String anchor, String weight, String s) {
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\" font-weight=\"%s\">%s</text>",
                x, y, size, anchor, weight, esc(s)));
    }

    private static String png(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return Base64.getEncoder().encodeToString(out.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                default -> {
                    if (c >= 0x20 || c == '\t') {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
