package org.headscope.analysis.report;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A report's parameters and sections come out in one order whatever map an analysis built them in: maps with an order
 * keep it, maps without one (Map.of, whose iteration order changes between JVM starts) are sorted by key, also nested.
 */
class ReportOrderTest {
    @Test
    void unorderedMapsAreSortedAndOrderedOnesKept() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("zeta", 1);
        params.put("alpha", Map.of("d", 4, "b", 2, "c", 3, "a", 1));
        Map<String, Object> sections = new LinkedHashMap<>();
        sections.put("sinks", List.of(Map.of("head", "1.2", "excluded_key", 5)));
        HeadReport r = new HeadReport("x", params, null, List.of(), sections, List.of());
        assertEquals(List.of("zeta", "alpha"), List.copyOf(r.parameters().keySet()), "a built order is kept");
        assertEquals(List.of("a", "b", "c", "d"), List.copyOf(((Map<?, ?>) r.parameters().get("alpha")).keySet()));
        Map<?, ?> sink = (Map<?, ?>) ((List<?>) r.sections().get("sinks")).getFirst();
        assertEquals(List.of("excluded_key", "head"), List.copyOf(sink.keySet()));
        assertEquals(Map.of("head", "1.2", "excluded_key", 5), sink, "same entries");
    }
}
