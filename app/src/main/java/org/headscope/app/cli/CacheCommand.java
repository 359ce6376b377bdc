package org.headscope.app.cli;

import org.headscope.hooks.WeightsCache;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/** Shows the weights cache (one entry per opened model with inline weights) and prunes it. */
public final class CacheCommand implements Command {
    @Override
    public String name() {
        return "cache";
    }

    @Override
    public String usage() {
        return "cache [--prune] [--max-gb N]";
    }

    @Override
    public String summary() {
        return "list the weights cache (size, last use) and prune the least recently used beyond --max-gb (default: the kept size)";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) {
        boolean prune = args.flag("prune");
        double maxGb = args.number("max-gb", WeightsCache.maxBytes() / (double) (1L << 30), 0, 1e6, "the size to keep in GB");
        args.rejectUnknown();
        WeightsCache cache = WeightsCache.standard();
        if (prune) {
            List<WeightsCache.Entry> gone = cache.prune((long) (maxGb * (1L << 30)), null);
            for (WeightsCache.Entry e : gone) {
                out.printf(Locale.ROOT, "deleted %s (%s)%n", e.folder().getFileName(), human(e.bytes()));
            }
        }
        List<WeightsCache.Entry> entries = cache.entries();
        out.printf(Locale.ROOT, "%s: %d entries, %s (kept size %.1f GB; set -Dheadscope.cache.max-gb or HEADSCOPE_CACHE_MAX_GB)%n",
                cache.root(), entries.size(), human(entries.stream().mapToLong(WeightsCache.Entry::bytes).sum()),
                WeightsCache.maxBytes() / (double) (1L << 30));
        for (WeightsCache.Entry e : entries) {
            out.printf(Locale.ROOT, "  %s  %10s  last used %s%n", e.folder().getFileName(), human(e.bytes()), e.lastUsed());
        }
        return ExitCode.OK.code();
    }

    private static String human(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MB", bytes / (double) (1L << 20));
    }
}
