package org.headscope.app.attention;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.LongFunction;
import java.util.stream.IntStream;

import javafx.beans.InvalidationListener;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import org.headscope.analysis.core.Numerics;

/**
 * The model's answer for the prompt on screen, always in view: the top next tokens with their probabilities, for a
 * needle episode the greedy answer and whether it is right, and beside them the same after the active edit (toggled
 * heads) with the KL divergence between the two. Encoders show the pooled embedding's change instead.
 */
public final class OutputStrip extends FlowPane {
    /** How many next tokens are listed. */
    public static final int TOP = 5;

    private final AttentionViewModel vm;
    private final LongFunction<String> tokenText;

    /** {@code tokenText} gives a token id's text (the open model's tokenizer). */
    public OutputStrip(AttentionViewModel vm, LongFunction<String> tokenText) {
        super(6, 2);
        this.vm = vm;
        this.tokenText = tokenText;
        setId("output-strip");
        getStyleClass().add("output-strip");
        setAlignment(Pos.CENTER_LEFT);
        setPadding(new Insets(3, 8, 3, 8));
        InvalidationListener redraw = o -> rebuild();
        vm.runProperty().addListener(redraw);
        vm.answerProperty().addListener(redraw);
        rebuild();
    }

    private void rebuild() {
        getChildren().clear();
        AttentionRun r = vm.runProperty().get();
        if (r == null) {
            getChildren().add(new Label("Output: run a prompt to see the model's answer."));
            return;
        }
        OutputSummary clean = r.cleanOutput();
        if (clean.kind() == OutputSummary.Kind.EMBEDDING) {
            Label l = title("Output");
            getChildren().addAll(l, new Label(String.format(Locale.ROOT, "encoder: mean-pooled %s embedding, %d dims",
                    clean.output(), clean.values().dim(0))));
            if (r.hasAblation()) {
                double cos = Numerics.cosine(clean.values().data(), r.ablatedOutput().values().data());
                getChildren().add(tag(String.format(Locale.ROOT, "after the edit: cosine to clean %.4f", cos), "edit"));
            }
            return;
        }
        getChildren().add(title("Next token"));
        addTop(clean.values().data(), "clean");
        NeedleAnswer a = vm.answerProperty().get();
        if (a != null) {
            getChildren().add(answer("needle-answer", a.clean(), a.cleanRight(), a));
        }
        if (r.hasAblation()) {
            float[] p = clean.values().data();
            float[] q = r.ablatedOutput().values().data();
            double kl = 0;
            for (int i = 0; i < p.length; i++) {
                if (p[i] > 0) {
                    kl += p[i] * (Math.log(p[i]) - Math.log(Math.max(q[i], 1e-30)));
                }
            }
            Label after = title("After the edit");
            after.setId("output-after");
            getChildren().add(after);
            addTop(q, "edited");
            if (a != null && a.ablated() != null) {
                getChildren().add(answer("needle-answer-after", a.ablated(), a.ablatedRight(), a));
            }
            getChildren().add(tag(String.format(Locale.ROOT, "KL(clean \u2016 edited) %.4f nats", kl), "edit"));
        }
    }

    private void addTop(float[] p, String kind) {
        List<Integer> top = IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble(i -> -p[i])).limit(TOP).toList();
        for (int id : top) {
            Label chip = new Label(String.format(Locale.ROOT, "%s %.1f%%", tokenText.apply(id), 100 * p[id]));
            chip.getStyleClass().addAll("chip", kind);
            chip.setTooltip(new Tooltip(String.format(Locale.ROOT, "token id %d: probability %.6f of being next (%s model)", id, p[id], kind)));
            getChildren().add(chip);
        }
    }

    private static Label title(String text) {
        Label l = new Label(text);
        l.getStyleClass().add("output-title");
        return l;
    }

    private static Label tag(String text, String style) {
        Label l = new Label(text);
        l.getStyleClass().add(style);
        return l;
    }

    private static Label answer(String id, String said, boolean right, NeedleAnswer a) {
        Label l = new Label(String.format("answer '%s' %s", said.trim(), right ? "\u2713" : "\u2717 (needle says '" + a.expected() + "')")
                + (a.complete() ? "" : " (first " + a.tokens() + " of " + a.answerTokens() + " tokens: the prompt fills the model's length)"));
        l.setId(id);
        l.getStyleClass().addAll("needle-answer", right ? "right" : "wrong");
        l.setTooltip(new Tooltip("Greedy continuation of the needle episode, compared with the needle's answer."));
        return l;
    }
}
