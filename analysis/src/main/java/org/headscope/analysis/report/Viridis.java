package org.headscope.analysis.report;

/**
 * The viridis colour map (perceptually uniform, readable in grey and by colour-blind readers), sampled at 9
 * anchors and interpolated linearly. Shared by HTML figures and the workbench's heatmaps.
 */
public final class Viridis {
    private static final int[][] ANCHORS = {
            {68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142}, {33, 144, 141},
            {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}};

    private Viridis() {
    }

    /** RGB packed as 0xRRGGBB for t in [0,1] (clamped). */
    public static int rgb(double t) {
        double x = Double.isNaN(t) ? 0 : Math.max(0, Math.min(1, t)) * (ANCHORS.length - 1);
        int i = Math.min(ANCHORS.length - 2, (int) Math.floor(x));
        double f = x - i;
        int r = (int) Math.round(ANCHORS[i][0] + f * (ANCHORS[i + 1][0] - ANCHORS[i][0]));
        int g = (int) Math.round(ANCHORS[i][1] + f * (ANCHORS[i + 1][1] - ANCHORS[i][1]));
        int b = (int) Math.round(ANCHORS[i][2] + f * (ANCHORS[i + 1][2] - ANCHORS[i][2]));
        return (r << 16) | (g << 8) | b;
    }

    public static String hex(double t) {
        return String.format("#%06x", rgb(t));
    }

    /**
     * The t whose colour is nearest to the given RGB (the inverse of {@link #rgb}), found by sampling the map
     * finely; used to read values back from rendered pixels.
     */
    public static double invert(int rgb) {
        int r = (rgb >> 16) & 0xff;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        double best = 0;
        long bestD = Long.MAX_VALUE;
        for (int i = 0; i <= 4096; i++) {
            double t = i / 4096.0;
            int c = rgb(t);
            long dr = ((c >> 16) & 0xff) - r;
            long dg = ((c >> 8) & 0xff) - g;
            long db = (c & 0xff) - b;
            long d = dr * dr + dg * dg + db * db;
            if (d < bestD) {
                bestD = d;
                best = t;
            }
        }
        return best;
    }
}
