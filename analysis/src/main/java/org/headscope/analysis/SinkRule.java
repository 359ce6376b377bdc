package org.headscope.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which detected sink a hidden-sink analysis leaves out (ACT, Yu et al., ICML'24). Keys are detected per head as
 * {@code colmean[k] > threshold}; the ACT code then drops the first detected one ({@code indices[1:]}), wherever it
 * is. That is key 0 only when key 0 is itself above the threshold, so the two rules differ on heads whose first sink
 * sits later (a content token as key 0, or a weak BOS).
 */
public enum SinkRule {
    /** The ACT code's rule: the lowest detected key is dropped, the others are hidden sinks. */
    FIRST_DETECTED("first-detected"),
    /** Key 0 is dropped whether or not it is a sink; every detected key {@code k > 0} is a hidden sink. */
    KEY0("key0");

    private final String id;

    SinkRule(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** The hidden sinks of one head: keys {@code 0..t-1} above the threshold, less the one this rule excludes. */
    public List<Integer> hiddenSinks(double[] colmean, int t, double threshold) {
        List<Integer> detected = new ArrayList<>();
        for (int k = 0; k < t; k++) {
            if (colmean[k] > threshold) {
                detected.add(k);
            }
        }
        return switch (this) {
            case FIRST_DETECTED -> detected.isEmpty() ? detected : detected.subList(1, detected.size());
            case KEY0 -> detected.stream().filter(k -> k > 0).toList();
        };
    }

    /**
     * The key this rule excludes in one head: the first detected sink (or -1 when nothing is detected) for
     * {@link #FIRST_DETECTED}, key 0 for {@link #KEY0}.
     */
    public int excluded(double[] colmean, int t, double threshold) {
        if (this == KEY0) {
            return 0;
        }
        for (int k = 0; k < t; k++) {
            if (colmean[k] > threshold) {
                return k;
            }
        }
        return -1;
    }

    public static SinkRule parse(String s) {
        for (SinkRule r : values()) {
            if (r.id.equals(s.toLowerCase(Locale.ROOT).trim())) {
                return r;
            }
        }
        throw new IllegalArgumentException("sink rule must be first-detected or key0, got '" + s + "'");
    }
}
