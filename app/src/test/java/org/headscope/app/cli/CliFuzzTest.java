package org.headscope.app.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A bounded, seeded fuzz run through the command-line entry point, in process: mutated manifests, mutated and
 * truncated model files, and hostile option values. Every run must end with a documented exit code (0, 2, 3 or 4;
 * never 5, an internal error), print no stack trace, touch nothing outside its output folder, and leave either no
 * report or a whole one, with no temporary files.
 */
class CliFuzzTest {
    private static final long SEED = Long.getLong("fuzz.seed", 16);
    private static final int ROUNDS = Integer.getInteger("fuzz.rounds", 60);
    private static final Set<Integer> DOCUMENTED = Set.of(ExitCode.OK.code(), ExitCode.USAGE.code(), ExitCode.MODEL.code(), ExitCode.CANCELLED.code());

    @TempDir
    Path root;
    private String cacheBefore;

    @BeforeEach
    void privateCache() throws Exception {
        // mutated models get weights caches of their own: keep them out of the user's cache folder
        cacheBefore = System.getProperty("headscope.cache");
        System.setProperty("headscope.cache", Files.createDirectories(root.resolve("cache")).toString());
    }

    @AfterEach
    void restoreCache() {
        if (cacheBefore == null) {
            System.clearProperty("headscope.cache");
        } else {
            System.setProperty("headscope.cache", cacheBefore);
        }
    }

    private static final String MANIFEST = """
            {"format": "headscope-manifest/1", "name": "fuzz", "kind": "decoder", "model": "model.onnx",
             "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids"},
             "bos": 1, "eos": 2, "maxLength": 64}""";
    private static final String[] KEYS = {"format", "name", "kind", "model", "tokenizer", "inputs", "bos", "eos", "pad", "maxLength",
            "vision", "retrieval"};
    private static final String[] VALUES = {"null", "-5", "0", "1", "2147483648", "1e308", "\"x\"", "\"../model.onnx\"", "\"/etc/passwd\"",
            "\"model.onnx\"", "[]", "{}", "true", "{\"wings\": \"input_ids\"}", "\"" + "a".repeat(5000) + "\"",
            "{\"model\": \"model.onnx\", \"embed\": \"model.onnx\", \"imageSize\": 0}", "[1, 2]", "\"\\u0000\""};
    private static final String[] OPTION_VALUES = {"", "-1", "0", "1", "NaN", "-Infinity", "1e400", "999999999999", "2147483648", "3,",
            ",", "a,b", "0,0,0", "1.5", " 2 ", "-0", "all", "\u0000", "..", "99.99", "0.0", "x".repeat(300)};

    @Test
    void hostileInputsEndWithADocumentedExitCodeAndNoStrayFiles() throws Exception {
        Random rnd = new Random(SEED);
        byte[] model = Files.readAllBytes(HostileInputTest.LLAMA);
        for (int round = 0; round < ROUNDS; round++) {
            Path in = Files.createDirectories(root.resolve("in" + round));
            Path out = root.resolve("out" + round);
            Files.write(in.resolve("model.onnx"), model);
            Files.writeString(in.resolve("headscope.json"), MANIFEST);
            List<String> args = switch (round % 3) {
                case 0 -> mutateManifest(rnd, in);
                case 1 -> mutateModel(rnd, in, model);
                default -> mutateOptions(rnd, in);
            };
            args = new ArrayList<>(args);
            if (args.get(0).equals("attention")) {
                args.addAll(List.of("--out", out.resolve("a.json").toString()));
            } else if (!args.get(0).equals("inspect")) {
                args.addAll(List.of("--out", out.toString()));
            }
            args.addAll(List.of("--device", "cpu"));
            Map<String, String> before = snapshot(root, out);
            CliRun r = CliRun.of(args.toArray(String[]::new));
            String what = "round " + round + " " + abbreviate(args) + "\n" + r.err();
            assertTrue(DOCUMENTED.contains(r.code()), "exit " + r.code() + " for " + what);
            assertFalse(r.err().contains("\tat "), "stack trace for " + what);
            assertEquals(before, snapshot(root, out), "files outside the output folder changed in " + what);
            checkOutput(out, r.code(), what);
        }
    }

    private static String abbreviate(List<String> args) {
        return args.stream().map(a -> a.length() > 60 ? a.substring(0, 60) + "..." : a).toList().toString();
    }

