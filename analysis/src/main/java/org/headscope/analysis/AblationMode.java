package org.headscope.analysis;

import org.headscope.hooks.HookSet;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;

import java.util.Arrays;
import java.util.List;

/**
 * How a head is ablated, for the single-head sweep ({@link AblationScan}) and the workbench's live ablation alike. The
 * two means are named apart: {@link #MEAN_REFERENCE} replaces a head's output by its mean over a set of reference
 * prompts (the sweep's {@code mean}), {@link #MEAN_PROMPT} by its mean over the positions of the prompt being run.
 * The scale mode's default gain is {@link #DEFAULT_ALPHA}, VHR's reinforcement (the only paper in METRICS.md that scales
 * head outputs).
 */
public enum AblationMode {
    /** {@code z_h := 0} (TransformerLens; the output projection's bias untouched). */
    ZERO("zero", "z_h := 0 (o_proj bias untouched)"),
    /** {@code z_h :=} its mean over reference prompts, pooled over their positions. */
    MEAN_REFERENCE("mean", "z_h := mean of z_h over the reference prompts, pooled over positions"),
    /** {@code z_h :=} its mean over the positions of the prompt itself. */
    MEAN_PROMPT("mean-prompt", "z_h := mean of z_h over the prompt's own positions"),
    /** Uniform attention over the visible keys (Retrieval_Head's masking). */
    UNIFORM("uniform", "uniform attention over the visible keys (pre-softmax scores times 0)"),
    /** All of the head's attention moved to the first key (Active-Dormant's "make dormant"). */
    BOS("bos", "all attention moved to the first key"),
    /** {@code z_h := alpha z_h} (VHR reinforces with alpha 2). */
    SCALE("scale", "z_h := alpha z_h");

    /** The scale mode's gain unless one is given: VHR's alpha (Vision-aware head reinforcement), 2.0. */
    public static final float DEFAULT_ALPHA = 2.0f;

    private final String id;
    private final String definition;

    AblationMode(String id, String definition) {
        this.id = id;
        this.definition = definition;
    }

    /** By id ({@code zero, mean, mean-prompt, uniform, bos, scale}) or enum name, case-insensitively. */
    public static AblationMode parse(String s) {
        String t = s.trim();
        for (AblationMode m : values()) {
            if (m.id.equalsIgnoreCase(t) || m.name().equalsIgnoreCase(t)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown ablation mode '" + s + "'; use " + ids(List.of(values())));
    }

    /** The ids of some modes, for messages: "zero, mean or scale". */
    public static String ids(List<AblationMode> modes) {
        List<String> ids = modes.stream().map(AblationMode::id).toList();
        return ids.size() == 1 ? ids.get(0) : String.join(", ", ids.subList(0, ids.size() - 1)) + " or " + ids.getLast();
    }

    /** The modes that need no reference prompts: every mode but {@link #MEAN_REFERENCE}. */
    public static List<AblationMode> withoutReferences() {
        return Arrays.stream(values()).filter(m -> m != MEAN_REFERENCE).toList();
    }

    /** The short name reports, the command line and the workbench use. */
    public String id() {
        return id;
    }

    /** What the mode does to a head, as reports write it. */
    public String definition() {
        return definition;
    }

    /** True for the modes that replace a head's output by a mean vector. */
    public boolean isMean() {
        return this == MEAN_REFERENCE || this == MEAN_PROMPT;
    }

    /** The hook families the mode's interventions use. */
    public HookSet hooks() {
        return switch (this) {
            case ZERO, MEAN_REFERENCE, MEAN_PROMPT, SCALE -> HookSet.HEAD;
            case UNIFORM -> new HookSet(false, true, false);
            case BOS -> new HookSet(false, false, true);
        };
    }

    /**
     * Adds the ablation of one head to an intervention.
     *
     * @param alpha the gain of {@link #SCALE}
     * @param mean  the head's mean output for the mean modes ([head dim]), else ignored (may be null)
     */
    public void apply(Intervention.Builder b, Head h, float alpha, float[] mean) {
        switch (this) {
            case ZERO -> b.zeroHead(h.layer(), h.head());
            case MEAN_REFERENCE, MEAN_PROMPT -> b.replaceHead(h.layer(), h.head(), mean);
            case UNIFORM -> b.uniform(h.layer(), h.head());
            case BOS -> b.bos(h.layer(), h.head());
            case SCALE -> b.scaleHead(h.layer(), h.head(), alpha);
        }
    }

    @Override
    public String toString() {
        return id;
    }
}
