package org.headscope.analysis.report;

import org.headscope.analysis.core.Metrics;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ProvenanceOrderTest {
    @Test
    void metricVersionsKeepTheOrderTheAnalysisGives() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            keys.add("m" + (char) ('z' - i % 26) + i);
        }
        String[] kv = keys.stream().flatMap(k -> java.util.stream.Stream.of(k, "v-" + k)).toArray(String[]::new);
        Map<String, String> ordered = Metrics.ordered(kv);
        Provenance p = new Provenance("m", "sha", "p", 14, "cpu", "float32", "none", "prompt", "t", "now", ordered);
        assertEquals(keys, List.copyOf(p.metricVersions().keySet()));
        assertEquals("v-" + keys.get(0), p.metricVersions().values().iterator().next(), "the first version is the analysis's first");
    }
}
