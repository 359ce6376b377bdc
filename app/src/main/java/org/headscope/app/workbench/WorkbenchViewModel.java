package org.headscope.app.workbench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.StringProperty;
import org.headscope.analysis.AblationMode;
import org.headscope.app.ablation.AblationViewModel;
import org.headscope.app.ablation.SweepScan;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.app.attention.ColourScale;
import org.headscope.app.profile.HeadProfileScan;
import org.headscope.app.model.BundledSample;
import org.headscope.app.model.LoadedModel;
import org.headscope.app.model.ModelViewModel;
import org.headscope.app.redistribution.RedistributionViewModel;
import org.headscope.app.panel.Scan;
import org.headscope.app.retrieval.RetrievalHeadsScan;
import org.headscope.app.panel.ScanViewModel;
import org.headscope.app.sinks.SinksScan;
import org.headscope.app.vision.VisionScan;
import org.headscope.app.util.PanelState;
import org.headscope.app.util.Message;
import org.headscope.app.util.Settings;
import org.headscope.app.util.TaskExecutor;
import org.headscope.assets.BundledModels;

/**
 * The workbench's state without a window: the task executor, settings, message area and the feature view
 * models, wired together. Tests drive it with a current-thread executor.
 */
public final class WorkbenchViewModel implements AutoCloseable {
    private final TaskExecutor executor;
    private final Settings settings;
    private final ObjectProperty<Message> message = new SimpleObjectProperty<>();
    private final ModelViewModel models;
    private final AttentionViewModel attention;
    private final AblationViewModel ablation;
    private final List<PanelState> panels = new ArrayList<>();
    private final List<ScanViewModel> scans = new ArrayList<>();
    private final List<ScanViewModel> later = new ArrayList<>();
    private final RedistributionViewModel redistribution;
    private final ScanViewModel vision;

    public WorkbenchViewModel(TaskExecutor executor, Settings settings) {
        this.executor = executor;
        this.settings = settings;
        this.models = new ModelViewModel(executor, settings, message::set);
        this.attention = new AttentionViewModel(executor, models, message::set);
        this.ablation = new AblationViewModel(attention, models);
        panels.add(ablation);
        addScan(new HeadProfileScan());
        addScan(new SinksScan());
        addScan(new SweepScan());
        addScan(new RetrievalHeadsScan());
        this.vision = addScan(new VisionScan());
        this.redistribution = new RedistributionViewModel(executor, models, message::set);
        panels.add(redistribution);
        // circuit panels, shown after Redistribution
        later.add(addScan(new org.headscope.app.patching.PatchingScan()));
        later.add(addScan(new org.headscope.app.patching.LogitAttributionScan()));
        later.add(addScan(new org.headscope.app.patching.AtlasScan()));
        later.add(addScan(new org.headscope.app.patching.LogitLensScan()));
        later.add(addScan(new org.headscope.app.patching.VariantDamageScan()));
        String bad = settingsProblem(settings);
        if (bad != null) {
            settings.setAside(bad);
        }
        settings.problem().ifPresent(p -> message.set(new Message("The settings file was set aside: " + p + ".",
                "HeadScope starts with its defaults; the old file is kept as " + Settings.FILE + ".bad.", true)));
        Map<String, Object> saved = settings.map("panels");
        for (PanelState panel : panels) {
            if (saved.get(panel.key()) instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> values = (Map<String, Object>) m;
                panel.restore(values);
            }
        }
        // the Vision panel reads the prompt's image unless the user chose another one for it
        StringProperty visionImage = vision.valueProperty("image");
        attention.imagePathProperty().addListener((o, before, now) -> {
            if (visionImage.get() == null || visionImage.get().isBlank() || visionImage.get().equals(before)) {
                visionImage.set(now == null ? "" : now);
            }
        });
        // state that matches the model on screen: a model switch clears the run, every result and the banner; a run of
        // another prompt clears the results made with the old prompt
        models.loadedProperty().addListener((o, before, now) -> {
            if (before != now) {
                attention.clearRun();
                message.set(null);
            }
        });
        attention.runPromptProperty().addListener((o, before, now) -> {
            if (now == null) {
                return;
            }
            for (ScanViewModel s : scans) {
                if (s.scan().usesPrompt() && s.report() != null && !now.equals(s.reportPrompt())) {
                    s.clear();
                }
            }
            if (redistribution.resultProperty().get() != null && !now.equals(redistribution.resultPrompt())) {
                redistribution.clear();
            }
        });
        attention.promptProperty().set(settings.string("prompt", AttentionViewModel.SAMPLE_PROMPT));
        attention.scaleProperty().set(ColourScale.valueOf(settings.string("scale", ColourScale.LINEAR.name())));
        attention.scaleProperty().addListener((o, a, b) -> settings.put("scale", b.name()));
        attention.runProperty().addListener((o, a, r) -> settings.put("prompt", attention.promptProperty().get()));
    }

