package org.headscope.app.attention;

import org.headscope.app.model.BundledSample;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import org.headscope.analysis.core.Input;
import org.headscope.app.model.LoadedModel;
import org.headscope.app.model.ModelViewModel;
import org.headscope.app.util.BackgroundTask;
import org.headscope.app.util.Message;
import org.headscope.app.util.TaskExecutor;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.ModelException;

/**
 * The prompt, the chosen layer and head, the colour scale, and the last successful run. A failed run leaves the
 * previous run on screen; layer and head are clamped when a smaller model arrives.
 */
public final class AttentionViewModel {
    public static final String SAMPLE_PROMPT = BundledSample.DEFAULT_PROMPT;

    private final TaskExecutor executor;
    private final ModelViewModel models;
    private final Consumer<Message> messages;
    private final StringProperty prompt = new SimpleStringProperty(SAMPLE_PROMPT);
    private final StringProperty imagePath = new SimpleStringProperty("");
    private final IntegerProperty layer = new SimpleIntegerProperty(0);
    private final IntegerProperty head = new SimpleIntegerProperty(0);
    private final ObjectProperty<ColourScale> scale = new SimpleObjectProperty<>(ColourScale.LINEAR);
    private final BooleanProperty showAblated = new SimpleBooleanProperty(false);
    private final IntegerProperty hoveredToken = new SimpleIntegerProperty(-1);
    private final IntegerProperty keyFrom = new SimpleIntegerProperty(0);
    private final IntegerProperty keyTo = new SimpleIntegerProperty(-1);
    private final ReadOnlyObjectWrapper<AttentionRun> run = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<NeedleAnswer> answer = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<String> runPrompt = new ReadOnlyObjectWrapper<>();
    private boolean[] needle = new boolean[0];
    private Supplier<Ablator> ablator = () -> Ablator.NONE;

    private RunOverview overview;
    /** The request waiting behind a running one, whose follow-ups the run that replaces it inherits (guarded by itself). */
    private final Object requestLock = new Object();
    private Request waiting;

    /** One prompt run with what the output strip, the grid and the token strip show beside it. */
    private record Outcome(AttentionRun run, NeedleAnswer answer, boolean[] needle, RunOverview overview) {
    }

    /** The follow-ups of the requests one run serves (it replaced the ones that waited before it started). */
    private static final class Request {
        final java.util.List<Runnable> then = new java.util.ArrayList<>();
        boolean started;
    }

    /** The executor key of prompt runs: a run waiting behind the running one is replaced by a newer request. */
    public static final String RUN_KEY = "attention-run";

    public AttentionViewModel(TaskExecutor executor, ModelViewModel models, Consumer<Message> messages) {
        this.executor = executor;
        this.models = models;
        this.messages = messages;
    }

    /** Where the ablated batch element's intervention comes from (the ablation panel). */
    public void setAblator(Supplier<Ablator> source) {
        this.ablator = source;
    }

    /**
     * Runs the prompt on the open model in the background; {@code then} runs after a success. Latest wins: while a run
     * is in flight, a newer request replaces the one waiting behind it (a slider drag runs the value it ends on, not
     * every value), and the run that goes ahead also runs the replaced requests' {@code then}.
     */
    public void run(Runnable then) {
        String text = prompt.get();
        String image = imagePath.get();
        Ablator a = ablator.get();
        Request request;
        synchronized (requestLock) {
            if (waiting == null || waiting.started) {
                waiting = new Request();
            }
            request = waiting;
            request.then.add(then);
        }
        executor.executeLatest(RUN_KEY, BackgroundTask.of("Running the prompt", (progress, cancel) -> {
            synchronized (requestLock) {
                request.started = true;
            }
            LoadedModel lm = models.current();
            if (lm == null) {
                throw new ModelException("No model is open.", "Open a model from the Model menu or drop a .onnx file on the window.");
            }
            HsTokenizer.Tokens tokens = AttentionRunner.tokenize(lm.model(), text);
            boolean withImage = lm.model().vision().isPresent() && image != null && !image.isBlank();
            Input input = Input.of(lm.model(), tokens, withImage ? org.headscope.app.util.SafeImages.readUserImage(image) : null);
            var edit = a.intervention(lm.model(), input, cancel);
            AttentionRun r = AttentionRunner.run(lm.model(), lm.source(), input, edit, cancel);
            boolean[] mask = org.headscope.analysis.Needle.tokensInside(text, tokens.spans(), BundledNeedles.get());
            NeedleAnswer answer = null;
            var needleFound = NeedleAnswer.find(text, BundledNeedles.get());
            if (needleFound != null && r.cleanOutput().kind() == OutputSummary.Kind.NEXT_TOKEN && input.patches() == null) {
                progress.update(9, 10, "Generating the needle answer");
                answer = NeedleAnswer.generate(lm.model(), needleFound, tokens.ids(), edit, cancel);
            }
            progress.update(10, 10, "Drawing the head grid");
            return new Outcome(r, answer, mask, RunOverview.of(r, cancel));
        }).onSuccess(o -> {
            AttentionRun r = o.run();
            layer.set(Math.min(layer.get(), r.layers() - 1));
            head.set(Math.min(head.get(), r.heads() - 1));
            hoveredToken.set(-1);
            if (!text.equals(runPrompt.get())) {
                showAllKeys();
            }
            needle = o.needle();
            answer.set(o.answer());
            runPrompt.set(text);
            overview = o.overview();
            run.set(r);
            request.then.forEach(Runnable::run);
        }).onFailure(e -> messages.accept(Message.of("Running the prompt", e)))
                .onCancelled(() -> messages.accept(Message.info("The run was cancelled; earlier results are kept."))));
    }

