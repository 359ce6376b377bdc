package org.headscope.hooks;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a batch of interventions into hook input tensors. Families nobody in the batch uses get their neutral
 * value as a small tensor that broadcasts over batch, keys and rows.
 */
final class HookTensors {
    private HookTensors() {
    }

    static Map<String, FloatTensor> build(List<Intervention> batch, HookSet available, int layers, int heads, int headDim,
                                          int keys, int rows) {
        Map<String, FloatTensor> out = new HashMap<>();
        int b = batch.size();
        boolean anyHead = batch.stream().anyMatch(i -> !i.headEdits().isEmpty());
        boolean anyPre = batch.stream().anyMatch(i -> !i.preEdits().isEmpty());
        boolean anyPost = batch.stream().anyMatch(i -> !i.postEdits().isEmpty());
        boolean anyPatch = batch.stream().anyMatch(i -> !i.patchEdits().isEmpty());
        require(anyPatch, available.patch(), "patch");
        if (available.patch()) {
            if (anyPatch) {
                patch(out, batch, layers, heads, headDim, rows);
            } else {
                out.put(HookSet.PATCH_KEEP, fill(new long[]{1, layers, heads, 1}, 1f));
                out.put(HookSet.PATCH_VALUE, FloatTensor.zeros(1, layers, heads, 1, headDim));
            }
        }
        require(anyHead, available.headOutput(), "head-output");
        require(anyPre, available.preSoftmax(), "pre-softmax");
        require(anyPost, available.postSoftmax(), "post-softmax");
        if (available.headOutput() && !anyHead) {
            out.put(HookSet.HEAD_GAIN, fill(new long[]{1, layers, heads}, 1f));
            out.put(HookSet.HEAD_BIAS, FloatTensor.zeros(1, layers, heads, headDim));
        }
        if (available.preSoftmax() && !anyPre) {
            out.put(HookSet.PRE_GAIN, fill(new long[]{1, layers, heads}, 1f));
            out.put(HookSet.PRE_BIAS, FloatTensor.zeros(1, layers, heads, 1));
            out.put(HookSet.PRE_AMP, FloatTensor.zeros(1, layers, heads, 1));
            out.put(HookSet.PRE_ROWS, fill(new long[]{1, layers, heads, 1}, 1f));
        }
        if (available.postSoftmax() && !anyPost) {
            out.put(HookSet.POST_KEEP, fill(new long[]{1, layers, heads, 1}, 1f));
            out.put(HookSet.POST_RECV, fill(new long[]{1, layers, heads, 1}, 1f));
            out.put(HookSet.POST_ROWS, fill(new long[]{1, layers, heads, 1}, 1f));
        }
        if (anyHead) {
            FloatTensor gain = fill(new long[]{b, layers, heads}, 1f);
            FloatTensor bias = FloatTensor.zeros(b, layers, heads, headDim);
            for (int i = 0; i < b; i++) {
                for (var e : batch.get(i).headEdits().entrySet()) {
                    Intervention.Head h = check(e.getKey(), layers, heads);
                    gain.data()[gain.offset(i, h.layer(), h.head())] = e.getValue().gain();
                    float[] c = e.getValue().bias();
                    if (c != null) {
                        if (c.length != headDim) {
                            throw new IllegalArgumentException("bias for head " + h + " has " + c.length + " values; head dim is " + headDim);
                        }
                        System.arraycopy(c, 0, bias.data(), bias.offset(i, h.layer(), h.head(), 0), headDim);
                    }
                }
            }
            out.put(HookSet.HEAD_GAIN, gain);
            out.put(HookSet.HEAD_BIAS, bias);
        }
        if (anyPre) {
            FloatTensor gain = fill(new long[]{b, layers, heads}, 1f);
            FloatTensor bias = FloatTensor.zeros(b, layers, heads, keys);
            FloatTensor amp = FloatTensor.zeros(b, layers, heads, keys);
            FloatTensor gate = fill(new long[]{b, layers, heads, rows}, 1f);
            for (int i = 0; i < b; i++) {
                for (var e : batch.get(i).preEdits().entrySet()) {
                    Intervention.Head h = check(e.getKey(), layers, heads);
                    Intervention.PreEdit p = e.getValue();
                    gain.data()[gain.offset(i, h.layer(), h.head())] = p.gain();
                    int base = bias.offset(i, h.layer(), h.head(), 0);
                    for (int k = 0; k < keys; k++) {
                        bias.data()[base + k] = p.biasAt(k);
                        amp.data()[base + k] = p.ampAt(k);
                    }
                    gateRows(gate, i, h, p.rows(), rows);
                }
            }
            out.put(HookSet.PRE_GAIN, gain);
            out.put(HookSet.PRE_BIAS, bias);
            out.put(HookSet.PRE_AMP, amp);
            out.put(HookSet.PRE_ROWS, gate);
        }
        if (anyPost) {
            FloatTensor keep = fill(new long[]{b, layers, heads, keys}, 1f);
            FloatTensor recv = fill(new long[]{b, layers, heads, keys}, 1f);
            FloatTensor gate = fill(new long[]{b, layers, heads, rows}, 1f);
            for (int i = 0; i < b; i++) {
                for (var e : batch.get(i).postEdits().entrySet()) {
                    Intervention.Head h = check(e.getKey(), layers, heads);
                    Intervention.PostEdit p = e.getValue();
                    int base = keep.offset(i, h.layer(), h.head(), 0);
                    for (int k = 0; k < keys; k++) {
                        keep.data()[base + k] = p.keepAt(k);
                        recv.data()[base + k] = p.recvAt(k);
                    }
                    gateRows(gate, i, h, p.rows(), rows);
                }
            }
            out.put(HookSet.POST_KEEP, keep);
            out.put(HookSet.POST_RECV, recv);
            out.put(HookSet.POST_ROWS, gate);
        }
        return out;
    }

