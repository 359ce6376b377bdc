package org.headscope.analysis.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Each report's HTML opens with its headline numbers (the sections the analyses write: VHD's answers and T-VHD,
 * ablation's clean loss and continuations, redistribution's KL and top tokens, the retrieval summary), names the model
 * in its title, and draws signed values on a diverging scale with the sign visible.
 */
class HtmlHeadlinesTest {
    static Provenance provenance() {
        return new Provenance("needle-gpt (model.onnx)", "abc", "pytorch", 17, "CPU", "float32", "tokenizer.json", "p",
                "HeadScope test", "now", Map.of("loss_delta", "headscope-v1"));
    }

    static HeadReport report(String analysis, Map<String, Object> sections, List<HeadReport.Figure> figures) {
        List<Map<String, Object>> heads = List.of(
                new LinkedHashMap<>(Map.of("layer", 0, "head", 0, "loss_delta", -3.2)),
                new LinkedHashMap<>(Map.of("layer", 0, "head", 1, "loss_delta", 1.5)));
        return new HeadReport(analysis, Map.of("mode", "zero"), provenance(), heads, sections, figures);
    }

    @Test
    void theHeadlineNumbersOfEachAnalysisAreInItsHtml() {
        Map<String, Object> vhd = new LinkedHashMap<>();
        vhd.put("summary", new LinkedHashMap<>(Map.of("answer", "blue", "answer_with_vhr", "red", "t_vhd", 119.125)));
        String html = HtmlReport.render(report("vhd", vhd, List.of()));
        assertTrue(html.contains("Headline results"));
        assertTrue(html.contains("blue") && html.contains("red") && html.contains("119.1"), html);

        Map<String, Object> ablation = new LinkedHashMap<>();
        ablation.put("clean_loss", 0.4321);
        ablation.put("generated", List.of(Map.of("ablated", "none", "text", "two apples"), Map.of("ablated", "2.5", "text", "what")));
        html = HtmlReport.render(report("ablation", ablation, List.of()));
        assertTrue(html.contains("0.4321") && html.contains("two apples") && html.contains("what"), html);

        Map<String, Object> redistribution = new LinkedHashMap<>();
        redistribution.put("kl_next_token", 0.01234);
        redistribution.put("top_tokens", List.of(Map.of("text", "two", "before", 0.9, "after", 0.5)));
        html = HtmlReport.render(report("redistribution", redistribution, List.of()));
        assertTrue(html.contains("0.01234") && html.contains("two"), html);

        Map<String, Object> retrieval = new LinkedHashMap<>();
        retrieval.put("summary", new LinkedHashMap<>(Map.of("tests", 40, "exact_match", 0.975)));
        html = HtmlReport.render(report("retrieval", retrieval, List.of()));
        assertTrue(html.contains("40") && html.contains("0.975"), html);
        assertTrue(html.contains("<title>HeadScope · retrieval · needle-gpt (model.onnx)</title>"), html);
    }

    @Test
    void signedFiguresAreDivergingAndRankedWithTheSignVisible() {
        List<Map<String, Object>> heads = report("ablation", Map.of(), List.of()).heads();
        HeadReport.Figure heat = HeadReport.headHeatmap("loss change", "loss_delta", heads);
        HeadReport.Figure bars = HeadReport.rankedBars("Top heads", "loss_delta", heads, 2);
        String html = HtmlReport.render(report("ablation", Map.of(), List.of(heat, bars)));
        assertTrue(html.contains("blue &lt; 0 &lt; red"), "the heat map says its scale is diverging");
        assertTrue(html.contains("#2166ac") && html.contains("#b2182b"), "negative bars blue, positive red");
        assertTrue(html.contains("+1.5") && html.contains("-3.2"), "the sign is shown");
        String barsPart = html.substring(html.indexOf("Top heads"));
        assertTrue(barsPart.indexOf("+1.5") < barsPart.indexOf("-3.2"), "ranked by signed value: the helping head first");
    }

