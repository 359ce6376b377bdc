package org.headscope.analysis.report;

import org.headscope.hooks.ModelException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a command writes: one file ({@code attention --out FILE}) or a report folder ({@code DIR/report.json,
 * .csv, .html}). Checked when the command starts, before any long work, and held until the output is written:
 *
 * <ul>
 *   <li>only regular files are written: a symbolic link, a device node, a folder or a pipe where a file should go is
 *       refused, never replaced or followed;</li>
 *   <li>one writer per location: a lock (a file in the cache folder named by the location, so nothing extra appears
 *       beside the output) excludes a second HeadScope run writing to the same place, with a clear message;</li>
 *   <li>a report set is replaced as a set: the three files are written into a fresh hidden folder beside the report
 *       folder, which is then renamed into place, so a reader never sees files of two runs side by side. A folder
 *       that also holds files of the user's own is updated by removing the old set first, so it never mixes two
 *       runs either.</li>
 * </ul>
 */
public final class OutputTarget implements AutoCloseable {
    /** The files of a report set. */
    public static final List<String> REPORT_FILES = List.of("report.json", "report.csv", "report.html");

    private static final Set<String> HELD = ConcurrentHashMap.newKeySet();

    private final Path path;
    private final boolean folder;
    private final String key;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    /** A location that cannot be written, with the reason; a usage problem (exit 2 on the command line). */
    public static final class BadOutputException extends IllegalArgumentException {
        public BadOutputException(String message) {
            super(message);
        }
    }

    private OutputTarget(Path path, boolean folder, String key, FileChannel channel, FileLock lock) {
        this.path = path;
        this.folder = folder;
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** A report folder: checked and locked now. */
    public static OutputTarget folder(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        checkFolder(d);
        return locked(d, true);
    }

    /** A single output file: checked and locked now. */
    public static OutputTarget file(Path file) {
        Path f = file.toAbsolutePath().normalize();
        checkFile(f);
        return locked(f, false);
    }

    public Path path() {
        return path;
    }

    static void checkFolder(Path d) {
        if (Files.isSymbolicLink(d)) {
            throw new BadOutputException(d + " is a symbolic link; HeadScope writes reports only into a real folder (give the folder it points to, or a new name)");
        }
        if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                throw new BadOutputException(d + " is " + kind(d) + ", not a folder; --out names the folder that receives report.json, report.csv and report.html");
            }
            for (String name : REPORT_FILES) {
                Path f = d.resolve(name);
                if (Files.exists(f, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    throw new BadOutputException(f + " is " + kind(f) + "; HeadScope replaces only regular files (remove it or choose another folder)");
                }
            }
            if (!Files.isWritable(d)) {
                throw new BadOutputException("folder " + d + " is not writable; choose another --out");
            }
        } else {
            checkAncestor(d);
        }
    }

    static void checkFile(Path f) {
        if (f.getFileName() == null) {
            throw new BadOutputException("--out names no file");
        }
        if (Files.exists(f, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(f)) {
            if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                throw new BadOutputException(f + " is " + kind(f) + "; HeadScope writes only regular files (remove it or choose another name)");
            }
            if (!Files.isWritable(f) || !Files.isWritable(f.getParent())) {
                throw new BadOutputException(f + " cannot be replaced (no write permission); choose another --out");
            }
        } else {
            checkAncestor(f);
        }
    }

    /** A missing path is fine when its nearest existing ancestor is a writable folder. */
    private static void checkAncestor(Path p) {
        Path a = p.getParent();
        while (a != null && !Files.exists(a)) {
            if (Files.isSymbolicLink(a)) {
                throw new BadOutputException(a + " is a dangling symbolic link; choose another --out");
            }
            a = a.getParent();
        }
        if (a == null || !Files.isDirectory(a)) {
            throw new BadOutputException("cannot create " + p + ": " + (a == null ? "no existing folder above it" : a + " is not a folder"));
        }
        if (!Files.isWritable(a)) {
            throw new BadOutputException("cannot create " + p + ": folder " + a + " is not writable");
        }
    }

