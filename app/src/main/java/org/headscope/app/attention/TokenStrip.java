package org.headscope.app.attention;

import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;

/**
 * The prompt's tokens as chips; hovering a chip highlights that token's row and column in the map. Attention sinks
 * of the prompt are marked: keys on which at least a quarter of all heads put a mean attention above 0.3 (Gu et al.'s
 * threshold); the tooltip gives every token's sink rate. Tokens of a bundled needle sentence found in the prompt are
 * marked as the needle span.
 */
public final class TokenStrip extends FlowPane {
    static final double SINK_EPS = 0.3;
    static final double SINK_SHARE = 0.25;

    private final AttentionViewModel vm;

    public TokenStrip(AttentionViewModel vm) {
        super(4, 4);
        this.vm = vm;
        setId("token-strip");
        getStyleClass().add("token-strip");
        vm.runProperty().addListener(o -> rebuild());
        vm.hoveredTokenProperty().addListener(o -> mark());
        rebuild();
    }

    private void rebuild() {
        getChildren().clear();
        AttentionRun r = vm.runProperty().get();
        if (r == null) {
            return;
        }
        String[] s = r.tokens().strings();
        // both computed with the run on the worker thread
        double[] rates = vm.overview().sinkRates();
        boolean[] needle = vm.needleMask();
        for (int i = 0; i < s.length; i++) {
            int index = i;
            Label chip = new Label(s[i]);
            chip.getStyleClass().add("chip");
            chip.setTooltip(new Tooltip(String.format(java.util.Locale.ROOT, "token %d, id %d%nsink rate %.0f%% of heads (mean attention > %.1f)",
                    i, r.tokens().ids()[i], 100 * rates[i], SINK_EPS)));
            if (rates[i] >= SINK_SHARE) {
                chip.getStyleClass().add("sink");
            }
            if (i < needle.length && needle[i]) {
                chip.getStyleClass().add("needle");
            }
            chip.setOnMouseEntered(e -> vm.hoveredTokenProperty().set(index));
            chip.setOnMouseExited(e -> vm.hoveredTokenProperty().set(-1));
            getChildren().add(chip);
        }
        mark();
    }

    private void mark() {
        int h = vm.hoveredTokenProperty().get();
        for (int i = 0; i < getChildren().size(); i++) {
            getChildren().get(i).pseudoClassStateChanged(javafx.css.PseudoClass.getPseudoClass("hovered"), i == h);
        }
    }
}
