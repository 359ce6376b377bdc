package org.headscope.app.cli;

import org.headscope.app.Cli;
import ai.onnx.proto.OnnxMl;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.app.util.UserPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each defect of the hostile-input campaign, refused with its reason and its exit code (2 usage, 3 model or input,
 * 5 internal), found before any long work, with nothing written where it should not be.
 */
class HostileInputTest {
    static final Path LLAMA = Path.of("../onnx-hooks/src/test/fixtures/llama/model.onnx");

    @TempDir
    Path dir;

    private static void assertRefused(CliRun r, int code, String... words) {
        assertEquals(code, r.code(), r.err());
        for (String w : words) {
            assertTrue(r.err().contains(w), "'" + w + "' in: " + r.err());
        }
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(r.err().contains("Exception"), "no exception name: " + r.err());
    }

    // 1. a prompt longer than the model takes: its token count and the limit, exit 3

    @Test
    void aPromptLongerThanTheModelTakesIsRefusedWithItsTokenCount() {
        String text = "the cat sat on the mat . ".repeat(1000);
        CliRun r = CliRun.of("attention", "needle-gpt", "--text", text, "--out", dir.resolve("a.json").toString(), "--device", "cpu");
        assertRefused(r, ExitCode.MODEL.code(), "The prompt has 7001 tokens; needle-gpt takes at most 512");
        assertFalse(Files.exists(dir.resolve("a.json")));
    }

    @Test
    void tenThousandAndOneIdsAreRefusedWithTheLimit() {
        String ids = String.join(",", java.util.Collections.nCopies(10_001, "5"));
        CliRun r = CliRun.of("attention", "needle-gpt", "--ids", ids, "--out", dir.resolve("a.json").toString(), "--device", "cpu");
        assertRefused(r, ExitCode.MODEL.code(), "10001 tokens", "at most 512");
    }

    // 7. silent bad values

    @Test
    void negativeEmptyAndOutOfVocabularyIdsAreRefused() {
        String out = dir.resolve("a.json").toString();
        assertRefused(CliRun.of("attention", "needle-gpt", "--ids", "-3,4", "--out", out, "--device", "cpu"), ExitCode.USAGE.code(), "token id -3");
        assertRefused(CliRun.of("attention", "needle-gpt", "--ids", "", "--out", out, "--device", "cpu"), ExitCode.USAGE.code(), "no tokens");
        assertRefused(CliRun.of("attention", "needle-gpt", "--ids", "1,5000", "--out", out, "--device", "cpu"), ExitCode.USAGE.code(), "token id 5000", "0..4999");
        assertFalse(Files.exists(dir.resolve("a.json")));
    }

    @Test
    void notANumberIsNotANumber() {
        assertRefused(CliRun.of("ablate", "needle-gpt", "--prompt", "a b", "--target", "c", "--mode", "scale", "--alpha", "NaN",
                "--out", dir.toString()), ExitCode.USAGE.code(), "--alpha must be a finite number");
        assertRefused(CliRun.of("sinks", "needle-gpt", "--eps", "Infinity", "--out", dir.toString()), ExitCode.USAGE.code(), "finite");
    }

    // 6. sizes checked against the model before any work

    @Test
    void enormousWindowsAndGridsAreRefusedBeforeAnyWork() {
        assertRefused(CliRun.of("sinks", "needle-gpt", "--tokens", "100000", "--out", dir.resolve("s").toString(), "--device", "cpu"),
                ExitCode.MODEL.code(), "100000 tokens", "at most 512");
        assertRefused(CliRun.of("retrieval", "needle-gpt", "--depths", "100000", "--out", dir.resolve("r").toString(), "--device", "cpu"),
                ExitCode.USAGE.code(), "--depths is 100000");
        assertRefused(CliRun.of("retrieval", "needle-gpt", "--lengths", "64,100000", "--out", dir.resolve("r").toString(), "--device", "cpu"),
                ExitCode.MODEL.code(), "100000 tokens");
        assertFalse(Files.exists(dir.resolve("s")));
        assertFalse(Files.exists(dir.resolve("r")));
    }

