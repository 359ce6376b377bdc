package org.headscope.analysis;

import org.headscope.analysis.core.Options;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One table per model with every head's scores side by side, gathered from the reports of the other analyses (sinks,
 * retrieval, copy scores, ablation, AMP, DLA, patching, VHD, variant damage). Each column keeps its provenance: the
 * analysis that made it, the metric's definition version, the prompt and parameters of that run, when it ran.
 * Reports of another model (another sha256) are refused.
 */
public final class HeadAtlas {
    public static final String NAME = "atlas";

    /**
     * The atlas defines no metric of its own: each column keeps its source's version, and the atlas report's provenance
     * lists them by column name.
     */
    public static final Map<String, String> METRICS = Map.of();

    /** Columns taken from each analysis (numeric head columns only; the per-analysis name avoids clashes). */
    private HeadAtlas() {
    }

    /**
     * The columns the atlas measures itself: the copy scores (echo and induction) on {@code copyTokens} random tokens
     * (RazorAttention's 32, fewer where the model takes fewer than {@link CopyScores#REPEATS} x 32 tokens) drawn with
     * {@code copySeed}; {@code copy} off: none.
     */
    public record Params(boolean copy, int copyTokens, long copySeed) {
        public static final Params DEFAULTS = new Params(true, 32, 7);
        /** The options by name (the command's {@code --no-copy} is {@code copy} off). */
        public static final List<String> OPTIONS = List.of("copy", "copy_tokens", "copy_seed");

        public Params {
            if (copyTokens < 2) {
                throw new IllegalArgumentException("parameter 'copy_tokens' must be at least 2, got " + copyTokens);
            }
        }

        public Params withCopy(boolean c) {
            return new Params(c, copyTokens, copySeed);
        }

        public Params withCopyTokens(int t) {
            return new Params(copy, t, copySeed);
        }

        public Params withCopySeed(long s) {
            return new Params(copy, copyTokens, s);
        }

        /** The copy-score sequence's length on this model: {@link #copyTokens}, fewer where the model takes fewer tokens. */
        public int copyLength(HookedModel model) {
            Integer max = model.manifest().maxLength();
            return Math.max(2, Math.min(copyTokens, ((max == null ? 8192 : max) - 4) / CopyScores.REPEATS));
        }

        /** The recipe the {@code atlas} command and the Head atlas panel share. */
        public static Params fromOptions(Options options) {
            String copy = options.text("copy", "on");
            if (!copy.equals("on") && !copy.equals("off")) {
                throw new IllegalArgumentException("parameter 'copy' must be on or off, got '" + copy + "'");
            }
            return new Params(copy.equals("on"), options.whole("copy_tokens", DEFAULTS.copyTokens()),
                    options.whole("copy_seed", (int) DEFAULTS.copySeed()));
        }
    }

    /** The reports an atlas gathers, in column order. */
    public record Result(Params params, List<HeadReport> sources) {
        public Result {
            sources = List.copyOf(sources);
        }

        /** The atlas; the provenance names the model (its sha256 must match every source's). */
        public HeadReport toReport(Provenance provenance) {
            return build(sources, provenance);
        }
    }

    /**
     * The atlas of {@code sources} (the reports of other analyses of this model, in column order). The copy-score
     * columns are measured by {@link #copySource}, which the caller places among the sources.
     */
    public static Result run(HookedModel model, List<HeadReport> sources, Params params, Progress progress, CancelToken cancel) {
        cancel.check();
        return new Result(params, sources);
    }

    /** The copy-score columns (echo, induction) as a report, or null where {@code params.copy()} is off or the model is an encoder. */
    public static HeadReport copySource(HookedModel model, Params params, CancelToken cancel) {
        if (!params.copy() || !model.isCausal()) {
            return null;
        }
        int length = params.copyLength(model);
        CopyScores c = CopyScores.run(model, new CopyScores.Params(length, params.copySeed()), Progress.NONE, cancel);
        Map<String, double[][]> grids = new LinkedHashMap<>();
        grids.put("echo", c.echo());
        grids.put("induction", c.induction());
        Map<String, String> versions = new LinkedHashMap<>();
        versions.put("echo", CopyScores.METRIC_VERSION);
        versions.put("induction", CopyScores.METRIC_VERSION);
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("copy_random_tokens", length);
        parameters.put("copy_seed", params.copySeed());
        return grids(CopyScores.NAME, grids, versions, Provenance.of(model, length + " random tokens repeated " + CopyScores.REPEATS
                + " times, seed " + params.copySeed(), Map.of()), parameters);
    }

