package org.headscope.analysis;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One number per head, layers x heads, row-major. Immutable: the values are copied in and out.
 */
public record HeadGrid(int layers, int heads, double[] values) {
    public HeadGrid {
        if (values.length != layers * heads) {
            throw new IllegalArgumentException(layers + " x " + heads + " heads need " + layers * heads + " values, got " + values.length);
        }
        values = values.clone();
    }

    public static HeadGrid of(double[][] grid) {
        int heads = grid.length == 0 ? 0 : grid[0].length;
        double[] v = new double[grid.length * heads];
        for (int l = 0; l < grid.length; l++) {
            System.arraycopy(grid[l], 0, v, l * heads, heads);
        }
        return new HeadGrid(grid.length, heads, v);
    }

    public static HeadGrid filled(int layers, int heads, double value) {
        double[] v = new double[layers * heads];
        Arrays.fill(v, value);
        return new HeadGrid(layers, heads, v);
    }

    @Override
    public double[] values() {
        return values.clone();
    }

    public double get(int layer, int head) {
        return values[layer * heads + head];
    }

    /** Rows of the grid as lists, for figures. */
    public List<List<Double>> rows() {
        List<List<Double>> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            List<Double> row = new ArrayList<>();
            for (int h = 0; h < heads; h++) {
                row.add(get(l, h));
            }
            out.add(row);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeadGrid g && g.layers == layers && g.heads == heads && Arrays.equals(g.values, values);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * layers + heads) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "HeadGrid[" + layers + "x" + heads + "]";
    }
}