    /** Every file under root except the output folder and the private cache, with size and modification time. */
    private static Map<String, String> snapshot(Path root, Path out) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                if (p.startsWith(out) || p.startsWith(root.resolve("cache"))) {
                    continue;
                }
                m.put(root.relativize(p).toString(), Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "dir"
                        : Files.size(p) + "@" + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis());
            }
        }
        return m;
    }

    /** No half report: the folder holds a whole set or nothing, and never a hidden temporary file. */
    private static void checkOutput(Path out, int code, String what) throws Exception {
        if (!Files.exists(out)) {
            return;
        }
        List<String> names;
        try (Stream<Path> s = Files.list(out)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        for (String n : names) {
            assertFalse(n.startsWith("."), "temporary file " + n + " left in " + what);
        }
        if (names.contains("a.json")) {
            assertEquals(List.of("a.json"), names, what);
            assertEquals(ExitCode.OK.code(), code, "a file written by a failed run: " + what);
        } else if (!names.isEmpty()) {
            assertEquals(List.of("report.csv", "report.html", "report.json"), names, "half report in " + what);
            assertEquals(ExitCode.OK.code(), code, "a report written by a failed run: " + what);
        }
    }

    private static List<String> mutateManifest(Random rnd, Path in) throws Exception {
        Map<String, Object> m = new java.util.LinkedHashMap<>(org.headscope.analysis.report.ReportWriter.JSON.readValue(MANIFEST,
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {
                }));
        StringBuilder json = new StringBuilder("{");
        int edits = 1 + rnd.nextInt(3);
        Map<String, String> raw = new java.util.LinkedHashMap<>();
        m.forEach((k, v) -> {
            try {
                raw.put(k, org.headscope.analysis.report.ReportWriter.JSON.writeValueAsString(v));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        for (int i = 0; i < edits; i++) {
            String key = KEYS[rnd.nextInt(KEYS.length)];
            if (rnd.nextInt(4) == 0) {
                raw.remove(key);
            } else {
                raw.put(key, VALUES[rnd.nextInt(VALUES.length)]);
            }
        }
        raw.forEach((k, v) -> json.append(json.length() > 1 ? ", " : "").append('"').append(k).append("\": ").append(v));
        json.append('}');
        String text = json.toString();
        if (rnd.nextInt(6) == 0) {
            text = text.substring(0, rnd.nextInt(text.length()));
        }
        Files.writeString(in.resolve("headscope.json"), text);
        return rnd.nextBoolean() ? List.of("inspect", in.toString()) : List.of("attention", in.toString(), "--ids", "1,2,3,4");
    }

    private static List<String> mutateModel(Random rnd, Path in, byte[] model) throws Exception {
        byte[] b = model.clone();
        int kind = rnd.nextInt(3);
        if (kind == 0) {
            b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
        } else {
            int flips = kind == 1 ? 1 + rnd.nextInt(8) : 50 + rnd.nextInt(200);
            // the graph's structure sits in the first part of the file, the weights after it
            int span = kind == 1 ? Math.min(b.length, 4096) : b.length;
            for (int i = 0; i < flips; i++) {
                b[rnd.nextInt(span)] ^= (byte) (1 << rnd.nextInt(8));
            }
        }
        Files.write(in.resolve("model.onnx"), b);
        return rnd.nextBoolean() ? List.of("inspect", in.resolve("model.onnx").toString())
                : List.of("attention", in.toString(), "--ids", "1,2,3");
    }

    private static List<String> mutateOptions(Random rnd, Path in) {
        String v = OPTION_VALUES[rnd.nextInt(OPTION_VALUES.length)];
        String model = in.toString();
        return switch (rnd.nextInt(6)) {
            case 0 -> List.of("attention", model, "--ids", v);
            case 1 -> List.of("attention", model, "--ids", "1,2,3", "--layers", v);
            case 2 -> List.of("ablate", model, "--prompt", "x", "--target", "y", "--alpha", v, "--mode", "scale");
            case 3 -> List.of("sinks", model, "--tokens", v);
            case 4 -> List.of("retrieval", model, "--depths", v);
            default -> List.of("redistribute", model, "--method", "zerotuning", "--prompt", "p", "--gamma", v);
        };
    }
}
