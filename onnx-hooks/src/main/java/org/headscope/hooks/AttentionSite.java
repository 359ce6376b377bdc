package org.headscope.hooks;

/**
 * One attention block of the graph: which layer it is, its head layout and the tensors where attention can be
 * read and steered.
 *
 * @param layer          0-based layer index, in graph order
 * @param queryHeads     query heads (the heads analyses speak of)
 * @param kvHeads        key/value heads (fewer than queryHeads under GQA, 1 for multi-query)
 * @param headDim        size of one head's query, key, value and output vectors
 * @param scores         scaled scores {@code QK^T/sqrt(d)} before the mask, [B,H,T,K]
 * @param softmaxInput   scores with the mask applied (what Softmax reads), [B,H,T,K]
 * @param probs          attention probabilities, [B,H,T,K]
 * @param headOutput     per-head output {@code z = P V} before the output projection, [B,H,T,Dh]
 * @param query          Q as the score MatMul reads it
 * @param key            K (transposed) as the score MatMul reads it
 * @param value          V as the PV MatMul reads it (after any GQA expansion), [B,H,K,Dh]
 * @param kvValue        V before GQA expansion, [B,Hkv,K,Dh]
 * @param outputWeight   weight of the output projection, or null when it could not be identified
 * @param outputWeightTransposed true when the projection stores W as [D, H*Dh] (Gemm transB=1)
 * @param residual       residual stream entering the block, [B,T,D], or null when not identified
 * @param layout         how the graph lays the tensors out (heads on their own axis, or folded into the batch)
 * @param origin         how the block was found: "eager" for a graph that writes attention out, or what was
 *                       rewritten to reach it (a fused operator unfused, a subgraph inlined)
 */
public record AttentionSite(int layer, int queryHeads, int kvHeads, int headDim,
                            String scores, String softmaxInput, String probs, String headOutput,
                            String query, String key, String value, String kvValue,
                            String outputWeight, boolean outputWeightTransposed, String residual,
                            Layout layout, String origin) {

    /**
     * Which of the block's tensors fold the heads into the batch axis ({@code [B*H, T, K]} rather than
     * {@code [B, H, T, K]}), as ALiBi models such as BLOOM write them. Taps and hooks view such tensors as
     * {@code [B, H, ...]} and write them back in the graph's own layout.
     */
    public record Layout(boolean flatScores, boolean flatProbs, boolean flatOutput) {
        public static final Layout HEADS_AXIS = new Layout(false, false, false);
    }

    AttentionSite withShape(int layer, int queryHeads, int kvHeads, int headDim, Layout layout) {
        return new AttentionSite(layer, queryHeads, kvHeads, headDim, scores, softmaxInput, probs, headOutput,
                query, key, value, kvValue, outputWeight, outputWeightTransposed, residual, layout, origin);
    }
}
