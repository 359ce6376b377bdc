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

    /** The method record with the papers' code's selection rules for these slider values (keyed by {@link Slider#key()}). */
    public Redistribution.Method method(java.util.function.ToDoubleFunction<String> value) {
        return method(value, key -> choices.stream().filter(c -> c.key().equals(key)).findFirst().orElseThrow().defaultValue(), 0);
    }

    /**
     * The method record for these slider values and choices (keyed by {@link Choice#key()}) on a model of {@code layers}
     * layers (used by the "all" layer choice).
     */
    public Redistribution.Method method(java.util.function.ToDoubleFunction<String> value,
                                        java.util.function.Function<String, String> choice, int layers) {
        return switch (this) {
            case ACT -> new Redistribution.Act(value.applyAsDouble("beta"), value.applyAsDouble("threshold"),
                    allLayers(choice.apply("layers"), layers), null, org.headscope.analysis.SinkRule.parse(choice.apply("sink_rule")),
                    Redistribution.Calibration.parse(choice.apply("calibrate")));
            case VAR -> {
                Redistribution.Var d = Redistribution.Var.DEFAULT;
                yield new Redistribution.Var(value.applyAsDouble("p"), value.applyAsDouble("rho"), d.minImage(), d.tau(), null,
                        allLayers(choice.apply("layers"), layers), Redistribution.Calibration.parse(choice.apply("calibrate")),
                        choice.apply("rows").equals("after-image"));
            }
            case ZEROTUNING -> new Redistribution.ZeroTuning(value.applyAsDouble("gamma"), Redistribution.Scope.ALL, List.of(), List.of());
            case PAI -> new Redistribution.Pai(value.applyAsDouble("alpha"), (int) Math.round(value.applyAsDouble("first_layer")),
                    choice.apply("use_cfg").equals("on"), value.applyAsDouble("cfg_gamma"));
        };
    }

    private static List<Integer> allLayers(String choice, int layers) {
        return choice.equals("all") ? java.util.stream.IntStream.range(0, layers).boxed().toList() : null;
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
