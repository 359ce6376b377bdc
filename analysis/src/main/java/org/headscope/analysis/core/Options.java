package org.headscope.analysis.core;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The options a user typed, by the workbench's names (the command line writes '-' for '_'): what an analysis's
 * {@code Params.fromOptions} recipe reads, so that the command and the panel build the same parameters. A missing option
 * (null) is the default; a malformed one is an IllegalArgumentException naming it.
 */
public final class Options {
    private final Function<String, String> lookup;

    private Options(Function<String, String> lookup) {
        this.lookup = lookup;
    }

    /** Options from a lookup that answers null for an option not given. */
    public static Options of(Function<String, String> lookup) {
        return new Options(lookup);
    }

    /** The text of an option, trimmed, or the fallback. */
    public String text(String key, String fallback) {
        String v = lookup.apply(key);
        return v == null ? fallback : v.trim();
    }

    public double number(String key, double fallback) {
        String v = text(key, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("parameter '" + key + "' must be a number, got '" + v + "'");
        }
    }

    public int whole(String key, int fallback) {
        String v = text(key, null);
        return v == null ? fallback : parseWhole(key, v);
    }

    /** A comma-separated list of whole numbers, or the fallback. */
    public List<Integer> wholes(String key, List<Integer> fallback) {
        String v = text(key, null);
        if (v == null) {
            return fallback;
        }
        List<Integer> out = new ArrayList<>();
        for (String part : v.split(",")) {
            out.add(parseWhole(key, part.trim()));
        }
        return out;
    }

    private static int parseWhole(String key, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("parameter '" + key + "' must be a whole number, got '" + v + "'");
        }
    }
}
