package org.headscope.app.util;


import org.headscope.hooks.CacheFolder;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Internal errors (bugs, not bad input) are written with their stack trace to a log file under the cache folder
 * ({@code logs/}), so the user sees one line saying where, never a stack trace.
 */
public final class ErrorLog {
    private ErrorLog() {
    }

    /** Appends the error and its context to the log; returns the log's path, or null when it could not be written. */
    public static Path write(String context, Throwable error) {
        StringWriter trace = new StringWriter();
        try (PrintWriter w = new PrintWriter(trace)) {
            w.println("=== " + Instant.now() + " headscope " + context);
            w.println("java " + System.getProperty("java.version") + ", " + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
            error.printStackTrace(w);
        }
        try {
            Path dir = CacheFolder.root().resolve("logs");
            Files.createDirectories(dir);
            Path log = dir.resolve("headscope-errors.log");
            if (Files.isRegularFile(log) && Files.size(log) > (4L << 20)) {
                Files.move(log, dir.resolve("headscope-errors.old.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            Files.writeString(log, trace.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return log;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
