package org.headscope.analysis.report;

import org.headscope.hooks.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Report sets replace each other whole, only regular files are written, and one writer holds a location. */
class OutputTargetTest {
    @TempDir
    Path dir;

    private static Map<String, String> set(String run) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : OutputTarget.REPORT_FILES) {
            m.put(name, run + " " + name);
        }
        return m;
    }

    private static List<String> names(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aSecondRunReplacesTheWholeSetAndLeavesNoHiddenFiles() throws Exception {
        Path out = dir.resolve("out");
        try (OutputTarget t = OutputTarget.folder(out)) {
            t.writeSet(set("first"));
        }
        try (OutputTarget t = OutputTarget.folder(out)) {
            t.writeSet(set("second"));
        }
        assertEquals(List.of("report.csv", "report.html", "report.json"), names(out));
        for (String name : OutputTarget.REPORT_FILES) {
            assertEquals("second " + name, Files.readString(out.resolve(name)));
        }
        assertEquals(List.of("out"), names(dir), "no temporary folder beside the report folder");
    }

    @Test
    void aSetLeftHalfWrittenByAKilledRunIsClearedByTheNextRun() throws Exception {
        Path out = dir.resolve("out");
        Path stale = Files.createDirectories(dir.resolve(".out.headscope-new-12345"));
        Files.writeString(stale.resolve("report.json"), "killed run");
        try (OutputTarget t = OutputTarget.folder(out)) {
            t.writeSet(set("next"));
        }
        assertEquals(List.of("out"), names(dir));
    }

    @Test
    void aFolderWithTheUsersOwnFilesKeepsThemAndGetsOneRunsSet() throws Exception {
        Path out = Files.createDirectories(dir.resolve("shared"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        Files.writeString(out.resolve("report.csv"), "old run");
        try (OutputTarget t = OutputTarget.folder(out)) {
            t.writeSet(set("new"));
        }
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        for (String name : OutputTarget.REPORT_FILES) {
            assertEquals("new " + name, Files.readString(out.resolve(name)));
        }
        assertEquals(List.of("notes.txt", "report.csv", "report.html", "report.json"), names(out));
    }

    @Test
    void linksDevicesAndFoldersAreNeverWrittenThrough() throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "keep");
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, victim);
        assertThrows(OutputTarget.BadOutputException.class, () -> OutputTarget.file(link));
        assertThrows(OutputTarget.BadOutputException.class, () -> OutputTarget.folder(link));
        assertThrows(OutputTarget.BadOutputException.class, () -> OutputTarget.file(dir));
        assertThrows(OutputTarget.BadOutputException.class, () -> OutputTarget.folder(victim));
        if (Files.exists(Path.of("/dev/full"))) {
            assertThrows(OutputTarget.BadOutputException.class, () -> OutputTarget.file(Path.of("/dev/full")));
        }
        assertThrows(OutputTarget.BadOutputException.class, () -> ReportWriter.atomic(link, "x"));
        assertEquals("keep", Files.readString(victim));
        assertTrue(Files.isSymbolicLink(link));
    }

    @Test
    void aLinkPlacedAfterTheCheckIsStillNotFollowed() throws Exception {
        Path victim = Files.writeString(dir.resolve("victim"), "keep");
        Path file = dir.resolve("a.json");
        try (OutputTarget t = OutputTarget.file(file)) {
            Files.createSymbolicLink(file, victim);
            assertThrows(OutputTarget.BadOutputException.class, () -> t.writeFile(o -> o.write(1)));
        }
        assertEquals("keep", Files.readString(victim));
        assertEquals(List.of("a.json", "victim"), names(dir), "no temporary file left");
    }

    @Test
    void oneWriterPerLocation() throws Exception {
        Path out = dir.resolve("out");
        try (OutputTarget first = OutputTarget.folder(out)) {
            ModelException e = assertThrows(ModelException.class, () -> OutputTarget.folder(out));
            assertTrue(e.problem().contains("Another HeadScope run"), e.problem());
        }
        try (OutputTarget again = OutputTarget.folder(out)) {
            assertFalse(Files.exists(out), "checking a location does not create it");
        }
    }
}