    /** Where a column came from. */
    public record Column(String name, String analysis, String sourceColumn, String metricVersion, String prompt,
                         Map<String, Object> parameters, String created) {
        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("column", name);
            m.put("analysis", analysis);
            m.put("source_column", sourceColumn);
            m.put("metric_version", metricVersion);
            m.put("prompt", prompt);
            m.put("parameters", parameters);
            m.put("created", created);
            return m;
        }
    }

    /** The atlas of these reports; the provenance given names the model (its sha256 must match every report's). */
    public static HeadReport build(List<HeadReport> sources, Provenance provenance) {
        TreeMap<String, Map<String, Object>> rows = new TreeMap<>(HeadAtlas::compareHeads);
        List<Column> columns = new ArrayList<>();
        Map<String, String> versions = new LinkedHashMap<>();
        for (HeadReport r : sources) {
            if (provenance.modelSha256() != null && r.provenance().modelSha256() != null
                    && !provenance.modelSha256().equals(r.provenance().modelSha256())) {
                throw new IllegalArgumentException("the " + r.analysis() + " report is of another model (" + r.provenance().model()
                        + ", sha256 " + r.provenance().modelSha256() + "); an atlas gathers the reports of one model");
            }
            if (r.heads().isEmpty()) {
                continue;
            }
            for (String c : r.heads().get(0).keySet()) {
                if (c.equals("layer") || c.equals("head") || c.startsWith("abs_")) {
                    continue;
                }
                boolean numeric = r.heads().stream().anyMatch(h -> h.get(c) instanceof Number);
                if (!numeric) {
                    continue;
                }
                String name = r.analysis() + "." + c;
                if (columns.stream().anyMatch(x -> x.name().equals(name))) {
                    continue;
                }
                String version = r.provenance().metricVersions().getOrDefault(c,
                        r.provenance().metricVersions().values().stream().findFirst().orElse("unversioned"));
                columns.add(new Column(name, r.analysis(), c, version, r.provenance().prompt(), r.parameters(), r.provenance().created()));
                versions.put(name, version);
                for (Map<String, Object> h : r.heads()) {
                    String key = h.get("layer") + "." + h.get("head");
                    Map<String, Object> row = rows.computeIfAbsent(key, k -> {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("layer", ((Number) h.get("layer")).intValue());
                        m.put("head", ((Number) h.get("head")).intValue());
                        return m;
                    });
                    Object v = h.get(c);
                    row.put(name, v instanceof Number n ? n.doubleValue() : Double.NaN);
                }
            }
        }
        List<Map<String, Object>> table = new ArrayList<>();
        for (Map<String, Object> r : rows.values()) {
            Map<String, Object> full = new LinkedHashMap<>();
            full.put("layer", r.get("layer"));
            full.put("head", r.get("head"));
            for (Column c : columns) {
                full.put(c.name(), r.getOrDefault(c.name(), Double.NaN));
            }
            table.add(full);
        }
        Map<String, Object> sections = new LinkedHashMap<>();
        sections.put("columns", columns.stream().map(Column::asMap).toList());
        sections.put("sortable", true);
        sections.put("departures", List.of());
        List<HeadReport.Figure> figures = new ArrayList<>();
        for (Column c : columns) {
            figures.add(HeadReport.headHeatmap(c.name() + " (" + c.metricVersion() + ")", c.name(), table));
        }
        Provenance p = new Provenance(provenance.model(), provenance.modelSha256(), provenance.producer(), provenance.opset(),
                provenance.device(), provenance.dtype(), provenance.tokenizer(), "per column (see columns)", provenance.toolVersion(),
                provenance.created(), versions);
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("sources", sources.stream().map(HeadReport::analysis).toList());
        return new HeadReport(NAME, parameters, p, table, sections, figures);
    }

    private static int compareHeads(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        int c = Integer.compare(Integer.parseInt(x[0]), Integer.parseInt(y[0]));
        return c != 0 ? c : Integer.compare(Integer.parseInt(x[1]), Integer.parseInt(y[1]));
    }

    /** A report of a grid of per-head numbers made here (copy scores), to join the atlas like any other report. */
    public static HeadReport grids(String analysis, Map<String, double[][]> grids, Map<String, String> versions, Provenance provenance,
                                   Map<String, Object> parameters) {
        List<Map<String, Object>> rows = new ArrayList<>();
        double[][] first = grids.values().iterator().next();
        for (int l = 0; l < first.length; l++) {
            for (int h = 0; h < first[l].length; h++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("layer", l);
                r.put("head", h);
                for (var e : grids.entrySet()) {
                    r.put(e.getKey(), e.getValue()[l][h]);
                }
                rows.add(r);
            }
        }
        Provenance p = new Provenance(provenance.model(), provenance.modelSha256(), provenance.producer(), provenance.opset(),
                provenance.device(), provenance.dtype(), provenance.tokenizer(), provenance.prompt(), provenance.toolVersion(),
                provenance.created(), versions);
        return new HeadReport(analysis, parameters, p, rows, Map.of(), List.of());
    }
}
