package org.headscope.app.bench;

import java.util.Arrays;
import java.util.List;

/** Interleaved timing of two alternatives: warm-up, then alternating repetitions, medians compared. */
final class Timer {
    private Timer() {
    }

    record Pair(double baselineMs, double candidateMs) {
        double ratio() {
            return baselineMs / candidateMs;
        }
    }

    static Pair compare(Runnable baseline, Runnable candidate, int warmup, int repeats) {
        for (int i = 0; i < warmup; i++) {
            baseline.run();
            candidate.run();
        }
        double[] a = new double[repeats];
        double[] b = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            if (i % 2 == 0) {
                a[i] = time(baseline);
                b[i] = time(candidate);
            } else {
                b[i] = time(candidate);
                a[i] = time(baseline);
            }
        }
        return new Pair(median(a), median(b));
    }

    /** Medians of several alternatives, run in a shuffled order each round after the warm-up rounds. */
    static double[] compareAll(List<Runnable> alternatives, int warmup, int repeats) {
        for (int w = 0; w < warmup; w++) {
            alternatives.forEach(Runnable::run);
        }
        double[][] t = new double[alternatives.size()][repeats];
        java.util.Random order = new java.util.Random(17);
        List<Integer> sequence = new java.util.ArrayList<>(java.util.stream.IntStream.range(0, alternatives.size()).boxed().toList());
        for (int i = 0; i < repeats; i++) {
            // a fresh random order each round, so no alternative always follows the same one (caches, GC)
            java.util.Collections.shuffle(sequence, order);
            for (int a : sequence) {
                t[a][i] = time(alternatives.get(a));
            }
        }
        double[] m = new double[alternatives.size()];
        for (int a = 0; a < m.length; a++) {
            m[a] = median(t[a]);
        }
        return m;
    }

    static double time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
