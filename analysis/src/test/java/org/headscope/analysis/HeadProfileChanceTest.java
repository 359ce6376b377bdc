package org.headscope.analysis;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The head profile's chance levels equal the closed forms of even attention over the visible keys. */
class HeadProfileChanceTest {
    @Test
    void evenCausalAttentionGivesHarmonicMeans() {
        int t = 12;
        double harmonic = 0;
        for (int q = 0; q < t; q++) {
            harmonic += 1.0 / (q + 1);
        }
        Map<String, Double> c = HeadProfile.chance(t, t, 2, true);
        // every row q gives key 0 and itself 1/(q+1): both means are H_t / t
        assertEquals(harmonic / t, c.get("first_token"), 1e-6);
        assertEquals(harmonic / t, c.get("self"), 1e-6);
        // the key two back: rows q >= 2, each 1/(q+1)
        assertEquals((harmonic - 1 - 0.5) / (t - 2), c.get("offset"), 1e-6);
        assertEquals(1.0, c.get("entropy"), 1e-6);
    }

    @Test
    void evenBidirectionalAttentionGivesOneOverK() {
        Map<String, Double> c = HeadProfile.chance(9, 9, 1, false);
        assertEquals(1.0 / 9, c.get("first_token"), 1e-6);
        assertEquals(1.0 / 9, c.get("self"), 1e-6);
        assertEquals(1.0 / 9, c.get("offset"), 1e-6);
        assertEquals(1.0, c.get("entropy"), 1e-6);
    }
}
