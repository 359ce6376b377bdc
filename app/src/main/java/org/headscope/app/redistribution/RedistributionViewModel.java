package org.headscope.app.redistribution;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.Redistribution;
import org.headscope.app.attention.AttentionRunner;
import org.headscope.app.attention.HeadScores;
import org.headscope.app.model.LoadedModel;
import org.headscope.app.model.ModelViewModel;
import org.headscope.app.util.BackgroundTask;
import org.headscope.app.util.Message;
import org.headscope.app.util.PanelState;
import org.headscope.app.util.TaskExecutor;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.ModelException;

/**
 * The chosen method, its slider values (papers' defaults until moved), the image key span for VAR and PAI, and
 * the last before/after result. When live, a slider released re-runs the prompt; a failed run keeps the last result.
 */
public final class RedistributionViewModel implements PanelState {
    private final TaskExecutor executor;
    private final ModelViewModel models;
    private final Consumer<Message> messages;
    private final ObjectProperty<RedistributionMethod> method = new SimpleObjectProperty<>(RedistributionMethod.ACT);
    private final Map<String, DoubleProperty> values = new LinkedHashMap<>();
    private final Map<String, StringProperty> choices = new LinkedHashMap<>();
    private final StringProperty imageSpan = new SimpleStringProperty("");
    private final BooleanProperty live = new SimpleBooleanProperty(true);
    private final ReadOnlyObjectWrapper<Redistribution.Result> result = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<HeadScores> scores = new ReadOnlyObjectWrapper<>();
    private String lastPrompt;
    private String lastImage;
    private String resultPrompt;

    public RedistributionViewModel(TaskExecutor executor, ModelViewModel models, Consumer<Message> messages) {
        this.executor = executor;
        this.models = models;
        this.messages = messages;
        for (RedistributionMethod m : RedistributionMethod.values()) {
            for (RedistributionMethod.Slider s : m.sliders()) {
                values.put(m.name() + "." + s.key(), new SimpleDoubleProperty(s.defaultValue()));
            }
            for (RedistributionMethod.Choice c : m.choices()) {
                choices.put(m.name() + "." + c.key(), new SimpleStringProperty(c.defaultValue()));
            }
        }
        result.addListener((o, a, r) -> scores.set(r == null ? null : scores(r)));
        models.loadedProperty().addListener(o -> {
            clear();
            imageSpan.set(defaultSpan());
        });
    }

    /** The option chosen for one of a method's selection rules. */
    public StringProperty choiceProperty(RedistributionMethod m, String key) {
        return choices.get(m.name() + "." + key);
    }

    /** The value of one of the current method's sliders. */
    public DoubleProperty valueProperty(RedistributionMethod m, String key) {
        return values.get(m.name() + "." + key);
    }

    /**
     * Runs the current method on a prompt (with an image for vision-language models; empty for none): one batched
     * [before, after] run through {@link Redistribution}. Without a typed key span, VAR and PAI take the image's tokens.
     */
    public void run(String prompt, String image) {
        lastPrompt = prompt;
        lastImage = image;
        RedistributionMethod m = method.get();
        Redistribution.KeySpan span;
        try {
            span = imageSpan.get() == null || imageSpan.get().isBlank() ? null : Redistribution.KeySpan.parse(imageSpan.get().trim());
        } catch (IllegalArgumentException e) {
            clear();
            messages.accept(Message.of(m + " redistribution", e));
            return;
        }
        boolean withImage = image != null && !image.isBlank();
        if (m.needsImageSpan() && span == null && !withImage) {
            clear();
            messages.accept(new Message(m + " edits attention to image tokens, and there is neither an image nor a key span.",
                    "Choose an image (vision-language models) or type the image tokens' key positions as START:END (e.g. 1:65); "
                            + "on a text model use ACT or ZeroTuning.", true));
            return;
        }
        executor.executeLatest("redistribution", BackgroundTask.of(m + " redistribution", (progress, cancel) -> {
            LoadedModel lm = models.current();
            if (lm == null) {
                throw new ModelException("No model is open.", "Open a model from the Model menu first.");
            }
            // the recipe the redistribute command uses, over the sliders' values and the choices
            Redistribution.Method params = Redistribution.Method.fromOptions(m.name(),
                    m.options(k -> valueProperty(m, k).get(), k -> choiceProperty(m, k).get()), lm.model());
            HsTokenizer.Tokens tokens = AttentionRunner.tokenize(lm.model(), prompt);
            Input input = Input.of(lm.model(), tokens,
                    withImage && lm.model().vision().isPresent() ? org.headscope.app.util.SafeImages.readUserImage(image) : null);
            if (m.needsImageSpan() && Redistribution.imageKeys(input, span) == null) {
                throw new ModelException(lm.name() + " takes no image, so " + m + " has no image tokens to edit.",
                        "Type the image tokens' key positions as START:END, or use ACT or ZeroTuning.");
            }
            return Redistribution.run(lm.model(), input, params, span, progress, cancel);
        }).onSuccess(r -> {
            resultPrompt = prompt;
            result.set(r);
        }).onFailure(e -> {
            // no result beside the error of a later run
            clear();
            messages.accept(Message.of(m + " redistribution", e));
        })
                .onCancelled(() -> messages.accept(Message.info(m + " redistribution was cancelled; the last result is kept."))));
    }

