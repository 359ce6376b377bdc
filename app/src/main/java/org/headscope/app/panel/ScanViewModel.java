package org.headscope.app.panel;

import org.headscope.analysis.report.MetricDefinitions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.app.attention.HeadScores;
import org.headscope.app.model.LoadedModel;
import org.headscope.app.model.ModelViewModel;
import org.headscope.app.util.BackgroundTask;
import org.headscope.app.util.Message;
import org.headscope.app.util.PanelState;
import org.headscope.app.util.TaskExecutor;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.ModelException;

/**
 * A panel over one {@link Scan}: the parameter values (defaults until edited), the last report, and the score
 * column the head grid is coloured by. A cancelled run keeps the last report; a failed run clears it (so no result
 * is shown beside the error); opening another model clears it.
 */
public final class ScanViewModel implements PanelState {
    private final Scan scan;
    private final TaskExecutor executor;
    private final ModelViewModel models;
    private final Consumer<Message> messages;
    private final Map<String, StringProperty> values = new LinkedHashMap<>();
    private final ReadOnlyObjectWrapper<HeadReport> report = new ReadOnlyObjectWrapper<>();
    private final ObjectProperty<String> column = new SimpleObjectProperty<>();
    private final ReadOnlyObjectWrapper<HeadScores> scores = new ReadOnlyObjectWrapper<>();
    private String reportPrompt;
    /** The typed result of the report on screen ({@link Scan#runTyped}), or null. */
    private Object result;

    public ScanViewModel(Scan scan, TaskExecutor executor, ModelViewModel models, Consumer<Message> messages) {
        this.scan = scan;
        this.executor = executor;
        this.models = models;
        this.messages = messages;
        for (Scan.Parameter p : scan.parameters()) {
            values.put(p.key(), new SimpleStringProperty(p.defaultValue()));
        }
        column.set(scan.defaultColumn());
        report.addListener(o -> scores.set(scores(column.get())));
        column.addListener(o -> scores.set(scores(column.get())));
        models.loadedProperty().addListener(o -> {
            clear();
            for (String k : scan.perModelParameters()) {
                scan.parameters().stream().filter(p -> p.key().equals(k)).findFirst().ifPresent(p -> values.get(k).set(p.defaultValue()));
            }
        });
    }

    /** The last report, or null. */
    public HeadReport report() {
        return report.get();
    }

    /** The prompt the report on screen was made with (null without a report). */
    public String reportPrompt() {
        return report.get() == null ? null : reportPrompt;
    }

    /** Forgets the report (another model or prompt is on screen). */
    public void clear() {
        result = null;
        report.set(null);
        reportPrompt = null;
    }

    /** The definition, unit and display kind of a score column of the last report. */
    public MetricDefinitions.Definition definition(String column) {
        HeadReport r = report.get();
        List<Object> values = r == null ? List.of() : r.heads().stream().map(h -> h.get(column)).toList();
        return MetricDefinitions.of(column, values);
    }

    /** A column header's tooltip: the metric in words, its unit, and the report's definition version. */
    public String tooltip(String column) {
        MetricDefinitions.Definition d = definition(column);
        HeadReport r = report.get();
        String version = r == null ? null : r.provenance().metricVersions().get(column);
        return column + ": " + d.text() + (d.unit().isEmpty() ? "" : "\nunit: " + d.unit())
                + (version == null ? "" : "\ndefinition: " + version) + "\n(docs/METRICS.md has every definition)";
    }

    /** The chance level a report gives for one of its figures (section "chance_levels", by figure title), or null. */
    public static Double chance(HeadReport r, HeadReport.Figure f) {
        if (r.sections().get("chance_levels") instanceof Map<?, ?> m && m.get(f.title()) instanceof Number n) {
            return n.doubleValue();
        }
        return null;
    }

