package org.headscope.analysis.core;

import org.headscope.hooks.FloatTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The shared numbers against values worked out by hand. */
class NumericsTest {
    @Test
    void logSumExpStaysFiniteForLargeLogits() {
        // log(e^1000 + e^1000) = 1000 + log 2; a naive sum overflows to infinity
        assertEquals(1000 + Math.log(2), Numerics.logSumExp(new float[]{1000, 1000}), 1e-9);
        assertEquals(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), Numerics.logSumExp(new float[]{1, 2, 3}), 1e-12);
        assertEquals(-1000 + Math.log(3), Numerics.logSumExp(new float[]{-1000, -1000, -1000}), 1e-9);
    }

    @Test
    void softmaxOfKnownLogits() {
        float[] p = Numerics.softmax(new float[]{0, (float) Math.log(3)});
        assertArrayEquals(new float[]{0.25f, 0.75f}, p, 1e-7f);
        float[] big = Numerics.softmax(new float[]{1000, 1000, 1000, 1000});
        assertArrayEquals(new float[]{0.25f, 0.25f, 0.25f, 0.25f}, big, 1e-7f);
    }

    @Test
    void klOfTwoKnownDistributions() {
        // KL([1/2, 1/2] || [1/4, 3/4]) = 1/2 ln 2 + 1/2 ln(2/3)
        double expected = 0.5 * Math.log(2) + 0.5 * Math.log(2.0 / 3);
        assertEquals(expected, Numerics.kl(new float[]{0.5f, 0.5f}, new float[]{0.25f, 0.75f}), 1e-7);
        // the same distributions as logits: softmax(0, 0) and softmax(0, ln 3)
        assertEquals(expected, Numerics.klOfLogits(new float[]{0, 0}, new float[]{0, (float) Math.log(3)}), 1e-7);
        // shifting logits does not change the distribution
        assertEquals(expected, Numerics.klOfLogits(new float[]{500, 500}, new float[]{-7, (float) (Math.log(3) - 7)}), 1e-6);
        // a zero-probability term counts 0 and KL(p || p) is 0
        assertEquals(Math.log(2), Numerics.kl(new float[]{1, 0}, new float[]{0.5f, 0.5f}), 1e-7);
        assertEquals(0.0, Numerics.klOfLogits(new float[]{1, 2, 3}, new float[]{1, 2, 3}), 1e-12);
    }

    @Test
    void cosineMeanPoolAndArgmax() {
        assertEquals(0.0, Numerics.cosine(new float[]{1, 0}, new float[]{0, 5}), 1e-12);
        assertEquals(-1.0, Numerics.cosine(new float[]{1, 2}, new float[]{-2, -4}), 1e-12);
        assertEquals(1 / Math.sqrt(2), Numerics.cosine(new float[]{1, 1}, new float[]{3, 0}), 1e-12);
        FloatTensor rows = new FloatTensor(new long[]{3, 2}, new float[]{1, 10, 2, 20, 6, 60});
        assertArrayEquals(new float[]{3, 30}, Numerics.meanPool(rows), 1e-5f);
        assertEquals(1, Numerics.argmax(new float[]{0, 5, 5, 1}), "the first of equal maxima");
        assertEquals(1, Numerics.argmax(new float[]{9, 9, 0, 7, 1, 0}, 2, 3), "index within the row [0, 7, 1]");
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(3.0, Numerics.median(new double[]{5, 1, 3}));
        assertEquals(2.5, Numerics.median(new double[]{4, 1, 3, 2}));
        double[] x = {3, 1, 2};
        Numerics.median(x);
        assertArrayEquals(new double[]{3, 1, 2}, x, "the input is not sorted in place");
        assertEquals(2.0, Numerics.mean(new double[]{1, 2, 3}));
        assertEquals(Math.sqrt(2.0 / 3), Numerics.std(new double[]{1, 2, 3}), 1e-12);
        assertArrayEquals(new long[]{1, 2, 3}, Numerics.concat(new long[]{1}, new long[]{2, 3}));
    }

    @Test
    void orderedMapsKeepTheirOrderAndRefuseOddArguments() {
        Map<String, String> m = Metrics.ordered("b", "1", "a", "2", "c", "3");
        assertEquals(List.of("b", "a", "c"), List.copyOf(m.keySet()));
        assertThrows(IllegalArgumentException.class, () -> Metrics.ordered("a", "1", "b"));
        assertEquals("no head selected: the largest score is 0.1235, not above eps = 0.3; a eps below 0.1235 would select it",
                Metrics.nothingSelected("head", "score", 0.123456, "eps", 0.3));
    }

    @Test
    void residualHelpersOnAHandMadeStream() {
        // rms of (3, 4) is sqrt(12.5 + 1e-6)
        double rms = Math.sqrt(12.5 + 1e-6);
        assertArrayEquals(new double[]{3 / rms, 4 / rms}, Residuals.rmsNormalised(new float[]{3, -4}), 1e-12);
        // two layers, two tokens, four dims; token 0 has a massive dim 2
        float[][][] res = {
                {{1, 1, 50, 1}, {1, 1, 1, 1}},
                {{1, 1, 60, 1}, {1, 2, 1, 1}}};
        List<Integer> dims = Residuals.massiveDims(List.<double[][]>of(Residuals.normalisedToken(res, 0)), 5, 4);
        assertEquals(List.of(2), dims);
        List<Residuals.VisualSink> sinks = Residuals.visualSinks(res, dims, 1.5);
        assertEquals(2, sinks.size());
        assertEquals(new Residuals.VisualSink(0, 0, 2, Residuals.rmsNormalised(res[0][0])[2]), sinks.get(0));
        assertEquals(Residuals.rmsNormalised(res[1][0])[2], Residuals.largestNormalised(res, dims), 1e-12);
        assertEquals(Double.NaN, Residuals.largestNormalised(res, List.of()));
    }
}
