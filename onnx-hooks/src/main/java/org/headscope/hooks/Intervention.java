package org.headscope.hooks;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * One set of edits to attention heads, applied through the hook inputs of a session. Immutable.
 * A batch of interventions runs in one call: element b of the batch gets intervention b.
 *
 * <p>Keys are indexed over the full key length (past + new tokens); query rows over the new tokens.
 */
public final class Intervention {
    public static final Intervention NONE = new Builder().build();

    /** {@code z' = gain z + bias}. */
    public record HeadEdit(float gain, float[] bias) {
    }

    /** Pre-softmax edit of one head: {@code s' = gain s + bias[k] + amp[k] |s|} on the gated rows. */
    public record PreEdit(float gain, float biasDefault, Map<Integer, Float> bias, float ampDefault, Map<Integer, Float> amp,
                          int[] rows) {
        public float biasAt(int k) {
            return bias.getOrDefault(k, biasDefault);
        }

        public float ampAt(int k) {
            return amp.getOrDefault(k, ampDefault);
        }
    }

    /** Post-softmax redistribution of one head: key k keeps {@code keep[k]} of its mass; the rest goes to receivers. */
    public record PostEdit(float keepDefault, Map<Integer, Float> keep, float recvDefault, Map<Integer, Float> recv, int[] rows) {
        public float keepAt(int k) {
            return keep.getOrDefault(k, keepDefault);
        }

        public float recvAt(int k) {
            return recv.getOrDefault(k, recvDefault);
        }
    }

    /**
     * Activation patch of one head: at the query positions given (all when null) the head's output is replaced by
     * {@code value}, row-major [T, Dh] over the run's query positions (typically another run's z).
     */
    public record PatchEdit(float[] value, int[] positions) {
    }

    /** A (layer, head) pair. */
    public record Head(int layer, int head) implements Comparable<Head> {
        @Override
        public int compareTo(Head o) {
            return layer != o.layer ? Integer.compare(layer, o.layer) : Integer.compare(head, o.head);
        }

        @Override
        public String toString() {
            return layer + "." + head;
        }

        /** Parses {@code L.H} (as written by {@link #toString()}) or {@code L-H} (the retrieval reference's keys). */
        public static Head parse(String s) {
            String[] p = s.trim().split("[.\\-:]");
            if (p.length != 2) {
                throw new IllegalArgumentException("'" + s + "' is not a head; write LAYER.HEAD, e.g. 3.7");
            }
            try {
                return new Head(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + s + "' is not a head; write LAYER.HEAD with whole numbers, e.g. 3.7");
            }
        }
    }

    private final Map<Head, HeadEdit> head;
    private final Map<Head, PreEdit> pre;
    private final Map<Head, PostEdit> post;
    private final Map<Head, PatchEdit> patch;

    private Intervention(Map<Head, HeadEdit> head, Map<Head, PreEdit> pre, Map<Head, PostEdit> post, Map<Head, PatchEdit> patch) {
        this.head = Collections.unmodifiableMap(new TreeMap<>(head));
        this.pre = Collections.unmodifiableMap(new TreeMap<>(pre));
        this.post = Collections.unmodifiableMap(new TreeMap<>(post));
        this.patch = Collections.unmodifiableMap(new TreeMap<>(patch));
    }

    public Map<Head, PatchEdit> patchEdits() {
        return patch;
    }

    public Map<Head, HeadEdit> headEdits() {
        return head;
    }

    public Map<Head, PreEdit> preEdits() {
        return pre;
    }

    public Map<Head, PostEdit> postEdits() {
        return post;
    }

    public boolean isEmpty() {
        return head.isEmpty() && pre.isEmpty() && post.isEmpty() && patch.isEmpty();
    }

