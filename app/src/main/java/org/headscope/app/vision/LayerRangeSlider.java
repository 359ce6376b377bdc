package org.headscope.app.vision;

import java.util.Locale;

import javafx.beans.property.StringProperty;
import javafx.beans.value.ObservableValue;
import javafx.geometry.Pos;
import javafx.scene.control.Label;
import javafx.scene.layout.VBox;
import org.controlsfx.control.RangeSlider;

/**
 * A layer range as one ControlsFX {@link RangeSlider} over the open model's layers, bound to two text parameters of a
 * panel (VHR's first and last layer) where -1 means the first or the last layer: the ends of the slider write -1, so a
 * range over every layer stays "every layer" on another model.
 */
public final class LayerRangeSlider extends VBox {
    private final RangeSlider slider = new RangeSlider(0, 1, 0, 1);
    private final StringProperty first;
    private final StringProperty last;
    private final Label shown = new Label();
    private final String label;
    private boolean updating;
    /** Held here: a binding passed in is referenced only weakly by what it observes. */
    private final ObservableValue<Number> layers;

    public LayerRangeSlider(String label, StringProperty first, StringProperty last, ObservableValue<Number> layers) {
        super(2);
        this.first = first;
        this.last = last;
        this.layers = layers;
        setAlignment(Pos.CENTER_LEFT);
        this.label = label;
        slider.setId("layer-range");
        slider.setShowTickMarks(true);
        slider.setMajorTickUnit(1);
        slider.setMinorTickCount(0);
        slider.setSnapToTicks(true);
        slider.setBlockIncrement(1);
        slider.setPrefWidth(200);
        slider.setMaxWidth(Double.MAX_VALUE);
        shown.setId("layer-range-text");
        shown.setMinWidth(Label.USE_PREF_SIZE);
        layers.addListener((o, a, n) -> setLayers(n == null ? 0 : n.intValue()));
        setLayers(layers.getValue() == null ? 0 : layers.getValue().intValue());
        first.addListener(o -> fromText());
        last.addListener(o -> fromText());
        slider.lowValueProperty().addListener(o -> toText());
        slider.highValueProperty().addListener(o -> toText());
        getChildren().addAll(shown, slider);
    }

    /** The range slider itself. */
    public RangeSlider slider() {
        return slider;
    }

    private void setLayers(int n) {
        updating = true;
        try {
            slider.setMax(Math.max(1, n - 1));
            slider.setDisable(n < 2);
        } finally {
            updating = false;
        }
        fromText();
    }

    private int top() {
        return (int) Math.round(slider.getMax());
    }

    private static int parse(String s, int fallback) {
        try {
            int v = Integer.parseInt(s == null ? "" : s.trim());
            return v < 0 ? fallback : v;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private void fromText() {
        if (updating) {
            return;
        }
        updating = true;
        try {
            int lo = Math.min(top(), parse(first.get(), 0));
            int hi = Math.min(top(), parse(last.get(), top()));
            slider.setLowValue(0);
            slider.setHighValue(Math.max(lo, hi));
            slider.setLowValue(Math.min(lo, hi));
        } finally {
            updating = false;
        }
        label();
    }

    private void toText() {
        if (updating) {
            return;
        }
        updating = true;
        try {
            int lo = (int) Math.round(slider.getLowValue());
            int hi = (int) Math.round(slider.getHighValue());
            first.set(lo <= 0 ? "-1" : Integer.toString(lo));
            last.set(hi >= top() ? "-1" : Integer.toString(hi));
        } finally {
            updating = false;
        }
        label();
    }

    private void label() {
        shown.setText(String.format(Locale.ROOT, "%s: %d to %d", label, Math.round(slider.getLowValue()), Math.round(slider.getHighValue())));
    }
}
