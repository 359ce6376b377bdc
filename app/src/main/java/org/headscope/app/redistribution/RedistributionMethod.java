package org.headscope.app.redistribution;

import java.util.List;

import org.headscope.analysis.Redistribution;

/** The four methods, their slider parameters and selection-rule choices, with the papers' code's defaults and ranges. */
public enum RedistributionMethod {
    ACT("ACT", List.of(
            new Slider("beta", "\u03b2 (kept on sink columns)", 0, 1, Redistribution.Act.DEFAULT.beta()),
            new Slider("threshold", "sink threshold (colmean)", 0.01, 0.5, Redistribution.Act.DEFAULT.threshold())), List.of(
            new Choice("sink_rule", "sink left out", List.of("first-detected", "key0"), Redistribution.Act.DEFAULT.sinkRule().id()),
            new Choice("calibrate", "sinks detected", List.of("in-pass", "clean"), Redistribution.Act.DEFAULT.calibration().id()),
            new Choice("layers", "layers", List.of("2..L-2", "all"), "2..L-2"))),
    VAR("VAR", List.of(
            new Slider("p", "p (kept on sink tokens, code convention)", 0, 1, Redistribution.Var.DEFAULT.p()),
            new Slider("rho", "\u03c1 (max sink share, code convention)", 0, 1, Redistribution.Var.DEFAULT.rho())), List.of(
            new Choice("calibrate", "sinks detected", List.of("in-pass", "clean"), Redistribution.Var.DEFAULT.calibration().id()),
            new Choice("rows", "rows edited", List.of("after-image", "all"), "after-image"),
            new Choice("layers", "layers", List.of("2..L-1", "all"), "2..L-1"))),
    ZEROTUNING("ZeroTuning", List.of(
            new Slider("gamma", "\u03b3 (factor on key 0)", 0.1, 8, Redistribution.ZeroTuning.DEFAULT.gamma())), List.of()),
    PAI("PAI", List.of(
            new Slider("alpha", "\u03b1 (image key amplification)", 0, 2, Redistribution.Pai.DEFAULT.alpha()),
            new Slider("first_layer", "first edited layer", 0, 8, Redistribution.Pai.DEFAULT.firstLayer()),
            new Slider("cfg_gamma", "logit refinement \u03b3", 1, 2, Redistribution.Pai.DEFAULT.gamma())), List.of(
            new Choice("use_cfg", "logit refinement (use-cfg)", List.of("off", "on"), "off")));

    /** One slider: key, label, range, and the paper's default. */
    public record Slider(String key, String label, double min, double max, double defaultValue) {
    }

    /** One choice among named rules: key, label, the options, and the paper's code's option. */
    public record Choice(String key, String label, List<String> options, String defaultValue) {
        public Choice {
            options = List.copyOf(options);
        }
    }

    private final String label;
    private final List<Slider> sliders;
    private final List<Choice> choices;

    RedistributionMethod(String label, List<Slider> sliders, List<Choice> choices) {
        this.label = label;
        this.sliders = sliders;
        this.choices = choices;
    }

    public List<Slider> sliders() {
        return sliders;
    }

    public List<Choice> choices() {
        return choices;
    }

    /** Whether the method edits attention to image tokens (and so needs their key span). */
    public boolean needsImageSpan() {
        return this == VAR || this == PAI;
    }

    /**
     * This method's sliders and choices as the options of {@link Redistribution.Method#fromOptions} (the recipe the
     * command shares): a slider's value by its key, a choice's option by its key, nothing else.
     */
    public org.headscope.analysis.core.Options options(java.util.function.ToDoubleFunction<String> value,
                                                       java.util.function.UnaryOperator<String> choice) {
        return org.headscope.analysis.core.Options.of(key -> {
            if (sliders.stream().anyMatch(sl -> sl.key().equals(key))) {
                return Double.toString(value.applyAsDouble(key));
            }
            return choices.stream().anyMatch(c -> c.key().equals(key)) ? choice.apply(key) : null;
        });
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
