package org.headscope.app.util;

import org.headscope.hooks.CacheFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import org.headscope.analysis.report.ReportWriter;

/**
 * The workbench's persisted settings: a flat JSON object in {@code workbench-settings.json} under the cache root.
 * Written atomically on every change (by the workbench window: off the FX thread, a burst of changes as one write
 * half a second after the first, see {@link #deferWrites()}); a missing or unreadable file means defaults, never a
 * failed start.
 */
public final class Settings {
    public static final String FILE = "workbench-settings.json";
    private static final int MAX_RECENT = 8;

    private final Path file;
    private final Map<String, Object> values;
    private String problem;
    /** Writes the file off the caller's thread when set; null: each change is written at once. */
    private java.util.concurrent.ScheduledExecutorService writer;
    private final java.util.concurrent.atomic.AtomicReference<String> unsaved = new java.util.concurrent.atomic.AtomicReference<>();

    private Settings(Path file, Map<String, Object> values) {
        this.file = file;
        this.values = values;
    }

    /** Settings in the default place ({@link CacheFolder#root()}). */
    public static Settings load() {
        return load(CacheFolder.root().resolve(FILE));
    }

    /**
     * Settings from a file. A file that is not a JSON object of settings is set aside (renamed to
     * {@code FILE.bad}) and defaults are used; {@link #problem()} says why.
     */
    public static Settings load(Path file) {
        Map<String, Object> values = new LinkedHashMap<>();
        Settings s = new Settings(file, values);
        if (Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                if (!Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    s.problem = file + " is not a regular file";
                    return s;
                }
                if (Files.size(file) > (4L << 20)) {
                    throw new IOException("it is " + Files.size(file) + " bytes");
                }
                Map<String, Object> read = ReportWriter.JSON.readValue(file.toFile(), new TypeReference<Map<String, Object>>() {
                });
                if (read == null) {
                    throw new IOException("it holds null, not an object");
                }
                values.putAll(read);
            } catch (IOException | RuntimeException e) {
                s.setAside("it is not a JSON object of settings (" + firstLine(e.getMessage()) + ")");
            }
        }
        return s;
    }

    private static String firstLine(String m) {
        if (m == null) {
            return "unreadable";
        }
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Why the settings file was set aside, if it was. */
    public java.util.Optional<String> problem() {
        return java.util.Optional.ofNullable(problem);
    }

    /** Every value as read (read-only), for validation. */
    public Map<String, Object> values() {
        return java.util.Collections.unmodifiableMap(values);
    }

    /**
     * Gives up on the file's values: they are cleared (defaults apply) and the file is renamed to {@code FILE.bad}
     * so that the next save does not overwrite what the user may want to look at.
     */
    public void setAside(String reason) {
        problem = reason;
        values.clear();
        if (file != null && Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.move(file, file.resolveSibling(file.getFileName() + ".bad"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                // the next save replaces it; the message still tells the user
            }
        }
    }

    /** Settings kept in memory only (tests, screenshots). */
    public static Settings inMemory() {
        return new Settings(null, new LinkedHashMap<>());
    }

    public String string(String key, String fallback) {
        return values.get(key) instanceof String s ? s : fallback;
    }

    public boolean bool(String key, boolean fallback) {
        return values.get(key) instanceof Boolean b ? b : fallback;
    }

    public double number(String key, double fallback) {
        return values.get(key) instanceof Number n ? n.doubleValue() : fallback;
    }

    /** A nested object (e.g. each panel's settings by its key), or an empty map. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> map(String key) {
        return values.get(key) instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    public void put(String key, Object value) {
        if (value == null ? values.remove(key) != null : !value.equals(values.put(key, value))) {
            save();
        }
    }

    public List<String> recent() {
        List<String> out = new ArrayList<>();
        if (values.get("recent") instanceof List<?> list) {
            list.forEach(o -> out.add(String.valueOf(o)));
        }
        return out;
    }

    /** Moves a model path to the front of the recent list. */
    public List<String> addRecent(String path) {
        List<String> r = recent();
        r.remove(path);
        r.addFirst(path);
        while (r.size() > MAX_RECENT) {
            r.removeLast();
        }
        values.put("recent", r);
        save();
        return r;
    }

    /**
     * From now on changes are written by a background thread, at most one write per half second ({@link #flush()}
     * writes what is left at once): the FX thread never waits on the disk. Returns this.
     */
    public Settings deferWrites() {
        if (writer == null && file != null) {
            writer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "headscope-settings");
                t.setDaemon(true);
                return t;
            });
        }
        return this;
    }

    /** Writes a change still waiting for the deferred writer (the workbench calls it when it closes). */
    public void flush() {
        String json = unsaved.getAndSet(null);
        if (json != null) {
            write(json);
        }
    }

    private void save() {
        if (file == null) {
            return;
        }
        String json;
        try {
            json = ReportWriter.JSON.writeValueAsString(values);
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (writer == null) {
            write(json);
        } else if (unsaved.getAndSet(json) == null) {
            writer.schedule(this::flush, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void write(String json) {
        if (problem != null && Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && !Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            ReportWriter.atomic(file, json);
        } catch (IOException | RuntimeException e) {
            // settings are a convenience: a read-only cache folder must not stop the workbench
        }
    }
}
