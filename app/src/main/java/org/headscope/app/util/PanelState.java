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
}