    /**
     * Patch inputs: the gate per (element, layer, head, position), and the replacement values, sent once for the
     * whole batch when every element that patches a head patches it with the same values (one source run).
     */
    private static void patch(Map<String, FloatTensor> out, List<Intervention> batch, int layers, int heads, int headDim, int rows) {
        int b = batch.size();
        FloatTensor keep = fill(new long[]{b, layers, heads, rows}, 1f);
        float[][] shared = new float[layers * heads][];
        boolean shareable = true;
        for (Intervention i : batch) {
            for (var e : i.patchEdits().entrySet()) {
                Intervention.Head h = check(e.getKey(), layers, heads);
                float[] v = e.getValue().value();
                if (v.length != rows * headDim) {
                    throw new IllegalArgumentException("patch of head " + h + " has " + v.length + " values; the run needs "
                            + rows + " positions x " + headDim + " = " + rows * headDim);
                }
                int k = h.layer() * heads + h.head();
                if (shared[k] == null) {
                    shared[k] = v;
                } else if (shared[k] != v && !java.util.Arrays.equals(shared[k], v)) {
                    shareable = false;
                }
            }
        }
        FloatTensor value = FloatTensor.zeros(shareable ? 1 : b, layers, heads, rows, headDim);
        for (int i = 0; i < b; i++) {
            for (var e : batch.get(i).patchEdits().entrySet()) {
                Intervention.Head h = e.getKey();
                int[] positions = e.getValue().positions();
                int base = keep.offset(i, h.layer(), h.head(), 0);
                if (positions == null) {
                    java.util.Arrays.fill(keep.data(), base, base + rows, 0f);
                } else {
                    for (int p : positions) {
                        int q = p < 0 ? rows + p : p;
                        if (q < 0 || q >= rows) {
                            throw new IllegalArgumentException("patch position " + p + " outside 0.." + (rows - 1));
                        }
                        keep.data()[base + q] = 0f;
                    }
                }
                if (!shareable || i == firstPatching(batch, h)) {
                    System.arraycopy(e.getValue().value(), 0, value.data(), value.offset(shareable ? 0 : i, h.layer(), h.head(), 0, 0),
                            rows * headDim);
                }
            }
        }
        out.put(HookSet.PATCH_KEEP, keep);
        out.put(HookSet.PATCH_VALUE, value);
    }

    private static int firstPatching(List<Intervention> batch, Intervention.Head h) {
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i).patchEdits().containsKey(h)) {
                return i;
            }
        }
        return -1;
    }

    private static void gateRows(FloatTensor gate, int b, Intervention.Head h, int[] selected, int rows) {
        if (selected == null) {
            return;
        }
        int base = gate.offset(b, h.layer(), h.head(), 0);
        java.util.Arrays.fill(gate.data(), base, base + rows, 0f);
        for (int r : selected) {
            int q = r < 0 ? rows + r : r;
            if (q < 0 || q >= rows) {
                throw new IllegalArgumentException("query row " + r + " outside 0.." + (rows - 1));
            }
            gate.data()[base + q] = 1f;
        }
    }

    private static Intervention.Head check(Intervention.Head h, int layers, int heads) {
        if (h.layer() < 0 || h.layer() >= layers || h.head() < 0 || h.head() >= heads) {
            throw new IllegalArgumentException("head " + h + " does not exist: the model has " + layers + " layers x " + heads + " heads");
        }
        return h;
    }

    private static void require(boolean used, boolean available, String family) {
        if (used && !available) {
            throw new IllegalStateException("this session has no " + family + " hooks; open one with them");
        }
    }

    private static FloatTensor fill(long[] shape, float v) {
        FloatTensor t = FloatTensor.zeros(shape);
        java.util.Arrays.fill(t.data(), v);
        return t;
    }
}