    /** The titles of the built-in panels, in tab order (the screenshot command checks --panel against them). */
    public static List<String> builtInPanels() {
        List<String> titles = new ArrayList<>();
        titles.add("Ablation");
        for (Scan s : List.of(new HeadProfileScan(), new SinksScan(), new SweepScan(), new RetrievalHeadsScan(), new VisionScan())) {
            titles.add(s.title());
        }
        titles.add("Redistribution");
        for (Scan s : List.of(new org.headscope.app.patching.PatchingScan(), new org.headscope.app.patching.LogitAttributionScan(),
                new org.headscope.app.patching.AtlasScan(), new org.headscope.app.patching.LogitLensScan(),
                new org.headscope.app.patching.VariantDamageScan())) {
            titles.add(s.title());
        }
        return titles;
    }

    /** The first persisted setting this workbench cannot apply, or null when all can. */
    private String settingsProblem(Settings settings) {
        Map<String, Object> all = settings.values();
        for (String key : List.of("prompt", "model", "scale", "exportFolder")) {
            Object v = all.get(key);
            if (v != null && !(v instanceof String)) {
                return "'" + key + "' is " + v + ", not text";
            }
        }
        if (all.get("scale") instanceof String sc) {
            try {
                ColourScale.valueOf(sc);
            } catch (IllegalArgumentException e) {
                return "'scale' is '" + sc + "'; use " + java.util.Arrays.toString(ColourScale.values());
            }
        }
        for (String key : List.of("split.strip", "split.main", "split.right")) {
            Object v = all.get(key);
            if (v != null && !(v instanceof Number n && n.doubleValue() >= 0 && n.doubleValue() <= 1)) {
                return "'" + key + "' is " + v + ", not a divider position between 0 and 1";
            }
        }
        for (String key : List.of("width", "height")) {
            Object v = all.get(key);
            if (v != null && !(v instanceof Number n && Double.isFinite(n.doubleValue()) && n.doubleValue() >= 100 && n.doubleValue() <= 20000)) {
                return "'" + key + "' is " + v + ", not a window size in pixels";
            }
        }
        Object recent = all.get("recent");
        if (recent != null && !(recent instanceof List<?> l && l.stream().allMatch(x -> x instanceof String))) {
            return "'recent' is " + recent + ", not a list of paths";
        }
        Object panelsValue = all.get("panels");
        if (panelsValue != null && !(panelsValue instanceof Map<?, ?>)) {
            return "'panels' is " + panelsValue + ", not an object";
        }
        Map<String, Object> saved = settings.map("panels");
        for (PanelState panel : panels) {
            Object v = saved.get(panel.key());
            if (v == null) {
                continue;
            }
            if (!(v instanceof Map<?, ?> m)) {
                return "panel '" + panel.key() + "' is " + v + ", not an object";
            }
            try {
                @SuppressWarnings("unchecked")
                Map<String, Object> values = (Map<String, Object>) m;
                panel.validate(values);
            } catch (RuntimeException e) {
                return e.getMessage();
            }
        }
        return null;
    }

    /** Opens the last model (or the bundled default when it is gone) and runs the prompt. */
    public void start() {
        String last = settings.string("model", BundledModels.MINILM);
        boolean usable;
        try {
            usable = BundledModels.available().contains(last) || Files.exists(org.headscope.app.util.UserPaths.resolve(last));
        } catch (IllegalArgumentException e) {
            usable = false;
        }
        open(usable ? last : BundledModels.MINILM);
    }

    /**
     * Opens a model (bundled name or path) and runs the current prompt on it. A bundled model brings its sample prompt
     * (and image) when the prompt on screen is not the user's own: blank or another bundled sample.
     */
    public void open(String source) {
        // the sample is looked up once the model has opened, in the folder the worker copied it to: nothing is copied
        // out of the jar on the FX thread
        models.open(source, () -> {
            LoadedModel lm = models.current();
            BundledSample.of(lm == null ? null : lm.source(), lm == null ? null : lm.path()).ifPresent(s -> {
                if (BundledSample.isSamplePrompt(attention.promptProperty().get())
                        && BundledSample.isSampleImage(attention.imagePathProperty().get())) {
                    attention.promptProperty().set(s.prompt());
                    attention.imagePathProperty().set(s.image());
                }
            });
            attention.run();
        });
    }

