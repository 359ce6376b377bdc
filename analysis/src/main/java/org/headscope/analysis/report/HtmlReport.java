package org.headscope.analysis.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A self-contained HTML page for a report: provenance, parameters, figures as inline SVG, and the head table.
 * No external files, so it opens anywhere and can be attached to a paper's supplement. A report that marks its head
 * table sortable (the head atlas) carries one small inline script for that; the page reads the same without it.
 */
final class HtmlReport {
    private HtmlReport() {
    }

    static String render(HeadReport r) {
        StringBuilder b = new StringBuilder();
        String model = r.provenance() == null ? "" : r.provenance().model();
        String heading = r.analysis() + (model == null || model.isBlank() ? "" : " \u00b7 " + model);
        b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>HeadScope · ")
                .append(esc(heading)).append("</title><style>")
                .append("body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:12px}")
                .append("td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}")
                .append("figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}.kv td{text-align:left}")
                .append("</style></head><body>");
        b.append("<h1>").append(esc(heading)).append("</h1>");
        headlines(b, r);
        b.append("<h2>Provenance</h2><table class=\"kv\">");
        Provenance p = r.provenance();
        row(b, "model", p.model());
        row(b, "sha256", p.modelSha256());
        row(b, "producer", p.producer());
        row(b, "opset", String.valueOf(p.opset()));
        row(b, "device", p.device());
        row(b, "dtype", p.dtype());
        row(b, "tokenizer", p.tokenizer());
        row(b, "prompt", p.prompt());
        row(b, "tool", p.toolVersion());
        row(b, "created", p.created());
        p.metricVersions().forEach((k, v) -> row(b, "metric " + k, v));
        b.append("</table><h2>Parameters</h2><table class=\"kv\">");
        r.parameters().forEach((k, v) -> row(b, k, String.valueOf(v)));
        b.append("</table>");
        list(b, "Selected nothing", r.sections().get("selection_notes"));
        if (r.sections().get("departures") instanceof List<?> d) {
            if (d.isEmpty()) {
                b.append("<h2>Departures from the papers' code</h2><p>None: this run follows the reference code.</p>");
            } else {
                list(b, "Departures from the papers' code", d);
            }
        }
        Map<HeadReport.Figure, double[]> shared = sharedRanges(r.figures());
        for (HeadReport.Figure f : r.figures()) {
            b.append("<figure><figcaption>").append(esc(f.title())).append("</figcaption>");
            switch (f.kind()) {
                case "heatmap" -> heatmap(b, f, chance(r, f), shared.get(f));
                case "bars" -> bars(b, f);
                default -> curve(b, f, chance(r, f));
            }
            b.append("</figure>");
        }
        if (r.sections().get("columns") instanceof List<?> cols && !cols.isEmpty() && cols.get(0) instanceof Map<?, ?> first) {
            // where each column of a gathered table (the head atlas) came from
            b.append("<h2>Columns and their provenance</h2><table class=\"kv\"><tr>");
            first.keySet().forEach(k -> b.append("<th>").append(esc(String.valueOf(k))).append("</th>"));
            b.append("</tr>");
            for (Object c : cols) {
                b.append("<tr>");
                ((Map<?, ?>) c).values().forEach(v -> b.append("<td>").append(esc(String.valueOf(v))).append("</td>"));
                b.append("</tr>");
            }
            b.append("</table>");
        }
        definitions(b, r);
        boolean sortable = Boolean.TRUE.equals(r.sections().get("sortable"));
        b.append("<h2>Heads</h2>");
        if (r.heads().isEmpty()) {
            b.append("<p>No head rows.</p>");
        } else {
            b.append(sortable ? "<p>Click a column's header to sort by it.</p><table id=\"heads\"><tr>" : "<table><tr>");
            r.heads().get(0).keySet().forEach(k -> b.append("<th").append(sortable ? " style=\"cursor:pointer\"" : "").append(">")
                    .append(esc(k)).append("</th>"));
            b.append("</tr>");
            for (Map<String, Object> h : r.heads()) {
                b.append("<tr>");
                h.values().forEach(v -> b.append("<td>").append(esc(format(v))).append("</td>"));
                b.append("</tr>");
            }
            b.append("</table>");
            if (sortable) {
                // the one script of any report: sorting the head table in place (the page reads the same without it)
                b.append("<script>(function(){var t=document.getElementById('heads');var hs=t.rows[0].cells;")
                        .append("for(var i=0;i<hs.length;i++){(function(c){var up=false;hs[c].onclick=function(){up=!up;")
                        .append("var rs=Array.prototype.slice.call(t.rows,1);rs.sort(function(a,b){")
                        .append("var x=parseFloat(a.cells[c].textContent),y=parseFloat(b.cells[c].textContent);")
                        .append("if(isNaN(x))return 1;if(isNaN(y))return -1;return up?x-y:y-x;});")
                        .append("rs.forEach(function(r){t.tBodies[0].appendChild(r);});};})(i);}})();</script>");
            }
        }
        return b.append("</body></html>").toString();
    }

