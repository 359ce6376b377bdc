package org.headscope.app.cli;

import org.headscope.app.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * export-figure writes one figure of the off-screen workbench: the map as SVG and PDF with the model, layer and head
 * in its title, a panel's plot by --figure plot, and refuses what it cannot write with exit 2. The workbench runs in
 * a JVM of its own (JavaFX starts once per JVM).
 */
class ExportFigureTest {
    @TempDir
    Path dir;

    private CliRun inOwnJvm(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss4m",
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"), "-XX:-CreateCoredumpOnCrash",
                "-Dheadscope.cache=" + System.getProperty("headscope.cache", dir.resolve("cache").toString()),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        int code = p.waitFor();
        return new CliRun(code, Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static List<String> texts(Path svg) throws Exception {
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        NodeList n = d.getElementsByTagName("text");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.getLength(); i++) {
            out.add(n.item(i).getTextContent());
        }
        return out;
    }

    @Test
    void theMapAsSvgAndPdfAndASinksPlot() throws Exception {
        String text = "the green palace was built by nineteen apples . question : who built the green palace ? answer :";
        Path svg = dir.resolve("map.svg");
        CliRun r = inOwnJvm("export-figure", svg.toString(), "--model", "needle-gpt", "--text", text, "--layer", "2", "--head", "5",
                "--pdf", dir.resolve("also.pdf").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(texts(svg).stream().anyMatch(t -> t.contains("needle-gpt") && t.contains("layer 2, head 5")), texts(svg).toString());
        String pdf = Files.readString(dir.resolve("also.pdf"), StandardCharsets.ISO_8859_1);
        assertTrue(pdf.startsWith("%PDF-") && pdf.endsWith("%%EOF\n"));

        Path plot = dir.resolve("sinks.svg");
        r = inOwnJvm("export-figure", plot.toString(), "--model", "needle-gpt", "--text", text, "--panel", "Sinks", "--figure", "plot");
        assertEquals(0, r.code(), r.err());
        assertTrue(texts(plot).stream().anyMatch(t -> t.contains("Sink rate")), texts(plot).toString());
    }

    @Test
    void whatCannotBeWrittenIsBadUsage() {
        CliRun r = CliRun.of("export-figure", dir.resolve("x.gif").toString());
        assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
        assertTrue(r.err().contains(".svg, .pdf or .png"), r.err());
        r = CliRun.of("export-figure", dir.resolve("x.svg").toString(), "--figure", "plot");
        assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
        assertTrue(r.err().contains("--panel"), r.err());
        r = CliRun.of("export-figure", dir.resolve("x.png").toString(), "--figure", "scores", "--panel", "Sinks");
        assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
        r = CliRun.of("export-figure", dir.resolve("x.svg").toString(), "--figure", "heads");
        assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
    }
}
