package org.headscope.app.ablation;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableSet;
import org.headscope.analysis.AblationMode;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.app.model.ModelViewModel;
import org.headscope.app.util.PanelState;
import org.headscope.hooks.Intervention.Head;

/**
 * The toggled heads, the ablation mode and whether a toggle re-runs at once. Its snapshot is the ablated batch
 * element of every attention run; the comparison of the last run's outputs is what the panel shows.
 */
public final class AblationViewModel implements PanelState {
    private static final int TOP = 8;

    private final AttentionViewModel attention;
    private final ModelViewModel models;
    private final ObservableSet<Head> heads = FXCollections.observableSet(new java.util.TreeSet<>());
    private final ObjectProperty<AblationMode> mode = new SimpleObjectProperty<>(AblationMode.ZERO);
    private final DoubleProperty alpha = new SimpleDoubleProperty(AblationMode.DEFAULT_ALPHA);
    private final BooleanProperty live = new SimpleBooleanProperty(true);
    private final ReadOnlyObjectWrapper<OutputComparison> comparison = new ReadOnlyObjectWrapper<>();
    private boolean restoring;

    public AblationViewModel(AttentionViewModel attention, ModelViewModel models) {
        this.attention = attention;
        this.models = models;
        attention.setAblator(this::snapshot);
        attention.runProperty().addListener((o, a, r) -> comparison.set(compare(r)));
        // change listeners: an invalidation listener would miss every change after one made while restoring (nothing
        // read the value in between, so it stays invalid and fires no more)
        mode.addListener((o, a, b) -> rerun());
        alpha.addListener((o, a, b) -> {
            if (mode.get() == AblationMode.SCALE) {
                rerun();
            }
        });
        models.loadedProperty().addListener(o -> heads.clear());
    }

    /**
     * A mode the live view offers ({@link AblationMode#withoutReferences()}), by id. "mean" in a session saved before the
     * two means were named apart meant the prompt's own mean here, so it reads as {@link AblationMode#MEAN_PROMPT}.
     */
    public static AblationMode liveMode(String s) {
        if (s.trim().equalsIgnoreCase(AblationMode.MEAN_REFERENCE.id())) {
            return AblationMode.MEAN_PROMPT;
        }
        AblationMode m = AblationMode.parse(s);
        if (!AblationMode.withoutReferences().contains(m)) {
            throw new IllegalArgumentException("ablation mode '" + s + "' needs reference prompts; the live view offers "
                    + AblationMode.ids(AblationMode.withoutReferences()));
        }
        return m;
    }

    /** What the next run ablates. */
    public HeadAblation snapshot() {
        return new HeadAblation(heads, mode.get(), (float) alpha.get());
    }

    /** Adds or removes a head and, when live, re-runs. */
    public void toggle(Head h) {
        if (!heads.remove(h)) {
            heads.add(h);
        }
        rerun();
    }

    public void clear() {
        heads.clear();
        rerun();
    }

    /** Sets the mode, the scale factor and the head set together; the caller runs the prompt once afterwards. */
    public void set(AblationMode m, double a, java.util.Collection<Head> hs) {
        restoring = true;
        try {
            mode.set(m);
            alpha.set(a);
            heads.clear();
            heads.addAll(hs);
        } finally {
            restoring = false;
        }
    }

    private void rerun() {
        if (!restoring && live.get() && attention.runProperty().get() != null) {
            attention.run();
        }
    }

    private OutputComparison compare(AttentionRun r) {
        if (r == null || !r.hasAblation()) {
            return null;
        }
        var lm = models.current();
        return OutputComparison.of(r.cleanOutput(), r.ablatedOutput(), TOP,
                id -> lm == null ? Long.toString(id) : lm.model().tokenizer().map(t -> t.tokenString(id)).orElse(Long.toString(id)));
    }

    @Override
    public String key() {
        return "ablation";
    }

    @Override
    public Map<String, Object> save() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", mode.get().toString());
        m.put("alpha", alpha.get());
        m.put("live", live.get());
        m.put("heads", heads.stream().map(Head::toString).toList());
        return m;
    }

    @Override
    public void validate(Map<String, Object> values) {
        Object m = values.get("mode");
        if (m != null) {
            if (!(m instanceof String s)) {
                throw new IllegalArgumentException("ablation 'mode' is " + m + ", not a mode name");
            }
            liveMode(s);
        }
        PanelState.requireFinite(values, "alpha");
        Object live = values.get("live");
        if (live != null && !(live instanceof Boolean)) {
            throw new IllegalArgumentException("ablation 'live' is " + live + ", not true or false");
        }
        Object hs = values.get("heads");
        if (hs != null) {
            if (!(hs instanceof List<?> list)) {
                throw new IllegalArgumentException("ablation 'heads' is " + hs + ", not a list of LAYER.HEAD");
            }
            for (Object h : list) {
                Head parsed;
                try {
                    parsed = Head.parse(String.valueOf(h));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("ablation head '" + h + "' is not LAYER.HEAD (e.g. 3.7)");
                }
                if (parsed.layer() < 0 || parsed.head() < 0) {
                    throw new IllegalArgumentException("ablation head '" + h + "' has a negative layer or head");
                }
            }
        }
    }

    @Override
    public void restore(Map<String, Object> values) {
        restoring = true;
        try {
            if (values.get("mode") instanceof String s) {
                mode.set(liveMode(s));
            }
            if (values.get("alpha") instanceof Number n) {
                alpha.set(n.doubleValue());
            }
            if (values.get("live") instanceof Boolean b) {
                live.set(b);
            }
            heads.clear();
            if (values.get("heads") instanceof List<?> list) {
                list.forEach(h -> heads.add(Head.parse(String.valueOf(h))));
            }
        } finally {
            restoring = false;
        }
    }

    public ObservableSet<Head> heads() {
        return heads;
    }

    public ObjectProperty<AblationMode> modeProperty() {
        return mode;
    }

    public DoubleProperty alphaProperty() {
        return alpha;
    }

    public BooleanProperty liveProperty() {
        return live;
    }

    public ReadOnlyObjectProperty<OutputComparison> comparisonProperty() {
        return comparison.getReadOnlyProperty();
    }
}
