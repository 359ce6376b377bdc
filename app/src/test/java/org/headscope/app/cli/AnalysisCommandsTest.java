package org.headscope.app.cli;

import org.headscope.app.Cli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.assets.BundledModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sinks, ablate and redistribute commands on the bundled MiniLM: the report contract and the exit codes. */
class AnalysisCommandsTest {
    private static final String MODEL = BundledModels.MINILM;

    private record Outcome(int code, String out, String err) {
    }

    private static Outcome cli(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cli.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static JsonNode assertReport(Path dir, String analysis, int heads) throws Exception {
        for (String f : List.of("report.json", "report.csv", "report.html")) {
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        assertEquals(analysis, json.get("analysis").asText());
        assertTrue(json.get("parameters").isObject());
        assertTrue(json.get("provenance").get("modelSha256").asText().length() == 64);
        assertEquals(heads, json.get("heads").size());
        for (JsonNode h : json.get("heads")) {
            assertTrue(h.get("layer").isInt() && h.get("head").isInt());
            h.fields().forEachRemaining(e -> assertTrue(e.getValue().isNumber(), e.getKey() + " is a number"));
        }
        List<String> csv = Files.readAllLines(dir.resolve("report.csv"));
        assertTrue(csv.get(1).startsWith("layer,head,"));
        assertEquals(heads + 2, csv.size());
        return json;
    }

    @Test
    void sinksWritesTheReportWithTheSinkRateCurve(@TempDir Path dir) throws Exception {
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "The cat sat on the mat.\nSinks collect attention.\n");
        Outcome o = cli("sinks", MODEL, "--prompts", prompts.toString(), "--tokens", "16", "--out", dir.resolve("r").toString(),
                "--device", "cpu");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("[2/2]"), "progress line: " + o.err());
        JsonNode json = assertReport(dir.resolve("r"), "sinks", 72);
        assertEquals(0.3, json.get("parameters").get("eps").asDouble());
        assertEquals("T (bidirectional)", json.get("parameters").get("colmean_divisor").asText());
        assertTrue(json.get("sections").get("sink_rate_by_position").size() <= 16);
        assertEquals("first-detected", json.get("parameters").get("sink_rule").asText());
        assertTrue(json.get("sections").has("departures"));
        Outcome key0 = cli("sinks", MODEL, "--prompts", prompts.toString(), "--tokens", "16", "--sink-rule", "key0", "--row-entropy",
                "skip-row0", "--out", dir.resolve("k").toString(), "--device", "cpu");
        assertEquals(0, key0.code(), key0.err());
        JsonNode k = new ObjectMapper().readTree(dir.resolve("k/report.json").toFile());
        String departures = k.get("sections").get("departures").toString();
        assertTrue(departures.contains("sink rule key0") && departures.contains("skip-row0"), departures);
        assertTrue(k.get("provenance").toString().contains("act2024-v1-key0"), k.get("provenance").toString());
        assertEquals(2, cli("sinks", MODEL, "--sink-rule", "last", "--out", dir.resolve("x").toString()).code());
    }

    @Test
    void ablateSweepsEveryHeadWithTheEncoderMetric(@TempDir Path dir) throws Exception {
        Outcome o = cli("ablate", MODEL, "--prompt", "The capital of France is", "--target", "Paris", "--mode", "mean",
                "--amp", "--out", dir.toString(), "--device", "cpu");
        assertEquals(0, o.code(), o.err());
        JsonNode json = assertReport(dir, "ablation", 72);
        assertEquals("mean", json.get("parameters").get("mode").asText());
        assertTrue(json.get("parameters").get("metric").asText().startsWith("cosine_distance"));
        assertTrue(json.get("heads").get(0).has("cosine_distance") && json.get("heads").get(0).has("amp_importance"));
        assertEquals(11, json.get("sections").get("pruning_curve").size());
        // by default the sweep runs alone: no AMP importance, no pruning curve, no continuations
        Path plain = dir.resolve("plain");
        Outcome p = cli("ablate", MODEL, "--prompt", "The capital of France is", "--target", "Paris", "--out", plain.toString(),
                "--device", "cpu");
        assertEquals(0, p.code(), p.err());
        JsonNode sweep = assertReport(plain, "ablation", 72);
        assertTrue(!sweep.get("heads").get(0).has("amp_importance"), sweep.get("heads").get(0).toString());
        assertTrue(sweep.get("sections").path("pruning_curve").isMissingNode() || sweep.get("sections").get("pruning_curve").isEmpty());
        assertEquals(false, sweep.get("parameters").get("amp_and_pruning").asBoolean());
    }

