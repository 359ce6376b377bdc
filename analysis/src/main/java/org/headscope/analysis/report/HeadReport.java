package org.headscope.analysis.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The common report of every analysis (schema {@value #SCHEMA}): the analysis name, its parameters, provenance,
 * one row per head with its scores, and analysis-specific sections (curves, token lists, grids).
 *
 * @param heads    one map per head: "layer", "head", then score columns in a fixed order (same keys in every row)
 * @param sections extra results, e.g. "sink_rate_by_position": [...]; written to JSON and shown in the HTML
 * @param figures  figures for the HTML page, in order
 */
public record HeadReport(String schema, String analysis, Map<String, Object> parameters, Provenance provenance,
                         List<Map<String, Object>> heads, Map<String, Object> sections, List<Figure> figures) {
    public static final String SCHEMA = "headscope-report/1";

    @SuppressWarnings("unchecked")
    public HeadReport {
        parameters = java.util.Collections.unmodifiableMap((Map<String, Object>) ordered(parameters));
        heads = heads.stream().map(m -> java.util.Collections.unmodifiableMap((Map<String, Object>) ordered(m))).toList();
        sections = java.util.Collections.unmodifiableMap((Map<String, Object>) ordered(sections));
        figures = List.copyOf(figures);
    }

    /**
     * A copy in a stable order, so the same inputs give byte-identical reports: maps keep the order they were built in,
     * except maps without one ({@code Map.of}, {@code Map.copyOf}, {@code HashMap}, whose iteration order changes
     * from one JVM start to the next), which are sorted by key. Applied through nested maps and lists.
     */
    static Object ordered(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            java.util.stream.Stream<? extends Map.Entry<?, ?>> entries = m.entrySet().stream();
            if (unordered(m)) {
                entries = entries.sorted(java.util.Comparator.comparing(e -> String.valueOf(e.getKey())));
            }
            entries.forEachOrdered(e -> out.put(e.getKey(), ordered(e.getValue())));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new java.util.ArrayList<>(l.size());
            l.forEach(x -> out.add(ordered(x)));
            return java.util.Collections.unmodifiableList(out);
        }
        return v;
    }

    private static boolean unordered(Map<?, ?> m) {
        Class<?> c = m.getClass();
        return m.size() > 1 && (c == java.util.HashMap.class || c.getName().startsWith("java.util.ImmutableCollections$Map"));
    }

    public HeadReport(String analysis, Map<String, Object> parameters, Provenance provenance,
                      List<Map<String, Object>> heads, Map<String, Object> sections, List<Figure> figures) {
        this(SCHEMA, analysis, parameters, provenance, heads, sections, figures);
    }

    /**
     * A figure of the HTML report.
     *
     * @param kind   "heatmap" (values[layer][head]), "bars" (labels + values[0]), "curve" (labels as x + values as series)
     * @param series names of the rows of values for curves
     */
    public record Figure(String kind, String title, String xLabel, String yLabel, List<String> labels, List<String> series,
                         List<List<Double>> values) {
        public Figure {
            labels = labels == null ? List.of() : List.copyOf(labels);
            series = series == null ? List.of() : List.copyOf(series);
            values = values.stream().map(List::copyOf).toList();
        }
    }

    /** A layers x heads heatmap of one score column. */
    public static Figure headHeatmap(String title, String column, List<Map<String, Object>> heads) {
        int layers = 0;
        int perLayer = 0;
        for (Map<String, Object> h : heads) {
            layers = Math.max(layers, ((Number) h.get("layer")).intValue() + 1);
            perLayer = Math.max(perLayer, ((Number) h.get("head")).intValue() + 1);
        }
        List<List<Double>> grid = new java.util.ArrayList<>();
        for (int l = 0; l < layers; l++) {
            grid.add(new java.util.ArrayList<>(java.util.Collections.nCopies(perLayer, Double.NaN)));
        }
        for (Map<String, Object> h : heads) {
            Object v = h.get(column);
            if (v instanceof Number n) {
                grid.get(((Number) h.get("layer")).intValue()).set(((Number) h.get("head")).intValue(), n.doubleValue());
            }
        }
        return new Figure("heatmap", title, "head", "layer", List.of(), List.of(column), grid);
    }

    /** The top {@code n} heads by a score column, as bars. */
    public static Figure rankedBars(String title, String column, List<Map<String, Object>> heads, int n) {
        List<Map<String, Object>> sorted = heads.stream().filter(h -> h.get(column) instanceof Number)
                .sorted((a, b) -> Double.compare(((Number) b.get(column)).doubleValue(), ((Number) a.get(column)).doubleValue()))
                .limit(n).toList();
        return new Figure("bars", title, "head", column,
                sorted.stream().map(h -> h.get("layer") + "." + h.get("head")).toList(), List.of(column),
                List.of(sorted.stream().map(h -> ((Number) h.get(column)).doubleValue()).toList()));
    }
}