    /** Adds an analysis panel's view model (its settings travel in session files). */
    public ScanViewModel addScan(Scan scan) {
        ScanViewModel s = new ScanViewModel(scan, executor, models, message::set);
        scans.add(s);
        panels.add(s);
        return s;
    }

    /** The Vision panel's view model (VHD ranking, VHR heads). */
    public ScanViewModel vision() {
        return vision;
    }

    public List<ScanViewModel> scans() {
        return List.copyOf(scans);
    }

    /** The scans whose panels come after the Redistribution panel (patching, logit attribution, the head atlas). */
    public List<ScanViewModel> laterScans() {
        return List.copyOf(later);
    }

    /** The scan panel with this title. */
    public ScanViewModel scan(String title) {
        return scans.stream().filter(s -> s.scan().title().equals(title)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no panel '" + title + "'"));
    }

    /**
     * Vision-aware Head Reinforcement in the live view: the heads the last Vision scan reinforced become the ablation
     * set in scale mode with the scan's alpha ({@code z := alpha z}, VHR's edit), and the prompt re-runs before/after.
     */
    public void applyVhr() {
        var result = vision.result(org.headscope.analysis.VisionDivergence.Result.class);
        if (result.isEmpty()) {
            message.set(new Message("The Vision scan has not run yet, so no heads are chosen for VHR.",
                    "Choose an image and run the Vision panel first.", true));
            return;
        }
        ablation.set(AblationMode.SCALE, result.get().parameters().alpha(), result.get().reinforced());
        attention.showAblatedProperty().set(true);
        attention.run();
    }

    /** The session as it stands: model, prompt, view settings and every panel's settings. */
    public SessionFile capture() {
        Map<String, Map<String, Object>> p = new LinkedHashMap<>();
        panels.forEach(panel -> p.put(panel.key(), panel.save()));
        LoadedModel lm = models.loadedProperty().get();
        return new SessionFile(SessionFile.FORMAT, lm == null ? BundledModels.MINILM : lm.source(),
                attention.promptProperty().get(), attention.imagePathProperty().get(), attention.layerProperty().get(), attention.headProperty().get(),
                attention.scaleProperty().get().name(), attention.showAblatedProperty().get(), p);
    }

    /**
     * Reopens a session: its model (unless already open), prompt and panel settings, then one run. All or nothing:
     * every value is checked before anything changes, and a session whose model fails to open leaves the model and
     * prompt on screen as they were; the message says why.
     */
    public void restore(SessionFile s) {
        String problem = s.problem();
        if (problem == null) {
            for (PanelState panel : panels) {
                try {
                    panel.validate(s.panels().getOrDefault(panel.key(), Map.of()));
                } catch (RuntimeException e) {
                    problem = e.getMessage();
                    break;
                }
            }
        }
        if (problem != null) {
            message.set(new Message("The session has a bad value: " + problem + ".",
                    "Fix the value, or save the session again from the workbench; nothing was changed.", true));
            return;
        }
        SessionFile before = capture();
        Runnable apply = () -> {
            try {
                applyValues(s);
            } catch (RuntimeException e) {
                applyValues(before);
                message.set(Message.of("Opening the session", e));
                return;
            }
            attention.run(() -> {
                attention.layerProperty().set(Math.min(s.layer(), attention.runProperty().get().layers() - 1));
                attention.headProperty().set(Math.min(s.head(), attention.runProperty().get().heads() - 1));
                attention.showAblatedProperty().set(s.showAblated());
            });
        };
        LoadedModel lm = models.loadedProperty().get();
        if (lm != null && (lm.source().equals(s.model()) || samePath(lm.source(), s.model()))) {
            apply.run();
        } else {
            models.open(s.model(), apply);
        }
    }

    private void applyValues(SessionFile s) {
        attention.promptProperty().set(s.prompt());
        attention.imagePathProperty().set(s.image());
        attention.scaleProperty().set(ColourScale.valueOf(s.scale()));
        for (PanelState panel : panels) {
            panel.restore(s.panels().getOrDefault(panel.key(), Map.of()));
        }
    }

    private static boolean samePath(String a, String b) {
        try {
            return org.headscope.app.util.UserPaths.resolve(a).equals(org.headscope.app.util.UserPaths.resolve(b));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    public TaskExecutor executor() {
        return executor;
    }

    public Settings settings() {
        return settings;
    }

    public ObjectProperty<Message> messageProperty() {
        return message;
    }

    public ModelViewModel models() {
        return models;
    }

    public AttentionViewModel attention() {
        return attention;
    }

    public RedistributionViewModel redistribution() {
        return redistribution;
    }

    public AblationViewModel ablation() {
        return ablation;
    }

    @Override
    public void close() {
        settings.put("panels", capture().panels());
        settings.flush();
        executor.close();
        models.close();
    }
}
