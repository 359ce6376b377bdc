package org.headscope.app.export;

import org.headscope.analysis.report.HeadReport;
import org.headscope.app.attention.ColourScale;
import org.headscope.hooks.FloatTensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.Inflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PDF of a figure, read back with a plain parser written here: the cross-reference table points at each object,
 * the page has the figure's size, the drawing holds the figure's title, axis titles and colours, rotated labels are
 * rotated, and a long map's embedded image comes back pixel for pixel.
 */
class PdfTest {
    private static String latin(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** Every stream of the file, inflated, with the dictionary in front of it. */
    private static List<String[]> streams(byte[] pdf) throws Exception {
        String s = latin(pdf);
        List<String[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("<<([^\\n]*?)/Length (\\d+) /Filter /FlateDecode >>\\nstream\\n").matcher(s);
        while (m.find()) {
            int start = m.end();
            int len = Integer.parseInt(m.group(2));
            Inflater inf = new Inflater();
            inf.setInput(pdf, start, len);
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                data.write(buf, 0, n);
            }
            inf.end();
            assertTrue(s.startsWith("\nendstream", start + len), "stream length matches its data");
            out.add(new String[]{m.group(1), latin(data.toByteArray())});
        }
        return out;
    }

    private static void assertWellFormed(byte[] pdf) {
        String s = latin(pdf);
        assertTrue(s.startsWith("%PDF-1."), "header");
        assertTrue(s.endsWith("%%EOF\n"), "trailer");
        int startxref = Integer.parseInt(s.substring(s.lastIndexOf("startxref\n") + 10, s.lastIndexOf("\n%%EOF")).trim());
        assertTrue(s.startsWith("xref\n", startxref), "startxref points at the table");
        String[] lines = s.substring(startxref).split("\n");
        int count = Integer.parseInt(lines[1].split(" ")[1]);
        for (int i = 1; i < count; i++) {
            int offset = Integer.parseInt(lines[2 + i].substring(0, 10));
            assertTrue(s.startsWith(i + " 0 obj\n", offset), "object " + i + " at its offset " + offset);
        }
    }

    @Test
    void aPlotBecomesVectorPdfWithItsTextAndColours() throws Exception {
        HeadReport.Figure f = new HeadReport.Figure("curve", "Pruning curve (global)", "fraction pruned", "loss",
                List.of("0", "0.5", "1"), List.of("loss"), List.of(List.of(2.0, 3.0, 8.0)));
        String svg = Svg.plot(f, 1.0);
        byte[] pdf = Pdf.fromSvg(svg);
        assertWellFormed(pdf);
        assertTrue(latin(pdf).contains("/MediaBox [0 0 560 300]"), "page of the figure's size");
        List<String[]> streams = streams(pdf);
        String ops = streams.getFirst()[1];
        assertTrue(ops.contains("(Pruning curve \\(global\\)) Tj"), ops);
        assertTrue(ops.contains("(fraction pruned) Tj"));
        assertTrue(ops.contains("(loss) Tj"));
        // the first series colour #3b6ea5 strokes the curve
        assertTrue(ops.contains("0.231 0.431 0.647 RG"), ops);
        // the chance level is dashed
        assertTrue(ops.contains("[4 3] 0 d"), ops);
        // the y-axis title is rotated by -90 degrees: cos 0, sin -1
        assertTrue(ops.contains("0 -1 1 0 "), ops);
    }

    @Test
    void aLongMapsEmbeddedCellsComeBackPixelForPixel() throws Exception {
        int n = 200;
        float[] p = new float[n * n];
        for (int q = 0; q < n; q++) {
            for (int k = 0; k <= q; k++) {
                p[q * n + k] = k == 0 ? 0.5f : 0.5f / q;
            }
            if (q == 0) {
                p[0] = 1;
            }
        }
        String[] tokens = new String[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = "t" + i;
        }
        String svg = Svg.attentionMap("needle-gpt \u00b7 layer 2, head 5", tokens, new FloatTensor(new long[]{n, n}, p),
                ColourScale.LINEAR, true, List.of(0, n - 1), "attention probability");
        byte[] pdf = Pdf.fromSvg(svg);
        assertWellFormed(pdf);
        String[] image = streams(pdf).stream().filter(s -> s[0].contains("/Subtype /Image")).findFirst().orElseThrow();
        Matcher wh = Pattern.compile("/Width (\\d+) /Height (\\d+)").matcher(image[0]);
        assertTrue(wh.find());
        int w = Integer.parseInt(wh.group(1));
        int h = Integer.parseInt(wh.group(2));
        assertEquals(w * h * 3, image[1].length(), "RGB bytes of the image");
        // the SVG's own embedded PNG, decoded independently, has the same pixels
        Matcher href = Pattern.compile("base64,([A-Za-z0-9+/=]+)\"").matcher(svg);
        assertTrue(href.find());
        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                java.util.Base64.getDecoder().decode(href.group(1))));
        assertEquals(png.getWidth(), w);
        assertEquals(png.getHeight(), h);
        for (int[] xy : new int[][]{{0, 0}, {w - 1, h - 1}, {w / 2, h / 3}, {0, h - 1}}) {
            int rgb = png.getRGB(xy[0], xy[1]);
            int i = (xy[1] * w + xy[0]) * 3;
            assertEquals((rgb >> 16) & 255, image[1].charAt(i), "red at " + xy[0] + "," + xy[1]);
            assertEquals((rgb >> 8) & 255, image[1].charAt(i + 1));
            assertEquals(rgb & 255, image[1].charAt(i + 2));
        }
        String ops = streams(pdf).getFirst()[1];
        assertTrue(ops.contains("(needle-gpt \u00b7 layer 2, head 5) Tj") || ops.contains("(needle-gpt \\267 layer 2, head 5) Tj"), ops);
        assertTrue(ops.contains("/Im1 Do"));
        // the arrow of the axis title, outside the fonts' range, is written in ASCII
        assertTrue(ops.contains("(query \\(down\\)) Tj"), ops);
    }
}