    /** Hook families this intervention needs. */
    public HookSet hooks() {
        return new HookSet(!head.isEmpty(), !pre.isEmpty(), !post.isEmpty(), !patch.isEmpty());
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.head.putAll(head);
        b.pre.putAll(pre);
        b.post.putAll(post);
        b.patch.putAll(patch);
        return b;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Intervention i)) {
            return false;
        }
        return describe().equals(i.describe());
    }

    @Override
    public int hashCode() {
        return describe().hashCode();
    }

    /** A stable text form, used for equality and in reports. */
    public String describe() {
        StringBuilder s = new StringBuilder();
        head.forEach((h, e) -> s.append("head ").append(h).append(" gain ").append(e.gain())
                .append(e.bias() == null ? "" : " bias " + Arrays.toString(e.bias())).append("; "));
        pre.forEach((h, e) -> s.append("pre ").append(h).append(" gain ").append(e.gain()).append(" bias ").append(e.biasDefault())
                .append(new TreeMap<>(e.bias())).append(" amp ").append(e.ampDefault()).append(new TreeMap<>(e.amp()))
                .append(e.rows() == null ? "" : " rows " + Arrays.toString(e.rows())).append("; "));
        post.forEach((h, e) -> s.append("post ").append(h).append(" keep ").append(e.keepDefault()).append(new TreeMap<>(e.keep()))
                .append(" recv ").append(e.recvDefault()).append(new TreeMap<>(e.recv()))
                .append(e.rows() == null ? "" : " rows " + Arrays.toString(e.rows())).append("; "));
        patch.forEach((h, e) -> s.append("patch ").append(h).append(" value#").append(Integer.toHexString(Arrays.hashCode(e.value())))
                .append(" n ").append(e.value().length)
                .append(e.positions() == null ? "" : " positions " + Arrays.toString(e.positions())).append("; "));
        return s.toString();
    }

    @Override
    public String toString() {
        return isEmpty() ? "no intervention" : describe();
    }

    public static final class Builder {
        private final Map<Head, HeadEdit> head = new HashMap<>();
        private final Map<Head, PreEdit> pre = new HashMap<>();
        private final Map<Head, PostEdit> post = new HashMap<>();
        private final Map<Head, PatchEdit> patch = new HashMap<>();

        /**
         * Patches head {@code h} of {@code layer}: its output at {@code positions} (every query position when null)
         * becomes {@code value} ([T, Dh] row-major, T the run's query positions). The array is not copied, so a batch
         * patching from one source run shares it (and the hook input is sent once for the whole batch).
         */
        public Builder patchHead(int layer, int h, float[] value, int[] positions) {
            if (value == null) {
                throw new IllegalArgumentException("a patch needs a value");
            }
            patch.put(new Head(layer, h), new PatchEdit(value, positions == null ? null : positions.clone()));
            return this;
        }

        public Builder headOutput(int layer, int h, float gain, float[] bias) {
            head.put(new Head(layer, h), new HeadEdit(gain, bias == null ? null : bias.clone()));
            return this;
        }

        /** {@code z_h := 0}. */
        public Builder zeroHead(int layer, int h) {
            return headOutput(layer, h, 0f, null);
        }

        /** {@code z_h := alpha z_h}. */
        public Builder scaleHead(int layer, int h, float alpha) {
            return headOutput(layer, h, alpha, null);
        }

        /** {@code z_h := value} at every position (mean ablation). */
        public Builder replaceHead(int layer, int h, float[] value) {
            return headOutput(layer, h, 0f, value);
        }

        public Builder pre(int layer, int h, float gain, float biasDefault, Map<Integer, Float> bias, float ampDefault,
                           Map<Integer, Float> amp, int[] rows) {
            pre.put(new Head(layer, h), new PreEdit(gain, biasDefault, Map.copyOf(bias), ampDefault, Map.copyOf(amp),
                    rows == null ? null : rows.clone()));
            return this;
        }

        /** Uniform attention over the visible keys (scores multiplied by 0 before the mask). */
        public Builder uniform(int layer, int h) {
            return pre(layer, h, 0f, 0f, Map.of(), 0f, Map.of(), null);
        }

        /** Adds {@code log(gamma)} to the logit of one key: ZeroTuning's rescaling of that key's attention. */
        public Builder keyLogitBias(int layer, int h, int key, float bias) {
            PreEdit old = pre.get(new Head(layer, h));
            Map<Integer, Float> b = new HashMap<>(old == null ? Map.of() : old.bias());
            b.put(key, bias);
            return pre(layer, h, old == null ? 1f : old.gain(), old == null ? 0f : old.biasDefault(), b,
                    old == null ? 0f : old.ampDefault(), old == null ? Map.of() : old.amp(), old == null ? null : old.rows());
        }

        public Builder post(int layer, int h, float keepDefault, Map<Integer, Float> keep, float recvDefault,
                            Map<Integer, Float> recv, int[] rows) {
            post.put(new Head(layer, h), new PostEdit(keepDefault, Map.copyOf(keep), recvDefault, Map.copyOf(recv),
                    rows == null ? null : rows.clone()));
            return this;
        }

        /** All of the head's attention moved to the first key. */
        public Builder bos(int layer, int h) {
            return post(layer, h, 0f, Map.of(0, 1f), 0f, Map.of(0, 1f), null);
        }

        public Intervention build() {
            return new Intervention(head, pre, post, patch);
        }
    }
}