    /**
     * The finding of the last run in one paragraph of words and numbers: how many heads, the top three and the
     * lowest by the ranking column (with its unit), how many raise or lower a signed score, and the flagged heads.
     */
    public String findings() {
        HeadReport r = report.get();
        if (r == null) {
            return "";
        }
        String by = column.get();
        StringBuilder sb = new StringBuilder();
        LoadedModel lm = models.current();
        String own = scan.headline(r);
        if (own != null && !own.isBlank()) {
            sb.append(own).append(" ");
        }
        sb.append(scan.title()).append(lm == null ? "" : " on " + lm.name()).append(": ").append(r.heads().size())
                .append(r.heads().stream().allMatch(ScanViewModel::perHead) ? " heads" : " rows");
        if (by != null && !columns().isEmpty()) {
            MetricDefinitions.Definition d = definition(by);
            List<Map<String, Object>> ranked = ranked(by).stream().filter(h -> h.get(by) instanceof Number n && !Double.isNaN(n.doubleValue())).toList();
            if (!ranked.isEmpty()) {
                sb.append(" ranked by ").append(by).append(d.unit().isEmpty() ? "" : " (" + d.unit() + ")").append(". Highest: ");
                sb.append(String.join(", ", ranked.stream().limit(3).map(h -> head(h) + " " + MetricDefinitions.format(h.get(by), d.kind())).toList()));
                Map<String, Object> low = ranked.getLast();
                sb.append("; lowest: ").append(head(low)).append(" ").append(MetricDefinitions.format(low.get(by), d.kind())).append(".");
                long pos = ranked.stream().filter(h -> ((Number) h.get(by)).doubleValue() > 0).count();
                long neg = ranked.stream().filter(h -> ((Number) h.get(by)).doubleValue() < 0).count();
                if (pos > 0 && neg > 0) {
                    sb.append(" ").append(pos).append(" heads raise it and ").append(neg).append(" lower it (signed: the heat map is blue below 0, red above).");
                }
            }
        }
        for (String c : columns()) {
            if (definition(c).kind() == MetricDefinitions.Kind.FLAG) {
                List<String> flagged = r.heads().stream().filter(h -> h.get(c) instanceof Number n && n.doubleValue() != 0
                        || Boolean.TRUE.equals(h.get(c))).map(ScanViewModel::head).toList();
                sb.append(" ").append(flagged.size()).append(flagged.size() == 1 ? " head is " : " heads are ").append(c)
                        .append(flagged.isEmpty() ? "" : " (" + String.join(", ", flagged.stream().limit(8).toList())
                                + (flagged.size() > 8 ? ", \u2026" : "") + ")").append(".");
            }
        }
        return sb.toString();
    }

    /** A row's name: layer.head, or for a per-layer row (head -1, as the logit lens writes) the layer or the embeddings. */
    public static String head(Map<String, Object> h) {
        if (h.get("head") instanceof Number n && n.intValue() < 0) {
            return h.get("layer") instanceof Number l && l.intValue() < 0 ? "embeddings" : "layer " + h.get("layer");
        }
        return h.get("layer") + "." + h.get("head");
    }

    private static boolean perHead(Map<String, Object> h) {
        return h.get("layer") instanceof Number l && l.intValue() >= 0 && h.get("head") instanceof Number n && n.intValue() >= 0;
    }

    public Scan scan() {
        return scan;
    }

    /** Runs the scan on the open model with the current values; {@code prompt} is the workbench's prompt. */
    public void run(String prompt) {
        Scan.Values v = currentValues();
        executor.execute(BackgroundTask.of(scan.title() + " scan", (progress, cancel) -> {
            LoadedModel lm = models.current();
            if (lm == null) {
                throw new ModelException("No model is open.", "Open a model from the Model menu first.");
            }
            return scan.runTyped(lm.model(), prompt, v, progress, cancel);
        }).onSuccess(r -> {
            reportPrompt = prompt;
            result = r.result();
            report.set(r.report());
        }).onFailure(e -> {
            // a result is never shown beside the error of a later run of the same panel
            clear();
            messages.accept(Message.of("The " + scan.title() + " scan", e));
        })
                .onCancelled(() -> messages.accept(Message.info("The " + scan.title() + " scan was cancelled; earlier results are kept."))));
    }

    public Scan.Values currentValues() {
        Map<String, String> m = new LinkedHashMap<>();
        values.forEach((k, p) -> m.put(k, p.get()));
        return new Scan.Values(m);
    }

    /** Puts every parameter back to the paper's default. */
    public void resetDefaults() {
        for (Scan.Parameter p : scan.parameters()) {
            values.get(p.key()).set(p.defaultValue());
        }
    }