    /** Forgets the result on screen (another model or prompt). */
    public void clear() {
        result.set(null);
        resultPrompt = null;
    }

    /** The prompt of the result on screen, or null. */
    public String resultPrompt() {
        return result.get() == null ? null : resultPrompt;
    }

    /** The open model's image key span from its manifest (where the image tokens go), as START:END, or "". */
    private String defaultSpan() {
        LoadedModel lm = models.current();
        if (lm == null) {
            return "";
        }
        return lm.model().vision().map(v -> {
            try {
                var span = Input.imageSpan(lm.model());
                return span == null ? "" : span[0] + ":" + span[1];
            } catch (RuntimeException e) {
                return "";
            }
        }).orElse("");
    }

    /** Re-runs on the last prompt when live (a slider was released or the method changed). */
    public void rerunIfLive() {
        if (live.get() && lastPrompt != null) {
            run(lastPrompt, lastImage);
        }
    }

    /** Writes the last result's report (JSON, CSV, HTML) into a folder. */
    public java.util.List<java.nio.file.Path> export(java.nio.file.Path dir) throws java.io.IOException {
        Redistribution.Result r = result.get();
        LoadedModel lm = models.current();
        if (r == null || lm == null) {
            throw new IllegalStateException("run a redistribution before exporting its report");
        }
        return org.headscope.analysis.report.ReportWriter.write(r.toReport(org.headscope.analysis.report.Provenance.of(lm.model(),
                lastPrompt, Redistribution.metrics(r.method()))), dir);
    }

    private static HeadScores scores(Redistribution.Result r) {
        Map<Head, Double> m = new LinkedHashMap<>();
        r.heads().forEach(c -> m.put(c.head(), c.maxAbsChange()));
        return new HeadScores(r.method().id() + ": largest attention change", m);
    }

    public ObjectProperty<RedistributionMethod> methodProperty() {
        return method;
    }

    public StringProperty imageSpanProperty() {
        return imageSpan;
    }

    public BooleanProperty liveProperty() {
        return live;
    }

    public ReadOnlyObjectProperty<Redistribution.Result> resultProperty() {
        return result.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<HeadScores> scoresProperty() {
        return scores.getReadOnlyProperty();
    }

    @Override
    public String key() {
        return "redistribution";
    }

    @Override
    public Map<String, Object> save() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", method.get().name());
        values.forEach((k, v) -> m.put(k, v.get()));
        choices.forEach((k, v) -> m.put(k, v.get()));
        m.put("image_span", imageSpan.get());
        m.put("live", live.get());
        return m;
    }

    @Override
    public void validate(Map<String, Object> saved) {
        Object m = saved.get("method");
        if (m != null) {
            if (!(m instanceof String s)) {
                throw new IllegalArgumentException("redistribution 'method' is " + m + ", not a method name");
            }
            RedistributionMethod.parse(s);
        }
        values.keySet().forEach(k -> org.headscope.app.util.PanelState.requireFinite(saved, k));
        Object span = saved.get("image_span");
        if (span != null && !(span instanceof String)) {
            throw new IllegalArgumentException("redistribution 'image_span' is " + span + ", not START:END");
        }
    }

    @Override
    public void restore(Map<String, Object> saved) {
        if (saved.get("method") instanceof String s) {
            method.set(RedistributionMethod.parse(s));
        }
        values.forEach((k, v) -> {
            if (saved.get(k) instanceof Number n) {
                v.set(n.doubleValue());
            }
        });
        choices.forEach((k, v) -> {
            if (saved.get(k) instanceof String s) {
                v.set(s);
            }
        });
        if (saved.get("image_span") instanceof String s) {
            imageSpan.set(s);
        }
        if (saved.get("live") instanceof Boolean b) {
            live.set(b);
        }
    }
}
