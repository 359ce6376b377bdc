package org.headscope.app.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.assets.BundledModels;

/**
 * The workbench's persisted settings: a flat JSON object in {@code workbench-settings.json} under the cache root.
 * Written atomically on every change; a missing or unreadable file means defaults, never a failed start.
 */
public final class Settings {
    public static final String FILE = "workbench-settings.json";
    private static final int MAX_RECENT = 8;

    private final Path file;
    private final Map<String, Object> values;

    private Settings(Path file, Map<String, Object> values) {
        this.file = file;
        this.values = values;
    }

    /** Settings in the default place ({@link BundledModels#cacheRoot()}). */
    public static Settings load() {
        return load(BundledModels.cacheRoot().resolve(FILE));
    }

    public static Settings load(Path file) {
        Map<String, Object> values = new LinkedHashMap<>();
        if (Files.isRegularFile(file)) {
            try {
                values.putAll(ReportWriter.JSON.readValue(file.toFile(), new TypeReference<Map<String, Object>>() {
                }));
            } catch (IOException e) {
                values.clear();
            }
        }
        return new Settings(file, values);
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

    private void save() {
        if (file == null) {
            return;
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            ReportWriter.atomic(file, ReportWriter.JSON.writeValueAsString(values));
        } catch (IOException e) {
            // settings are a convenience: a read-only cache folder must not stop the workbench
        }
    }
}
