package org.headscope.app.export;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;

import javax.imageio.ImageIO;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.Deflater;

/**
 * Vector PDF of a figure, drawn from the SVG that {@link Svg} writes: rectangles, lines, polylines, text (Helvetica,
 * rotated labels included) and embedded raster images (a long map's cells) become PDF drawing operators, so the PDF
 * shows exactly what the SVG shows, on a page of the figure's size. Text uses the standard Helvetica fonts, which
 * every PDF reader has; characters outside their Latin-1 range are written as '?' (arrows as ASCII).
 */
public final class Pdf {
    /** Helvetica advance widths (1/1000 em) of the printable ASCII characters 32..126, from the font's AFM. */
    private static final int[] HELVETICA = {
            278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
            556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
            1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
            667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
            333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
            556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584};
    private static final Pattern ROTATE = Pattern.compile("rotate\\(\\s*([-\\d.eE]+)(?:[\\s,]+([-\\d.eE]+)[\\s,]+([-\\d.eE]+))?\\s*\\)");

    private Pdf() {
    }

    /** Writes the PDF of an SVG figure to a file. */
    public static Path write(String svg, Path file) throws IOException {
        Files.write(file, fromSvg(svg));
        return file;
    }

    /** The PDF of an SVG figure written by {@link Svg}. */
    public static byte[] fromSvg(String svg) {
        Element root = parse(svg).getDocumentElement();
        double w = length(root.getAttribute("width"), 0, 600);
        double h = length(root.getAttribute("height"), 0, 400);
        Page page = new Page(w, h);
        // SVG coordinates (y down) onto the PDF page (y up)
        page.ops.append(String.format(Locale.ROOT, "1 0 0 -1 0 %s cm\n", num(h)));
        draw(root, page);
        return page.document();
    }