    public void run() {
        run(() -> {
        });
    }

    /** The map on screen: the chosen head, after ablation when that is asked for and exists. */
    public FloatTensor currentMap() {
        AttentionRun r = run.get();
        // a layer or head chosen for another model (a saved setting, a command-line default) shows nothing rather than failing
        if (r == null || layer.get() < 0 || layer.get() >= r.layers() || head.get() < 0 || head.get() >= r.heads()) {
            return null;
        }
        return r.map(layer.get(), head.get(), showAblated.get());
    }

    /**
     * The keys the map shows, {@code [first, last]} inclusive, clamped to the map on screen (all of them unless cropped;
     * another prompt shows all keys again); null with nothing on screen.
     */
    public int[] keyRange() {
        FloatTensor m = currentMap();
        if (m == null) {
            return null;
        }
        int keys = m.dim(1);
        int from = Math.max(0, Math.min(keys - 1, keyFrom.get()));
        int to = keyTo.get() < 0 ? keys - 1 : Math.max(from, Math.min(keys - 1, keyTo.get()));
        return new int[]{from, to};
    }

    /** Crops the map to the keys {@code [from, to]} (in either order); the map, its labels and its exports follow. */
    public void cropKeys(int from, int to) {
        keyFrom.set(Math.max(0, Math.min(from, to)));
        keyTo.set(Math.max(0, Math.max(from, to)));
    }

    /** Shows every key again. */
    public void showAllKeys() {
        keyFrom.set(0);
        keyTo.set(-1);
    }

    /** Whether the map shows fewer keys than the run has. */
    public boolean keysCropped() {
        int[] r = keyRange();
        return r != null && (r[0] > 0 || r[1] < currentMap().dim(1) - 1);
    }

    /** The map as shown: the current map's columns {@link #keyRange()} ([T, shown keys]); null with nothing on screen. */
    public FloatTensor shownMap() {
        FloatTensor m = currentMap();
        int[] r = keyRange();
        if (m == null || !keysCropped()) {
            return m;
        }
        int rows = m.dim(0);
        int cols = m.dim(1);
        int n = r[1] - r[0] + 1;
        float[] out = new float[rows * n];
        for (int q = 0; q < rows; q++) {
            System.arraycopy(m.data(), q * cols + r[0], out, q * n, n);
        }
        return new FloatTensor(new long[]{rows, n}, out);
    }

    public IntegerProperty keyFromProperty() {
        return keyFrom;
    }

    /** The last key shown, -1 for the last of the run. */
    public IntegerProperty keyToProperty() {
        return keyTo;
    }

    /** The hover readout for a cell of the current map. */
    public String readout(int query, int key) {
        AttentionRun r = run.get();
        FloatTensor m = currentMap();
        if (r == null || query < 0 || key < 0 || query >= m.dim(0) || key >= m.dim(1)) {
            return "";
        }
        String[] s = r.tokens().strings();
        return String.format(Locale.ROOT, "L%d H%d  query %d '%s' \u2192 key %d '%s': %.4f", layer.get(), head.get(), query,
                s[query], key, s[key], m.get(query, key));
    }

    /**
     * The grid's thumbnails and the keys' sink rates of the run on screen, computed with it off the FX thread (or here
     * for a run that did not come from {@link #run}).
     */
    public RunOverview overview() {
        AttentionRun r = run.get();
        if (r == null) {
            return null;
        }
        if (overview == null || overview.run() != r) {
            overview = RunOverview.of(r, org.headscope.hooks.CancelToken.NEVER);
        }
        return overview;
    }

    /** The greedy answer of the needle episode on screen (null when the prompt is not one). */
    public ReadOnlyObjectProperty<NeedleAnswer> answerProperty() {
        return answer.getReadOnlyProperty();
    }

    /** The prompt text of the run on screen. */
    public ReadOnlyObjectProperty<String> runPromptProperty() {
        return runPrompt.getReadOnlyProperty();
    }

    /** Which tokens of the run on screen belong to a bundled needle sentence. */
    public boolean[] needleMask() {
        return needle.clone();
    }

    /** Forgets the run on screen (another model was opened). */
    public void clearRun() {
        answer.set(null);
        needle = new boolean[0];
        runPrompt.set(null);
        overview = null;
        run.set(null);
    }

    /** The image file shown with the prompt to vision-language models (empty: none). */
    public StringProperty imagePathProperty() {
        return imagePath;
    }

    public StringProperty promptProperty() {
        return prompt;
    }

    public IntegerProperty layerProperty() {
        return layer;
    }

    public IntegerProperty headProperty() {
        return head;
    }

    public ObjectProperty<ColourScale> scaleProperty() {
        return scale;
    }

    public BooleanProperty showAblatedProperty() {
        return showAblated;
    }

    public IntegerProperty hoveredTokenProperty() {
        return hoveredToken;
    }

    public ReadOnlyObjectProperty<AttentionRun> runProperty() {
        return run.getReadOnlyProperty();
    }
}
