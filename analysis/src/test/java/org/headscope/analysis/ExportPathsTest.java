package org.headscope.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.analysis.core.Heads;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.RunRequest;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The analyses give the same numbers whichever way a model was exported. For each language model of the conformance matrix
 * (onnx-hooks/src/test/fixtures/matrix: the same random-weight Hugging Face model exported eagerly, through SDPA and
 * the dynamo exporter, as the ONNX Attention op, in float16, optimised by ONNX Runtime, quantised), the single-head
 * ablation sweep (head-output hooks in layer-suffix sessions), the sink scan (column-sum, entropy, probability,
 * value-drain and residual taps) and ZeroTuning (pre-softmax hooks) run on every export and are compared with the
 * eager float32 export's results.
 */
class ExportPathsTest {
    private static final Path MATRIX = Path.of("../onnx-hooks/src/test/fixtures/matrix");

    /** Absolute tolerance on per-head loss changes, column means and KL, by export path. */
    private static double tolerance(String path) {
        return switch (path) {
            // measured: float16 rounding moves loss changes of these 2-layer models by up to ~3e-3
            case "fp16" -> 2e-2;
            // measured: dynamic int8 moves them by up to ~2e-2; the check is that the analyses run and agree roughly
            case "int8" -> 1e-1;
            default -> 1e-4;
        };
    }

    @TestFactory
    Stream<DynamicTest> everyAnalysisAgreesAcrossExportPaths() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        if (!Files.isDirectory(MATRIX)) {
            throw new IllegalStateException("conformance matrix missing at " + MATRIX.toAbsolutePath());
        }
        try (Stream<Path> archs = Files.list(MATRIX)) {
            for (Path arch : archs.filter(p -> Files.isRegularFile(p.resolve("reference.json"))).sorted().toList()) {
                JsonNode ref = new ObjectMapper().readTree(arch.resolve("reference.json").toFile());
                if (ref.has("inputs_embeds") || !Files.isDirectory(arch.resolve("eager"))) {
                    continue;
                }
                long[] ids = new long[ref.get("input_ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = ref.get("input_ids").get(i).asLong();
                }
                Measures eager = measure(arch.resolve("eager"), ids);
                try (Stream<Path> paths = Files.list(arch)) {
                    // an export with its own reference.json computes another function than the eager one (gemma2 through
                    // sdpa, which drops the softcap): ConformanceMatrixTest checks it against its own reference
                    for (Path p : paths.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().equals("eager"))
                            .filter(p -> !Files.isRegularFile(p.resolve("reference.json"))).sorted().toList()) {
                        String name = arch.getFileName() + "/" + p.getFileName();
                        tests.add(DynamicTest.dynamicTest(name, () -> compare(name, eager, measure(p, ids), tolerance(p.getFileName().toString()))));
                    }
                }
            }
        }
        assertFalse(tests.isEmpty(), "no model with several export paths in the matrix");
        return tests.stream();
    }

    private record Measures(double[] lossDelta, double[] heat, double zeroTuningKl) {
    }

    private static Measures measure(Path folder, long[] ids) {
        try (HookedModel model = HookedModel.open(folder, DevicePreference.CPU)) {
            long[] prompt = java.util.Arrays.copyOf(ids, ids.length - 1);
            long[] continuation = {ids[ids.length - 1]};
            AblationScan scan = new AblationScan(model, AblationScan.Params.DEFAULTS.withGeneration(0, 0), null);
            AblationScan.Target target = AblationScan.Target.of(prompt, continuation);
            AblationScan.Outcome clean = scan.clean(target, CancelToken.NEVER);
            List<AblationScan.HeadEffect> effects = scan.sweep(target, clean, Heads.all(model), Progress.NONE, CancelToken.NEVER);
            double[] loss = effects.stream().mapToDouble(e -> e.effect().main()).toArray();

            String[] strings = new String[ids.length];
            int[][] spans = new int[ids.length][2];
            for (int i = 0; i < ids.length; i++) {
                strings[i] = "t" + ids[i];
            }
            HsTokenizer.Tokens tokens = new HsTokenizer.Tokens(ids, strings, spans);
            SinkScan.Params sp = SinkScan.Params.DEFAULTS;
            SinkScan.Result sinks = SinkScan.run(model, SinkScan.Prompts.texts(model, "matrix", List.of(tokens)),
                    new SinkScan.Params(sp.eps(), ids.length, sp.heatKey(), sp.hiddenThreshold(), sp.dormantRowEntropy(),
                            sp.dormantColEntropy(), sp.tau(), sp.massiveDims(), sp.massiveRatio(), sp.maxMassiveDims()),
                    Progress.NONE, CancelToken.NEVER);

            Redistribution.Result zt = Redistribution.run(model, RunRequest.tokens(ids), Redistribution.ZeroTuning.DEFAULT, null,
                    Progress.NONE, CancelToken.NEVER);
            return new Measures(loss, sinks.heat().values(), zt.kl());
        }
    }

    private static void compare(String name, Measures expected, Measures actual, double tol) {
        assertEquals(expected.lossDelta().length, actual.lossDelta().length, name + " heads");
        for (int i = 0; i < expected.lossDelta().length; i++) {
            assertEquals(expected.lossDelta()[i], actual.lossDelta()[i], tol + 0.05 * Math.abs(expected.lossDelta()[i]),
                    name + " loss change when head " + i + " is zeroed");
        }
        for (int i = 0; i < expected.heat().length; i++) {
            assertEquals(expected.heat()[i], actual.heat()[i], tol, name + " sink heat of head " + i);
        }
        assertTrue(Double.isFinite(actual.zeroTuningKl()), name + " ZeroTuning KL");
        assertEquals(expected.zeroTuningKl(), actual.zeroTuningKl(), tol + 0.05 * expected.zeroTuningKl(), name + " ZeroTuning KL");
    }
}