    /**
     * The report's "summary" section (answers, totals) as one line per entry, then what its selection rules selected
     * nothing of ("selection_notes") and where the run departs from the papers' code ("departures"), or empty.
     */
    public String summary() {
        HeadReport r = report.get();
        if (r == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        if (r.sections().get("summary") instanceof Map<?, ?> m) {
            m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : "\n").append(k).append(": ").append(v instanceof Double d
                    ? String.format(java.util.Locale.ROOT, "%.4g", d) : v));
        }
        for (String section : List.of("selection_notes", "departures")) {
            if (r.sections().get(section) instanceof List<?> lines && !lines.isEmpty()) {
                sb.append(sb.isEmpty() ? "" : "\n").append(section.equals("departures") ? "Departures from the papers' code:" : "Selected nothing:");
                lines.forEach(line -> sb.append("\n- ").append(line));
            }
        }
        return sb.toString();
    }

    /** The report's "summary" section (answers, totals), one "key: value" line per entry, or "". */
    public String headline() {
        HeadReport r = report.get();
        StringBuilder sb = new StringBuilder();
        if (r != null && r.sections().get("summary") instanceof Map<?, ?> m) {
            m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : "\n").append(k).append(": ").append(v instanceof Double d
                    ? String.format(java.util.Locale.ROOT, "%.4g", d) : v));
        }
        return sb.toString();
    }

    /** What the selection rules selected nothing of and the departures from the papers' code, or "". */
    public String notes() {
        HeadReport r = report.get();
        StringBuilder sb = new StringBuilder();
        for (String section : List.of("selection_notes", "departures")) {
            if (r != null && r.sections().get(section) instanceof List<?> lines && !lines.isEmpty()) {
                sb.append(sb.isEmpty() ? "" : "\n").append(section.equals("departures") ? "Departures from the papers' code:" : "Selected nothing:");
                lines.forEach(line -> sb.append("\n- ").append(line));
            }
        }
        return sb.toString();
    }

    /** Score columns of the last report (numeric columns other than layer and head). */
    public List<String> columns() {
        HeadReport r = report.get();
        List<String> out = new ArrayList<>();
        if (r != null && !r.heads().isEmpty()) {
            r.heads().getFirst().forEach((k, v) -> {
                if (!k.equals("layer") && !k.equals("head") && (v instanceof Number || v == null)) {
                    out.add(k);
                }
            });
        }
        return out;
    }

    /** The heads of the last report ranked by a column, highest first (heads without a value last). */
    public List<Map<String, Object>> ranked(String by) {
        HeadReport r = report.get();
        if (r == null) {
            return List.of();
        }
        List<Map<String, Object>> rows = new ArrayList<>(r.heads());
        rows.sort((a, b) -> Double.compare(value(b, by), value(a, by)));
        return rows;
    }

    private static double value(Map<String, Object> row, String column) {
        return row.get(column) instanceof Number n && !Double.isNaN(n.doubleValue()) ? n.doubleValue() : Double.NEGATIVE_INFINITY;
    }

    private HeadScores scores(String by) {
        HeadReport r = report.get();
        if (r == null || by == null) {
            return null;
        }
        Map<Head, Double> m = new LinkedHashMap<>();
        for (Map<String, Object> row : r.heads()) {
            if (perHead(row) && row.get(by) instanceof Number n && !Double.isNaN(n.doubleValue())) {
                m.put(new Head(((Number) row.get("layer")).intValue(), ((Number) row.get("head")).intValue()), n.doubleValue());
            }
        }
        return m.isEmpty() ? null : new HeadScores(scan.title() + ": " + by, m);
    }

    /** Writes the last report as JSON, CSV and HTML into a folder. */
    public List<Path> export(Path dir) throws IOException {
        HeadReport r = report.get();
        if (r == null) {
            throw new IllegalStateException("run the " + scan.title() + " scan before exporting its report");
        }
        return ReportWriter.write(r, dir);
    }

    public StringProperty valueProperty(String key) {
        return values.get(key);
    }

    /** The typed result behind the report on screen, when the scan keeps one of this type. */
    public <T> java.util.Optional<T> result(Class<T> type) {
        return report.get() != null && type.isInstance(result) ? java.util.Optional.of(type.cast(result)) : java.util.Optional.empty();
    }

    public ReadOnlyObjectProperty<HeadReport> reportProperty() {
        return report.getReadOnlyProperty();
    }

    public ObjectProperty<String> columnProperty() {
        return column;
    }

    /** The grid colouring of the last report by the chosen column, or null. */
    public ReadOnlyObjectProperty<HeadScores> scoresProperty() {
        return scores.getReadOnlyProperty();
    }

    @Override
    public String key() {
        return scan.title().toLowerCase(java.util.Locale.ROOT).replace(' ', '-');
    }

    @Override
    public Map<String, Object> save() {
        Map<String, Object> m = new LinkedHashMap<>();
        values.forEach((k, p) -> m.put(k, p.get()));
        m.put("column", column.get());
        return m;
    }

    @Override
    public void restore(Map<String, Object> saved) {
        resetDefaults();
        saved.forEach((k, v) -> {
            if (values.containsKey(k) && v != null) {
                values.get(k).set(String.valueOf(v));
            }
        });
        if (saved.get("column") instanceof String c) {
            column.set(c);
        }
    }
}
