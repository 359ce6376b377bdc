package org.headscope.app.util;

import org.headscope.assets.BundledModels;
import org.headscope.hooks.CacheFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The bundled-models jar copies models into the same cache folder the engine, the settings and the error log use:
 * the data jar cannot depend on the engine, so it repeats the rule, and this checks both give one answer.
 */
class CacheFolderAgreementTest {
    @Test
    void theBundledModelsAndTheEngineShareOneCacheFolder(@TempDir Path dir) {
        String before = System.getProperty("headscope.cache");
        try {
            System.setProperty("headscope.cache", dir.toString());
            assertEquals(dir, CacheFolder.root());
            assertEquals(CacheFolder.root(), BundledModels.cacheRoot());
            System.clearProperty("headscope.cache");
            assertEquals(CacheFolder.root(), BundledModels.cacheRoot());
        } finally {
            if (before == null) {
                System.clearProperty("headscope.cache");
            } else {
                System.setProperty("headscope.cache", before);
            }
        }
    }
}
