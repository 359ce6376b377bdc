package org.headscope.hooks;

import java.nio.file.Path;

/**
 * The folder HeadScope keeps derived files in (externalised weights, locks, logs): {@code -Dheadscope.cache}, else
 * {@code HEADSCOPE_CACHE}, else {@code ~/.cache/headscope}. Owned by the engine, so that opening a model needs
 * nothing from the bundled-models jar.
 */
public final class CacheFolder {
    private CacheFolder() {
    }

    public static Path root() {
        String prop = System.getProperty("headscope.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("HEADSCOPE_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "headscope");
    }
}
