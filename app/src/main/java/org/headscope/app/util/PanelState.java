package org.headscope.app.util;

import java.util.Map;

/**
 * A panel whose settings travel in session files: it saves them as a small JSON-ready map and restores them
 * (without running anything; the session restore runs once at the end).
 */
public interface PanelState {
    /** The key of this panel in the session file, e.g. {@code "ablation"}. */
    String key();

    Map<String, Object> save();

    void restore(Map<String, Object> values);

    /**
     * Checks saved settings without applying them; throws {@link IllegalArgumentException} naming the first bad value.
     * A session or settings file is applied only when every panel accepts its values (all or nothing).
     */
    default void validate(Map<String, Object> values) {
    }

    /** A saved number that must be finite. */
    static void requireFinite(Map<String, Object> values, String key) {
        Object v = values.get(key);
        if (v != null && !(v instanceof Number n && Double.isFinite(n.doubleValue()))) {
            throw new IllegalArgumentException("'" + key + "' is " + v + ", not a finite number");
        }
    }
}
