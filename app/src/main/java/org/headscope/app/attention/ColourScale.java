package org.headscope.app.attention;

import org.headscope.analysis.report.Viridis;

/**
 * Maps an attention probability to a position on the colour map: linear over [0,1], or logarithmic over
 * [{@link #LOG_FLOOR}, 1] so that the small weights off the sink columns stay visible.
 */
public enum ColourScale {
    LINEAR, LOG;

    /** Probabilities below this share the darkest colour on the log scale. */
    public static final double LOG_FLOOR = 1e-4;

    /** Position on the colour map, in [0,1]. */
    public double position(double p) {
        if (this == LINEAR) {
            return Math.max(0, Math.min(1, p));
        }
        double floor = Math.log10(LOG_FLOOR);
        return (Math.log10(Math.max(LOG_FLOOR, Math.min(1, p))) - floor) / -floor;
    }

    /** The probability at a colour-map position (the inverse of {@link #position}). */
    public double probability(double t) {
        if (this == LINEAR) {
            return t;
        }
        return Math.pow(10, Math.log10(LOG_FLOOR) * (1 - t));
    }

    /** Opaque ARGB of a probability. */
    public int argb(double p) {
        return 0xff000000 | Viridis.rgb(position(p));
    }

    /** Legend tick values for this scale. */
    public double[] ticks() {
        return this == LINEAR ? new double[]{0, 0.25, 0.5, 0.75, 1} : new double[]{1e-4, 1e-3, 1e-2, 1e-1, 1};
    }
}