    @Test
    void aGridThatWouldRunForHoursIsRefusedWithAnEstimate() {
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> RetrievalCommand.checkGrid(500, java.util.List.of(64, 128, 256, 512), 101));
        assertTrue(e.getMessage().contains("202000 runs"), e.getMessage());
        assertTrue(e.getMessage().contains("hours"), e.getMessage());
    }

    // 2. --out: regular files only, checked before the work

    @Test
    void outputsThatAreNotRegularFilesAreRefusedAndLeftAlone() throws Exception {
        Path victim = dir.resolve("victim.txt");
        Files.writeString(victim, "keep me");
        Path link = dir.resolve("link.json");
        Files.createSymbolicLink(link, victim);
        assertRefused(CliRun.of("attention", LLAMA.toString(), "--ids", "1,2,3", "--out", link.toString(), "--device", "cpu"),
                ExitCode.USAGE.code(), "symbolic link");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("keep me", Files.readString(victim));
        if (Files.exists(Path.of("/dev/null"))) {
            assertRefused(CliRun.of("attention", LLAMA.toString(), "--ids", "1,2,3", "--out", "/dev/null", "--device", "cpu"),
                    ExitCode.USAGE.code(), "device");
        }
        assertRefused(CliRun.of("attention", LLAMA.toString(), "--ids", "1,2,3", "--out", dir.toString(), "--device", "cpu"),
                ExitCode.USAGE.code(), "is a folder");
        // a report folder that is a file, or whose report.json is a link, is refused before the scan
        assertRefused(CliRun.of("sinks", "needle-gpt", "--out", victim.toString(), "--device", "cpu"), ExitCode.USAGE.code(), "not a folder");
        Path reports = Files.createDirectories(dir.resolve("reports"));
        Files.createSymbolicLink(reports.resolve("report.json"), victim);
        assertRefused(CliRun.of("sinks", "needle-gpt", "--out", reports.toString(), "--device", "cpu"), ExitCode.USAGE.code(), "report.json", "symbolic link");
        assertEquals("keep me", Files.readString(victim));
        Path linkedFolder = dir.resolve("linked");
        Files.createSymbolicLink(linkedFolder, Files.createDirectories(dir.resolve("real")));
        assertRefused(CliRun.of("sinks", "needle-gpt", "--out", linkedFolder.toString(), "--device", "cpu"), ExitCode.USAGE.code(), "symbolic link");
        try (var s = Files.list(dir.resolve("real"))) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void aSecondWriterToTheSameFolderIsTurnedAway() {
        Path out = dir.resolve("busy");
        try (OutputTarget held = OutputTarget.folder(out)) {
            assertRefused(CliRun.of("sinks", "needle-gpt", "--out", out.toString(), "--device", "cpu"), ExitCode.MODEL.code(),
                    "Another HeadScope run is writing to");
        }
        assertFalse(Files.exists(out));
    }

    // 3. relative paths resolve against the caller's folder

    @Test
    void relativePathsResolveAgainstTheCallersFolder() throws Exception {
        Path model = Files.createDirectories(dir.resolve("models")).resolve("m.onnx");
        Files.copy(LLAMA, model);
        String before = System.getProperty(UserPaths.CWD_PROPERTY);
        System.setProperty(UserPaths.CWD_PROPERTY, dir.toString());
        try {
            CliRun r = CliRun.of("attention", "models/m.onnx", "--ids", "1,2,3", "--out", "out/a.json", "--device", "cpu");
            assertEquals(0, r.code(), r.err());
            assertTrue(Files.isRegularFile(dir.resolve("out/a.json")));
            CliRun missing = CliRun.of("inspect", "nothere.onnx");
            assertRefused(missing, ExitCode.USAGE.code(), dir.resolve("nothere.onnx").toString());
        } finally {
            if (before == null) {
                System.clearProperty(UserPaths.CWD_PROPERTY);
            } else {
                System.setProperty(UserPaths.CWD_PROPERTY, before);
            }
        }
    }

    // 5. malformed graphs and manifests: exit 3 naming the problem

    @Test
    void aMatMulWithOneInputIsAMalformedGraph() throws Exception {
        OnnxMl.ModelProto proto = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(LLAMA));
        OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder();
        int softmax = -1;
        int matmul = -1;
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getOpType().equals("MatMul") && matmul < 0) {
                matmul = i;
            }
            if (g.getNode(i).getOpType().equals("Softmax") && softmax < 0) {
                softmax = i;
            }
        }
        Path one = dir.resolve("matmul.onnx");
        OnnxMl.GraphProto.Builder g1 = g.clone();
        g1.setNode(matmul, g1.getNode(matmul).toBuilder().clearInput().addInput(g1.getNode(matmul).getInput(0)));
        Files.write(one, proto.toBuilder().setGraph(g1).build().toByteArray());
        assertRefused(CliRun.of("inspect", one.toString(), "--device", "cpu"), ExitCode.MODEL.code(), "malformed", "MatMul");
        Path two = dir.resolve("softmax.onnx");
        OnnxMl.GraphProto.Builder g2 = g.clone();
        g2.setNode(softmax, g2.getNode(softmax).toBuilder().clearInput().clearOutput());
        Files.write(two, proto.toBuilder().setGraph(g2).build().toByteArray());
        assertRefused(CliRun.of("inspect", two.toString(), "--device", "cpu"), ExitCode.MODEL.code(), "malformed", "Softmax");
    }

    private Path bundle(String manifest) throws Exception {
        Path b = Files.createTempDirectory(dir, "bundle");
        Files.copy(LLAMA, b.resolve("model.onnx"));
        Files.writeString(b.resolve("headscope.json"), manifest);
        return b;
    }

    @Test
    void badManifestValuesAreRefusedByName() throws Exception {
        String ok = "\"format\": \"headscope-manifest/1\", \"name\": \"t\"";
        String[][] cases = {
                {"{" + ok + "}", "no \"model\" key"},
                {"{" + ok + ", \"model\": null}", "no \"model\" key"},
                {"{" + ok + ", \"model\": \"../outside.onnx\"}", "outside the model's folder"},
                {"{" + ok + ", \"model\": \"/etc/passwd\"}", "outside the model's folder"},
                {"{" + ok + ", \"model\": \"model.onnx\", \"bos\": -5}", "\"bos\" is -5"},
                {"{" + ok + ", \"model\": \"model.onnx\", \"maxLength\": 0}", "\"maxLength\" is 0"},
                {"{" + ok + ", \"model\": \"model.onnx\", \"inputs\": {\"wings\": \"input_ids\"}}", "unknown role 'wings'"},
                {"{" + ok + ", \"model\": \"model.onnx\", \"bos\": \"one\"}", "cannot be read"},
                {"null", "empty"},
                {vision("\"imageSize\": 0"), "\"vision.imageSize\" is 0"},
                {vision("\"imageSize\": 32, \"std\": [0.5, 0, 0.5]"), "\"vision.std\""},
                {vision("\"imageSize\": 32, \"mean\": null"), "\"vision.mean\""},
                {vision("\"imageSize\": 32, \"grid\": [8, 9]"), "\"vision.grid\""},
                {vision("\"imageSize\": 32, \"imageStart\": 500"), "\"vision.imageStart\" is 500"},
        };
        for (String[] c : cases) {
            Path b = bundle(c[0]);
            assertRefused(CliRun.of("inspect", b.toString(), "--device", "cpu"), ExitCode.MODEL.code(), c[1]);
        }
    }

    private static String vision(String override) {
        String base = "\"model\": \"vision.onnx\", \"embed\": \"embed.onnx\", \"imageSize\": 32, \"mean\": [0.5, 0.5, 0.5], "
                + "\"std\": [0.5, 0.5, 0.5], \"imageStart\": 1, \"imageTokens\": 64, \"grid\": [8, 8]";
        StringBuilder merged = new StringBuilder("{");
        java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
        for (String part : (base + ", " + override).split(", (?=\")")) {
            int colon = part.indexOf(':');
            fields.put(part.substring(0, colon).trim(), part.substring(colon + 1).trim());
        }
        fields.forEach((k, v) -> merged.append(merged.length() > 1 ? ", " : "").append(k).append(": ").append(v));
        merged.append('}');
        return "{\"format\": \"headscope-manifest/1\", \"name\": \"v\", \"model\": \"model.onnx\", \"maxLength\": 128, \"vision\": " + merged + "}";
    }

    // 5 and 7. images: size checked from the header before decoding

    static byte[] pngHeaderOnly(int width, int height) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeBytes("IHDR");
        h.writeInt(width);
        h.writeInt(height);
        h.write(new byte[]{8, 2, 0, 0, 0});
        byte[] chunk = ihdr.toByteArray();
        out.writeInt(chunk.length - 4);
        out.write(chunk);
        CRC32 crc = new CRC32();
        crc.update(chunk);
        out.writeInt((int) crc.getValue());
        return bytes.toByteArray();
    }

    @Test
    void aHugeDeclaredImageIsRefusedFromItsHeaderAndABrokenOneByItsDecoder() throws Exception {
        Path bomb = dir.resolve("bomb.png");
        Files.write(bomb, pngHeaderOnly(30000, 30000));
        assertRefused(CliRun.of("vhd", "shapes-vlm", "--image", bomb.toString(), "--prompt", "what color is the circle",
                "--out", dir.resolve("v").toString(), "--device", "cpu"), ExitCode.MODEL.code(), "30000 x 30000", "at most 8192 x 8192");
        Path truncated = dir.resolve("truncated.png");
        Files.write(truncated, pngHeaderOnly(16, 16));
        assertRefused(CliRun.of("vhd", "shapes-vlm", "--image", truncated.toString(), "--prompt", "what color is the circle",
                "--out", dir.resolve("v").toString(), "--device", "cpu"), ExitCode.MODEL.code(), "cannot be decoded");
        Path text = dir.resolve("text.png");
        Files.writeString(text, "not an image", StandardCharsets.UTF_8);
        assertRefused(CliRun.of("vhd", "shapes-vlm", "--image", text.toString(), "--prompt", "what color is the circle",
                "--out", dir.resolve("v").toString(), "--device", "cpu"), ExitCode.MODEL.code(), "not an image");
        assertFalse(Files.exists(dir.resolve("v")));
    }

    // 8. internal errors: their own exit code, the trace in a log file, none on the terminal

    @Test
    void anInternalErrorExitsFiveWithTheTraceInALogFile() throws Exception {
        String before = System.getProperty("headscope.cache");
        System.setProperty("headscope.cache", dir.toString());
        try {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Cli.failure(new InspectCommand(), new String[]{"inspect", "x"}, new IllegalStateException("a bug"),
                    new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(ExitCode.INTERNAL.code(), code);
            String text = err.toString(StandardCharsets.UTF_8);
            Path log = dir.resolve("logs/headscope-errors.log");
            assertTrue(text.contains("internal error") && text.contains(log.toString()), text);
            assertFalse(text.contains("\tat "), text);
            assertTrue(Files.readString(log).contains("java.lang.IllegalStateException: a bug"));
            assertTrue(Files.readString(log).contains("\tat "));
        } finally {
            if (before == null) {
                System.clearProperty("headscope.cache");
            } else {
                System.setProperty("headscope.cache", before);
            }
        }
    }

    @Test
    void anIllegalArgumentFromTheJdkIsABugNotBadUsage() throws Exception {
        String before = System.getProperty("headscope.cache");
        System.setProperty("headscope.cache", dir.toString());
        try {
            IllegalArgumentException fromJdk;
            try {
                java.util.List.of(1, 2, 3).subList(2, 1);
                throw new AssertionError("subList(2, 1) must throw");
            } catch (IllegalArgumentException e) {
                fromJdk = e;
            }
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Cli.failure(new InspectCommand(), new String[]{"inspect", "x"}, fromJdk,
                    new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(ExitCode.INTERNAL.code(), code, err.toString(StandardCharsets.UTF_8));

            IllegalArgumentException ours;
            try {
                org.headscope.hooks.Intervention.Head.parse("3.x");
                throw new AssertionError("'3.x' must be refused");
            } catch (IllegalArgumentException e) {
                ours = e;
            }
            err.reset();
            code = Cli.failure(new InspectCommand(), new String[]{"inspect", "x"}, ours,
                    new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(ExitCode.USAGE.code(), code);
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("LAYER.HEAD"), err.toString(StandardCharsets.UTF_8));
        } finally {
            if (before == null) {
                System.clearProperty("headscope.cache");
            } else {
                System.setProperty("headscope.cache", before);
            }
        }
    }
}
