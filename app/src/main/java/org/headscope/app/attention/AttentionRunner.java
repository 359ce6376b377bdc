package org.headscope.app.attention;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import org.headscope.analysis.core.Input;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

/**
 * Runs a prompt for the attention view. Without an intervention: one run with the probabilities of every layer
 * tapped. With one: ONE batched run of [clean, ablated] through the hooked session, so before and after come from
 * the same call and a re-run after a toggle only changes the hook inputs, never the session (sessions are cached
 * per hook family set).
 */
public final class AttentionRunner {
    private AttentionRunner() {
    }

    /** Tokenizes a prompt, refusing one longer than the model takes. */
    public static HsTokenizer.Tokens tokenize(HookedModel model, String prompt) {
        if (prompt == null || prompt.isBlank()) {
            throw new ModelException("The prompt is empty.", "Type a sentence into the prompt field and press Run.");
        }
        HsTokenizer.Tokens t = model.requireTokenizer().encode(prompt);
        Integer max = model.manifest().maxLength();
        if (max != null && t.size() > max) {
            throw new ModelException("The prompt has " + t.size() + " tokens; " + model.manifest().name() + " takes at most "
                    + max + ".", "Shorten the prompt to " + max + " tokens or fewer.");
        }
        return t;
    }

    /** The taps every attention run carries: full probabilities of every layer. */
    public static TapSet taps(HookedModel model) {
        return TapSet.of(TapKind.PROBS, IntStream.range(0, model.layers()).boxed().toList());
    }

    public static AttentionRun run(HookedModel model, String source, Input input, Intervention ablation, CancelToken cancel) {
        TapSet taps = taps(model);
        RunRequest request = input.request();
        if (ablation == null || ablation.isEmpty()) {
            RunResult r = model.session(taps, HookSet.NONE).run(request, cancel);
            return new AttentionRun(source, input.tokens(), model.isCausal(), input.patches(), maps(r, model, 0), null,
                    OutputSummary.of(model, r, 0), null, Intervention.NONE);
        }
        // a session with only the hook families this edit uses: a neutral family's [1,...,1] defaults beside the used
        // family's [2,...,K] tensors fail in ONNX Runtime's buffer planner now and then ("Shape mismatch attempting to
        // re-use buffer"); one session per family set is built once and cached by the model
        RunResult r = model.session(taps, ablation.hooks()).run(request.withInterventions(List.of(Intervention.NONE, ablation)), cancel);
        return new AttentionRun(source, input.tokens(), model.isCausal(), input.patches(), maps(r, model, 0), maps(r, model, 1),
                OutputSummary.of(model, r, 0), OutputSummary.of(model, r, 1), ablation);
    }

    private static List<FloatTensor> maps(RunResult r, HookedModel model, int b) {
        List<FloatTensor> out = new ArrayList<>();
        for (int l = 0; l < model.layers(); l++) {
            out.add(r.tap(TapKind.PROBS, l).slice(b));
        }
        return out;
    }
}
