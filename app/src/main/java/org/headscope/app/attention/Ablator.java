package org.headscope.app.attention;

import org.headscope.analysis.core.Input;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;

/**
 * Builds the intervention of the ablated batch element for a prompt, on the worker thread (mean ablation needs a
 * run of its own to know the mean). A snapshot of the user's choices: it never reads view state.
 */
@FunctionalInterface
public interface Ablator {
    Ablator NONE = (model, input, cancel) -> Intervention.NONE;

    Intervention intervention(HookedModel model, Input input, CancelToken cancel);
}
