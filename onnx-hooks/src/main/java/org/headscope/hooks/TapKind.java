package org.headscope.hooks;

/**
 * What can be read out of an attention block. All but {@link #PROBS}, {@link #SCORES} and {@link #HEAD_OUTPUT}
 * are reductions computed inside the graph, so only what a panel needs leaves the device.
 */
public enum TapKind {
    /** Attention probabilities after any hooks, [B,H,T,K]. */
    PROBS("probs"),
    /** Scaled scores before the mask (after pre-softmax hooks), [B,H,T,K]. */
    SCORES("scores"),
    /** Probabilities of the last query row, [B,H,K]. */
    LAST_ROW("lastrow"),
    /**
     * The probabilities max-pooled to at most {@link TapSet#poolSide()} cells a side, [B,H,ceil(T/p),ceil(K/p)] with
     * {@code p = max(1, ceil(max(T,K)/side))} queries and keys per block; the last block of each axis covers the tail
     * (fewer than p), and a block of masked keys only is 0. An overview of long prompts (attention --pool N).
     */
    POOLED("pooled"),
    /** Sum over queries of the probabilities each key receives, [B,H,K]. */
    COL_SUM("colsum"),
    /** Index of the most attended key per query, [B,H,T] (int64). */
    ARGMAX("argmax"),
    /** Row entropy in nats, [B,H,T]. */
    ENTROPY("entropy"),
    /** Attention mass on the keys marked by the key-span input, [B,H,T]. */
    SPAN_MASS("spanmass"),
    /** Per-head output before the output projection, [B,H,T,Dh]. */
    HEAD_OUTPUT("z"),
    /** L2 norm of the per-head output, [B,H,T]. */
    HEAD_NORM("znorm"),
    /** L1 norm of the head's contribution after the output projection, {@code ||z_h W_O^h||_1}, [B,H,T]. */
    HEAD_CONTRIBUTION("contrib"),
    /** L2 norm of each value vector projected by the head's slice of W_O, {@code ||v W_O^h||_2}, [B,H,K]. */
    VALUE_DRAIN("drain"),
    /**
     * What each head writes into the residual stream at the last query position, {@code z_h[last] W_O^h} (the output
     * projection's bias not included), [B,H,D]: direct logit attribution reads it.
     */
    HEAD_WRITE("hwrite"),
    /** Residual stream entering the block, [B,T,D]. */
    RESIDUAL("resid");

    /** The taps computed from the probabilities. */
    static final java.util.Set<TapKind> PROB_TAPS = java.util.EnumSet.of(PROBS, POOLED, LAST_ROW, COL_SUM, ARGMAX, ENTROPY, SPAN_MASS);

    private final String id;

    TapKind(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** Graph output name of this tap at a layer. */
    public String outputName(int layer) {
        return "hs_tap_" + id + "_" + layer;
    }

    public boolean isIntegral() {
        return this == ARGMAX;
    }
}
