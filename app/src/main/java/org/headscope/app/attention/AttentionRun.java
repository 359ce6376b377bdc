package org.headscope.app.attention;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.headscope.analysis.core.ColMean;
import org.headscope.analysis.core.Input;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;

/**
 * One prompt's run as the workbench shows it: the tokens, each layer's attention probabilities [H,T,K] and the
 * model's output, for the clean model and (when heads were ablated) the ablated one from the same batched run.
 *
 * @param source       the model it ran on (bundled name or path)
 * @param tokens       the prompt's tokens
 * @param causal       whether keys after the query are masked (decoders)
 * @param patches      where the image tokens are (vision-language models with an image), or null
 * @param clean        per layer, [H,T,K]
 * @param ablated      per layer, [H,T,K], or null without an ablation
 * @param cleanOutput  the clean model's output
 * @param ablatedOutput the ablated model's output, or null
 * @param intervention the intervention of the ablated batch element ({@link Intervention#NONE} for a clean run)
 */
public record AttentionRun(String source, HsTokenizer.Tokens tokens, boolean causal,
                           Input.ImagePatches patches, List<FloatTensor> clean, List<FloatTensor> ablated,
                           OutputSummary cleanOutput, OutputSummary ablatedOutput, Intervention intervention) {
    public AttentionRun {
        clean = List.copyOf(clean);
        ablated = ablated == null ? null : List.copyOf(ablated);
    }

    public boolean hasAblation() {
        return ablated != null;
    }

    /** Heads the intervention touches (empty for a clean run). */
    public Set<Head> ablatedHeads() {
        Set<Head> heads = new TreeSet<>(intervention.headEdits().keySet());
        heads.addAll(intervention.preEdits().keySet());
        heads.addAll(intervention.postEdits().keySet());
        return Collections.unmodifiableSet(heads);
    }

    /**
     * Sink rate of each key of the clean run (Gu et al., ICLR'25, on this one prompt): the share of heads, over all
     * layers, whose mean received attention {@code colmean[k] = sum_q A[q,k] / n_k} exceeds {@code eps}, where
     * {@code n_k} counts the queries that can see key k (T - k when causal, T otherwise); {@link ColMean} defines both.
     */
    public double[] sinkRates(double eps) {
        return ColMean.sinkRates(clean.stream().map(layer -> ColMean.ofProbs(layer, causal)).toList(), eps);
    }

    public int layers() {
        return clean.size();
    }

    public int heads() {
        return clean.getFirst().dim(0);
    }

    /** The [T,K] map of one head, clean or ablated. */
    public FloatTensor map(int layer, int head, boolean afterAblation) {
        List<FloatTensor> maps = afterAblation && ablated != null ? ablated : clean;
        return maps.get(layer).slice(head);
    }
}
