package org.headscope.analysis;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.hooks.Intervention;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a retrieval scan found: every test of the grid with its per-head scores, and the heads' retrieval scores
 * (mean over the tests that passed the ROUGE gate). Immutable.
 *
 * @param template    the prompt template the tests were built with
 * @param sentenceEnd the mark that ends a sentence in the haystack (needles go after one)
 * @param runs        forward passes the scan made
 * @param bytesFetched bytes of output tensors copied out of the runtime over the scan
 */
public record RetrievalResult(RetrievalScan.Params parameters, int layers, int heads, List<RetrievalScan.Test> tests,
                              int needles, String template, String sentenceEnd, long runs, long bytesFetched) {
    public RetrievalResult {
        tests = List.copyOf(tests);
    }

    /** One cell of the length x depth grid. */
    public record Cell(int length, int depth, int tests, int counted, double exactMatch, double meanRouge) {
    }

    public long counted() {
        return tests.stream().filter(RetrievalScan.Test::counted).count();
    }

    /** True when at least one test passed the ROUGE gate, so retrieval scores exist. */
    public boolean hasScores() {
        return counted() > 0;
    }

    /** Retrieval score per head, [layers][heads]: mean over counted tests. */
    public double[][] scores() {
        requireScores();
        double[][] s = new double[layers][heads];
        long n = counted();
        for (RetrievalScan.Test t : tests) {
            if (t.counted()) {
                for (int l = 0; l < layers; l++) {
                    for (int h = 0; h < heads; h++) {
                        s[l][h] += t.scores()[l][h] / n;
                    }
                }
            }
        }
        return s;
    }

    /** Heads scoring above the threshold, best first. */
    public List<Intervention.Head> retrievalHeads() {
        double[][] s = scores();
        return ranked().stream().filter(h -> s[h.layer()][h.head()] > parameters.threshold()).toList();
    }

    /** All heads, best retrieval score first (ties in layer, head order). */
    public List<Intervention.Head> ranked() {
        double[][] s = scores();
        List<Intervention.Head> all = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                all.add(new Intervention.Head(l, h));
            }
        }
        all.sort(Comparator.comparingDouble((Intervention.Head h) -> -s[h.layer()][h.head()]).thenComparing(h -> h));
        return all;
    }

    /** Exact-match accuracy, counted tests and mean ROUGE per (length, depth). */
    public List<Cell> grid() {
        Map<List<Integer>, List<RetrievalScan.Test>> cells = new LinkedHashMap<>();
        for (RetrievalScan.Test t : tests) {
            cells.computeIfAbsent(List.of(t.length(), t.depth()), k -> new ArrayList<>()).add(t);
        }
        List<Cell> out = new ArrayList<>();
        cells.forEach((k, ts) -> out.add(new Cell(k.get(0), k.get(1), ts.size(),
                (int) ts.stream().filter(RetrievalScan.Test::counted).count(),
                ts.stream().filter(RetrievalScan.Test::exact).count() / (double) ts.size(),
                ts.stream().mapToDouble(RetrievalScan.Test::rouge).average().orElse(0))));
        return out;
    }

    /** The reference's head-score file: {@code {"layer-head": [score of each counted test]}}. */
    public String toReferenceJson() {
        requireScores();
        Map<String, List<Double>> out = new LinkedHashMap<>();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                List<Double> v = new ArrayList<>();
                for (RetrievalScan.Test t : tests) {
                    if (t.counted()) {
                        v.add(t.scores()[l][h]);
                    }
                }
                out.put(l + "-" + h, v);
            }
        }
        try {
            return new ObjectMapper().writeValueAsString(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads a reference head-score file into mean scores per head, [layers][heads], sized by the largest indices found.
     * Heads with an empty list score 0, as numpy's mean would give nan and the reference's ranking drops them.
     */
    public static double[][] fromReferenceJson(String json) {
        Map<String, List<Double>> in;
        try {
            in = new ObjectMapper().readValue(json, new TypeReference<TreeMap<String, List<Double>>>() {
            });
        } catch (IOException e) {
            throw new IllegalArgumentException("not a retrieval head-score file ({\"layer-head\": [scores...]}): " + e.getMessage(), e);
        }
        int layers = 0;
        int heads = 0;
        for (String k : in.keySet()) {
            Intervention.Head h = Intervention.Head.parse(k);
            layers = Math.max(layers, h.layer() + 1);
            heads = Math.max(heads, h.head() + 1);
        }
        double[][] s = new double[layers][heads];
        in.forEach((k, v) -> {
            Intervention.Head h = Intervention.Head.parse(k);
            s[h.layer()][h.head()] = v.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        });
        return s;
    }

    private void requireScores() {
        if (!hasScores()) {
            throw new IllegalStateException(noScoresMessage());
        }
    }

    /** What to tell the user when no test passed the gate. */
    public String noScoresMessage() {
        return "none of the " + tests.size() + " tests passed the ROUGE-1 gate (recall > " + Math.round(parameters.rougeGate() * 100)
                + "%): the model never retrieved a needle, so no head has a retrieval score";
    }

    /** The report: one row per head (retrieval score, retrieval head flag, and the copy scores when given). */
    public HeadReport toReport(Provenance provenance, CopyScores copy) {
        double[][] s = scores();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("layer", l);
                row.put("head", h);
                row.put("retrieval_score", s[l][h]);
                row.put("retrieval_head", s[l][h] > parameters.threshold() ? 1.0 : 0.0);
                if (copy != null) {
                    row.put("echo", copy.echo()[l][h]);
                    row.put("induction", copy.induction()[l][h]);
                    row.put("previous_token", copy.previousToken()[l][h]);
                    row.put("duplicate_token", copy.duplicateToken()[l][h]);
                    row.put("induction_tl", copy.inductionTl()[l][h]);
                }
                rows.add(row);
            }
        }
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("mode", parameters.mode().name().toLowerCase(java.util.Locale.ROOT));
        params.put("lengths", parameters.lengths());
        params.put("depth_percents", java.util.Arrays.stream(parameters.depthPercents()).boxed().toList());
        params.put("needles", needles);
        params.put("rouge_gate", parameters.rougeGate());
        params.put("rouge_gate_on", parameters.mode() == RetrievalScan.Mode.TEACHER
                ? "the model's greedy prediction at each answer position given the needle's answer before it"
                : "the greedy answer up to EOS");
        params.put("threshold", parameters.threshold());
        params.put("max_new_tokens", parameters.maxNewTokens());
        params.put("rouge_stemmer", parameters.rougeStemmer() ? "porter" : "none");
        params.put("template", template);
        params.put("sentence_end", sentenceEnd);
        if (copy != null) {
            params.putAll(copy.parameters());
        }
        List<Map<String, Object>> cells = new ArrayList<>();
        for (Cell c : grid()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("length", c.length());
            m.put("depth", c.depth());
            m.put("tests", c.tests());
            m.put("counted", c.counted());
            m.put("exact_match", c.exactMatch());
            m.put("mean_rouge1_recall", c.meanRouge());
            cells.add(m);
        }
        Map<String, Object> sections = new LinkedHashMap<>();
        List<Intervention.Head> found = retrievalHeads();
        sections.put("summary", Map.of("tests", tests.size(), "counted_tests", counted(),
                "retrieval_heads", found.stream().map(Intervention.Head::toString).toList(),
                "retrieval_head_share", found.size() / (double) (layers * heads), "runs", runs, "bytes_fetched", bytesFetched));
        sections.put("accuracy_grid", cells);
        sections.put("departures", departures());
        List<HeadReport.Figure> figures = new ArrayList<>();
        figures.add(HeadReport.headHeatmap("Retrieval score (layers x heads)", "retrieval_score", rows));
        figures.add(HeadReport.rankedBars("Top retrieval heads", "retrieval_score", rows, Math.min(20, rows.size())));
        figures.add(accuracyCurve());
        if (copy != null) {
            String induction = "Induction score (repeated random tokens)";
            String echo = "Echo score (repeated random tokens)";
            figures.add(HeadReport.headHeatmap(induction, "induction", rows));
            figures.add(HeadReport.headHeatmap(echo, "echo", rows));
            // what a head attending evenly to every visible key scores on the same tokens, by figure and by column
            Map<String, Object> chance = new LinkedHashMap<>();
            chance.put(induction, copy.chanceByColumn().get("induction"));
            chance.put(echo, copy.chanceByColumn().get("echo"));
            chance.putAll(copy.chanceByColumn());
            sections.put("chance_levels", chance);
        }
        return new HeadReport("retrieval", params, provenance, rows, sections, figures);
    }

    private HeadReport.Figure accuracyCurve() {
        int[] depths = parameters.depthPercents();
        List<String> labels = java.util.Arrays.stream(depths).mapToObj(d -> d + "%").toList();
        List<String> series = new ArrayList<>();
        List<List<Double>> values = new ArrayList<>();
        List<Cell> grid = grid();
        for (int len : parameters.lengths()) {
            series.add("L=" + len);
            List<Double> v = new ArrayList<>();
            for (int d : depths) {
                v.add(grid.stream().filter(c -> c.length() == len && c.depth() == d).mapToDouble(Cell::exactMatch).findFirst().orElse(Double.NaN));
            }
            values.add(v);
        }
        return new HeadReport.Figure("curve", "Needle accuracy (exact match) by depth", "depth", "accuracy", labels, series, values);
    }

    /** Definition versions of the metrics in this report, at the default parameters. */
    public static Map<String, String> metricVersions() {
        return metricVersions(RetrievalScan.Params.defaults(List.of(64)));
    }

    /** Definition versions of the metrics as these parameters compute them. */
    public static Map<String, String> metricVersions(RetrievalScan.Params p) {
        return Map.of("retrieval_score", RetrievalScan.METRIC_VERSION,
                "rouge_gate", p.rougeStemmer() ? RetrievalScan.ROUGE_VERSION : RetrievalScan.ROUGE_VERSION_UNSTEMMED,
                "copy_scores", CopyScores.METRIC_VERSION);
    }

    /** Where this scan differs from the reference code, in words. */
    public List<String> departures() {
        RetrievalScan.Params d = RetrievalScan.Params.defaults(parameters.lengths());
        return new Departures()
                .when(!parameters.rougeStemmer(), "The ROUGE-1 gate compares unstemmed words; the reference's rouge_scorer uses "
                        + "use_stemmer=True (Porter stems), so \"two apple\" for \"two apples\" passes there (1.0) and not here (0.5).")
                .changed("rouge_gate", parameters.rougeGate(), d.rougeGate(), "the reference code")
                .changed("threshold", parameters.threshold(), d.threshold(), "the paper")
                .changed("max_new_tokens", parameters.maxNewTokens(), d.maxNewTokens(), "the reference code")
                .when(parameters.mode() == RetrievalScan.Mode.TEACHER, "Teacher-forced mode (HeadScope's): the needle's answer is "
                        + "fed and every answer position scored in one pass; the reference decodes greedily (mode generate). The two "
                        + "agree whenever the greedy answer equals the needle's answer.")
                .when(parameters.mode() != RetrievalScan.Mode.TEACHER, "Greedy decoding stops at the model's end-of-sequence token "
                        + "as well as after max_new_tokens; the reference decodes until a newline id or 50 tokens, so it can score "
                        + "steps after <eos> that HeadScope does not.")
                .add("The needle is moved back to the previous sentence boundary with this model's tokenizer (sentence end '"
                        + sentenceEnd + "'); the reference looks for LLaMA's period token id whatever the tokenizer.")
                .list();
    }
}
