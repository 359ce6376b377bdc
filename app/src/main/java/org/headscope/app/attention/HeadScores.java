package org.headscope.app.attention;

import java.util.Map;

import org.headscope.hooks.Intervention.Head;

/**
 * A per-head score a panel computed, for colouring the head grid.
 *
 * @param name   what the score is (shown in the grid's legend)
 * @param values score of each head that has one
 */
public record HeadScores(String name, Map<Head, Double> values) {
    public HeadScores {
        values = Map.copyOf(values);
    }

    /** The score's position between the smallest and largest value, in [0,1]; NaN for a head without one. */
    public double position(Head h) {
        Double v = values.get(h);
        if (v == null) {
            return Double.NaN;
        }
        double lo = values.values().stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double hi = values.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
        return hi > lo ? (v - lo) / (hi - lo) : 1;
    }
}
