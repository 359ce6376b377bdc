package org.headscope.app.attention;

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
    public static final String SAMPLE_PROMPT = "The cat sat on the mat because it was warm.";

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
    private final ReadOnlyObjectWrapper<AttentionRun> run = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<NeedleAnswer> answer = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<String> runPrompt = new ReadOnlyObjectWrapper<>();
    private boolean[] needle = new boolean[0];
    private Supplier<Ablator> ablator = () -> Ablator.NONE;

    /** One prompt run with what the output strip shows beside it. */
    private record Outcome(AttentionRun run, NeedleAnswer answer, boolean[] needle) {
    }

    public AttentionViewModel(TaskExecutor executor, ModelViewModel models, Consumer<Message> messages) {
        this.executor = executor;
        this.models = models;
        this.messages = messages;
    }

    /** Where the ablated batch element's intervention comes from (the ablation panel). */
    public void setAblator(Supplier<Ablator> source) {
        this.ablator = source;
    }

    /** Runs the prompt on the open model in the background; {@code then} runs after a success. */
    public void run(Runnable then) {
        String text = prompt.get();
        String image = imagePath.get();
        Ablator a = ablator.get();
        executor.execute(BackgroundTask.of("Running the prompt", (progress, cancel) -> {
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
            return new Outcome(r, answer, mask);
        }).onSuccess(o -> {
            AttentionRun r = o.run();
            layer.set(Math.min(layer.get(), r.layers() - 1));
            head.set(Math.min(head.get(), r.heads() - 1));
            hoveredToken.set(-1);
            needle = o.needle();
            answer.set(o.answer());
            runPrompt.set(text);
            run.set(r);
            then.run();
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
