package org.headscope.app.util;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Paths a user types, resolved against the folder the user was in. The launcher changes into the HeadScope
 * checkout before starting Java and passes the caller's folder as {@code -Dheadscope.cwd}; without it (tests, a
 * plain {@code java} start) the JVM's own working directory is the caller's.
 */
public final class UserPaths {
    public static final String CWD_PROPERTY = "headscope.cwd";

    private UserPaths() {
    }

    /** The caller's working directory. */
    public static Path cwd() {
        String c = System.getProperty(CWD_PROPERTY);
        if (c != null && !c.isBlank()) {
            try {
                return Path.of(c).toAbsolutePath().normalize();
            } catch (InvalidPathException ignored) {
                // fall back to the JVM's directory
            }
        }
        return Path.of("").toAbsolutePath();
    }

    /**
     * A path as typed, absolute: relative paths are resolved against {@link #cwd()}, {@code ~/} against the home
     * folder. Throws {@link IllegalArgumentException} (with the reason) for a string that is no path.
     */
    public static Path resolve(String typed) {
        if (typed == null || typed.isBlank()) {
            throw new IllegalArgumentException("an empty path");
        }
        if (typed.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("the path contains a NUL character");
        }
        String t = typed;
        if (t.equals("~") || t.startsWith("~/")) {
            t = System.getProperty("user.home") + t.substring(1);
        }
        try {
            Path p = Path.of(t);
            return (p.isAbsolute() ? p : cwd().resolve(p)).normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + typed + "' is not a valid path: " + e.getReason());
        }
    }
}
