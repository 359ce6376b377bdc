package org.headscope.analysis.core;

import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.ModelException;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** The heads and layers of a model, in the order every analysis walks them. */
public final class Heads {
    private Heads() {
    }

    /** Every head of the model, layer by layer. */
    public static List<Head> all(HookedModel model) {
        List<Head> out = new ArrayList<>();
        for (int l = 0; l < model.layers(); l++) {
            for (int h = 0; h < model.sites().get(l).queryHeads(); h++) {
                out.add(new Head(l, h));
            }
        }
        return out;
    }

    /**
     * Refuses a bidirectional encoder (or a model without logits) for an analysis defined on generated answers.
     *
     * @param what the analysis, as the message names it
     */
    public static void requireDecoder(HookedModel model, String what) {
        if (!model.isCausal()) {
            throw new ModelException(model.manifest().name() + " is a bidirectional encoder: it generates no answers, "
                    + "so " + what + " is not defined for it.", "Open a decoder (causal language model), e.g. needle-gpt.");
        }
        model.requireLogits();
    }

    /** Layers 0 .. L-1. */
    public static List<Integer> allLayers(HookedModel model) {
        return IntStream.range(0, model.layers()).boxed().toList();
    }
}
