package org.headscope.assets;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the bundled models. Nothing is downloaded: every file comes from the classpath.
 */
public final class BundledModels {
    /** The default model: all-MiniLM-L6-v2 (Apache-2.0), shipped by langchain4j on Maven Central. */
    public static final String MINILM = "all-minilm-l6-v2";
    /** Bundled models trained by this project, in the order the workbench's menu shows them. */
    public static final List<String> TRAINED = List.of("needle-gpt", "needle-llama", "shapes-vlm");

    private static final String MINILM_MANIFEST = """
            {
              "format": "headscope-manifest/1",
              "name": "all-MiniLM-L6-v2",
              "kind": "encoder",
              "architecture": "bert",
              "model": "model.onnx",
              "tokenizer": "tokenizer.json",
              "maxLength": 512
            }
            """;

    private BundledModels() {
    }

    /**
     * Root folder for derived files; {@code -Dheadscope.cache} or {@code HEADSCOPE_CACHE} override ~/.cache/headscope.
     * The same rule as the engine's {@code org.headscope.hooks.CacheFolder}, which this jar of data cannot depend on.
     */
    public static Path cacheRoot() {
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

    /** Names of every bundled model present in this build. */
    public static List<String> available() {
        List<String> names = new ArrayList<>();
        names.add(MINILM);
        for (String n : TRAINED) {
            if (BundledModels.class.getResource("/headscope-assets/models/" + n + "/headscope.json") != null) {
                names.add(n);
            }
        }
        return names;
    }

    /** Folder of a bundled model (with its headscope.json), copied to the cache on first use. */
    public static Path folder(String name) {
        if (name.equals(MINILM)) {
            return minilm();
        }
        return resourceFolder(BundledModels.class.getClassLoader(), "headscope-assets/models/" + name);
    }

    /** Folder of the needle set and haystack text used by retrieval scans. */
    public static Path needles() {
        return resourceFolder(BundledModels.class.getClassLoader(), "headscope-assets/needles");
    }

    private static Path minilm() {
        Path dir = cacheRoot().resolve("bundled").resolve(MINILM);
        copyResource("all-minilm-l6-v2.onnx", dir.resolve("model.onnx"));
        copyResource("all-minilm-l6-v2-tokenizer.json", dir.resolve("tokenizer.json"));
        writeIfDifferent(dir.resolve("headscope.json"), MINILM_MANIFEST);
        return dir;
    }

    /**
     * A classpath folder as a file-system folder: used in place when the classes are on disk (running from the
     * source tree), copied into the cache when they are inside a jar.
     */
    static Path resourceFolder(ClassLoader loader, String resource) {
        URL url = loader.getResource(resource + "/");
        if (url == null) {
            url = loader.getResource(resource);
        }
        if (url == null) {
            throw new IllegalArgumentException("bundled asset '" + resource + "' is not in this build; available models: " + available());
        }
        if (url.getProtocol().equals("file")) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        String name = resource.substring(resource.lastIndexOf('/') + 1);
        try {
            java.net.JarURLConnection jar = (java.net.JarURLConnection) url.openConnection();
            jar.setUseCaches(false);
            try (java.util.jar.JarFile file = jar.getJarFile()) {
                String prefix = resource + "/";
                List<java.util.jar.JarEntry> files = new ArrayList<>();
                var entries = file.entries();
                while (entries.hasMoreElements()) {
                    java.util.jar.JarEntry e = entries.nextElement();
                    if (!e.isDirectory() && e.getName().startsWith(prefix)) {
                        files.add(e);
                    }
                }
                // one folder per content: builds with different bundled files (two checkouts, an older release) share
                // the cache without replacing each other's files under a running process
                Path dir = cacheRoot().resolve("bundled").resolve(name + "-" + contentKey(files));
                for (java.util.jar.JarEntry e : files) {
                    copyResource(loader, e.getName(), dir.resolve(e.getName().substring(prefix.length())));
                }
                return dir;
            }
        } catch (IOException | ClassCastException e) {
            throw new IllegalStateException("bundled asset folder " + resource + " cannot be listed from " + url, e);
        }
    }

    /** Eight hex digits over the entries' names, CRCs and sizes. */
    private static String contentKey(List<java.util.jar.JarEntry> files) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        files.stream().sorted(java.util.Comparator.comparing(java.util.jar.JarEntry::getName)).forEach(e ->
                crc.update((e.getName() + " " + e.getCrc() + " " + e.getSize() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return String.format("%08x", crc.getValue());
    }

    private static void copyResource(String resource, Path target) {
        copyResource(BundledModels.class.getClassLoader(), resource, target);
    }

    private static void copyResource(ClassLoader loader, String resource, Path target) {
        URL url = loader.getResource(resource);
        if (url == null) {
            throw new IllegalStateException("bundled resource " + resource + " is missing from the classpath");
        }
        try {
            // the copy is reused only while it came from the same bytes: same CRC (jar entries) or modification time
            java.net.URLConnection conn = url.openConnection();
            conn.setUseCaches(false);
            String stamp = conn instanceof java.net.JarURLConnection jar
                    ? "crc " + jar.getJarEntry().getCrc() + " size " + jar.getJarEntry().getSize()
                    : "modified " + conn.getLastModified() + " size " + conn.getContentLengthLong();
            Path stampFile = target.resolveSibling(target.getFileName() + ".stamp");
            if (Files.isRegularFile(target) && Files.isRegularFile(stampFile) && Files.readString(stampFile).equals(stamp)) {
                return;
            }
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), ".copy", ".tmp");
            try (InputStream in = conn.getInputStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Files.writeString(stampFile, stamp);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not copy bundled " + resource + " to " + target
                    + "; free disk space or set -Dheadscope.cache to a writable folder", e);
        }
    }

    private static void writeIfDifferent(Path file, String content) {
        try {
            if (Files.isRegularFile(file) && Files.readString(file).equals(content)) {
                return;
            }
            Files.createDirectories(file.getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
