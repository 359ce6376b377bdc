package org.headscope.app.report;

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
 * column the head grid is coloured by. A failed or cancelled run keeps the last report and the values.
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
        models.loadedProperty().addListener(o -> report.set(null));
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
            return scan.run(lm.model(), prompt, v, progress, cancel);
        }).onSuccess(report::set)
                .onFailure(e -> messages.accept(Message.of("The " + scan.title() + " scan", e)))
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
            if (row.get(by) instanceof Number n && !Double.isNaN(n.doubleValue())) {
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
