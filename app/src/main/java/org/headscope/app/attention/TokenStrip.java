package org.headscope.app.attention;

import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;

/**
 * The prompt's tokens as chips; hovering a chip highlights that token's row and column in the map.
 */
public final class TokenStrip extends FlowPane {
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
        for (int i = 0; i < s.length; i++) {
            int index = i;
            Label chip = new Label(s[i]);
            chip.getStyleClass().add("chip");
            chip.setTooltip(new Tooltip("token " + i + ", id " + r.tokens().ids()[i]));
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
