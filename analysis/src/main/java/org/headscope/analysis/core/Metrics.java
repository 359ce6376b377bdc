package org.headscope.analysis.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Metric definition maps (name to versioned definition) that keep the order they were written in. */
public final class Metrics {
    private Metrics() {
    }

    /** An unmodifiable map of {@code key, value, key, value, ...} in that order. */
    public static Map<String, String> ordered(String... kv) {
        if (kv.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values come in pairs; got " + kv.length + " strings");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * What a report says when a rule selects nothing: the largest value found and the threshold that would select it
     * (any value below the largest).
     */
    public static String nothingSelected(String what, String measure, double largest, String threshold, double value) {
        if (Double.isNaN(largest) || Double.isInfinite(largest)) {
            return "no " + what + " selected: no " + measure + " was measured (" + threshold + " " + value + ")";
        }
        return String.format(java.util.Locale.ROOT, "no %s selected: the largest %s is %.4g, not above %s = %s; "
                + "a %s below %.4g would select it", what, measure, largest, threshold, value, threshold, largest);
    }
}
