package org.headscope.app.ablation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.headscope.analysis.core.Input;
import org.headscope.analysis.AblationMode;
import org.headscope.analysis.core.Numerics;
import org.headscope.app.attention.Ablator;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

/**
 * A set of heads and how to ablate them, turned into one {@link Intervention}. Immutable: the ablation panel
 * hands a snapshot of it to the worker thread.
 *
 * @param heads the toggled heads
 * @param mode  how they are ablated
 * @param alpha the factor of {@link AblationMode#SCALE}
 */
public record HeadAblation(Set<Head> heads, AblationMode mode, float alpha) implements Ablator {
    public HeadAblation {
        heads = Set.copyOf(new TreeSet<>(heads));
    }

    @Override
    public Intervention intervention(HookedModel model, Input input, CancelToken cancel) {
        if (heads.isEmpty()) {
            return Intervention.NONE;
        }
        if (mode == AblationMode.MEAN_REFERENCE) {
            throw new IllegalArgumentException("the live ablation has no reference prompts; use " + AblationMode.MEAN_PROMPT.id()
                    + " here, or the ablation sweep for " + mode.id());
        }
        Map<Head, float[]> means = mode == AblationMode.MEAN_PROMPT ? means(model, input.request(), cancel) : Map.of();
        Intervention.Builder b = Intervention.builder();
        for (Head h : heads) {
            mode.apply(b, h, alpha, means.get(h));
        }
        return b.build();
    }

    /** Each head's output z averaged over the prompt's positions, from one clean run tapping z. */
    private Map<Head, float[]> means(HookedModel model, RunRequest request, CancelToken cancel) {
        List<Integer> layers = new ArrayList<>(heads.stream().map(Head::layer).distinct().toList());
        RunResult r = model.session(TapSet.of(TapKind.HEAD_OUTPUT, layers), HookSet.NONE).run(request, cancel);
        Map<Head, float[]> out = new HashMap<>();
        for (Head h : heads) {
            out.put(h, Numerics.meanPool(r.tap(TapKind.HEAD_OUTPUT, h.layer()).slice(0, h.head())));
        }
        return out;
    }
}
