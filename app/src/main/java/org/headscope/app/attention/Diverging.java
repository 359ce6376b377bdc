package org.headscope.app.attention;

/**
 * A diverging colour map for signed values, centred on 0: blue for negative, white at 0, red for positive
 * (ColorBrewer's RdBu, reversed, interpolated linearly between its 11 anchors).
 */
public final class Diverging {
    private static final int[] ANCHORS = {0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
            0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f};

    private Diverging() {
    }

    /** RGB of a position in [-1, 1] (-1 deepest blue, 0 white, 1 deepest red); outside is clamped. */
    public static int rgb(double t) {
        double x = (Math.max(-1, Math.min(1, t)) + 1) / 2 * (ANCHORS.length - 1);
        int i = Math.min(ANCHORS.length - 2, (int) Math.floor(x));
        double f = x - i;
        int a = ANCHORS[i];
        int b = ANCHORS[i + 1];
        int r = (int) Math.round(((a >> 16) & 0xff) * (1 - f) + ((b >> 16) & 0xff) * f);
        int g = (int) Math.round(((a >> 8) & 0xff) * (1 - f) + ((b >> 8) & 0xff) * f);
        int bl = (int) Math.round((a & 0xff) * (1 - f) + (b & 0xff) * f);
        return (r << 16) | (g << 8) | bl;
    }

    public static String hex(double t) {
        return String.format("#%06x", rgb(t));
    }

    /** The position in [-1, 1] whose colour is nearest to an RGB value (for reading figures back). */
    public static double invert(int rgb) {
        double best = 0;
        double bestD = Double.MAX_VALUE;
        for (int i = 0; i <= 2000; i++) {
            double t = -1 + i / 1000.0;
            int c = rgb(t);
            double d = sq(((c >> 16) & 0xff) - ((rgb >> 16) & 0xff)) + sq(((c >> 8) & 0xff) - ((rgb >> 8) & 0xff)) + sq((c & 0xff) - (rgb & 0xff));
            if (d < bestD) {
                bestD = d;
                best = t;
            }
        }
        return best;
    }

    private static double sq(double v) {
        return v * v;
    }
}