    @Test
    void redistributeRunsEachMethod(@TempDir Path dir) throws Exception {
        for (String[] method : List.of(new String[]{"act"}, new String[]{"act", "--sink-rule", "key0", "--calibrate", "clean", "--layers", "all"},
                new String[]{"zerotuning", "--gamma", "2", "--scope", "heads", "--heads", "1.3,2.0", "--gammas", "0.5,2,4"},
                new String[]{"pai", "--image-span", "1:4"}, new String[]{"var", "--image-span", "1:4", "--tau", "5"})) {
            Path out = dir.resolve(method[0] + method.length);
            List<String> argv = new java.util.ArrayList<>(List.of("redistribute", MODEL, "--method"));
            argv.addAll(List.of(method));
            argv.addAll(List.of("--prompt", "Attention sinks hold mass.", "--out", out.toString(), "--device", "cpu"));
            Outcome o = cli(argv.toArray(String[]::new));
            assertEquals(0, o.code(), method[0] + ": " + o.err());
            JsonNode json = assertReport(out, "redistribution", 72);
            assertEquals(method[0], json.get("parameters").get("method").asText());
        }
        JsonNode zt = new ObjectMapper().readTree(dir.resolve("zerotuning9/report.json").toFile());
        int selected = 0;
        for (JsonNode h : zt.get("heads")) {
            selected += h.get("selected").asInt();
        }
        assertEquals(2, selected);
        assertEquals(3, zt.get("sections").get("gamma_sweep").size());
        JsonNode var = new ObjectMapper().readTree(dir.resolve("var5/report.json").toFile()).get("parameters");
        assertEquals(0.6, var.get("p_code (factor kept on sink attention)").asDouble());
        assertEquals(0.4, var.get("p_paper (share of sink attention moved)").asDouble(), 1e-12);
        String actDepartures = new ObjectMapper().readTree(dir.resolve("act7/report.json").toFile()).get("sections").get("departures").toString();
        assertTrue(actDepartures.contains("sink rule key0") && actDepartures.contains("calibration clean"), actDepartures);
        JsonNode act = new ObjectMapper().readTree(dir.resolve("act1/report.json").toFile());
        assertEquals("in-pass", act.get("parameters").get("calibration").asText());
        assertEquals("[2, 3, 4]", act.get("sections").get("edited_layers").toString().replace(",", ", "));
        assertTrue(new ObjectMapper().readTree(dir.resolve("pai3/report.json").toFile()).get("sections").get("departures").toString()
                .contains("--use-cfg"));
    }

    @Test
    void badUsageExitsTwoAndBadModelsExitThree(@TempDir Path dir) throws Exception {
        assertEquals(2, cli("sinks", MODEL).code(), "missing --out");
        assertEquals(2, cli("ablate", MODEL, "--prompt", "x", "--out", dir.toString()).code(), "missing --target");
        assertEquals(2, cli("ablate", MODEL, "--prompt", "x", "--target", "y", "--mode", "sideways", "--out", dir.toString()).code());
        assertEquals(2, cli("ablate", MODEL, "--prompt", "x", "--target", "y", "--heads", "9.0", "--out", dir.toString()).code());
        Outcome method = cli("redistribute", MODEL, "--method", "swap", "--prompt", "x", "--out", dir.toString());
        assertEquals(2, method.code());
        assertTrue(method.err().contains("act, var, zerotuning or pai"), method.err());
        Outcome span = cli("redistribute", MODEL, "--method", "pai", "--prompt", "x", "--out", dir.toString());
        assertEquals(2, span.code());
        assertTrue(span.err().contains("--image-span"), span.err());
        assertEquals(2, cli("sinks", MODEL, "--eps", "2", "--out", dir.toString()).code(), "eps outside (0, 1)");
        Path garbage = Files.writeString(dir.resolve("broken.onnx"), "not a model");
        for (String command : List.of("sinks", "ablate", "redistribute")) {
            Outcome o = cli(command, garbage.toString(), "--prompt", "x", "--target", "y", "--method", "act", "--out",
                    dir.resolve("never").toString());
            assertEquals(3, o.code(), command + ": " + o.err());
        }
        assertFalse(Files.exists(dir.resolve("never")), "no report for a model that cannot be opened");
    }
}
