package org.headscope.analysis.report;

import org.headscope.hooks.HookedModel;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a result came from: enough to reproduce it.
 *
 * @param metricVersions definition version of every metric in the report, e.g. {"retrieval_score": "wu2024-v1"}, in the
 *                       order given (an analysis's {@code METRICS} order), so a report's bytes do not depend on the JVM run
 */
public record Provenance(String model, String modelSha256, String producer, long opset, String device, String dtype,
                         String tokenizer, String prompt, String toolVersion, String created,
                         Map<String, String> metricVersions) {

    public static final String TOOL_VERSION = currentToolVersion();

    public Provenance {
        // Map.copyOf would iterate in an order salted per JVM run: reports would differ between runs, and a reader
        // taking the first version (the atlas) would take a different one
        metricVersions = Collections.unmodifiableMap(new LinkedHashMap<>(metricVersions));
    }

    private static String currentToolVersion() {
        String v = Provenance.class.getPackage().getImplementationVersion();
        return "HeadScope " + (v == null ? "0.1.0-SNAPSHOT" : v);
    }

    public static Provenance of(HookedModel model, String prompt, Map<String, String> metricVersions) {
        String file = model.model().path().getFileName().toString();
        String name = model.manifest() == null ? null : model.manifest().name();
        String shown = name == null || name.isBlank() || name.equals(file) ? file : name + " (" + file + ")";
        return new Provenance(shown, model.model().sha256(), model.model().producer(),
                model.model().opset(), model.device() + " (" + org.headscope.hooks.RuntimeSettings.current().describe() + ")", "float32",
                model.tokenizer().map(t -> t.file().getFileName().toString()).orElse("none (token ids given)"),
                prompt, TOOL_VERSION, Instant.now().toString(), metricVersions);
    }
}