    private static void draw(Element e, Page page) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c) {
                switch (c.getLocalName() == null ? c.getTagName() : c.getLocalName()) {
                    case "rect" -> rect(c, page);
                    case "line" -> line(c, page);
                    case "polyline" -> polyline(c, page);
                    case "text" -> text(c, page);
                    case "image" -> image(c, page);
                    case "g" -> {
                        page.ops.append("q\n");
                        transform(c.getAttribute("transform"), page);
                        draw(c, page);
                        page.ops.append("Q\n");
                    }
                    default -> {
                        // title, desc, style: nothing to draw
                    }
                }
            }
        }
    }

    private static void rect(Element c, Page page) {
        String fill = c.getAttribute("fill");
        if (fill.equals("none")) {
            return;
        }
        double x = length(c.getAttribute("x"), page.width, 0);
        double y = length(c.getAttribute("y"), page.height, 0);
        double w = length(c.getAttribute("width"), page.width, 0);
        double h = length(c.getAttribute("height"), page.height, 0);
        page.ops.append(colour(fill.isEmpty() ? "black" : fill, "rg"))
                .append(String.format(Locale.ROOT, "%s %s %s %s re f\n", num(x), num(y), num(w), num(h)));
    }

    private static void line(Element c, Page page) {
        page.ops.append("q\n");
        stroke(c, page);
        page.ops.append(String.format(Locale.ROOT, "%s %s m %s %s l S\nQ\n", num(d(c, "x1")), num(d(c, "y1")), num(d(c, "x2")), num(d(c, "y2"))));
    }

    private static void polyline(Element c, Page page) {
        String[] pts = c.getAttribute("points").trim().split("[\\s]+");
        if (pts.length < 2) {
            return;
        }
        page.ops.append("q\n");
        stroke(c, page);
        for (int i = 0; i < pts.length; i++) {
            String[] xy = pts[i].split(",");
            page.ops.append(num(Double.parseDouble(xy[0]))).append(' ').append(num(Double.parseDouble(xy[1]))).append(i == 0 ? " m\n" : " l\n");
        }
        page.ops.append("S\nQ\n");
    }

    private static void stroke(Element c, Page page) {
        String stroke = c.getAttribute("stroke");
        page.ops.append(colour(stroke.isEmpty() ? "black" : stroke, "RG"));
        String width = c.getAttribute("stroke-width");
        page.ops.append(num(width.isEmpty() ? 1 : Double.parseDouble(width))).append(" w\n");
        String dash = c.getAttribute("stroke-dasharray");
        if (!dash.isBlank()) {
            page.ops.append('[').append(String.join(" ", dash.trim().split("[\\s,]+"))).append("] 0 d\n");
        }
    }

    private static void text(Element c, Page page) {
        String s = c.getTextContent();
        if (s == null || s.isEmpty()) {
            return;
        }
        double size = length(c.getAttribute("font-size"), 0, 12);
        double x = d(c, "x");
        double y = d(c, "y");
        String anchor = c.getAttribute("text-anchor");
        String text = latin1(s);
        double width = width(text) * size / 1000;
        double shift = anchor.equals("middle") ? width / 2 : anchor.equals("end") ? width : 0;
        boolean bold = c.getAttribute("font-weight").equals("bold");
        String fill = c.getAttribute("fill");
        page.ops.append("q\n");
        transform(c.getAttribute("transform"), page);
        page.ops.append(colour(fill.isEmpty() ? "black" : fill, "rg"))
                // the text matrix flips glyphs back upright in the y-down page space
                .append(String.format(Locale.ROOT, "BT /%s %s Tf 1 0 0 -1 %s %s Tm (%s) Tj ET\nQ\n", bold ? "F2" : "F1", num(size),
                        num(x - shift), num(y), escape(text)));
    }

    private static void image(Element c, Page page) {
        String href = c.getAttribute("href");
        if (href.isEmpty()) {
            href = c.getAttributeNS("http://www.w3.org/1999/xlink", "href");
        }
        int comma = href.indexOf("base64,");
        if (comma < 0) {
            return;
        }
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(href.substring(comma + 7))));
        } catch (IOException e) {
            throw new IllegalStateException("the figure's embedded image cannot be read", e);
        }
        if (img == null) {
            return;
        }
        String name = page.addImage(img);
        double x = d(c, "x");
        double y = d(c, "y");
        double w = d(c, "width");
        double h = d(c, "height");
        page.ops.append(String.format(Locale.ROOT, "q %s 0 0 %s %s %s cm /%s Do Q\n", num(w), num(-h), num(x), num(y + h), name));
    }

    private static void transform(String t, Page page) {
        if (t == null || t.isBlank()) {
            return;
        }
        Matcher m = ROTATE.matcher(t);
        if (!m.find()) {
            return;
        }
        double a = Math.toRadians(Double.parseDouble(m.group(1)));
        double cx = m.group(2) == null ? 0 : Double.parseDouble(m.group(2));
        double cy = m.group(3) == null ? 0 : Double.parseDouble(m.group(3));
        double cos = Math.cos(a);
        double sin = Math.sin(a);
        // translate(cx, cy) rotate(a) translate(-cx, -cy), as SVG defines rotate(a cx cy)
        page.ops.append(String.format(Locale.ROOT, "%s %s %s %s %s %s cm\n", num(cos), num(sin), num(-sin), num(cos),
                num(cx - cx * cos + cy * sin), num(cy - cx * sin - cy * cos)));
    }

    private static double d(Element c, String attr) {
        String v = c.getAttribute(attr);
        return v.isEmpty() ? 0 : Double.parseDouble(v);
    }

    private static double length(String v, double whole, double fallback) {
        if (v == null || v.isBlank()) {
            return fallback;
        }
        v = v.trim();
        if (v.endsWith("%")) {
            return whole * Double.parseDouble(v.substring(0, v.length() - 1)) / 100;
        }
        return Double.parseDouble(v.replace("px", ""));
    }

    /** A fill or stroke colour ({@code #rrggbb}, {@code #rgb}, or a few names) as a PDF colour operator. */
    static String colour(String c, String op) {
        int rgb = switch (c.trim().toLowerCase(Locale.ROOT)) {
            case "white" -> 0xffffff;
            case "black" -> 0;
            case "red" -> 0xff0000;
            case "grey", "gray" -> 0x808080;
            default -> {
                String hex = c.trim().startsWith("#") ? c.trim().substring(1) : "000000";
                if (hex.length() == 3) {
                    hex = "" + hex.charAt(0) + hex.charAt(0) + hex.charAt(1) + hex.charAt(1) + hex.charAt(2) + hex.charAt(2);
                }
                yield Integer.parseInt(hex, 16);
            }
        };
        return String.format(Locale.ROOT, "%s %s %s %s\n", num(((rgb >> 16) & 255) / 255.0), num(((rgb >> 8) & 255) / 255.0),
                num((rgb & 255) / 255.0), op);
    }

    /** The string in the fonts' Latin-1 range: arrows as ASCII, anything else outside it as '?'. */
    static String latin1(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\u2193' -> b.append("(down)");
                case '\u2192' -> b.append("->");
                case '\u2190' -> b.append("<-");
                case '\u2191' -> b.append("(up)");
                case '\u00d7' -> b.append('x');
                case '\u2212', '\u2013', '\u2014' -> b.append('-');
                case '\u2026' -> b.append("...");
                default -> b.append(c >= 32 && c < 127 ? c : c >= 160 && c <= 255 ? c : '?');
            }
        }
        return b.toString();
    }

    /** Width of a Latin-1 string in Helvetica, 1/1000 em (characters above ASCII counted as an average letter). */
    static double width(String s) {
        double w = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            w += c >= 32 && c <= 126 ? HELVETICA[c - 32] : 556;
        }
        return w;
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == ')' || c == '\\') {
                b.append('\\').append(c);
            } else if (c > 126) {
                b.append(String.format(Locale.ROOT, "\\%03o", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String num(double v) {
        if (Math.abs(v) < 1e-9) {
            return "0";
        }
        String s = String.format(Locale.ROOT, "%.3f", v);
        s = s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
        return s.equals("-0") ? "0" : s;
    }

    private static Document parse(String svg) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return f.newDocumentBuilder().parse(new InputSource(new StringReader(svg)));
        } catch (Exception e) {
            throw new IllegalStateException("the figure's SVG cannot be read back: " + e.getMessage(), e);
        }
    }

    /** One page: its drawing operators and the images they draw. */
    private static final class Page {
        final double width;
        final double height;
        final StringBuilder ops = new StringBuilder();
        final List<BufferedImage> images = new ArrayList<>();

        Page(double width, double height) {
            this.width = width;
            this.height = height;
        }

        String addImage(BufferedImage img) {
            images.add(img);
            return "Im" + images.size();
        }

        byte[] document() {
            List<byte[]> objects = new ArrayList<>();
            // 1 catalog, 2 pages, 3 page, 4 content, 5 Helvetica, 6 Helvetica-Bold, 7.. images
            StringBuilder xobjects = new StringBuilder();
            for (int i = 0; i < images.size(); i++) {
                xobjects.append("/Im").append(i + 1).append(' ').append(7 + i).append(" 0 R ");
            }
            objects.add(ascii("<< /Type /Catalog /Pages 2 0 R >>"));
            objects.add(ascii("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"));
            objects.add(ascii(String.format(Locale.ROOT, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Contents 4 0 R "
                    + "/Resources << /Font << /F1 5 0 R /F2 6 0 R >> /XObject << %s>> >> >>", num(width), num(height), xobjects)));
            objects.add(stream("", deflate(ops.toString().getBytes(StandardCharsets.ISO_8859_1))));
            objects.add(ascii("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
            objects.add(ascii("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"));
            for (BufferedImage img : images) {
                int w = img.getWidth();
                int h = img.getHeight();
                byte[] rgb = new byte[w * h * 3];
                int i = 0;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int p = img.getRGB(x, y);
                        rgb[i++] = (byte) (p >> 16);
                        rgb[i++] = (byte) (p >> 8);
                        rgb[i++] = (byte) p;
                    }
                }
                objects.add(stream(String.format(Locale.ROOT, "/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                        + "/BitsPerComponent 8 /Interpolate false ", w, h), deflate(rgb)));
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(ascii("%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n"));
            long[] offsets = new long[objects.size()];
            for (int i = 0; i < objects.size(); i++) {
                offsets[i] = out.size();
                out.writeBytes(ascii((i + 1) + " 0 obj\n"));
                out.writeBytes(objects.get(i));
                out.writeBytes(ascii("\nendobj\n"));
            }
            long xref = out.size();
            StringBuilder x = new StringBuilder("xref\n0 " + (objects.size() + 1) + "\n0000000000 65535 f \n");
            for (long o : offsets) {
                x.append(String.format(Locale.ROOT, "%010d 00000 n \n", o));
            }
            x.append("trailer\n<< /Size ").append(objects.size() + 1).append(" /Root 1 0 R >>\nstartxref\n").append(xref).append("\n%%EOF\n");
            out.writeBytes(ascii(x.toString()));
            return out.toByteArray();
        }

        private static byte[] stream(String dict, byte[] data) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(ascii("<< " + dict + "/Length " + data.length + " /Filter /FlateDecode >>\nstream\n"));
            b.writeBytes(data);
            b.writeBytes(ascii("\nendstream"));
            return b.toByteArray();
        }

        private static byte[] deflate(byte[] data) {
            Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
            try {
                d.setInput(data);
                d.finish();
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                byte[] buf = new byte[65536];
                while (!d.finished()) {
                    out.write(buf, 0, d.deflate(buf));
                }
                return out.toByteArray();
            } finally {
                d.end();
            }
        }

        private static byte[] ascii(String s) {
            return s.getBytes(StandardCharsets.ISO_8859_1);
        }
    }
}
