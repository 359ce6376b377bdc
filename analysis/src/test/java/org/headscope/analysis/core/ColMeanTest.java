package org.headscope.analysis.core;

import org.headscope.hooks.FloatTensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** One colmean and one sink rate, from full probabilities, against sums done by hand. */
class ColMeanTest {
    @Test
    void colmeanDividesByTheQueriesThatSeeTheKey() {
        // one head, three causal rows: [1,0,0], [0.6,0.4,0], [0.5,0.2,0.3]
        FloatTensor a = new FloatTensor(new long[]{1, 3, 3}, new float[]{1, 0, 0, 0.6f, 0.4f, 0, 0.5f, 0.2f, 0.3f});
        double[][] causal = ColMean.ofProbs(a, true);
        assertArrayEquals(new double[]{2.1 / 3, 0.6 / 2, 0.3 / 1}, causal[0], 1e-6);
        double[][] bidirectional = ColMean.ofProbs(a, false);
        assertArrayEquals(new double[]{2.1 / 3, 0.6 / 3, 0.3 / 3}, bidirectional[0], 1e-6);
    }

    @Test
    void sinkRateIsTheShareOfHeadsAboveEps() {
        // two layers of two heads; key 0 above 0.3 in three of the four heads, key 1 in one
        List<double[][]> layers = List.of(new double[][]{{0.9, 0.1}, {0.5, 0.5}}, new double[][]{{0.31, 0.2}, {0.3, 0.1}});
        assertArrayEquals(new double[]{0.75, 0.25}, ColMean.sinkRates(layers, 0.3), 1e-12);
    }
}
