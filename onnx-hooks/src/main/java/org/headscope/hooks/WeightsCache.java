package org.headscope.hooks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The folder of externalised weights ({@code <cache>/weights/<hash>/weights.bin}, one per model with inline
 * weights): what is there, when each was last used, and pruning of the least recently used beyond a size. Opening
 * a model marks its entry used and prunes the others beyond {@link #maxBytes()}; {@code headscope cache} shows the
 * entries and prunes on request.
 */
public final class WeightsCache {
    /** Default size kept: {@code -Dheadscope.cache.max-gb}, else {@code HEADSCOPE_CACHE_MAX_GB}, else 20 GB. */
    public static long maxBytes() {
        String v = System.getProperty("headscope.cache.max-gb");
        if (v == null || v.isBlank()) {
            v = System.getenv("HEADSCOPE_CACHE_MAX_GB");
        }
        try {
            if (v != null && !v.isBlank() && Double.parseDouble(v) >= 0) {
                return (long) (Double.parseDouble(v) * (1L << 30));
            }
        } catch (NumberFormatException ignored) {
            // an unreadable setting keeps the default
        }
        return 20L << 30;
    }

    /** One cached weights file. */
    public record Entry(Path folder, long bytes, FileTime lastUsed) {
    }

    /** Marker whose modification time is the entry's last use; the weights file itself is never touched. */
    static final String USED = "last-used";

    private final Path root;

    public WeightsCache(Path root) {
        this.root = root;
    }

    public static WeightsCache standard() {
        return new WeightsCache(CacheFolder.root().resolve("weights"));
    }

    public Path root() {
        return root;
    }

    /** Entries, most recently used first. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                Path w = d.resolve("weights.bin");
                if (Files.isRegularFile(w)) {
                    Path used = d.resolve(USED);
                    out.add(new Entry(d, Files.size(w), Files.getLastModifiedTime(Files.isRegularFile(used) ? used : w)));
                }
            }
        } catch (IOException e) {
            throw new ModelException("The weights cache " + root + " cannot be listed: " + e.getMessage(), "Check its permissions.", e);
        }
        out.sort(Comparator.comparing(Entry::lastUsed).reversed());
        return out;
    }

    public long totalBytes() {
        return entries().stream().mapToLong(Entry::bytes).sum();
    }

    /** Marks an entry used now (the modification time of a small marker beside its weights), so pruning keeps it longest. */
    static void touch(Path folder) {
        try {
            if (Files.isRegularFile(folder.resolve("weights.bin"))) {
                Path used = folder.resolve(USED);
                if (!Files.exists(used)) {
                    Files.createFile(used);
                }
                Files.setLastModifiedTime(used, FileTime.fromMillis(System.currentTimeMillis()));
            }
        } catch (IOException ignored) {
            // a read-only cache still works; it just cannot record use
        }
    }

    /**
     * Deletes the least recently used entries until the rest fit in {@code maxBytes}; {@code keep} (the model being
     * opened) is never deleted. Returns the entries deleted.
     */
    public List<Entry> prune(long maxBytes, Path keep) {
        List<Entry> all = entries();
        long total = all.stream().mapToLong(Entry::bytes).sum();
        List<Entry> deleted = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0 && total > maxBytes; i--) {
            Entry e = all.get(i);
            if (keep != null && e.folder().toAbsolutePath().normalize().equals(keep.toAbsolutePath().normalize())) {
                continue;
            }
            try (Stream<Path> files = Files.list(e.folder())) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
                Files.deleteIfExists(e.folder());
                total -= e.bytes();
                deleted.add(e);
            } catch (IOException ex) {
                // in use elsewhere or read-only: leave it, the next prune tries again
            }
        }
        return deleted;
    }
}
