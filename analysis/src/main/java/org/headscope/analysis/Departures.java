package org.headscope.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The places where a run differs from the paper's own code, in words, for the report's {@code departures} section:
 * options that pick another rule than the reference, parameters moved from the reference's defaults, and parts of
 * the method that are not implemented. An empty list means the run follows the reference code.
 */
public final class Departures {
    private final List<String> items = new ArrayList<>();

    /** Adds a sentence unconditionally. */
    public Departures add(String sentence) {
        items.add(sentence);
        return this;
    }

    /** Adds a sentence when the condition holds. */
    public Departures when(boolean condition, String sentence) {
        if (condition) {
            items.add(sentence);
        }
        return this;
    }

    /** Names a parameter moved from the reference code's default. */
    public Departures changed(String name, Object value, Object reference, String source) {
        if (!same(value, reference)) {
            items.add(name + " is " + show(value) + "; " + source + " uses " + show(reference) + ".");
        }
        return this;
    }

    public List<String> list() {
        return List.copyOf(items);
    }

    private static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return Math.abs(x.doubleValue() - y.doubleValue()) < 1e-12;
        }
        return Objects.equals(a, b);
    }

    private static String show(Object v) {
        return v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d).replaceAll("\\.?0+$", "") : String.valueOf(v);
    }
}
