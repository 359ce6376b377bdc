package org.headscope.app.ablation;

/** How a toggled head is ablated; each maps to one hook of the engine. */
public enum AblationMode {
    /** {@code z_h := 0}. */
    ZERO("zero"),
    /** {@code z_h :=} its mean over the prompt's positions (mean ablation). */
    MEAN("mean"),
    /** Uniform attention over the visible keys. */
    UNIFORM("uniform"),
    /** All of the head's attention moved to the first token. */
    BOS("bos"),
    /** {@code z_h := alpha z_h}. */
    SCALE("scale");

    private final String label;

    AblationMode(String label) {
        this.label = label;
    }

    public static AblationMode parse(String s) {
        for (AblationMode m : values()) {
            if (m.label.equalsIgnoreCase(s) || m.name().equalsIgnoreCase(s)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown ablation mode '" + s + "'; use zero, mean, uniform, bos or scale");
    }

    @Override
    public String toString() {
        return label;
    }
}
