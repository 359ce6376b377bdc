package org.headscope.analysis;

import ai.onnx.proto.OnnxMl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Small causal decoders with behaviour planted by construction, written as ONNX graphs in the exporters' eager
 * form ({@code MatMul -> Div -> Add(mask) -> Softmax -> MatMul -> Transpose -> Reshape -> MatMul(o_proj) -> Add}),
 * so every analysis can be checked against a head whose role is known.
 *
 * <p>Each head's query and key projections are chosen per head: {@link Wiring#UNIFORM} (zero query/key weights,
 * so the head spreads its attention evenly over the visible keys), {@link Wiring#BOS_SINK} (a query bias and a
 * key weight that read a feature only the BOS token {@link #BOS} carries, giving key 0 a score of {@link #SINK_SCORE}
 * whatever the query), {@link Wiring#MARKER_SINK} (the same for the {@link #MARKER} token: a hidden sink at a later
 * position), {@link Wiring#RANDOM} (seeded Gaussian weights) and {@link Wiring#MUTE} (uniform attention and a
 * zero slice of the output projection, so the head has no effect at all). Values, the output projection and the
 * unembedding are seeded Gaussian, so every head moves the logits. The output projections never write to residual
 * dimensions 0 (the BOS feature), {@link #MASSIVE_DIM} and {@link #MARKER_DIM}, so those features reach every layer
 * unchanged; no
 * projection reads {@link #MASSIVE_DIM}, so a planted massive activation does not disturb attention.
 */
public final class PlantedModels {
    /** Token id that carries the BOS feature (embedding dimension 0 set to 1, zero elsewhere on that dimension). */
    public static final long BOS = 0;
    /** Pre-softmax score a {@link Wiring#BOS_SINK} head gives key 0 (before the 1/sqrt(d) scaling). */
    public static final float SINK_SCORE = 60f;
    public static final int MAX_LENGTH = 128;
    /** Residual dimension that carries the planted massive activation. */
    public static final int MASSIVE_DIM = 1;
    /** Token id that carries the marker feature (embedding dimension {@link #MARKER_DIM}); prompts draw ids above it. */
    public static final long MARKER = 1;
    public static final int MARKER_DIM = 2;

    /**
     * Residual dimension of the flag that a {@link Wiring#FLAG_WRITER} head writes and a {@link Wiring#FLAG_READER} head
     * reads (zero in the embeddings and written by no other head when a model uses them).
     */
    public static final int FLAG_DIM = 3;
    /** Pre-softmax score a {@link Wiring#FLAG_READER} head gives a key whose flag is 1 (before the 1/sqrt(d) scaling). */
    public static final float READER_SCORE = 4f;

    /**
     * {@link #FLAG_WRITER}: attends as {@link #MARKER_SINK} and writes, into {@link #FLAG_DIM}, the share of its row's
     * attention that sits on the marker (its value reads the marker feature, its output projection writes only the flag);
     * {@link #FLAG_READER}: a query bias and a key weight that score each key {@link #READER_SCORE} x its flag.
     */
    public enum Wiring { UNIFORM, BOS_SINK, MARKER_SINK, RANDOM, MUTE, FLAG_WRITER, FLAG_READER }

    /**
     * @param vocab   vocabulary size (token 0 is BOS)
     * @param headDim size of one head; the hidden size is heads x headDim
     * @param layers  per layer, the wiring of each head
     * @param bosMassive value of the BOS token's embedding in dimension {@link #MASSIVE_DIM} (0 for none): a planted
     *                massive activation that no layer writes to
     */
    public record Spec(int vocab, int headDim, List<Wiring[]> layers, long seed, float bosMassive) {
        public int heads() {
            return layers.get(0).length;
        }

        public int hidden() {
            return heads() * headDim;
        }
    }

    private PlantedModels() {
    }

    /** Layers of {@code heads} uniform heads, except one BOS-sink head at ({@code sinkLayer}, {@code sinkHead}). */
    public static Spec oneSink(int layers, int heads, int sinkLayer, int sinkHead) {
        List<Wiring[]> ls = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Wiring[] w = new Wiring[heads];
            java.util.Arrays.fill(w, Wiring.UNIFORM);
            if (l == sinkLayer) {
                w[sinkHead] = Wiring.BOS_SINK;
            }
            ls.add(w);
        }
        return new Spec(32, 4, ls, 11, 0f);
    }

    /** The same layers with a massive activation of {@code value} planted on the BOS token. */
    public static Spec withMassiveBos(Spec spec, float value) {
        return new Spec(spec.vocab(), spec.headDim(), spec.layers(), spec.seed(), value);
    }

    /** Every head with seeded random query and key weights. */
    public static Spec random(int layers, int heads, long seed) {
        List<Wiring[]> ls = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Wiring[] w = new Wiring[heads];
            java.util.Arrays.fill(w, Wiring.RANDOM);
            ls.add(w);
        }
        return new Spec(32, 4, ls, seed, 0f);
    }

    /** Every head muted except one random head at ({@code layer}, {@code head}), the only head that matters. */
    public static Spec oneActive(int layers, int heads, int layer, int head) {
        List<Wiring[]> ls = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Wiring[] w = new Wiring[heads];
            java.util.Arrays.fill(w, Wiring.MUTE);
            if (l == layer) {
                w[head] = Wiring.RANDOM;
            }
            ls.add(w);
        }
        return new Spec(32, 4, ls, 13, 0f);
    }

    /** Token ids: BOS, then {@code length - 1} seeded tokens from 2..vocab-1 (neither BOS nor the marker). */
    public static long[] prompt(Spec spec, int length, long seed) {
        Random r = new Random(seed);
        long[] ids = new long[length];
        for (int i = 1; i < length; i++) {
            ids[i] = 2 + r.nextInt(spec.vocab() - 2);
        }
        ids[0] = BOS;
        return ids;
    }

    /** Writes the model as {@code model.onnx} into the folder and returns its path. */
    public static Path write(Spec spec, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("model.onnx");
        Files.write(file, build(spec).toByteArray());
        return file;
    }

    public static OnnxMl.ModelProto build(Spec spec) {
        G g = new G(new Random(spec.seed()));
        int d = spec.hidden();
        int h = spec.heads();
        int dh = spec.headDim();
        float[] emb = g.gauss(spec.vocab() * d, 1f);
        for (int v = 0; v < spec.vocab(); v++) {
            emb[v * d] = v == BOS ? 1f : 0f;
            emb[v * d + MARKER_DIM] = v == MARKER ? 1f : 0f;
        }
        if (spec.bosMassive() != 0) {
            emb[(int) BOS * d + MASSIVE_DIM] = spec.bosMassive();
        }
        boolean flags = spec.layers().stream().flatMap(java.util.Arrays::stream)
                .anyMatch(w -> w == Wiring.FLAG_WRITER || w == Wiring.FLAG_READER);
        if (flags) {
            for (int v = 0; v < spec.vocab(); v++) {
                emb[v * d + FLAG_DIM] = 0f;
            }
        }
        g.init("embed", emb, spec.vocab(), d);
        float[] mask = new float[MAX_LENGTH * MAX_LENGTH];
        for (int q = 0; q < MAX_LENGTH; q++) {
            for (int k = q + 1; k < MAX_LENGTH; k++) {
                mask[q * MAX_LENGTH + k] = -1e9f;
            }
        }
        g.init("causal", mask, MAX_LENGTH, MAX_LENGTH);
        g.initLong("heads_shape", new long[]{0, 0, h, dh}, 4);
        g.initLong("merge_shape", new long[]{0, 0, d}, 3);
        g.initLong("zero2", new long[]{0, 0}, 2);
        g.initLong("axes01", new long[]{0, 1}, 2);
        g.initLong("one", new long[]{1}, 1);
        g.initLong("two", new long[]{2}, 1);
        g.init("scale", new float[]{(float) Math.sqrt(dh)});

        g.node("Gather", List.of("embed", "input_ids"), "x0", attrInt("axis", 0));
        g.node("Shape", List.of("input_ids"), "ids_shape");
        g.node("Slice", List.of("ids_shape", "one", "two"), "seq_len");
        g.node("Concat", List.of("seq_len", "seq_len"), "mask_end", attrInt("axis", 0));
        g.node("Slice", List.of("causal", "zero2", "mask_end", "axes01"), "mask");

        String x = "x0";
        for (int l = 0; l < spec.layers().size(); l++) {
            Wiring[] wiring = spec.layers().get(l);
            float[] wq = new float[d * d];
            float[] bq = new float[d];
            float[] wk = new float[d * d];
            for (int hd = 0; hd < h; hd++) {
                switch (wiring[hd]) {
                    case BOS_SINK -> {
                        bq[hd * dh] = 1f;
                        wk[hd * dh] = SINK_SCORE;
                    }
                    case MARKER_SINK, FLAG_WRITER -> {
                        bq[hd * dh] = 1f;
                        wk[MARKER_DIM * d + hd * dh] = SINK_SCORE;
                    }
                    case FLAG_READER -> {
                        bq[hd * dh] = 1f;
                        wk[FLAG_DIM * d + hd * dh] = READER_SCORE;
                    }
                    case RANDOM -> {
                        for (int i = 0; i < d; i++) {
                            for (int j = 0; j < dh; j++) {
                                wq[i * d + hd * dh + j] = (float) g.rnd.nextGaussian() / (float) Math.sqrt(d);
                                wk[i * d + hd * dh + j] = (float) g.rnd.nextGaussian() / (float) Math.sqrt(d);
                            }
                        }
                    }
                    case UNIFORM, MUTE -> {
                    }
                }
            }
            float[] wv = g.gauss(d * d, 1f / (float) Math.sqrt(d));
            for (int j = 0; j < d; j++) {
                if (wiring[j / dh] == Wiring.RANDOM) {
                    wq[MARKER_DIM * d + j] = 0f;
                    wk[MARKER_DIM * d + j] = 0f;
                }
                wq[MASSIVE_DIM * d + j] = 0f;
                wk[MASSIVE_DIM * d + j] = 0f;
                wv[MASSIVE_DIM * d + j] = 0f;
                if (flags && wiring[j / dh] == Wiring.RANDOM) {
                    wq[FLAG_DIM * d + j] = 0f;
                    wk[FLAG_DIM * d + j] = 0f;
                }
                if (wiring[j / dh] == Wiring.FLAG_WRITER && j % dh == 0) {
                    for (int i = 0; i < d; i++) {
                        wv[i * d + j] = i == MARKER_DIM ? 1f : 0f;
                    }
                }
            }
            String p = "l" + l + "_";
            g.init(p + "wq", wq, d, d);
            g.init(p + "bq", bq, d);
            g.init(p + "wk", wk, d, d);
            g.init(p + "wv", wv, d, d);
            float[] wo = g.gauss(d * d, 1f / (float) Math.sqrt(d));
            for (int i = 0; i < d; i++) {
                wo[i * d] = 0f;
                wo[i * d + MASSIVE_DIM] = 0f;
                wo[i * d + MARKER_DIM] = 0f;
                if (wiring[i / dh] == Wiring.MUTE) {
                    for (int o = 0; o < d; o++) {
                        wo[i * d + o] = 0f;
                    }
                }
                boolean writer = wiring[i / dh] == Wiring.FLAG_WRITER && i % dh == 0;
                if (flags) {
                    wo[i * d + FLAG_DIM] = writer ? 1f : 0f;
                }
                if (writer) {
                    for (int o = 0; o < d; o++) {
                        wo[i * d + o] = o == FLAG_DIM ? 1f : 0f;
                    }
                }
            }
            g.init(p + "wo", wo, d, d);
            g.node("MatMul", List.of(x, p + "wq"), p + "q0");
            g.node("Add", List.of(p + "q0", p + "bq"), p + "q1");
            g.node("Reshape", List.of(p + "q1", "heads_shape"), p + "q2");
            g.node("Transpose", List.of(p + "q2"), p + "q", attrInts("perm", 0, 2, 1, 3));
            g.node("MatMul", List.of(x, p + "wk"), p + "k0");
            g.node("Reshape", List.of(p + "k0", "heads_shape"), p + "k1");
            g.node("Transpose", List.of(p + "k1"), p + "kt", attrInts("perm", 0, 2, 3, 1));
            g.node("MatMul", List.of(x, p + "wv"), p + "v0");
            g.node("Reshape", List.of(p + "v0", "heads_shape"), p + "v1");
            g.node("Transpose", List.of(p + "v1"), p + "v", attrInts("perm", 0, 2, 1, 3));
            g.node("MatMul", List.of(p + "q", p + "kt"), p + "qk");
            g.node("Div", List.of(p + "qk", "scale"), p + "scores");
            g.node("Add", List.of(p + "scores", "mask"), p + "masked");
            g.node("Softmax", List.of(p + "masked"), p + "probs", attrInt("axis", -1));
            g.node("MatMul", List.of(p + "probs", p + "v"), p + "z");
            g.node("Transpose", List.of(p + "z"), p + "zt", attrInts("perm", 0, 2, 1, 3));
            g.node("Reshape", List.of(p + "zt", "merge_shape"), p + "merged");
            g.node("MatMul", List.of(p + "merged", p + "wo"), p + "attn");
            g.node("Add", List.of(x, p + "attn"), p + "out");
            x = p + "out";
        }
        g.init("unembed", g.gauss(d * spec.vocab(), 1f / (float) Math.sqrt(d)), d, spec.vocab());
        g.node("MatMul", List.of(x, "unembed"), "logits");

        OnnxMl.GraphProto.Builder graph = g.graph.setName("planted")
                .addInput(valueInfo("input_ids", OnnxMl.TensorProto.DataType.INT64, "batch", "sequence"))
                .addOutput(valueInfo("logits", OnnxMl.TensorProto.DataType.FLOAT, "batch", "sequence", String.valueOf(spec.vocab())));
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("headscope-planted-test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
    }

    static OnnxMl.ValueInfoProto valueInfo(String name, OnnxMl.TensorProto.DataType type, String... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (String dim : dims) {
            OnnxMl.TensorShapeProto.Dimension.Builder b = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (dim.chars().allMatch(Character::isDigit)) {
                b.setDimValue(Long.parseLong(dim));
            } else {
                b.setDimParam(dim);
            }
            shape.addDim(b);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }

    /** A float initializer with these dimensions. */
    static OnnxMl.TensorProto floats(String name, float[] data, long... dims) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber());
        for (long dim : dims) {
            t.addDims(dim);
        }
        for (float f : data) {
            t.addFloatData(f);
        }
        return t.build();
    }

    private static OnnxMl.AttributeProto attrInt(String name, long v) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static OnnxMl.AttributeProto attrInts(String name, long... v) {
        OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }

    /** Graph under construction. */
    private static final class G {
        final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder();
        final Random rnd;
        int nodes;

        G(Random rnd) {
            this.rnd = rnd;
        }

        float[] gauss(int n, float std) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) rnd.nextGaussian() * std;
            }
            return a;
        }

        void init(String name, float[] data, long... dims) {
            graph.addInitializer(floats(name, data, dims));
        }

        void initLong(String name, long[] data, long len) {
            OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                    .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber()).addDims(len);
            for (long v : data) {
                t.addInt64Data(v);
            }
            graph.addInitializer(t);
        }

        void node(String op, List<String> inputs, String output, OnnxMl.AttributeProto... attrs) {
            OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op).setName(op + "_" + nodes++)
                    .addAllInput(inputs).addOutput(output);
            for (OnnxMl.AttributeProto a : attrs) {
                n.addAttribute(a);
            }
            graph.addNode(n);
        }
    }
}
