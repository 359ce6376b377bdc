package org.headscope.app.redistribution;

import java.util.List;

import org.headscope.analysis.Redistribution;

/** The four methods and their slider parameters, with the papers' defaults and ranges. */
public enum RedistributionMethod {
    ACT("ACT", List.of(
            new Slider("beta", "\u03b2 (kept on sink columns)", 0, 1, Redistribution.Act.DEFAULT.beta()),
            new Slider("threshold", "sink threshold (colmean)", 0.01, 0.5, Redistribution.Act.DEFAULT.threshold()))),
    VAR("VAR", List.of(
            new Slider("p", "p (kept on sink tokens, code convention)", 0, 1, Redistribution.Var.DEFAULT.p()),
            new Slider("rho", "\u03c1 (max sink share, code convention)", 0, 1, Redistribution.Var.DEFAULT.rho()))),
    ZEROTUNING("ZeroTuning", List.of(
            new Slider("gamma", "\u03b3 (factor on key 0)", 0.1, 8, Redistribution.ZeroTuning.DEFAULT.gamma()))),
    PAI("PAI", List.of(
            new Slider("alpha", "\u03b1 (image key amplification)", 0, 2, Redistribution.Pai.DEFAULT.alpha()),
            new Slider("first_layer", "first edited layer", 0, 8, Redistribution.Pai.DEFAULT.firstLayer())));

    /** One slider: key, label, range, and the paper's default. */
    public record Slider(String key, String label, double min, double max, double defaultValue) {
    }

    private final String label;
    private final List<Slider> sliders;

    RedistributionMethod(String label, List<Slider> sliders) {
        this.label = label;
        this.sliders = sliders;
    }

    public List<Slider> sliders() {
        return sliders;
    }

    /** Whether the method edits attention to image tokens (and so needs their key span). */
    public boolean needsImageSpan() {
        return this == VAR || this == PAI;
    }

    /** The analysis's method record for these slider values (keyed by {@link Slider#key()}). */
    public Redistribution.Method method(java.util.function.ToDoubleFunction<String> value) {
        return switch (this) {
            case ACT -> new Redistribution.Act(value.applyAsDouble("beta"), value.applyAsDouble("threshold"), null);
            case VAR -> {
                Redistribution.Var d = Redistribution.Var.DEFAULT;
                yield new Redistribution.Var(value.applyAsDouble("p"), value.applyAsDouble("rho"), d.minImage(), d.tau(), null, null);
            }
            case ZEROTUNING -> new Redistribution.ZeroTuning(value.applyAsDouble("gamma"), Redistribution.Scope.ALL, List.of(), List.of());
            case PAI -> new Redistribution.Pai(value.applyAsDouble("alpha"), (int) Math.round(value.applyAsDouble("first_layer")));
        };
    }

    public static RedistributionMethod parse(String s) {
        for (RedistributionMethod m : values()) {
            if (m.label.equalsIgnoreCase(s) || m.name().equalsIgnoreCase(s)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method '" + s + "'; use ACT, VAR, ZeroTuning or PAI");
    }

    @Override
    public String toString() {
        return label;
    }
}
