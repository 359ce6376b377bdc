package org.headscope.app.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import javax.xml.parsers.DocumentBuilderFactory;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Viridis;
import org.headscope.analysis.report.MetricDefinitions;
import org.headscope.app.panel.PlotView;
import org.headscope.app.export.Svg;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.Intervention.Head;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/** Honest figures: signed scores on a diverging map centred on 0, one-signed ones from 0, SVG that parses with its titles. */
public class FiguresTest {
    @Test
    void signedScoresUseTheDivergingMapCentredOnZeroAndRankBySignedValue() {
        HeadScores s = new HeadScores("loss_delta", Map.of(new Head(0, 0), -3.2, new Head(0, 1), 1.0, new Head(1, 0), 0.0));
        assertTrue(s.signed());
        assertEquals(-3.2, s.low(), 1e-12);
        assertEquals(3.2, s.high(), 1e-12, "symmetric, so equal magnitudes get equal strength");
        assertEquals(Diverging.rgb(0), s.rgb(0.0), "0 is the white middle");
        assertEquals(0xf7f7f7, s.rgb(0.0));
        int negative = s.rgb(-3.2);
        int positive = s.rgb(1.0);
        assertTrue((negative & 0xff) > ((negative >> 16) & 0xff), "below 0 is blue");
        assertTrue(((positive >> 16) & 0xff) > (positive & 0xff), "above 0 is red");
        assertEquals(-1.0, Diverging.invert(s.rgb(-3.2)), 0.01);
        assertTrue(Viridis.invert(s.rgb(-3.2) & 0xffffff) >= 0, "viridis is not the map used");
    }

    @Test
    void oneSignedScoresStartTheirScaleAtZero() {
        HeadScores s = new HeadScores("share", Map.of(new Head(0, 0), 0.933, new Head(0, 1), 1.0));
        assertFalse(s.signed());
        assertEquals(0, s.low());
        assertEquals(1.0, s.high());
        assertEquals(0.933, s.position(new Head(0, 0)), 1e-12, "0.933 is near the top, not the bottom");
    }

    @Test
    void allZeroScoresSitAtTheZeroEndNotTheTop() {
        // e.g. ACT selecting nothing: every head's largest attention change is exactly 0
        HeadScores s = new HeadScores("act: largest attention change", Map.of(new Head(0, 0), 0.0, new Head(1, 1), 0.0));
        assertEquals(0, s.low());
        assertEquals(0, s.high());
        assertEquals(0.0, s.position(new Head(0, 0)));
        assertEquals(Viridis.rgb(0), s.rgb(0.0), "the bottom colour of viridis, not its top");
    }

    @Test
    void accuracyAndShareAxesStartAtZero() {
        HeadReport.Figure acc = new HeadReport.Figure("curve", "Needle accuracy (exact match) by depth", "depth", "accuracy",
                List.of("0", "50", "100"), List.of("128"), List.of(List.of(0.933, 1.0, 0.967)));
        double[] range = PlotView.yRange(acc, null);
        assertEquals(0, range[0]);
        assertEquals(1, range[1]);
        assertEquals(0.25, PlotView.yRange(acc, 0.25)[0] + 0.25, 1e-12);
    }

    @Test
    void svgFiguresParseAsXmlAndHoldTheirTitles() throws Exception {
        float[] small = new float[]{1, 0, 0, 0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f};
        String svg = Svg.attentionMap("needle-gpt \u00b7 layer 2, head 5 <clean>", new String[]{"<bos>", "a", "b"},
                new FloatTensor(new long[]{3, 3}, small), ColourScale.LINEAR, true, List.of(0, 2), "attention probability");
        Document d = parse(svg);
        assertTrue(texts(d).contains("needle-gpt \u00b7 layer 2, head 5 <clean>"), texts(d).toString());
        assertTrue(texts(d).contains("attention probability"));
        assertTrue(texts(d).contains("query \u2193"));
        // token labels are escaped once: the row and the column label both read <bos>
        assertEquals(2, texts(d).stream().filter("<bos>"::equals).count(), texts(d).toString());
        float[] big = new float[200 * 200];
        for (int q = 0; q < 200; q++) {
            big[q * 200] = 1;
        }
        Document large = parse(Svg.attentionMap("long map", new String[200], new FloatTensor(new long[]{200, 200}, big),
                ColourScale.LOG, true, List.of(0, 199), "attention probability (log10)"));
        assertEquals(1, large.getElementsByTagName("image").getLength(), "long maps embed their cells as one image");
        assertTrue(texts(large).contains("long map"));
        HeadScores s = new HeadScores("Ablation sweep: loss_delta", Map.of(new Head(0, 0), -1.0, new Head(1, 1), 2.0));
        assertTrue(texts(parse(Svg.scoreHeatmap("needle-gpt \u00b7 loss", s, 2, 2))).contains("needle-gpt \u00b7 loss"));
        HeadReport.Figure f = new HeadReport.Figure("curve", "Pruning curve", "fraction pruned", "loss", List.of("0", "1"),
                List.of("loss"), List.of(List.of(2.0, 8.0)));
        assertTrue(texts(parse(Svg.plot(f, 0.5))).contains("Pruning curve"));
    }

    @Test
    void flagsShowAsTicksAndSharesAsPercent() {
        assertEquals("\u2713", MetricDefinitions.format(1.0, MetricDefinitions.Kind.FLAG));
        assertEquals("", MetricDefinitions.format(0.0, MetricDefinitions.Kind.FLAG));
        assertEquals("44.9%", MetricDefinitions.format(0.449, MetricDefinitions.Kind.PERCENT));
        assertEquals(MetricDefinitions.Kind.FLAG, MetricDefinitions.of("sink_head", List.of(1.0, 0.0)).kind());
        assertEquals(MetricDefinitions.Kind.PERCENT, MetricDefinitions.of("first_token", List.of(0.4)).kind());
    }

    public static Document parse(String svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    public static List<String> texts(Document d) {
        NodeList n = d.getElementsByTagName("text");
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < n.getLength(); i++) {
            out.add(n.item(i).getTextContent());
        }
        return out;
    }
}
