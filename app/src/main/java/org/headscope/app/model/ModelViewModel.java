package org.headscope.app.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.headscope.app.util.BackgroundTask;
import org.headscope.app.util.Message;
import org.headscope.app.util.Settings;
import org.headscope.app.util.TaskExecutor;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelException;

/**
 * Opens models in the background and owns the open one. A failed open keeps the previous model; the previous
 * model is closed on the worker thread only after the new one opened, so no queued run ever sees a closed model.
 */
public final class ModelViewModel implements AutoCloseable {
    private final TaskExecutor executor;
    private final Settings settings;
    private final Consumer<Message> messages;
    private final ReadOnlyObjectWrapper<LoadedModel> loaded = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper title = new ReadOnlyStringWrapper("no model");
    private final ReadOnlyStringWrapper device = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper deviceReason = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper facts = new ReadOnlyStringWrapper("");
    private final ObservableList<String> recent = FXCollections.observableArrayList();
    private volatile LoadedModel current;

    public ModelViewModel(TaskExecutor executor, Settings settings, Consumer<Message> messages) {
        this.executor = executor;
        this.settings = settings;
        this.messages = messages;
        recent.setAll(settings.recent());
    }

    /** Bundled model names for the samples menu. */
    public List<String> bundled() {
        return BundledModels.available();
    }

    /** Opens a bundled model by name or a file or folder by path; {@code then} runs on success. */
    public void open(String source, Runnable then) {
        executor.execute(BackgroundTask.of("Opening " + source, (progress, cancel) -> {
            Path path = resolve(source);
            HookedModel m = HookedModel.open(path, DevicePreference.AUTO);
            if (m.sites().isEmpty()) {
                m.close();
                throw new ModelException("No attention heads were found in " + path.getFileName() + ".",
                        "Check `headscope inspect` on it; export with assets/export/export_hf.py (see assets/export/README.md).");
            }
            LoadedModel old = current;
            current = new LoadedModel(m, BundledModels.available().contains(source) ? source : path.toString(), path);
            if (old != null) {
                old.model().close();
            }
            return current;
        }).onSuccess(lm -> {
            show(lm);
            for (String w : lm.model().warnings()) {
                messages.accept(new Message(w, "The model opened; check the file if you did not change it on purpose.", false));
            }
            recent.setAll(settings.addRecent(lm.source()));
            settings.put("model", lm.source());
            then.run();
        }).onFailure(e -> messages.accept(Message.of("Opening " + source, e))));
    }

    private static Path resolve(String source) {
        if (BundledModels.available().contains(source)) {
            return BundledModels.folder(source);
        }
        Path p;
        try {
            p = org.headscope.app.util.UserPaths.resolve(source);
        } catch (IllegalArgumentException e) {
            throw new ModelException("'" + source + "' is not a model path: " + e.getMessage() + ".",
                    "Open an existing .onnx file or model folder, or pick a bundled model from the Model menu.");
        }
        if (!Files.exists(p)) {
            throw new ModelException("'" + source + "' does not exist.",
                    "Open an existing .onnx file or model folder, or pick a bundled model from the Model menu.");
        }
        return p;
    }

    private void show(LoadedModel lm) {
        loaded.set(lm);
        title.set(lm.name());
        device.set(lm.model().device().provider());
        deviceReason.set(lm.model().device().reason());
        facts.set(lm.facts());
    }

    /** The open model, readable from the worker thread. */
    public LoadedModel current() {
        return current;
    }

    public ReadOnlyObjectProperty<LoadedModel> loadedProperty() {
        return loaded.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty titleProperty() {
        return title.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty deviceProperty() {
        return device.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty deviceReasonProperty() {
        return deviceReason.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty factsProperty() {
        return facts.getReadOnlyProperty();
    }

    public ObservableList<String> recent() {
        return recent;
    }

    @Override
    public void close() {
        LoadedModel lm = current;
        current = null;
        if (lm != null) {
            lm.model().close();
        }
    }
}
