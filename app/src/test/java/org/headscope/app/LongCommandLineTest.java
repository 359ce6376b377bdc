package org.headscope.app;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A command line of tens of thousands of characters once left ONNX Runtime too little stack to create its
 * environment on the JVM's main thread (SIGSEGV, exit 139). Run as the launcher runs it, in a JVM of its own: the
 * prompt is refused with its token count and the model's limit, exit 3, and no crash report is written.
 */
class LongCommandLineTest {
    @TempDir
    Path dir;

    private int run(List<String> args, Path stderr) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss4m",
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"), "-XX:-CreateCoredumpOnCrash",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(stderr.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor();
    }

    @Test
    void aTwentyFiveThousandCharacterPromptIsRefusedNotACrash() throws Exception {
        Path err = dir.resolve("err.txt");
        String text = "the cat sat on the mat . ".repeat(1000);
        int code = run(List.of("attention", "needle-gpt", "--text", text, "--out", dir.resolve("a.json").toString(), "--device", "cpu"), err);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(3, code, stderr);
        assertTrue(stderr.contains("The prompt has 7001 tokens; needle-gpt takes at most 512"), stderr);
        try (var s = Files.list(dir)) {
            assertFalse(s.anyMatch(f -> f.getFileName().toString().startsWith("hs_err")), "no JVM crash report");
        }
    }

    @Test
    void tenThousandAndOneIdsAreRefusedNotACrash() throws Exception {
        Path err = dir.resolve("err.txt");
        String ids = String.join(",", java.util.Collections.nCopies(10_001, "17"));
        int code = run(List.of("attention", "needle-gpt", "--ids", ids, "--out", dir.resolve("a.json").toString(), "--device", "cpu"), err);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(3, code, stderr);
        assertTrue(stderr.contains("10001 tokens"), stderr);
    }
}