    private static String kind(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink()) {
                return "a symbolic link";
            }
            if (a.isDirectory()) {
                return "a folder";
            }
            if (a.isRegularFile()) {
                return "a file";
            }
            return "a device, pipe or socket";
        } catch (IOException e) {
            return "unreadable (" + e.getMessage() + ")";
        }
    }

    private static OutputTarget locked(Path p, boolean folder) {
        String key = p.toString();
        if (!HELD.add(key)) {
            throw busy(p);
        }
        FileChannel ch = null;
        try {
            Path dir = org.headscope.hooks.CacheFolder.root().resolve("locks");
            Files.createDirectories(dir);
            Path lockFile = dir.resolve(hash(key) + ".lock");
            ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                ch.close();
                HELD.remove(key);
                throw busy(p);
            }
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + " " + key + "\n").getBytes(StandardCharsets.UTF_8)));
            return new OutputTarget(p, folder, key, ch, lock);
        } catch (OverlappingFileLockException e) {
            closeQuietly(ch);
            HELD.remove(key);
            throw busy(p);
        } catch (IOException e) {
            // no cache folder to lock in: still exclude writers within this process, and write carefully
            closeQuietly(ch);
            return new OutputTarget(p, folder, key, null, null);
        }
    }

    private static ModelException busy(Path p) {
        return new ModelException("Another HeadScope run is writing to " + p + " right now.",
                "Wait for it to finish, or give this run another --out.");
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing was written through it
            }
        }
    }

    private static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the report set (json, csv, html) as a set; returns the files' paths. */
    public List<Path> writeReport(HeadReport report) throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("report.json", ReportWriter.JSON.writeValueAsString(report));
        files.put("report.csv", ReportWriter.csv(report));
        files.put("report.html", HtmlReport.render(report));
        return writeSet(files);
    }

    /** Writes named files into the folder as one set. */
    public List<Path> writeSet(Map<String, String> files) throws IOException {
        if (!folder) {
            throw new IllegalStateException("not a folder target: " + path);
        }
        checkFolder(path);
        Path parent = path.getParent();
        Files.createDirectories(parent);
        String prefix = "." + path.getFileName() + ".headscope-";
        removeStale(parent, prefix);
        boolean swap = !Files.exists(path, LinkOption.NOFOLLOW_LINKS) || holdsOnly(path, files.keySet());
        if (swap && !path.equals(Path.of("").toAbsolutePath()) && !path.equals(cwdProperty())) {
            Path fresh = Files.createTempDirectory(parent, prefix + "new-");
            try {
                writeAll(fresh, files);
                if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                    Path old = parent.resolve(fresh.getFileName().toString().replace("new-", "old-"));
                    Files.move(path, old, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                    deleteSet(old, files.keySet());
                } else {
                    Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
                }
            } finally {
                if (Files.exists(fresh, LinkOption.NOFOLLOW_LINKS)) {
                    deleteSet(fresh, files.keySet());
                }
            }
        } else {
            // the folder holds the user's own files too: remove the old set first, then move the new one in
            Path fresh = Files.createTempDirectory(path, ".headscope-new-");
            try {
                writeAll(fresh, files);
                for (String name : files.keySet()) {
                    Files.deleteIfExists(path.resolve(name));
                }
                for (String name : files.keySet()) {
                    Files.move(fresh.resolve(name), path.resolve(name), StandardCopyOption.ATOMIC_MOVE);
                }
            } finally {
                deleteSet(fresh, files.keySet());
            }
        }
        List<Path> out = new ArrayList<>();
        files.keySet().forEach(n -> out.add(path.resolve(n)));
        return out;
    }

    private static Path cwdProperty() {
        String c = System.getProperty("headscope.cwd");
        try {
            return c == null || c.isBlank() ? null : Path.of(c).toAbsolutePath().normalize();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Writes one file: completely under a temporary name beside it, then renamed over it. */
    public Path writeFile(IoWriter writer) throws IOException {
        if (folder) {
            throw new IllegalStateException("not a file target: " + path);
        }
        checkFile(path);
        Path parent = path.getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempFile(parent, "." + path.getFileName() + ".", ".tmp");
        try {
            try (OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                writer.write(o);
            }
            shareable(tmp, false);
            checkFile(path);
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return path;
    }

    /** Writes an output stream's content. */
    @FunctionalInterface
    public interface IoWriter {
        void write(OutputStream out) throws IOException;
    }

    private static void writeAll(Path dir, Map<String, String> files) throws IOException {
        shareable(dir, true);
        for (Map.Entry<String, String> e : files.entrySet()) {
            Path f = dir.resolve(e.getKey());
            Files.writeString(f, e.getValue(), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            shareable(f, false);
        }
    }

    /** Temporary files and folders are created owner-only; a report is an ordinary, shareable file. */
    private static void shareable(Path p, boolean dir) throws IOException {
        if (Files.getFileStore(p).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(dir ? "rwxr-xr-x" : "rw-r--r--"));
        }
    }

    private static boolean holdsOnly(Path dir, Set<String> names) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (!names.contains(p.getFileName().toString()) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Deletes a set folder of ours: its known files, then the folder if that left it empty. */
    private static void deleteSet(Path dir, Set<String> names) {
        try {
            for (String n : names) {
                Files.deleteIfExists(dir.resolve(n));
            }
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a folder with something else in it is left as it is
        }
    }

    /** Hidden set folders left by a run that was killed mid-write (under this target's lock, nobody else owns them). */
    private static void removeStale(Path parent, String prefix) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(parent, p -> p.getFileName().toString().startsWith(prefix))) {
            for (Path p : s) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    deleteSet(p, Set.copyOf(REPORT_FILES));
                }
            }
        } catch (IOException ignored) {
            // stale folders are only clutter
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (lock != null) {
                lock.release();
            }
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(channel);
        HELD.remove(key);
    }
}
