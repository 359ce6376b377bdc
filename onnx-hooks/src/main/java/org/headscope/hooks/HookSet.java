package org.headscope.hooks;

/**
 * Which hook families a session's graph carries. Each family adds graph inputs with neutral defaults and a
 * batch dimension, so an intervention is an input tensor and a live re-run never rebuilds the session.
 *
 * @param headOutput  {@code z' = g[b,l,h] z + c[b,l,h,:]} on the per-head output
 * @param preSoftmax  {@code s' = s + r[b,l,h,q] ((g[b,l,h]-1) s + bias[b,l,h,k] + amp[b,l,h,k] |s|)} on the scaled scores before the mask
 * @param postSoftmax {@code P' = P + r[b,l,h,q] (P keep + moved normalize(P recv) - P)} with {@code moved = rowsum(P (1-keep))};
 *                    rows whose receivers hold no mass stay untouched
 * @param patch       {@code z' = keep[b,l,h,q] z + (1 - keep[b,l,h,q]) value[b',l,h,q,:]} on the per-head output, per query
 *                    position (activation patching: {@code value} is another run's z, shared by the batch when b' = 1);
 *                    applied before the head-output edit
 */
public record HookSet(boolean headOutput, boolean preSoftmax, boolean postSoftmax, boolean patch) {
    public static final HookSet NONE = new HookSet(false, false, false, false);
    /** The three steering families (head output, pre- and post-softmax); patching is asked for by {@link #PATCH}. */
    public static final HookSet ALL = new HookSet(true, true, true, false);
    public static final HookSet HEAD = new HookSet(true, false, false, false);
    public static final HookSet PATCH = new HookSet(false, false, false, true);

    /** The steering families only (no patch inputs). */
    public HookSet(boolean headOutput, boolean preSoftmax, boolean postSoftmax) {
        this(headOutput, preSoftmax, postSoftmax, false);
    }

    public boolean any() {
        return headOutput || preSoftmax || postSoftmax || patch;
    }

    public HookSet union(HookSet o) {
        return new HookSet(headOutput || o.headOutput, preSoftmax || o.preSoftmax, postSoftmax || o.postSoftmax, patch || o.patch);
    }

    public static final String HEAD_GAIN = "hs_head_gain";
    public static final String HEAD_BIAS = "hs_head_bias";
    public static final String PRE_GAIN = "hs_pre_gain";
    public static final String PRE_BIAS = "hs_pre_bias";
    public static final String PRE_AMP = "hs_pre_amp";
    public static final String PRE_ROWS = "hs_pre_rows";
    public static final String POST_KEEP = "hs_post_keep";
    public static final String POST_RECV = "hs_post_recv";
    public static final String POST_ROWS = "hs_post_rows";
    /** Patch gate {@code keep}, [B,L,H,T]; neutral 1. */
    public static final String PATCH_KEEP = "hs_patch_keep";
    /** Patch replacement, [B or 1,L,H,T,Dh]; neutral 0. */
    public static final String PATCH_VALUE = "hs_patch_value";
    /** Key-span mask read by the {@link TapKind#SPAN_MASS} tap, [B,K]. */
    public static final String KEY_SPAN = "hs_key_span";
}
