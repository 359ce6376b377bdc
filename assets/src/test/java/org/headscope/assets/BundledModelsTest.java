package org.headscope.assets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BundledModelsTest {
    @TempDir
    Path dir;

    @Test
    void aModelFolderInsideAJarIsCopiedOnceIntoTheCache() throws Exception {
        Path jar = dir.resolve("assets.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("headscope-assets/models/tiny/"));
            out.closeEntry();
            for (String name : new String[]{"headscope.json", "sub/tokenizer.json"}) {
                out.putNextEntry(new JarEntry("headscope-assets/models/tiny/" + name));
                out.write(("content of " + name).getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        withCache(dir.resolve("cache"), () -> {
            try (URLClassLoader loader = new URLClassLoader(new URL[]{jar.toUri().toURL()}, null)) {
                Path folder = BundledModels.resourceFolder(loader, "headscope-assets/models/tiny");
                assertTrue(folder.startsWith(dir.resolve("cache")));
                assertEquals("content of headscope.json", Files.readString(folder.resolve("headscope.json")));
                assertEquals("content of sub/tokenizer.json", Files.readString(folder.resolve("sub/tokenizer.json")));
            }
        });
    }

    private interface Body {
        void run() throws Exception;
    }

    /** Runs the body with the cache folder pointed at {@code cache}, then restores the setting. */
    private static void withCache(Path cache, Body body) throws Exception {
        String old = System.getProperty("headscope.cache");
        System.setProperty("headscope.cache", cache.toString());
        try {
            body.run();
        } finally {
            if (old == null) {
                System.clearProperty("headscope.cache");
            } else {
                System.setProperty("headscope.cache", old);
            }
        }
    }

    @Test
    void aChangedModelOfTheSameSizeReplacesTheCachedCopy() throws Exception {
        withCache(dir.resolve("cache2"), () -> {
            for (String content : new String[]{"first weights", "other weights"}) {
                Path jar = dir.resolve("v-" + content.charAt(0) + ".jar");
                try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
                    out.putNextEntry(new JarEntry("headscope-assets/models/m/"));
                    out.closeEntry();
                    out.putNextEntry(new JarEntry("headscope-assets/models/m/model.onnx"));
                    out.write(content.getBytes(StandardCharsets.UTF_8));
                    out.closeEntry();
                }
                try (URLClassLoader loader = new URLClassLoader(new URL[]{jar.toUri().toURL()}, null)) {
                    Path folder = BundledModels.resourceFolder(loader, "headscope-assets/models/m");
                    assertEquals(content, Files.readString(folder.resolve("model.onnx")));
                }
            }
        });
    }

    @Test
    void theDefaultModelIsAlwaysAvailableAndComesWithItsTokenizer() {
        assertEquals(BundledModels.MINILM, BundledModels.available().get(0));
        Path folder = BundledModels.folder(BundledModels.MINILM);
        assertTrue(Files.isRegularFile(folder.resolve("model.onnx")));
        assertTrue(Files.isRegularFile(folder.resolve("tokenizer.json")));
        assertTrue(Files.isRegularFile(folder.resolve("headscope.json")));
    }
}
