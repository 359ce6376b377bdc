package org.headscope.app.attention;

import java.util.Map;

import org.headscope.analysis.report.Viridis;
import org.headscope.hooks.Intervention.Head;

/**
 * A per-head score a panel computed, for colouring the head grid and its heat map. The colour scale is honest about
 * the data: scores of both signs use a diverging map centred on 0 (symmetric, so equal magnitudes get equal
 * strength); scores of one sign use viridis from 0 to the largest magnitude, so a bar of colour starts at zero.
 *
 * @param name   what the score is (shown in the grid's legend and as the colour bar's label)
 * @param values score of each head that has one
 */
public record HeadScores(String name, Map<Head, Double> values) {
    public HeadScores {
        values = Map.copyOf(values);
    }

    public double min() {
        return values.values().stream().mapToDouble(Double::doubleValue).filter(Double::isFinite).min().orElse(0);
    }

    public double max() {
        return values.values().stream().mapToDouble(Double::doubleValue).filter(Double::isFinite).max().orElse(1);
    }

    /** Whether the scores take both signs (drawn with the diverging map centred on 0). */
    public boolean signed() {
        return min() < 0 && max() > 0;
    }

    /** The low end of the colour scale: -max|v| for signed scores, 0 for non-negative ones, the minimum otherwise. */
    public double low() {
        if (signed()) {
            return -Math.max(-min(), max());
        }
        return min() >= 0 ? 0 : min();
    }

    /** The high end of the colour scale. */
    public double high() {
        if (signed()) {
            return Math.max(-min(), max());
        }
        return max() <= 0 ? 0 : max();
    }

    /** The score's position between the low and high ends of the scale, in [0,1]; NaN for a head without one. */
    public double position(Head h) {
        Double v = values.get(h);
        return v == null ? Double.NaN : position(v);
    }

    /**
     * The position of a value on the colour scale, in [0,1]. An empty scale happens only when every score is 0 (a
     * one-signed scale always reaches from 0 to its largest magnitude): then every head sits at the zero end, so a
     * panel that changed nothing does not paint every head in the top colour.
     */
    public double position(double v) {
        double lo = low();
        double hi = high();
        return hi > lo ? Math.max(0, Math.min(1, (v - lo) / (hi - lo))) : 0;
    }

    /** RGB of a value: diverging (blue-white-red, 0 white) when signed, viridis otherwise. */
    public int rgb(double v) {
        double t = position(v);
        return signed() ? Diverging.rgb(2 * t - 1) : Viridis.rgb(t);
    }

    /** CSS colour of a head's score, or null without one. */
    public String hex(Head h) {
        Double v = values.get(h);
        return v == null || !Double.isFinite(v) ? null : String.format("#%06x", rgb(v));
    }
}
