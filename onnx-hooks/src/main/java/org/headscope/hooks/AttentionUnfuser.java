package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites fused attention operators (ONNX {@code Attention}, and ONNX Runtime's {@code com.microsoft}
 * {@code MultiHeadAttention}, {@code GroupQueryAttention} and {@code Attention}) into primitive ONNX nodes.
 *
 * <p>A fused operator computes its attention probabilities inside one kernel, so they never exist as a tensor and
 * {@link AttentionLocator} has nothing to read or steer. Unfusing trades some speed for the eager pattern the
 * locator knows: {@code Q [B,H,S,Dh]}, {@code K^T [B,H,Dh,L]} and {@code V [B,H,L,Dh]} (fewer key/value heads are
 * repeated to the query head count, kv head {@code j} serving query heads {@code j*n_rep .. j*n_rep+n_rep-1}),
 * {@code MatMul(Q, K^T) -> Mul(scale constant) -> [softcap Div/Tanh/Mul] -> [Add(bias)] -> [Where(keep, s, lowest)]
 * -> Softmax(-1) -> MatMul(P, V)}, then the head merge. Every operator is rewritten into that one core, so the
 * locator sees the same shape whatever the exporter fused.
 *
 * <p>The replacement keeps the fused node's output names (consumers and graph outputs such as present key/values
 * are untouched) and sits where the fused node was, so the node list stays topologically sorted. New nodes and
 * tensors are named {@code <node>/unfused/...}. Constants take the attention dtype (float16 graphs stay float16);
 * when that dtype cannot be traced, constants are cast at run time with {@code CastLike}, which needs opset 15:
 * {@link Result#minOpset()} reports the default-domain opset the emitted nodes need.
 */
final class AttentionUnfuser {
    /** One fused node rewritten: its name, op (with domain), and what was unfused, e.g. "GQA 8q/2kv heads, rotary, past kv". */
    record Unfused(String node, String op, String detail) {
    }

    /**
     * The rewritten graph, what was unfused, and the default-domain opset the emitted nodes need (0 when nothing
     * was rewritten): the caller sets the model's default-domain opset import to {@code max(opset, minOpset)}.
     */
    record Result(OnnxMl.GraphProto graph, List<Unfused> unfused, long minOpset) {
    }

    private static final String MS = "com.microsoft";
    private static final String RUN_EAGER = "Re-export the model with eager attention and without ONNX Runtime's attention fusion, "
            + "e.g. python assets/export/export_hf.py MODEL_ID OUT_DIR (it sets attn_implementation='eager').";

    private AttentionUnfuser() {
    }

    /**
     * Rewrites every fused attention node of the graph (top-level) into primitive ONNX nodes; graphs without any
     * are returned unchanged. Throws {@link ModelException} for a configuration it cannot express, naming the node.
     */
    static Result unfuse(OnnxMl.GraphProto graph, long opset) {
        Types types = new Types(graph);
        List<NodeProto> nodes = new ArrayList<>();
        List<TensorProto> initializers = new ArrayList<>();
        List<Unfused> unfused = new ArrayList<>();
        Set<String> prefixes = new HashSet<>();
        long minOpset = 0;
        for (NodeProto n : graph.getNodeList()) {
            String kind = kind(n);
            if (kind == null) {
                nodes.add(n);
                continue;
            }
            String base = n.getName().isEmpty() ? n.getOutput(0) : n.getName();
            String prefix = base + "/unfused/";
            for (int i = 2; !prefixes.add(prefix); i++) {
                prefix = base + "/unfused" + i + "/";
            }
            Emitter e = new Emitter(n, types, opset, prefix);
            String detail = switch (kind) {
                case "onnx" -> e.onnxAttention();
                case "mha" -> e.multiHeadAttention();
                case "gqa" -> e.groupQueryAttention();
                default -> e.msAttention();
            };
            nodes.addAll(e.nodes);
            initializers.addAll(e.initializers);
            minOpset = Math.max(minOpset, e.minOpset);
            String domain = n.getDomain().isEmpty() ? "" : n.getDomain() + ".";
            unfused.add(new Unfused(e.nodeName, domain + n.getOpType(), detail));
        }
        if (unfused.isEmpty()) {
            return new Result(graph, List.of(), 0);
        }
        OnnxMl.GraphProto out = graph.toBuilder().clearNode().addAllNode(nodes).addAllInitializer(initializers).build();
        return new Result(out, List.copyOf(unfused), minOpset);
    }

    private static String kind(NodeProto n) {
        String d = n.getDomain();
        if ((d.isEmpty() || d.equals("ai.onnx")) && n.getOpType().equals("Attention")) {
            return "onnx";
        }
        if (!d.equals(MS)) {
            return null;
        }
        return switch (n.getOpType()) {
            case "MultiHeadAttention" -> "mha";
            case "GroupQueryAttention" -> "gqa";
            case "Attention" -> "ms";
            default -> null;
        };
    }

    /** Element types and shapes the graph declares (inputs, outputs, value_info, initializers, Constant nodes). */
    private static final class Types {
        private final Map<String, Integer> elem = new HashMap<>();
        private final Map<String, long[]> dims = new HashMap<>();
        private final Map<String, String[]> symbols = new HashMap<>();
        private final Map<String, NodeProto> producer = new HashMap<>();

        Types(OnnxMl.GraphProto g) {
            List<OnnxMl.ValueInfoProto> infos = new ArrayList<>(g.getInputList());
            infos.addAll(g.getOutputList());
            infos.addAll(g.getValueInfoList());
            for (OnnxMl.ValueInfoProto v : infos) {
                if (!v.getType().hasTensorType()) {
                    continue;
                }
                OnnxMl.TypeProto.Tensor t = v.getType().getTensorType();
                if (t.getElemType() != 0) {
                    elem.put(v.getName(), t.getElemType());
                }
                if (t.hasShape()) {
                    long[] d = new long[t.getShape().getDimCount()];
                    String[] sym = new String[d.length];
                    for (int i = 0; i < d.length; i++) {
                        OnnxMl.TensorShapeProto.Dimension dim = t.getShape().getDim(i);
                        d[i] = dim.hasDimValue() ? dim.getDimValue() : -1;
                        sym[i] = dim.hasDimParam() && !dim.getDimParam().isEmpty() ? dim.getDimParam() : null;
                    }
                    dims.put(v.getName(), d);
                    symbols.put(v.getName(), sym);
                }
            }
            for (TensorProto t : g.getInitializerList()) {
                tensor(t.getName(), t);
            }
            for (NodeProto n : g.getNodeList()) {
                for (String o : n.getOutputList()) {
                    producer.put(o, n);
                }
                if (n.getOpType().equals("Constant")) {
                    for (AttributeProto a : n.getAttributeList()) {
                        if (a.getName().equals("value") && a.hasT()) {
                            tensor(n.getOutput(0), a.getT());
                        }
                    }
                }
            }
        }

        private void tensor(String name, TensorProto t) {
            elem.put(name, t.getDataType());
            dims.put(name, t.getDimsList().stream().mapToLong(Long::longValue).toArray());
        }

        /** The rank of a tensor, looking through casts (masks are often cast before a fused node reads them); -1 when unknown. */
        int rank(String t) {
            String x = t;
            for (int step = 0; step < 8; step++) {
                long[] d = dims.get(x);
                if (d != null) {
                    return d.length;
                }
                NodeProto p = producer.get(x);
                if (p == null || !(p.getOpType().equals("Cast") || p.getOpType().equals("Identity"))) {
                    return -1;
                }
                x = p.getInput(0);
            }
            return -1;
        }

        long dim(String t, int axis) {
            long[] d = dims.get(t);
            return d == null || axis >= d.length ? -1 : d[axis];
        }

        /** True when the graph declares both dimensions with the same size or the same symbol. */
        boolean sameDim(String a, String b, int axis) {
            if (dim(a, axis) > 0 && dim(a, axis) == dim(b, axis)) {
                return true;
            }
            String[] sa = symbols.get(a);
            String[] sb = symbols.get(b);
            return sa != null && sb != null && axis < sa.length && axis < sb.length && sa[axis] != null && sa[axis].equals(sb[axis]);
        }

        /** The element type of a tensor, traced up through type-preserving producers; 0 when unknown. */
        int elemType(String tensor) {
            Deque<String> todo = new ArrayDeque<>(List.of(tensor));
            Set<String> seen = new HashSet<>();
            while (!todo.isEmpty() && seen.size() < 64) {
                String t = todo.poll();
                if (t.isEmpty() || !seen.add(t)) {
                    continue;
                }
                Integer e = elem.get(t);
                if (e != null) {
                    return e;
                }
                NodeProto p = producer.get(t);
                if (p == null) {
                    continue;
                }
                switch (p.getOpType()) {
                    case "Cast" -> {
                        return (int) GraphIndex.attrInt(p, "to", 0);
                    }
                    case "Where" -> todo.add(p.getInput(1));
                    case "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf" -> {
                        return TensorProto.DataType.BOOL_VALUE;
                    }
                    case "MatMul", "Add", "Sub", "Mul", "Div", "Reshape", "Transpose", "Gemm", "Concat", "Slice", "Gather",
                         "Split", "Squeeze", "Unsqueeze", "Identity", "Expand", "Neg", "Relu", "Tanh", "Sigmoid", "Softmax",
                         "LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
                         "SkipSimplifiedLayerNormalization", "RotaryEmbedding", "Gelu", "FastGelu", "BiasGelu", "Erf",
                         "Pow", "Sqrt", "Dropout", "MatMulNBits", "Attention", "MultiHeadAttention", "GroupQueryAttention" ->
                            p.getInputList().forEach(todo::add);
                    default -> {
                    }
                }
            }
            return 0;
        }
    }

    /** Builds the replacement of one fused node. */
    private static final class Emitter {
        private final NodeProto fused;
        private final Types types;
        final String nodeName;
        private final String prefix;
        private final long opset;
        long minOpset = 1;
        final List<NodeProto> nodes = new ArrayList<>();
        final List<TensorProto> initializers = new ArrayList<>();
        private final Map<String, String> constants = new HashMap<>();
        private final Map<String, String> shapes = new HashMap<>();
        private final Set<String> names = new HashSet<>();
        /** The attention element type (TensorProto.DataType number), 0 when it could not be traced. */
        private final int elemType;
        /** A tensor of the attention dtype, the CastLike target when {@link #elemType} is unknown. */
        private final String like;
        /** The scaled scores of the last core, for ONNX Attention's qk_matmul_output. */
        private String scores;

        Emitter(NodeProto fused, Types types, long opset, String prefix) {
            this.fused = fused;
            this.types = types;
            this.nodeName = fused.getName().isEmpty() ? fused.getOutput(0) : fused.getName();
            this.prefix = prefix;
            this.like = fused.getInput(0);
            int t = 0;
            List<String> candidates = new ArrayList<>(fused.getInputList());
            candidates.addAll(fused.getOutputList());
            for (String c : candidates) {
                int e = c.isEmpty() || isIntegral(c) ? 0 : types.elemType(c);
                if (e == TensorProto.DataType.FLOAT_VALUE || e == TensorProto.DataType.FLOAT16_VALUE
                        || e == TensorProto.DataType.BFLOAT16_VALUE || e == TensorProto.DataType.DOUBLE_VALUE) {
                    t = e;
                    break;
                }
            }
            this.elemType = t;
            // CastLike arrived in opset 15: emit every node for the opset the caller will bump the model to
            this.opset = t == 0 ? Math.max(opset, 15) : opset;
        }

        /** Inputs that are masks, lengths or other integers in the ops handled here. */
        private boolean isIntegral(String name) {
            int idx = fused.getInputList().indexOf(name);
            String op = fused.getOpType();
            boolean ms = fused.getDomain().equals(MS);
            if (!ms) {
                return idx == 3 || idx == 6;
            }
            return switch (op) {
                case "MultiHeadAttention" -> idx == 4 || idx == 8 || idx == 9;
                case "GroupQueryAttention" -> idx == 5 || idx == 6 || idx == 9;
                default -> idx == 3 || idx == 6;
            };
        }

        // ---- the four operators -----------------------------------------------------------------------------

        /** ONNX Attention (opset 23/24): Q, K, V as [B,S,H*Dh] or [B,H,S,Dh], optional mask, past key/value. */
        String onnxAttention() {
            if (present(6)) {
                refuse("uses nonpad_kv_seqlen (per-batch valid key/value lengths)", "Export without nonpad_kv_seqlen "
                        + "(pass the padding as attn_mask instead), or " + RUN_EAGER);
            }
            boolean qkOut = fused.getOutputCount() > 3 && !fused.getOutput(3).isEmpty();
            long mode = GraphIndex.attrInt(fused, "qk_matmul_output_mode", 0);
            if (qkOut && mode != 0) {
                refuse("outputs qk_matmul_output in mode " + mode + " (only mode 0, the scaled Q*K^T, is rewritten)",
                        "Drop the fourth output or use qk_matmul_output_mode=0, or " + RUN_EAGER);
            }
            String q = in(0);
            String k = in(1);
            String v = in(2);
            int qHeads = (int) GraphIndex.attrInt(fused, "q_num_heads", 0);
            int kvHeads = (int) GraphIndex.attrInt(fused, "kv_num_heads", 0);
            int rank = types.rank(q);
            if (rank < 0) {
                rank = qHeads > 0 ? 3 : 4;
            }
            if (rank != 3 && rank != 4) {
                refuse("has a rank-" + rank + " query (3 or 4 expected)", RUN_EAGER);
            }
            boolean threeD = rank == 3;
            if (threeD && (qHeads <= 0 || kvHeads <= 0)) {
                refuse("has 3-D inputs but no q_num_heads/kv_num_heads", "Set both head counts on the node, or " + RUN_EAGER);
            }
            long headSize;
            String q4;
            String k4;
            String v4;
            if (threeD) {
                long hidden = types.dim(q, 2);
                headSize = hidden > 0 ? hidden / qHeads : -1;
                q4 = splitHeads("q", q, qHeads);
                k4 = splitHeads("k", k, kvHeads);
                v4 = splitHeads("v", v, kvHeads);
            } else {
                qHeads = qHeads > 0 ? qHeads : (int) types.dim(q, 1);
                kvHeads = kvHeads > 0 ? kvHeads : (int) Math.max(types.dim(k, 1), types.dim(in(4), 1));
                headSize = types.dim(q, 3);
                q4 = q;
                k4 = k;
                v4 = v;
            }
            List<String> notes = new ArrayList<>();
            k4 = withPast(k4, in(4), out(1), "present_key");
            v4 = withPast(v4, in(5), out(2), "present_value");
            if (present(4)) {
                notes.add("past kv");
            }
            boolean causal = GraphIndex.attrInt(fused, "is_causal", 0) != 0;
            List<String> biases = new ArrayList<>();
            String keep = causal ? causalKeep(q4, k4) : null;
            if (present(3)) {
                String mask = in(3);
                int maskType = types.elemType(mask);
                if (maskType == TensorProto.DataType.BOOL_VALUE) {
                    keep = keep == null ? mask : op("keep", "And", mask, keep);
                    notes.add("bool mask");
                } else if (maskType != 0) {
                    biases.add(mask);
                    notes.add("float mask");
                } else {
                    refuse("has an attn_mask '" + mask + "' whose type (bool or float) is not recorded in the graph",
                            "Run ONNX shape inference on the model (onnx.shape_inference.infer_shapes) so the mask's type is recorded, or "
                                    + RUN_EAGER);
                }
            }
            float softcap = attrFloat(fused, "softcap", 0f);
            Float scaleAttr = attrFloatOrNull("scale");
            String scale = scale(scaleAttr, headSize, q4);
            String ctx = core(q4, k4, v4, qHeads, kvHeads, scale, softcap, biases, keep, threeD ? null : out(0));
            if (threeD) {
                mergeHeads(ctx, out(0));
            }
            if (qkOut) {
                node("qk_output", "Identity", List.of(scores), List.of(), fused.getOutput(3));
            }
            if (causal) {
                notes.add("causal");
            }
            if (softcap > 0) {
                notes.add("softcap");
            }
            return heads(qHeads, kvHeads) + (threeD ? ", 3-D" : ", 4-D") + join(notes);
        }

        /** com.microsoft.MultiHeadAttention: separate query/key/value [B,S,D], optional bias, masks and past. */
        String multiHeadAttention() {
            if (!present(1)) {
                refuse("takes packed QKV in its query input", "Export with separate query/key/value inputs, or " + RUN_EAGER);
            }
            if (!present(2)) {
                refuse("takes packed key/value in its key input", "Export with separate key and value inputs, or " + RUN_EAGER);
            }
            if (present(8) || present(9)) {
                refuse("uses past_sequence_length/cache_indirection (beam-search decoding)", RUN_EAGER);
            }
            int heads = (int) attrIntRequired("num_heads");
            String query = in(0);
            String key = in(1);
            String value = in(2);
            boolean keyHeads = types.rank(key) == 4;
            List<String> notes = new ArrayList<>();
            if (present(3)) {
                if (keyHeads) {
                    refuse("has a bias together with key/value already split into heads", RUN_EAGER);
                }
                // the bias is [Dq + Dk + Dv] with Dq = Dk = the query's hidden size
                String d = dim1(query, 2);
                String d2 = op("bias_2d", "Mul", d, ints("two", 2));
                query = op("q_biased", "Add", query, slice("bias_q", in(3), ints("zero", 0), d, 0));
                key = op("k_biased", "Add", key, slice("bias_k", in(3), d, d2, 0));
                value = op("v_biased", "Add", value, slice("bias_v", in(3), d2, ints("end", Long.MAX_VALUE), 0));
                notes.add("bias");
            }
            String q4 = splitHeads("q", query, heads);
            String k4;
            String v4;
            if (keyHeads) {
                if (present(6)) {
                    refuse("has key/value already split into heads together with past key/value", RUN_EAGER);
                }
                k4 = key;
                v4 = types.rank(value) == 4 ? value : splitHeads("v", value, heads);
                k4 = withPast(k4, "", out(1), "present_key");
                v4 = withPast(v4, "", out(2), "present_value");
                notes.add("4-D key/value");
            } else {
                k4 = withPast(splitHeads("k", key, heads), in(6), out(1), "present_key");
                v4 = withPast(splitHeads("v", value, heads), in(7), out(2), "present_value");
                if (present(6)) {
                    notes.add("past kv");
                }
            }
            float filter = attrFloat(fused, "mask_filter_value", -10000f);
            List<String> biases = new ArrayList<>();
            if (present(4)) {
                biases.add(paddingBias(in(4), "key_padding_mask", filter));
                notes.add("key padding mask");
            }
            if (present(5)) {
                biases.add(in(5));
                notes.add("attention bias");
            }
            boolean causal = GraphIndex.attrInt(fused, "unidirectional", 0) != 0;
            String keep = causal ? causalKeep(q4, k4) : null;
            if (causal) {
                notes.add("causal");
            }
            long hidden = types.dim(in(0), 2);
            String scale = scale(attrFloatOrNull("scale"), hidden > 0 ? hidden / heads : -1, q4);
            mergeHeads(core(q4, k4, v4, heads, heads, scale, 0f, biases, keep, null), out(0));
            return heads(heads, heads) + join(notes);
        }

        /** com.microsoft.GroupQueryAttention: causal, fewer kv heads, optional rotary, past concatenated. */
        String groupQueryAttention() {
            if (GraphIndex.attrInt(fused, "local_window_size", -1) >= 0) {
                refuse("uses local (sliding-window) attention, local_window_size=" + GraphIndex.attrInt(fused, "local_window_size", -1),
                        RUN_EAGER);
            }
            if (GraphIndex.attrInt(fused, "smooth_softmax", 0) != 0) {
                refuse("uses smooth_softmax", RUN_EAGER);
            }
            if (GraphIndex.attrInt(fused, "qk_output", 0) != 0) {
                refuse("outputs its QK scores (qk_output)", RUN_EAGER);
            }
            if (present(9) || present(10) || present(11)) {
                refuse("takes position_ids, attention_bias or head_sink inputs", RUN_EAGER);
            }
            if (present(3) && !out(1).isEmpty() && types.sameDim(in(3), out(1), 2)) {
                // ORT then writes the new keys into the past buffer at seqlens_k per batch row; only the
                // concatenated cache (present length = past length + new tokens) is expressible as a Concat
                refuse("shares one buffer for past and present key/values (past and present declare the same length)",
                        "Export the model with a concatenated cache (present = past + new tokens, no shared buffer), or " + RUN_EAGER);
            }
            int heads = (int) attrIntRequired("num_heads");
            int kvHeads = (int) attrIntRequired("kv_num_heads");
            List<String> notes = new ArrayList<>();
            String q3;
            String k3;
            String v3;
            long headSize;
            if (!present(1)) {
                // packed [B,S,(H+2kvH)*Dh]: split on the head axis
                String packed = op("qkv", "Reshape", in(0), ints("qkv_shape", 0, 0, heads + 2L * kvHeads, -1));
                q3 = slice("q_heads", packed, ints("zero", 0), ints("q_end", heads), 2);
                k3 = slice("k_heads", packed, ints("q_end", heads), ints("k_end", heads + kvHeads), 2);
                v3 = slice("v_heads", packed, ints("k_end", heads + kvHeads), ints("v_end", heads + 2L * kvHeads), 2);
                long hidden = types.dim(in(0), 2);
                headSize = hidden > 0 ? hidden / (heads + 2L * kvHeads) : -1;
                notes.add("packed qkv");
            } else {
                q3 = op("q_heads", "Reshape", in(0), ints("heads_" + heads, 0, 0, heads, -1));
                k3 = op("k_heads", "Reshape", in(1), ints("heads_" + kvHeads, 0, 0, kvHeads, -1));
                v3 = op("v_heads", "Reshape", in(2), ints("heads_" + kvHeads, 0, 0, kvHeads, -1));
                long hidden = types.dim(in(0), 2);
                headSize = hidden > 0 ? hidden / heads : -1;
            }
            if (GraphIndex.attrInt(fused, "do_rotary", 0) != 0) {
                if (!present(7) || !present(8)) {
                    refuse("has do_rotary=1 without cos_cache/sin_cache", RUN_EAGER);
                }
                boolean interleaved = GraphIndex.attrInt(fused, "rotary_interleaved", 0) != 0;
                // positions of the new tokens: past length + 0..S-1 (past length = seqlens_k + 1 - S when the
                // past is concatenated)
                String s = dim(q3, 1);
                String positions = op("positions", "Range", scalar("zero_s", 0), s, scalar("one_s", 1));
                if (present(3)) {
                    positions = op("positions_past", "Add", positions, dim(in(3), 2));
                }
                String cos = unsqueeze("cos", op("cos_rows", "Gather", in(7), positions), 1);
                String sin = unsqueeze("sin", op("sin_rows", "Gather", in(8), positions), 1);
                q3 = rotary("q_rot", q3, cos, sin, interleaved);
                k3 = rotary("k_rot", k3, cos, sin, interleaved);
                notes.add(interleaved ? "rotary (interleaved)" : "rotary");
            }
            String q4 = transpose("q", q3, 0, 2, 1, 3);
            String k4 = withPast(transpose("k", k3, 0, 2, 1, 3), in(3), out(1), "present_key");
            String v4 = withPast(transpose("v", v3, 0, 2, 1, 3), in(4), out(2), "present_value");
            if (present(3)) {
                notes.add("past kv");
            }
            float softcap = attrFloat(fused, "softcap", 0f);
            if (softcap > 0) {
                notes.add("softcap");
            }
            String scale = scale(attrFloatOrNull("scale"), headSize, q4);
            String ctx = core(q4, k4, v4, heads, kvHeads, scale, softcap, List.of(), causalKeep(q4, k4), null);
            mergeHeads(ctx, out(0));
            return "GQA " + heads(heads, kvHeads) + ", causal" + join(notes);
        }

        /** com.microsoft.Attention: input projection by one [in, 3*hidden] weight, optional 2-D mask and past. */
        String msAttention() {
            if (present(6)) {
                refuse("takes past_sequence_length (shared past/present buffer)", RUN_EAGER);
            }
            if (GraphIndex.attrInt(fused, "do_rotary", 0) != 0 || GraphIndex.attrInt(fused, "past_present_share_buffer", 0) != 0) {
                refuse("uses do_rotary or past_present_share_buffer", RUN_EAGER);
            }
            int heads = (int) attrIntRequired("num_heads");
            List<String> notes = new ArrayList<>();
            String qkv = op("qkv", "MatMul", in(0), in(1));
            if (present(2)) {
                qkv = op("qkv_biased", "Add", qkv, in(2));
            }
            long[] sizes = intsAttr("qkv_hidden_sizes");
            String q;
            String k;
            String v;
            long hq;
            if (sizes.length == 3) {
                hq = sizes[0];
                q = slice("q_proj", qkv, ints("zero", 0), ints("q_end", sizes[0]), 2);
                k = slice("k_proj", qkv, ints("q_end", sizes[0]), ints("k_end", sizes[0] + sizes[1]), 2);
                v = slice("v_proj", qkv, ints("k_end", sizes[0] + sizes[1]), ints("v_end", sizes[0] + sizes[1] + sizes[2]), 2);
            } else {
                long w = types.dim(in(1), 1);
                hq = w > 0 ? w / 3 : -1;
                String third = op("hidden", "Div", dim1(in(1), 1), ints("three", 3));
                String twice = op("hidden_2", "Mul", third, ints("two", 2));
                q = slice("q_proj", qkv, ints("zero", 0), third, 2);
                k = slice("k_proj", qkv, third, twice, 2);
                v = slice("v_proj", qkv, twice, ints("end", Long.MAX_VALUE), 2);
            }
            String q4 = splitHeads("q", q, heads);
            String k4 = splitHeads("k", k, heads);
            String v4 = splitHeads("v", v, heads);
            if (present(4)) {
                String pastK = op("past_key", "Gather", in(4), scalar("zero_s", 0));
                String pastV = op("past_value", "Gather", in(4), scalar("one_s", 1));
                k4 = op("present_key", "Concat", List.of(pastK, k4), List.of(attrInt("axis", 2)));
                v4 = op("present_value", "Concat", List.of(pastV, v4), List.of(attrInt("axis", 2)));
                notes.add("past kv");
            }
            if (fused.getOutputCount() > 1 && !fused.getOutput(1).isEmpty()) {
                node("present", "Concat", List.of(unsqueeze("present_k", k4, 0), unsqueeze("present_v", v4, 0)),
                        List.of(attrInt("axis", 0)), fused.getOutput(1));
            }
            float filter = attrFloat(fused, "mask_filter_value", -10000f);
            List<String> biases = new ArrayList<>();
            if (present(3)) {
                biases.add(paddingBias(in(3), "mask_index", filter));
                notes.add("2-D mask");
            }
            if (present(5)) {
                biases.add(in(5));
                notes.add("attention bias");
            }
            boolean causal = GraphIndex.attrInt(fused, "unidirectional", 0) != 0;
            if (causal) {
                notes.add("causal");
            }
            String scale = scale(attrFloatOrNull("scale"), hq > 0 ? hq / heads : -1, q4);
            mergeHeads(core(q4, k4, v4, heads, heads, scale, 0f, biases, causal ? causalKeep(q4, k4) : null, null), out(0));
            return heads(heads, heads) + ", input projection" + join(notes);
        }

        // ---- the shared core ----------------------------------------------------------------------------------

        /**
         * {@code MatMul(Q, K^T) -> Mul(scale) -> [softcap] -> [Add bias]* -> [Where(keep)] -> Softmax -> MatMul(P, V)}
         * on [B,H,S,Dh] queries and [B,kvH,T,Dh] keys/values; returns the [B,H,S,Dv] context (named {@code out} if given).
         */
        private String core(String q4, String k4, String v4, int heads, int kvHeads, String scale, float softcap,
                            List<String> biases, String keep, String out) {
            String kRep = repeatKv("k", k4, q4, heads, kvHeads);
            String vRep = repeatKv("v", v4, q4, heads, kvHeads);
            String kT = transpose("k_t", kRep, 0, 1, 3, 2);
            String s = op("qk", "MatMul", q4, kT);
            s = op("scores", "Mul", s, scale);
            scores = s;
            if (softcap > 0) {
                String c = num("softcap", softcap);
                s = op("softcap_mul", "Mul", op("softcap_tanh", "Tanh", op("softcap_div", "Div", s, c)), c);
            }
            for (int i = 0; i < biases.size(); i++) {
                s = op("masked_add" + (i == 0 ? "" : "_" + i), "Add", s, biases.get(i));
            }
            if (keep != null) {
                s = op("masked", "Where", keep, s, num("lowest", lowest()));
            }
            String p = node("probs", "Softmax", List.of(s), List.of(attrInt("axis", -1)), null);
            return node("context", "MatMul", List.of(p, vRep), List.of(), out);
        }

        /** [B,kvH,T,Dh] to [B,H,T,Dh]: kv head j serves query heads j*n_rep .. j*n_rep+n_rep-1. */
        private String repeatKv(String tag, String kv4, String q4, int heads, int kvHeads) {
            if (heads > 0 && heads == kvHeads) {
                return kv4;
            }
            String u = unsqueeze(tag + "_unsq", kv4, 2);
            String expandTo;
            String headCount;
            if (heads > 0 && kvHeads > 0) {
                if (heads % kvHeads != 0) {
                    refuse("has " + heads + " query heads, not a multiple of its " + kvHeads + " key/value heads", RUN_EAGER);
                }
                expandTo = ints("rep_" + heads / kvHeads, 1, 1, heads / kvHeads, 1, 1);
                headCount = ints("h_" + heads, heads);
            } else {
                // head counts unknown until run time
                headCount = dim1(q4, 1);
                String rep = op("n_rep", "Div", headCount, dim1(kv4, 1));
                expandTo = op("rep_shape", "Concat", List.of(ints("ones2", 1, 1), rep, ints("ones2", 1, 1)), List.of(attrInt("axis", 0)));
            }
            String e = op(tag + "_expand", "Expand", u, expandTo);
            String shape = op(tag + "_rep_shape", "Concat", List.of(dim1(kv4, 0), headCount, ints("minus1", -1), dim1(kv4, 3)),
                    List.of(attrInt("axis", 0)));
            return op(tag + "_rep", "Reshape", e, shape);
        }

        /** Keys a query may see, [S,T] bool: query i sees keys 0..T-S+i (aligned to the end when there is a past). */
        private String causalKeep(String q4, String k4) {
            String s = dim(q4, 2);
            String t = dim(k4, 2);
            String rows = op("causal_rows", "Range", scalar("zero_s", 0), s, scalar("one_s", 1));
            String cols = op("causal_cols", "Range", scalar("zero_s", 0), t, scalar("one_s", 1));
            String last = unsqueeze("causal_last", op("causal_limit", "Add", rows, op("causal_past", "Sub", t, s)), 1);
            return op("causal_keep", "Not", op("causal_future", "Greater", cols, last));
        }

        /** A 0/1 int mask [B,T] as an additive [B,1,1,T] bias: 0 where kept, {@code filter} where masked. */
        private String paddingBias(String mask, String what, float filter) {
            int rank = types.rank(mask);
            if (rank != 2) {
                refuse(rank < 0 ? "has a " + what + " '" + mask + "' whose rank is not recorded in the graph"
                                : "has a rank-" + rank + " " + what + " (only the 2-D [batch, total length] 0/1 mask is rewritten)",
                        (rank < 0 ? "Run ONNX shape inference on the model (onnx.shape_inference.infer_shapes) so the mask's shape is recorded, or " : "")
                                + RUN_EAGER);
            }
            String kept = op(what + "_kept", "Greater", mask, int32Zero());
            String bias = op(what + "_bias", "Where", kept, num("zero", 0), num("filter", filter));
            return unsqueeze(what + "_bias4", bias, 1, 2);
        }

        /** Concatenates the past along the sequence axis when there is one; writes the present output if requested. */
        private String withPast(String new4, String past, String presentOut, String tag) {
            boolean hasOut = !presentOut.isEmpty();
            if (!past.isEmpty()) {
                return node(tag, "Concat", List.of(past, new4), List.of(attrInt("axis", 2)), hasOut ? presentOut : null);
            }
            if (hasOut) {
                node(tag, "Identity", List.of(new4), List.of(), presentOut);
            }
            return new4;
        }

        /** Rotary embedding on [B,S,N,Dh] with cos/sin [S,1,R/2]; the first R features rotate, the rest pass through. */
        private String rotary(String tag, String x, String cos, String sin, boolean interleaved) {
            String half = dim1(cos, 2);
            String rot = op(tag + "_dim", "Mul", half, ints("two", 2));
            String pass = slice(tag + "_pass", x, rot, ints("end", Long.MAX_VALUE), 3);
            String rotated;
            if (interleaved) {
                String pairs = op(tag + "_pairs", "Reshape", slice(tag + "_part", x, ints("zero", 0), rot, 3), ints("pairs", 0, 0, 0, -1, 2));
                String a = slice(tag + "_even", pairs, ints("zero", 0), ints("one", 1), 4);
                String b = slice(tag + "_odd", pairs, ints("one", 1), ints("two", 2), 4);
                String c = unsqueeze(tag + "_cos", cos, 3);
                String s = unsqueeze(tag + "_sin", sin, 3);
                String re = op(tag + "_re", "Sub", op(tag + "_ac", "Mul", a, c), op(tag + "_bs", "Mul", b, s));
                String im = op(tag + "_im", "Add", op(tag + "_bc", "Mul", b, c), op(tag + "_as", "Mul", a, s));
                String joined = op(tag + "_joined", "Concat", List.of(re, im), List.of(attrInt("axis", -1)));
                rotated = op(tag + "_flat", "Reshape", joined, ints("flat", 0, 0, 0, -1));
            } else {
                String a = slice(tag + "_x1", x, ints("zero", 0), half, 3);
                String b = slice(tag + "_x2", x, half, rot, 3);
                String re = op(tag + "_re", "Sub", op(tag + "_ac", "Mul", a, cos), op(tag + "_bs", "Mul", b, sin));
                String im = op(tag + "_im", "Add", op(tag + "_bc", "Mul", b, cos), op(tag + "_as", "Mul", a, sin));
                rotated = op(tag + "_halves", "Concat", List.of(re, im), List.of(attrInt("axis", -1)));
            }
            return op(tag, "Concat", List.of(rotated, pass), List.of(attrInt("axis", -1)));
        }

        /** The scale as a constant when it is known here; otherwise 1/sqrt(head size) computed at run time. */
        private String scale(Float attr, long headSize, String q4) {
            if (attr != null && attr > 0) {
                return num("scale", attr);
            }
            if (headSize > 0) {
                return num("scale", (float) (1.0 / Math.sqrt(headSize)));
            }
            String hs = dim(q4, 3);
            String f = elemType != 0 ? node("head_size", "Cast", List.of(hs), List.of(attrInt("to", elemType)), null)
                    : op("head_size", "CastLike", hs, like);
            return op("scale", "Div", num("one", 1), op("sqrt_head_size", "Sqrt", f));
        }

        // ---- layout helpers -------------------------------------------------------------------------------------

        /** [B,S,H*Dh] to [B,H,S,Dh]. */
        private String splitHeads(String tag, String x, int heads) {
            return transpose(tag, op(tag + "_heads", "Reshape", x, ints("heads_" + heads, 0, 0, heads, -1)), 0, 2, 1, 3);
        }

        /** [B,H,S,Dv] to [B,S,H*Dv], written to {@code out}. */
        private void mergeHeads(String ctx, String out) {
            node("merged", "Reshape", List.of(transpose("context_t", ctx, 0, 2, 1, 3), ints("merge", 0, 0, -1)), List.of(), out);
        }

        private String transpose(String tag, String x, long... perm) {
            return node(tag, "Transpose", List.of(x), List.of(attrInts("perm", perm)), null);
        }

        private String shape(String t) {
            return shapes.computeIfAbsent(t, k -> op("shape", "Shape", k));
        }

        /** Dimension {@code axis} of a tensor as an int64 scalar. */
        private String dim(String t, int axis) {
            return op("dim", "Gather", shape(t), scalar("axis_" + axis, axis));
        }

        /** Dimension {@code axis} of a tensor as a one-element int64 vector. */
        private String dim1(String t, int axis) {
            return slice("dim", shape(t), ints("at_" + axis, axis), ints("at_" + (axis + 1), axis + 1), 0);
        }

        private String slice(String tag, String x, String start, String end, long axis) {
            need(10);
            return op(tag, "Slice", x, start, end, ints("axis_v" + axis, axis));
        }

        private String unsqueeze(String tag, String x, long... axes) {
            if (opset >= 13) {
                return op(tag, "Unsqueeze", x, ints("axes" + java.util.Arrays.toString(axes), axes));
            }
            return node(tag, "Unsqueeze", List.of(x), List.of(attrInts("axes", axes)), null);
        }

        // ---- nodes and constants -----------------------------------------------------------------------------

        private String op(String tag, String type, String... in) {
            return node(tag, type, List.of(in), List.of(), null);
        }

        private String op(String tag, String type, List<String> in, List<AttributeProto> attrs) {
            return node(tag, type, in, attrs, null);
        }

        private String node(String tag, String type, List<String> in, List<AttributeProto> attrs, String out) {
            String name = unique(prefix + tag);
            need(switch (type) {
                case "Range" -> 11;
                case "CastLike" -> 15;
                case "Where", "Greater", "Expand" -> 9;
                default -> 1;
            });
            nodes.add(NodeProto.newBuilder().setOpType(type).setName(name).addAllInput(in)
                    .addOutput(out == null ? name : out).addAllAttribute(attrs).build());
            return out == null ? name : out;
        }

        private String unique(String name) {
            String n = name;
            for (int i = 2; !names.add(n); i++) {
                n = name + "_" + i;
            }
            return n;
        }

        private void need(long v) {
            minOpset = Math.max(minOpset, v);
        }

        /** A scalar of the attention dtype. */
        private String num(String key, double v) {
            return constants.computeIfAbsent("num_" + key, k -> {
                String name = prefix + "c/" + key;
                TensorProto.Builder t = TensorProto.newBuilder().setName(name);
                switch (elemType) {
                    case TensorProto.DataType.FLOAT16_VALUE -> t.setDataType(elemType).addInt32Data(Float.floatToFloat16((float) v) & 0xffff);
                    case TensorProto.DataType.BFLOAT16_VALUE -> t.setDataType(elemType).addInt32Data(bfloat16((float) v));
                    case TensorProto.DataType.DOUBLE_VALUE -> t.setDataType(elemType).addDoubleData(v);
                    default -> t.setDataType(TensorProto.DataType.FLOAT_VALUE).addFloatData((float) v);
                }
                initializers.add(t.build());
                return elemType == 0 ? op(key + "_typed", "CastLike", name, like) : name;
            });
        }

        /** The most negative finite value of the attention dtype: masked scores become it, as in ORT's kernels. */
        private double lowest() {
            return switch (elemType) {
                case TensorProto.DataType.FLOAT_VALUE -> -Float.MAX_VALUE;
                case TensorProto.DataType.DOUBLE_VALUE -> -Double.MAX_VALUE;
                case TensorProto.DataType.BFLOAT16_VALUE -> -3.3895313892515355e38;
                default -> -65504.0;
            };
        }

        private static int bfloat16(float v) {
            int bits = Float.floatToRawIntBits(v);
            return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
        }

        private String ints(String key, long... v) {
            return constants.computeIfAbsent("ints_" + key, k -> {
                String name = prefix + "c/i64_" + key;
                TensorProto.Builder t = TensorProto.newBuilder().setName(name)
                        .setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length);
                for (long x : v) {
                    t.addInt64Data(x);
                }
                initializers.add(t.build());
                return name;
            });
        }

        private String scalar(String key, long v) {
            return constants.computeIfAbsent("scalar_" + key, k -> {
                String name = prefix + "c/i64s_" + key;
                initializers.add(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addInt64Data(v).build());
                return name;
            });
        }

        private String int32Zero() {
            return constants.computeIfAbsent("int32_zero", k -> {
                String name = prefix + "c/int32_zero";
                initializers.add(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT32_VALUE).addInt32Data(0).build());
                return name;
            });
        }

        // ---- the fused node's inputs and attributes ------------------------------------------------------------

        private boolean present(int i) {
            return i < fused.getInputCount() && !fused.getInput(i).isEmpty();
        }

        private String in(int i) {
            return present(i) ? fused.getInput(i) : "";
        }

        private String out(int i) {
            return i < fused.getOutputCount() ? fused.getOutput(i) : "";
        }

        private Float attrFloatOrNull(String name) {
            for (AttributeProto a : fused.getAttributeList()) {
                if (a.getName().equals(name)) {
                    return a.getF();
                }
            }
            return null;
        }

        private long attrIntRequired(String name) {
            long v = GraphIndex.attrInt(fused, name, 0);
            if (v <= 0) {
                refuse("has no " + name + " attribute", RUN_EAGER);
            }
            return v;
        }

        private long[] intsAttr(String name) {
            for (AttributeProto a : fused.getAttributeList()) {
                if (a.getName().equals(name)) {
                    return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
                }
            }
            return new long[0];
        }

        private void refuse(String problem, String fix) {
            throw new ModelException("Fused attention node " + GraphIndex.describe(fused) + " " + problem
                    + ", which HeadScope cannot rewrite into plain attention.", fix);
        }

        private static String heads(int q, int kv) {
            if (q <= 0) {
                return "heads from shapes";
            }
            return q == kv ? q + " heads" : q + "q/" + kv + "kv heads";
        }

        private static String join(List<String> notes) {
            return notes.isEmpty() ? "" : ", " + String.join(", ", notes);
        }
    }

    private static float attrFloat(NodeProto n, String name, float fallback) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return fallback;
    }

    private static AttributeProto attrInt(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto attrInts(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }
}
