package org.headscope.app.cli;

import org.headscope.app.util.UserPaths;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Parsed {@code --name value} options and positional arguments, with typed getters that fail as usage errors. */
public final class Args {
    private final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final Set<String> read = new HashSet<>();

    public Args(String[] args, Set<String> booleanFlags) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--")) {
                String name = a.substring(2);
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    options.put(name.substring(0, eq), name.substring(eq + 1));
                } else if (booleanFlags.contains(name)) {
                    flags.add(name);
                } else {
                    if (i + 1 >= args.length) {
                        throw new UsageException("option --" + name + " needs a value");
                    }
                    options.put(name, args[++i]);
                }
            } else {
                positional.add(a);
            }
        }
    }

    public String positional(int i, String what) {
        if (i >= positional.size()) {
            throw new UsageException("missing " + what);
        }
        return positional.get(i);
    }

    public int positionalCount() {
        return positional.size();
    }

    public boolean flag(String name) {
        read.add(name);
        return flags.contains(name);
    }

    public String string(String name, String fallback) {
        read.add(name);
        return options.getOrDefault(name, fallback);
    }

    public String require(String name) {
        read.add(name);
        String v = options.get(name);
        if (v == null) {
            throw new UsageException("option --" + name + " is required");
        }
        return v;
    }

    public boolean has(String name) {
        return options.containsKey(name) || flags.contains(name);
    }

    public double number(String name, double fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        double d;
        try {
            d = Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + v + "'");
        }
        if (!Double.isFinite(d)) {
            throw new UsageException("--" + name + " must be a finite number, got '" + v + "'");
        }
        return d;
    }

    public int integer(String name, int fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    /** An integer option that must lie in [min, max]. */
    public int integer(String name, int fallback, int min, int max, String what) {
        int v = integer(name, fallback);
        if (v < min || v > max) {
            throw new UsageException("--" + name + " is " + v + "; " + what + " must be between " + min + " and " + max);
        }
        return v;
    }

    /** A number option that must lie in [min, max]. */
    public double number(String name, double fallback, double min, double max, String what) {
        double v = number(name, fallback);
        if (v < min || v > max) {
            throw new UsageException("--" + name + " is " + v + "; " + what + " must be between " + min + " and " + max);
        }
        return v;
    }

    public List<Integer> integers(String name, List<Integer> fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Integer::parseInt).toList();
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a comma-separated list of integers, got '" + v + "'");
        }
    }

    public List<Long> longs(String name) {
        String v = string(name, null);
        if (v == null) {
            return null;
        }
        try {
            return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a comma-separated list of integers, got '" + v + "'");
        }
    }

    /** Largest text file an option reads (prompts, needles, haystack, reference texts). */
    static final long MAX_INPUT_BYTES = 64L << 20;

    /** A path option resolved against the caller's folder (see {@link UserPaths}); null when not given. */
    public Path path(String name) {
        String v = string(name, null);
        if (v == null) {
            return null;
        }
        try {
            return UserPaths.resolve(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
    }

    /** A required path option (e.g. --out), resolved against the caller's folder. */
    public Path requirePath(String name) {
        require(name);
        return path(name);
    }

    /** An input file option: an existing regular file of reasonable size, resolved against the caller's folder. */
    public Path existingFile(String name) {
        Path p = path(name);
        if (p == null) {
            return null;
        }
        if (!Files.exists(p)) {
            throw new UsageException("--" + name + ": " + p + " does not exist");
        }
        if (!Files.isRegularFile(p)) {
            throw new UsageException("--" + name + ": " + p + " is not a regular file");
        }
        try {
            if (Files.size(p) > MAX_INPUT_BYTES) {
                throw new UsageException("--" + name + ": " + p + " is " + Files.size(p) + " bytes; HeadScope reads input files of at most "
                        + (MAX_INPUT_BYTES >> 20) + " MB");
            }
        } catch (java.io.IOException e) {
            throw new UsageException("--" + name + ": " + p + " cannot be read (" + e.getMessage() + ")");
        }
        if (!Files.isReadable(p)) {
            throw new UsageException("--" + name + ": " + p + " cannot be read (permission denied)");
        }
        return p;
    }

    /** Options given but never asked for: almost always a typo. */
    public void rejectUnknown() {
        Set<String> unknown = new HashSet<>(options.keySet());
        unknown.addAll(flags);
        unknown.removeAll(read);
        if (!unknown.isEmpty()) {
            throw new UsageException("unknown option(s): " + unknown.stream().sorted().map(s -> "--" + s).toList());
        }
    }
}