    @Test
    void accuracyCurvesStartAtZeroAndDrawChance() {
        HeadReport.Figure acc = new HeadReport.Figure("curve", "Needle accuracy (exact match) by depth", "depth", "accuracy",
                List.of("0", "50"), List.of("128"), List.of(List.of(0.933, 1.0)));
        Map<String, Object> sections = Map.of("chance_levels", Map.of("Needle accuracy (exact match) by depth", 0.25));
        String html = HtmlReport.render(report("retrieval", sections, List.of(acc)));
        assertTrue(html.contains(">0<") || html.contains(">0.000<") || html.contains(">0</text>"), "the axis starts at 0");
        assertTrue(html.contains("chance 0.25"), html);
        assertTrue(html.contains("stroke-dasharray"), "chance is a dashed line");
    }

    @Test
    void aHeatMapWithAChanceLevelSpansZeroToOneAndMarksChance() {
        List<List<Double>> grid = List.of(List.of(0.02, 0.04), List.of(0.03, 0.05));
        HeadReport.Figure f = new HeadReport.Figure("heatmap", "Induction score (repeated random tokens)", "head", "layer",
                List.of(), List.of("induction"), grid);
        Map<String, Object> sections = new LinkedHashMap<>();
        sections.put("chance_levels", Map.of("Induction score (repeated random tokens)", 0.03));
        String with = HtmlReport.render(report("retrieval", sections, List.of(f)));
        assertTrue(with.contains("chance 0.03"), "chance marked on the colour bar");
        assertTrue(with.contains(">1<") || with.contains(">1.0<") || with.contains(">1.000<"), "scale up to 1: " + with);
        String without = HtmlReport.render(report("retrieval", new LinkedHashMap<>(), List.of(f)));
        assertTrue(!without.contains("chance 0.03"), "no chance mark without a chance level");
    }

    @Test
    void beforeAndAfterMapsShareOneColourRange() {
        HeadReport.Figure before = new HeadReport.Figure("heatmap", "VHD", "head", "layer", List.of(), List.of("vhd"),
                List.of(List.of(0.0, 8.0)));
        HeadReport.Figure after = new HeadReport.Figure("heatmap", "VHD with VHR applied", "head", "layer", List.of(),
                List.of("vhd_after_vhr"), List.of(List.of(0.0, 16.0)));
        String html = HtmlReport.render(report("vhd", new LinkedHashMap<>(), List.of(before, after)));
        // both colour bars are labelled with the shared maximum 16; neither with its own maximum 8
        assertEquals(2, count(html, ">16.00<"), html);
        assertEquals(0, count(html, ">8.000<"), html);
        assertTrue(html.contains("Colour range shared"));
        // a lone map keeps its own range
        String alone = HtmlReport.render(report("vhd", new LinkedHashMap<>(), List.of(before)));
        assertEquals(1, count(alone, ">8.000<"), alone);
    }

    @Test
    void summariesWithListsReadAsValuesAndEveryColumnIsDefinedInWords() {
        Map<String, Object> vhd = new LinkedHashMap<>();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("t_vhd", 119.125);
        summary.put("reinforced_heads", List.of("0.2", "1.3"));
        vhd.put("summary", summary);
        String html = HtmlReport.render(report("vhd", vhd, List.of()));
        assertTrue(html.contains("<th>summary.reinforced_heads</th><td>0.2, 1.3</td>"), html);
        assertTrue(html.contains("<th>summary.t_vhd</th><td>119.1</td>"), html);
        assertTrue(!html.contains("{t_vhd="), "no Java map text");
        assertTrue(html.contains("What the columns mean"));
        assertTrue(html.contains(MetricDefinitions.of("loss_delta", List.of()).text().replace("'", "&#39;")) ||
                html.contains("teacher-forced loss on the target"), html);
        assertTrue(html.contains("docs/METRICS.md"));
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
