package org.headscope.hooks;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * ONNX Runtime's CPU threading for the sessions HeadScope opens: intra-op threads (0: ONNX Runtime's default, one per
 * physical core) and whether idle worker threads spin-wait. Spinning wins on an idle machine and costs on a loaded one
 * (measured on 2 shared cores: spinning off gave 0.64-0.75x the median time there). Set once, before models open
 * (the command line's {@code --threads} and {@code --spin}); written into every report's provenance.
 *
 * @param intraOpThreads intra-op threads, 0 for ONNX Runtime's default
 * @param spin           spin-wait in idle worker threads (ONNX Runtime's default is on)
 */
public record RuntimeSettings(int intraOpThreads, boolean spin) {
    public static final RuntimeSettings DEFAULT = new RuntimeSettings(0, true);
    private static volatile RuntimeSettings current = DEFAULT;

    public RuntimeSettings {
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

    /** For provenance: "intra-op threads 2, spinning off". */
    public String describe() {
        return "intra-op threads " + (intraOpThreads == 0 ? "default" : String.valueOf(intraOpThreads)) + ", spinning " + (spin ? "on" : "off");
    }
}
