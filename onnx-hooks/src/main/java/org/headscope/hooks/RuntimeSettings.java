package org.headscope.hooks;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * ONNX Runtime's CPU threading for the sessions HeadScope opens: intra-op threads (0: ONNX Runtime's default, one per
 * physical core) and whether idle worker threads spin-wait. Spinning wins on an idle machine and costs on a loaded one
 * (measured on 2 shared cores under a load of 4-6: spinning off gave 0.72x the median time of an ablation sweep), so
 * the default ({@link #auto}) turns it off when the machine's one-minute load average is at least its number of cores.
 * Set once, before models open (the command line's {@code --threads} and {@code --spin}); written into every report's
 * provenance.
 *
 * @param intraOpThreads intra-op threads, 0 for ONNX Runtime's default
 * @param spin           spin-wait in idle worker threads (ONNX Runtime's default is on)
 * @param reason         why spinning is as it is ("asked", or the load that decided it)
 */
public record RuntimeSettings(int intraOpThreads, boolean spin, String reason) {
    public static final RuntimeSettings DEFAULT = new RuntimeSettings(0, true, "ONNX Runtime's default");

    public RuntimeSettings(int intraOpThreads, boolean spin) {
        this(intraOpThreads, spin, "asked");
    }

    /** Spinning on unless the one-minute load average reaches the number of cores (unknown load: on). */
    public static RuntimeSettings auto(int intraOpThreads) {
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        int cores = Runtime.getRuntime().availableProcessors();
        boolean busy = load >= cores;
        return new RuntimeSettings(intraOpThreads, !busy, String.format(java.util.Locale.ROOT, "auto: load %.1f on %d cores", load, cores));
    }
    private static volatile RuntimeSettings current = DEFAULT;

    public RuntimeSettings {
        reason = reason == null ? "" : reason;
        if (intraOpThreads < 0 || intraOpThreads > 1024) {
            throw new IllegalArgumentException("intra-op threads must lie in 0..1024, got " + intraOpThreads);
        }
    }

    /** The settings sessions opened from now on use. */
    public static RuntimeSettings current() {
        return current;
    }

    public static void set(RuntimeSettings settings) {
        current = settings == null ? DEFAULT : settings;
    }

    /** Applies the settings to session options (the CPU provider's thread pool). */
    void applyTo(OrtSession.SessionOptions o) throws OrtException {
        if (intraOpThreads > 0) {
            o.setIntraOpNumThreads(intraOpThreads);
        }
        if (!spin) {
            o.addConfigEntry("session.intra_op.allow_spinning", "0");
        }
    }

    /** For provenance: "intra-op threads 2, spinning off (auto: load 5.1 on 2 cores)". */
    public String describe() {
        return "intra-op threads " + (intraOpThreads == 0 ? "default" : String.valueOf(intraOpThreads)) + ", spinning " + (spin ? "on" : "off")
                + (reason.isEmpty() ? "" : " (" + reason + ")");
    }
}
