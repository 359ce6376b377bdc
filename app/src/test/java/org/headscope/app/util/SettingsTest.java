package org.headscope.app.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {
    @Test
    void valuesAndRecentModelsSurviveAReload(@TempDir Path dir) {
        Path file = dir.resolve("s.json");
        Settings s = Settings.load(file);
        s.put("scale", "LOG");
        s.put("width", 900.0);
        s.addRecent("/a/model.onnx");
        s.addRecent("/b/folder");
        s.addRecent("/a/model.onnx");
        Settings again = Settings.load(file);
        assertEquals("LOG", again.string("scale", "LINEAR"));
        assertEquals(900.0, again.number("width", 0), 0);
        assertEquals(List.of("/a/model.onnx", "/b/folder"), again.recent());
    }

    @Test
    void anUnreadableFileMeansDefaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("s.json");
        Files.writeString(file, "{ not json");
        Settings s = Settings.load(file);
        assertEquals("x", s.string("scale", "x"));
        assertTrue(s.recent().isEmpty());
    }
}
