package org.headscope.hooks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Whether a run fits in the memory this process may still use, checked before the run starts: an out-of-memory
 * kill by a container's limit leaves no message, so a request that cannot fit is refused with the estimate.
 *
 * <p>Available memory is the smaller of the machine's {@code MemAvailable} and the cgroup's limit minus its usage
 * (cgroup v2 {@code memory.max}/{@code memory.current}, or v1 {@code memory.limit_in_bytes}/{@code usage_in_bytes}).
 * The estimate counts what grows with the prompt: the attention of one layer being computed (scores, probabilities
 * and a working copy, {@code [B,H,T,K]} floats each), every full-probability or score tap kept until the run ends,
 * and the copy of every tap made into Java. Weights are already resident when a session exists, so they are not
 * counted again.
 */
public final class MemoryBudget {
    private static final double SLACK = 1.25;

    private MemoryBudget() {
    }

    /** Bytes this process can still allocate, or {@link Long#MAX_VALUE} where no figure can be read. */
    public static long available() {
        long avail = meminfoAvailable();
        long cgroup = cgroupHeadroom();
        return Math.min(avail, cgroup);
    }

    /** The estimate described in the class comment, in bytes. */
    static long estimate(int batch, int heads, long queries, long keys, int fullTaps) {
        long map = (long) batch * heads * queries * keys * 4L;
        return (long) ((3L * map + 2L * fullTaps * map) * SLACK);
    }

    /** Throws a {@link ModelException} naming the estimate and what is available when the run cannot fit. */
    static void check(int batch, int heads, long queries, long keys, int fullTaps) {
        check(batch, heads, queries, keys, fullTaps, recentlyAvailable());
    }

    private static final long REREAD_NANOS = 1_000_000_000L;
    private static long readAt;
    private static long lastRead;

    /**
     * {@link #available()} read at most once a second: a sweep makes hundreds of runs a second, and each would
     * otherwise read three files under /proc and /sys on its way in.
     */
    private static synchronized long recentlyAvailable() {
        long now = System.nanoTime();
        if (readAt == 0 || now - readAt > REREAD_NANOS) {
            lastRead = available();
            readAt = now;
        }
        return lastRead;
    }

    static void check(int batch, int heads, long queries, long keys, int fullTaps, long have) {
        long need = estimate(batch, heads, queries, keys, fullTaps);
        if (need > have) {
            throw new ModelException(String.format(Locale.ROOT,
                    "This run needs about %s (%d x %d tokens, %d heads%s) and %s of memory is free for HeadScope.",
                    human(need), batch, queries, heads, fullTaps > 0 ? ", full attention of " + fullTaps + " layers" : "",
                    human(have)),
                    "Use a shorter prompt or a smaller batch, tap fewer layers' full probabilities (reductions need far less), "
                            + "or run where more memory is free.");
        }
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GB", bytes / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "%.0f MB", bytes / (double) (1L << 20));
    }

    private static long meminfoAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024L;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc unreadable: no figure
        }
        return Long.MAX_VALUE;
    }

    private static long cgroupHeadroom() {
        for (List<String> pair : List.of(List.of("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                List.of("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))) {
            long limit = readLong(pair.get(0));
            long used = readLong(pair.get(1));
            // cgroup v1 reports "no limit" as a number near Long.MAX_VALUE
            if (limit > 0 && limit < (1L << 60) && used >= 0) {
                return Math.max(0, limit - used);
            }
        }
        return Long.MAX_VALUE;
    }

    private static long readLong(String file) {
        try {
            String s = Files.readString(Path.of(file)).trim();
            return s.equals("max") ? Long.MAX_VALUE : Long.parseLong(s);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