    /** Sections the page shows elsewhere or that are too long for a headline table (they stay in the JSON). */
    private static final java.util.Set<String> NOT_HEADLINES = java.util.Set.of("selection_notes", "departures", "chance_levels");

    /**
     * The report's headline results first, in words and numbers: every scalar section, the entries of map sections
     * (the "summary" of answers and totals) and short lists, as tables; long series are named with their length.
     */
    static void headlines(StringBuilder b, HeadReport r) {
        StringBuilder rows = new StringBuilder();
        StringBuilder tables = new StringBuilder();
        for (Map.Entry<String, Object> e : r.sections().entrySet()) {
            String k = e.getKey();
            Object v = e.getValue();
            if (NOT_HEADLINES.contains(k)) {
                continue;
            }
            if (v instanceof Map<?, ?> m) {
                boolean scalars = m.values().stream().allMatch(HtmlReport::scalar);
                if (scalars) {
                    m.forEach((mk, mv) -> rows.append("<tr><th>").append(esc(k + "." + mk)).append("</th><td>")
                            .append(esc(format(mv))).append("</td></tr>"));
                } else {
                    m.forEach((mk, mv) -> rows.append("<tr><th>").append(esc(k + "." + mk)).append("</th><td>")
                            .append(esc(scalar(mv) ? format(mv) : brief(mv))).append("</td></tr>"));
                }
            } else if (scalar(v)) {
                rows.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(format(v))).append("</td></tr>");
            } else if (v instanceof List<?> list) {
                if (!list.isEmpty() && list.stream().allMatch(x -> x instanceof Map<?, ?>) && list.size() <= 24) {
                    tables.append("<h3>").append(esc(k)).append("</h3><table><tr>");
                    Map<?, ?> first = (Map<?, ?>) list.getFirst();
                    first.keySet().forEach(c -> tables.append("<th>").append(esc(String.valueOf(c))).append("</th>"));
                    tables.append("</tr>");
                    for (Object x : list) {
                        tables.append("<tr>");
                        first.keySet().forEach(c -> tables.append("<td>").append(esc(format(((Map<?, ?>) x).get(c)))).append("</td>"));
                        tables.append("</tr>");
                    }
                    tables.append("</table>");
                } else if (list.stream().allMatch(HtmlReport::scalar) && list.size() <= 24) {
                    rows.append("<tr><th>").append(esc(k)).append("</th><td>")
                            .append(esc(String.join(", ", list.stream().map(HtmlReport::format).toList()))).append("</td></tr>");
                } else {
                    rows.append("<tr><th>").append(esc(k)).append("</th><td>").append(list.size()).append(" entries (in report.json)</td></tr>");
                }
            }
        }
        if (rows.isEmpty() && tables.isEmpty()) {
            return;
        }
        b.append("<h2>Headline results</h2>");
        if (!rows.isEmpty()) {
            b.append("<table class=\"kv\">").append(rows).append("</table>");
        }
        b.append(tables);
    }

    /** A list of scalars joined (up to 24), anything longer or nested named by its size. */
    private static String brief(Object v) {
        if (v instanceof List<?> list && list.stream().allMatch(HtmlReport::scalar)) {
            return list.size() <= 24 ? String.join(", ", list.stream().map(HtmlReport::format).toList())
                    : list.size() + " entries (in report.json)";
        }
        if (v instanceof List<?> list) {
            return list.size() + " entries (in report.json)";
        }
        if (v instanceof Map<?, ?> m) {
            return m.size() + " entries (in report.json)";
        }
        return String.valueOf(v);
    }

    /** Where docs/METRICS.md defines each analysis's metrics. */
    private static final Map<String, String> METRICS_SECTION = Map.ofEntries(
            Map.entry("sinks", "Sinks"), Map.entry("redistribution", "Redistribution"), Map.entry("retrieval", "Retrieval"),
            Map.entry("patching", "Patching, logit attribution, logit lens"), Map.entry("logit_attribution", "Patching, logit attribution, logit lens"),
            Map.entry("logit_lens", "Patching, logit attribution, logit lens"), Map.entry("variant_damage", "Variant damage"),
            Map.entry("atlas", "Head atlas"), Map.entry("ablation", "Ablation and vision-aware heads"),
            Map.entry("vhd", "Ablation and vision-aware heads"));

    /** What each column of the head table means, in words, with its unit, and where the full definitions are. */
    static void definitions(StringBuilder b, HeadReport r) {
        if (r.heads().isEmpty()) {
            return;
        }
        List<String> columns = r.heads().getFirst().keySet().stream().filter(c -> !c.equals("layer") && !c.equals("head")).toList();
        if (columns.isEmpty()) {
            return;
        }
        b.append("<h2>What the columns mean</h2><table class=\"kv\">");
        for (String c : columns) {
            List<Object> values = r.heads().stream().map(h -> h.get(c)).toList();
            MetricDefinitions.Definition d = MetricDefinitions.of(c, values);
            b.append("<tr><th>").append(esc(c)).append("</th><td>").append(esc(d.text()))
                    .append(d.unit().isEmpty() ? "" : " (" + esc(d.unit()) + ")").append("</td></tr>");
        }
        b.append("</table><p>The full definitions, with the papers' formulas and HeadScope's departures from their code, are in "
                + "the repository's docs/METRICS.md").append(METRICS_SECTION.containsKey(r.analysis())
                ? ", section \"" + esc(METRICS_SECTION.get(r.analysis())) + "\"" : "").append(".</p>");
    }

    private static boolean scalar(Object v) {
        return v == null || v instanceof Number || v instanceof String || v instanceof Boolean;
    }

    /** The chance level a report gives for a figure (section "chance_levels", by figure title), or null. */
    static Double chance(HeadReport r, HeadReport.Figure f) {
        if (r.sections().get("chance_levels") instanceof Map<?, ?> m && m.get(f.title()) instanceof Number n) {
            return n.doubleValue();
        }
        return null;
    }

    /** A section holding sentences, as a bulleted list under a heading; nothing when absent or empty. */
    private static void list(StringBuilder b, String title, Object section) {
        if (section instanceof List<?> items && !items.isEmpty()) {
            b.append("<h2>").append(esc(title)).append("</h2><ul>");
            items.forEach(i -> b.append("<li>").append(esc(String.valueOf(i))).append("</li>"));
            b.append("</ul>");
        }
    }

    /**
     * Heat maps of one score before and after an intervention (columns {@code X} and {@code X_after_...}) share one
     * colour range, so a change shows as a change of colour and not as two maps each stretched to its own maximum.
     */
    static Map<HeadReport.Figure, double[]> sharedRanges(List<HeadReport.Figure> figures) {
        Map<HeadReport.Figure, double[]> out = new java.util.IdentityHashMap<>();
        List<HeadReport.Figure> maps = figures.stream().filter(f -> f.kind().equals("heatmap") && f.series().size() == 1).toList();
        for (HeadReport.Figure a : maps) {
            String col = a.series().getFirst();
            List<HeadReport.Figure> group = new java.util.ArrayList<>(List.of(a));
            for (HeadReport.Figure o : maps) {
                if (o != a && o.series().getFirst().startsWith(col + "_after_")) {
                    group.add(o);
                }
            }
            if (group.size() < 2) {
                continue;
            }
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (HeadReport.Figure g : group) {
                double[] r = range(g);
                lo = Math.min(lo, r[0]);
                hi = Math.max(hi, r[1]);
            }
            for (HeadReport.Figure g : group) {
                out.put(g, new double[]{lo, hi});
            }
        }
        return out;
    }

    private static double[] range(HeadReport.Figure f) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (List<Double> r : f.values()) {
            for (Double x : r) {
                if (x != null && !x.isNaN()) {
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
            }
        }
        return new double[]{min, max};
    }

    private static void heatmap(StringBuilder b, HeadReport.Figure f, Double chance, double[] sharedRange) {
        List<List<Double>> v = f.values();
        int rows = v.size();
        int cols = rows == 0 ? 0 : v.get(0).size();
        double[] own = sharedRange != null ? sharedRange : range(f);
        double min = own[0];
        double max = own[1];
        boolean signed = min < 0 && max > 0;
        if (signed) {
            double m = Math.max(-min, max);
            min = -m;
            max = m;
        } else if (min >= 0) {
            min = 0;
        } else {
            max = Math.max(max, 0);
        }
        if (chance != null && min >= 0 && max <= 1) {
            // a score in [0, 1] with a chance level: the full range, so values near chance do not fill the scale
            min = 0;
            max = 1;
        }
        int cell = Math.max(8, Math.min(28, 640 / Math.max(1, cols)));
        int left = 40;
        int top = 16;
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">",
                left + cols * cell + 90, top + rows * cell + 36));
        for (int r = 0; r < rows; r++) {
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">L%d</text>",
                    left - 4, top + r * cell + cell / 2 + 4, r));
            for (int c = 0; c < cols; c++) {
                Double x = v.get(r).get(c);
                String fill = x == null || x.isNaN() ? "#eee" : colour(max > min ? (x - min) / (max - min) : 0.5, signed);
                b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>L%d H%d: %s</title></rect>",
                        left + c * cell, top + r * cell, cell, cell, fill, r, c, x == null ? "n/a" : format(x)));
            }
        }
        for (int c = 0; c < cols; c += Math.max(1, cols / 16)) {
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%d</text>",
                    left + c * cell + cell / 2, top + rows * cell + 12, c));
        }
        int lx = left + cols * cell + 12;
        for (int i = 0; i < 10; i++) {
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"%d\" fill=\"%s\"/>",
                    lx, top + (9 - i) * Math.max(1, rows * cell / 10), Math.max(1, rows * cell / 10), colour(i / 9.0, signed)));
        }
        if (signed) {
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">0</text>", lx + 16, top + rows * cell / 2 + 4));
        }
        if (chance != null && max > min) {
            int barHeight = 10 * Math.max(1, rows * cell / 10);
            int y = top + (int) Math.round((1 - (chance - min) / (max - min)) * barHeight);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d00\" stroke-width=\"2\"/>"
                    + "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#d00\">chance %s</text>",
                    lx - 3, y, lx + 15, y, lx + 16, y + 4, format(chance)));
        }
        String label = (f.series().isEmpty() ? "" : f.series().getFirst()) + (signed ? " (blue < 0 < red)" : "");
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>", left, top + rows * cell + 26, esc(label)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>", lx + 16, top + 8, format(max)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>", lx + 16, top + rows * cell, format(min)));
        b.append("</svg>");
        if (sharedRange != null) {
            b.append("<p class=\"note\">Colour range shared with the same score before or after the intervention.</p>");
        }
        if (chance != null) {
            b.append(String.format(Locale.ROOT, "<p class=\"note\">Scale 0 to 1. Red mark: chance level %s, the score of a head "
                    + "that attends evenly to every key it can see on the same tokens.</p>", format(chance)));
        }
    }

    /** Viridis for one-signed values; for signed ones a blue-white-red map with white at the middle (0). */
    static String colour(double t, boolean signed) {
        if (!signed) {
            return Viridis.hex(t);
        }
        double u = Math.max(0, Math.min(1, t)) * 2 - 1;
        int r;
        int g;
        int bl;
        if (u < 0) {
            double a = -u;
            r = (int) Math.round(247 + (33 - 247) * a);
            g = (int) Math.round(247 + (102 - 247) * a);
            bl = (int) Math.round(247 + (172 - 247) * a);
        } else {
            r = (int) Math.round(247 + (178 - 247) * u);
            g = (int) Math.round(247 + (24 - 247) * u);
            bl = (int) Math.round(247 + (43 - 247) * u);
        }
        return String.format("#%02x%02x%02x", r, g, bl);
    }

    private static void bars(StringBuilder b, HeadReport.Figure f) {
        List<Double> v = f.values().isEmpty() ? List.of() : f.values().get(0);
        double max = v.stream().filter(x -> !x.isNaN()).mapToDouble(Double::doubleValue).map(Math::abs).max().orElse(1);
        boolean anyNegative = v.stream().anyMatch(x -> x < 0);
        int bar = 14;
        double span = anyNegative ? 220 : 440;
        double zero = anyNegative ? 66 + 220 : 66;
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"%d\">", v.size() * (bar + 4) + 28));
        for (int i = 0; i < v.size(); i++) {
            double x = v.get(i).isNaN() ? 0 : v.get(i);
            double w = max == 0 ? 0 : Math.abs(x) / max * span;
            double from = x < 0 ? zero - w : zero;
            b.append(String.format(Locale.ROOT, "<text x=\"60\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%s</text>", i * (bar + 4) + 12,
                    esc(f.labels().get(i))));
            b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", from, i * (bar + 4), w, bar,
                    x < 0 ? "#2166ac" : "#b2182b"));
            String shown = (x > 0 ? "+" : "") + format(v.get(i));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"%s\">%s</text>",
                    x < 0 ? from - 4 : from + w + 4, i * (bar + 4) + 12, x < 0 ? "end" : "start", esc(shown)));
        }
        b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#555\"/>", zero, zero, v.size() * (bar + 4)));
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s (0 at the line; ranked by signed value)</text>",
                zero + (anyNegative ? 0 : 120), v.size() * (bar + 4) + 16, esc(f.yLabel())));
        b.append("</svg>");
    }

    private static void curve(StringBuilder b, HeadReport.Figure f, Double chance) {
        int w = 560;
        int h = 260;
        int pad = 40;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (List<Double> s : f.values()) {
            for (Double x : s) {
                if (!x.isNaN()) {
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
            }
        }
        if (chance != null) {
            min = Math.min(min, chance);
            max = Math.max(max, chance);
        }
        // accuracies, shares and rates are drawn from 0 (and shares up to 1), so a small change does not look large
        if (min >= 0) {
            min = 0;
            String y = (f.yLabel() + " " + f.title()).toLowerCase(Locale.ROOT);
            if (max <= 1 && (y.contains("accuracy") || y.contains("share") || y.contains("fraction"))) {
                max = 1;
            }
        }
        if (max <= min) {
            max = min + 1;
        }
        String[] colours = {"#3b6ea5", "#d1495b", "#2e933c", "#edae49", "#7b4f9d"};
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">", w + 160, h + 40));
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", pad, h, w, h));
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", pad, pad, h));
        b.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"16\" font-size=\"10\">%s</text><text x=\"4\" y=\"%d\" font-size=\"10\">%s</text>",
                format(max), h, format(min)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>", (w + pad) / 2, h + 30, esc(f.xLabel())));
        b.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">%s</text>",
                h / 2, h / 2, esc(f.yLabel())));
        if (chance != null) {
            double cy = h - (chance - min) / (max - min) * (h - 10);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#9e9e9e\" stroke-dasharray=\"4 3\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#777\">chance %s</text>", pad, cy, w, cy, w, cy - 2, format(chance)));
        }
        for (int s = 0; s < f.values().size(); s++) {
            List<Double> ys = f.values().get(s);
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < ys.size(); i++) {
                if (ys.get(i).isNaN()) {
                    continue;
                }
                double x = pad + (ys.size() == 1 ? 0 : (double) i / (ys.size() - 1) * (w - pad));
                double y = h - (ys.get(i) - min) / (max - min) * (h - 10);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            String colour = colours[s % colours.length];
            b.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"2\" points=\"").append(pts).append("\"/>");
            String name = s < f.series().size() ? f.series().get(s) : "series " + s;
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">%s</text>", w + 8, 20 + s * 14, colour, esc(name)));
        }
        if (!f.labels().isEmpty()) {
            int n = f.labels().size();
            for (int i = 0; i < n; i += Math.max(1, n / 10)) {
                double x = pad + (n == 1 ? 0 : (double) i / (n - 1) * (w - pad));
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>", x, h + 14, esc(f.labels().get(i))));
            }
        }
        b.append("</svg>");
    }

    private static void row(StringBuilder b, String k, String v) {
        b.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v)).append("</td></tr>");
    }

    static String format(Object v) {
        if (v instanceof Double d) {
            return d.isNaN() ? "" : String.format(Locale.ROOT, "%.4g", d);
        }
        if (v instanceof Float f) {
            return String.format(Locale.ROOT, "%.4g", f);
        }
        return String.valueOf(v);
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
