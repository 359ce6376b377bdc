package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites a graph with taps (new outputs, reductions computed in the graph) and hooks (new inputs with neutral
 * defaults) at every attention site. Weights stay where the skeleton points; the result is small.
 */
public final class GraphRewriter {
    private final OnnxMl.GraphProto source;
    private final long opset;
    private final List<AttentionSite> sites;
    private final int heads;
    private final int headDim;
    /** New nodes to emit right after the node producing the keyed tensor. */
    private final Map<String, List<OnnxMl.NodeProto>> after = new LinkedHashMap<>();
    /** Tensor renames applied to the inputs of the original nodes. */
    private final Map<String, String> rewire = new HashMap<>();
    private final List<OnnxMl.TensorProto> initializers = new ArrayList<>();
    private final List<OnnxMl.ValueInfoProto> inputs = new ArrayList<>();
    private final List<OnnxMl.ValueInfoProto> outputs = new ArrayList<>();
    private final GraphIndex index;
    /** Float views ({@code [B,H,...]}, float32) of site tensors, made once per tensor. */
    private final Map<String, String> views = new HashMap<>();
    private String anchor;
    private int counter;
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT.getNumber();

    private GraphRewriter(OnnxModel model, List<AttentionSite> sites) {
        this.source = model.graph();
        this.opset = model.opset();
        this.sites = sites;
        this.heads = sites.isEmpty() ? 0 : sites.get(0).queryHeads();
        this.headDim = sites.isEmpty() ? 0 : sites.get(0).headDim();
        this.index = new GraphIndex(source);
    }

    /** A model whose graph also outputs some of its tensors, and the output name under which each is read. */
    public record Exposed(OnnxMl.ModelProto model, Map<String, String> outputFor) {
    }

    /**
     * A copy of the model whose graph also outputs the named tensors as float (cast from the graph's own type where
     * it is not float), for probing shapes.
     */
    public static Exposed expose(OnnxModel model, List<String> tensors) {
        OnnxMl.GraphProto.Builder g = model.graph().toBuilder();
        GraphIndex index = new GraphIndex(model.graph());
        Set<String> existing = new java.util.HashSet<>(model.outputNames());
        Map<String, String> outputFor = new LinkedHashMap<>();
        for (String t : tensors) {
            if (outputFor.containsKey(t)) {
                continue;
            }
            int type = index.elemType(t);
            if (type == FLOAT) {
                outputFor.put(t, t);
                if (existing.add(t)) {
                    g.addOutput(valueInfo(t, OnnxMl.TensorProto.DataType.FLOAT, -1));
                }
            } else {
                String name = t + "/hs_probe_f32";
                g.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Cast").setName("hs/probe/" + t).addInput(t).addOutput(name)
                        .addAttribute(attrInt("to", FLOAT)));
                g.addOutput(valueInfo(name, OnnxMl.TensorProto.DataType.FLOAT, -1));
                outputFor.put(t, name);
            }
        }
        return new Exposed(model.skeleton().toBuilder().setGraph(g).build(), outputFor);
    }

    /**
     * The part of a (rewritten) model from the residual stream entering {@code site} onwards: that tensor becomes a
     * graph input, and nodes and weights only earlier layers need are dropped. An ablation sweep over the heads of
     * a late layer then recomputes only the late layers.
     */
    public static OnnxMl.ModelProto suffix(OnnxMl.ModelProto rewritten, AttentionSite site, java.util.Collection<String> outputs) {
        if (site.residual() == null) {
            throw new ModelException("The residual stream entering layer " + site.layer() + " could not be identified.",
                    "Run full-model sessions for this model (layer-suffix sessions are only a speed-up).");
        }
        String start = site.residual();
        OnnxMl.GraphProto g = rewritten.getGraph();
        GraphIndex index = new GraphIndex(g);
        Part part = Part.between(index, start, outputs);
        for (OnnxMl.NodeProto p : g.getNodeList()) {
            if (!part.keep.contains(p)) {
                continue;
            }
            for (OnnxMl.AttributeProto a : p.getAttributeList()) {
                if (a.hasG() || a.getGraphsCount() > 0) {
                    throw new ModelException("Node " + GraphIndex.describe(p) + " has a subgraph; layer-suffix sessions cannot cut it.",
                            "Use full-model sessions for this model.");
                }
            }
        }
        if (!part.needed.contains(start)) {
            throw new ModelException("Layer " + site.layer() + "'s residual stream does not feed the requested outputs.",
                    "Use full-model sessions for this model.");
        }
        OnnxMl.GraphProto.Builder b = part.graph(g, index, start);
        g.getOutputList().stream().filter(v -> outputs.contains(v.getName())).forEach(b::addOutput);
        return rewritten.toBuilder().setGraph(b).build();
    }

    /**
     * The part of a model from tensor {@code start} to {@code outputs}: {@code start} becomes a graph input (typed as
     * in the graph) and every node not on a path from it to the outputs is dropped. The graph's own inputs stay
     * declared: a run feeds them, and what the kept nodes read of them (shapes taken from the token ids) is still
     * computed. Refused when the outputs do not depend on {@code start}.
     */
    public static OnnxMl.ModelProto cut(OnnxMl.ModelProto model, String start, java.util.Collection<String> outputs) {
        OnnxMl.GraphProto g = model.getGraph();
        GraphIndex index = new GraphIndex(g);
        Part part = Part.between(index, start, outputs);
        if (!part.needed.contains(start)) {
            throw new ModelException("The outputs " + outputs + " do not depend on tensor '" + start + "'.",
                    "This analysis cannot start from that tensor in this graph.");
        }
        OnnxMl.GraphProto.Builder b = part.graph(g, index, start);
        for (String o : outputs) {
            b.addOutput(valueInfo(o, OnnxMl.TensorProto.DataType.forNumber(index.elemType(o)), -1));
        }
        return model.toBuilder().setGraph(b).build();
    }

    /**
     * The nodes on a path from {@code start} to {@code outputs} (walking back from the outputs and stopping at
     * {@code start}), and every tensor they read. Shared by {@link #suffix} and {@link #cut}.
     */
    private record Part(java.util.Set<String> needed, java.util.Set<OnnxMl.NodeProto> keep) {
        static Part between(GraphIndex index, String start, java.util.Collection<String> outputs) {
            java.util.Set<String> needed = new java.util.HashSet<>();
            java.util.Set<OnnxMl.NodeProto> keep = new java.util.HashSet<>();
            java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(outputs);
            while (!todo.isEmpty()) {
                String t = todo.poll();
                if (!needed.add(t) || t.equals(start)) {
                    continue;
                }
                OnnxMl.NodeProto p = index.producer.get(t);
                if (p != null && keep.add(p)) {
                    p.getInputList().stream().filter(in -> !in.isEmpty()).forEach(todo::add);
                }
            }
            return new Part(needed, keep);
        }

        /**
         * The graph of these nodes, in the original order, with the initializers they read, the graph's own inputs,
         * and {@code start} as a new input typed as in the graph; outputs are left to the caller.
         */
        OnnxMl.GraphProto.Builder graph(OnnxMl.GraphProto g, GraphIndex index, String start) {
            OnnxMl.GraphProto.Builder b = g.toBuilder().clearNode().clearInitializer().clearOutput().clearInput();
            g.getNodeList().stream().filter(keep::contains).forEach(b::addNode);
            g.getInitializerList().stream().filter(t -> needed.contains(t.getName())).forEach(b::addInitializer);
            java.util.Set<String> inits = new java.util.HashSet<>();
            g.getInitializerList().forEach(t -> inits.add(t.getName()));
            g.getInputList().stream().filter(v -> !inits.contains(v.getName())).forEach(b::addInput);
            b.addInput(OnnxMl.ValueInfoProto.newBuilder().setName(start).setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(index.elemType(start)))).build());
            return b;
        }
    }

    /** The model with the requested taps and hooks at every site. */
    public static OnnxMl.ModelProto rewrite(OnnxModel model, List<AttentionSite> sites, TapSet taps, HookSet hooks) {
        GraphRewriter r = new GraphRewriter(model, sites);
        if (hooks.any()) {
            for (AttentionSite s : sites) {
                if (s.queryHeads() != r.heads || s.headDim() != r.headDim) {
                    throw new ModelException("Layer " + s.layer() + " has " + s.queryHeads() + " heads of size " + s.headDim()
                            + " while layer 0 has " + r.heads + " of size " + r.headDim + "; hooks need the same layout in every layer.",
                            "Use taps only (reading attention works), or open a model with a uniform head layout.");
                }
            }
        }
        r.declareHooks(hooks, taps);
        for (AttentionSite s : sites) {
            r.site(s, taps, hooks);
        }
        return r.build(model);
    }

    private void declareHooks(HookSet hooks, TapSet taps) {
        int layers = sites.size();
        if (hooks.headOutput()) {
            hookInput(HookSet.HEAD_GAIN, 1f, new long[]{1, layers, heads}, new String[]{"hook_batch", null, null});
            hookInput(HookSet.HEAD_BIAS, 0f, new long[]{1, layers, heads, headDim}, new String[]{"hook_batch", null, null, null});
        }
        if (hooks.preSoftmax()) {
            hookInput(HookSet.PRE_GAIN, 1f, new long[]{1, layers, heads}, new String[]{"hook_batch", null, null});
            hookInput(HookSet.PRE_BIAS, 0f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_keys"});
            hookInput(HookSet.PRE_AMP, 0f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_keys"});
            hookInput(HookSet.PRE_ROWS, 1f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_rows"});
        }
        if (hooks.postSoftmax()) {
            hookInput(HookSet.POST_KEEP, 1f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_keys"});
            hookInput(HookSet.POST_RECV, 1f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_keys"});
            hookInput(HookSet.POST_ROWS, 1f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_rows"});
        }
        if (hooks.patch()) {
            hookInput(HookSet.PATCH_KEEP, 1f, new long[]{1, layers, heads, 1}, new String[]{"hook_batch", null, null, "hook_rows"});
            hookInput(HookSet.PATCH_VALUE, 0f, new long[]{1, layers, heads, 1, headDim},
                    new String[]{"hook_batch", null, null, "hook_rows", null});
        }
        if (taps.layers().containsKey(TapKind.SPAN_MASS)) {
            hookInput(HookSet.KEY_SPAN, 0f, new long[]{1, 1}, new String[]{"hook_batch", "hook_keys"});
        }
    }

    /**
     * A hook graph input. Its neutral value (the {@code value} here, broadcast from the shape given) is fed by
     * {@link HookedSession} whenever a run leaves the family unused: ONNX Runtime's Java API cannot override
     * initializers, so the default lives beside the session rather than in the graph.
     */
    private void hookInput(String name, float value, long[] shape, String[] symbols) {
        OnnxMl.TensorShapeProto.Builder sh = OnnxMl.TensorShapeProto.newBuilder();
        for (int i = 0; i < shape.length; i++) {
            OnnxMl.TensorShapeProto.Dimension.Builder d = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (symbols[i] != null) {
                // one symbol per input: neutral defaults broadcast (size 1) while edited inputs carry full sizes
                d.setDimParam(name + "_" + symbols[i]);
            } else {
                d.setDimValue(shape[i]);
            }
            sh.addDim(d);
        }
        inputs.add(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).setShape(sh))).build());
    }

    private void site(AttentionSite s, TapSet taps, HookSet hooks) {
        int l = s.layer();
        AttentionSite.Layout layout = s.layout();
        String scores = null;
        if (hooks.preSoftmax()) {
            scores = view(s.scores(), layout.flatScores());
            anchor = s.scores();
            String idx = constInt("l" + l, l);
            String g = unsqueeze(gather(HookSet.PRE_GAIN, idx), 2, 3);
            String bias = unsqueeze(gather(HookSet.PRE_BIAS, idx), 2);
            String amp = unsqueeze(gather(HookSet.PRE_AMP, idx), 2);
            String rows = unsqueeze(gather(HookSet.PRE_ROWS, idx), 3);
            // s' = s (1 + r (g-1)) + r bias + r amp |s|: the factors are folded on the small hook tensors first, so
            // only five element-wise passes touch the [B,H,T,K] scores
            String factor = op("Add", constFloat("one", 1f), op("Mul", rows, op("Sub", g, constFloat("one", 1f))));
            String edited = op("Add", op("Add", op("Mul", scores, factor), op("Mul", rows, bias)),
                    op("Mul", op("Mul", rows, amp), op("Abs", scores)));
            rewire.put(s.scores(), unview(edited, s.scores(), layout.flatScores()));
            scores = edited;
        }
        String probs = null;
        if (hooks.postSoftmax()) {
            probs = view(s.probs(), layout.flatProbs());
            anchor = s.probs();
            String idx = constInt("l" + l, l);
            String keep = unsqueeze(gather(HookSet.POST_KEEP, idx), 2);
            String recv = unsqueeze(gather(HookSet.POST_RECV, idx), 2);
            String rows = unsqueeze(gather(HookSet.POST_ROWS, idx), 3);
            // P' = P (1 + r ok (keep - 1)) + P (r ok moved / denom) recv, with moved = rowsum(P) - P keep^T and
            // denom = P recv^T as matrix-vector products; rows whose receivers hold no mass (ok = 0) stay as they are
            // neutral keep/receive arrive as [1,H,1,1]: widen them to every key before the matrix-vector products
            String keys = node("Slice", List.of(node("Shape", List.of(probs), List.of()), constInts("s3", 3), constInts("e4", 4)), List.of());
            String wide = node("Concat", List.of(constInts("ones3", 1, 1, 1), keys), List.of(attrInt("axis", 0)));
            String keepT = node("Transpose", List.of(op("Expand", keep, wide)), List.of(attrInts("perm", 0, 1, 3, 2)));
            String recvT = node("Transpose", List.of(op("Expand", recv, wide)), List.of(attrInts("perm", 0, 1, 3, 2)));
            String moved = op("Sub", reduce("ReduceSum", probs, true), op("MatMul", probs, keepT));
            String denom = op("MatMul", probs, recvT);
            String ok = cast(op("Greater", denom, constFloat("zero", 0f)));
            String safe = op("Add", denom, op("Sub", constFloat("one", 1f), ok));
            String gate = op("Mul", rows, ok);
            String keepFactor = op("Add", constFloat("one", 1f), op("Mul", gate, op("Sub", keep, constFloat("one", 1f))));
            String share = op("Mul", op("Mul", gate, op("Div", moved, safe)), recv);
            String edited = op("Mul", probs, op("Add", keepFactor, share));
            rewire.put(s.probs(), unview(edited, s.probs(), layout.flatProbs()));
            probs = edited;
        }
        String z = null;
        if (hooks.patch()) {
            // z' = keep z + (1 - keep) value, per query position: another run's head output patched in
            z = view(s.headOutput(), layout.flatOutput());
            anchor = s.headOutput();
            String idx = constInt("l" + l, l);
            String keep = unsqueeze(gather(HookSet.PATCH_KEEP, idx), 3);
            String value = gather(HookSet.PATCH_VALUE, idx);
            z = op("Add", op("Mul", z, keep), op("Mul", value, op("Sub", constFloat("one", 1f), keep)));
        }
        if (hooks.headOutput()) {
            if (z == null) {
                z = view(s.headOutput(), layout.flatOutput());
            }
            anchor = s.headOutput();
            String idx = constInt("l" + l, l);
            String g = unsqueeze(gather(HookSet.HEAD_GAIN, idx), 2, 3);
            String c = unsqueeze(gather(HookSet.HEAD_BIAS, idx), 2);
            z = op("Add", op("Mul", z, g), c);
        }
        if (z != null) {
            rewire.put(s.headOutput(), unview(z, s.headOutput(), layout.flatOutput()));
        }
        taps(s, taps, scores, probs, z);
    }

    /**
     * The tensor as float32 in the {@code [B, H, ...]} layout: cast from the graph's own type (float16, bfloat16)
     * and, where the graph folds heads into the batch axis, reshaped to give heads their own axis. Returns the
     * tensor itself for the common case of a float32 tensor with a heads axis.
     */
    private String view(String tensor, boolean flat) {
        String known = views.get(tensor);
        if (known != null) {
            return known;
        }
        anchor = tensor;
        String v = tensor;
        if (index.elemType(tensor) != FLOAT) {
            v = cast(v);
        }
        if (flat) {
            String rest = node("Slice", List.of(node("Shape", List.of(tensor), List.of()), constInts("s1", 1), constInts("big", Long.MAX_VALUE)), List.of());
            String shape = node("Concat", List.of(constInts("m1h" + heads, -1, heads), rest), List.of(attrInt("axis", 0)));
            v = op("Reshape", v, shape);
        }
        views.put(tensor, v);
        return v;
    }

    /** An edited float view written back in the original tensor's layout and type. */
    private String unview(String edited, String original, boolean flat) {
        String v = edited;
        if (flat) {
            v = op("Reshape", v, node("Shape", List.of(original), List.of()));
        }
        int type = index.elemType(original);
        if (type != FLOAT) {
            v = node("Cast", List.of(v), List.of(attrInt("to", type)));
        }
        return v;
    }

    private void taps(AttentionSite s, TapSet taps, String editedScores, String editedProbs, String editedZ) {
        int l = s.layer();
        AttentionSite.Layout layout = s.layout();
        if (taps.has(TapKind.SCORES, l)) {
            String scores = editedScores != null ? editedScores : view(s.scores(), layout.flatScores());
            anchor = s.scores();
            output(TapKind.SCORES, l, scores);
        }
        if (TapKind.PROB_TAPS.stream().anyMatch(k -> taps.has(k, l))) {
            String probs = editedProbs != null ? editedProbs : view(s.probs(), layout.flatProbs());
            anchor = s.probs();
            if (taps.has(TapKind.PROBS, l)) {
                output(TapKind.PROBS, l, probs);
            }
            if (taps.has(TapKind.POOLED, l)) {
                output(TapKind.POOLED, l, pooled(probs, taps.poolSide(), l));
            }
            if (taps.has(TapKind.LAST_ROW, l)) {
                output(TapKind.LAST_ROW, l, node("Gather", List.of(probs, constInt("minus1", -1)), List.of(attrInt("axis", 2))));
            }
            if (taps.has(TapKind.COL_SUM, l)) {
                output(TapKind.COL_SUM, l, reduce("ReduceSum", probs, false, 2));
            }
            if (taps.has(TapKind.ARGMAX, l)) {
                output(TapKind.ARGMAX, l, node("ArgMax", List.of(probs), List.of(attrInt("axis", -1), attrInt("keepdims", 0))));
            }
            if (taps.has(TapKind.ENTROPY, l)) {
                String plogp = op("Mul", probs, op("Log", op("Add", probs, constFloat("tiny", 1e-30f))));
                output(TapKind.ENTROPY, l, op("Neg", reduce("ReduceSum", plogp, false)));
            }
            if (taps.has(TapKind.SPAN_MASS, l)) {
                String span = unsqueeze(HookSet.KEY_SPAN, 1, 2);
                output(TapKind.SPAN_MASS, l, reduce("ReduceSum", op("Mul", probs, span), false));
            }
        }
        if (taps.has(TapKind.HEAD_OUTPUT, l) || taps.has(TapKind.HEAD_NORM, l) || taps.has(TapKind.HEAD_CONTRIBUTION, l)
                || taps.has(TapKind.HEAD_WRITE, l)) {
            String z = editedZ != null ? editedZ : view(s.headOutput(), layout.flatOutput());
            anchor = s.headOutput();
            if (taps.has(TapKind.HEAD_OUTPUT, l)) {
                output(TapKind.HEAD_OUTPUT, l, z);
            }
            if (taps.has(TapKind.HEAD_NORM, l)) {
                output(TapKind.HEAD_NORM, l, reduce("ReduceL2", z, false));
            }
            if (taps.has(TapKind.HEAD_CONTRIBUTION, l)) {
                output(TapKind.HEAD_CONTRIBUTION, l, reduce("ReduceL1", op("MatMul", z, headWeights(s)), false));
            }
            if (taps.has(TapKind.HEAD_WRITE, l)) {
                String last = node("Gather", List.of(z, constInts("minus1v", -1)), List.of(attrInt("axis", 2)));
                String write = op("MatMul", last, headWeights(s));
                output(TapKind.HEAD_WRITE, l, opset >= 13 ? node("Squeeze", List.of(write, constInts("ax_2", 2)), List.of())
                        : node("Squeeze", List.of(write), List.of(attrInts("axes", 2))));
            }
        }
        if (taps.has(TapKind.VALUE_DRAIN, l)) {
            String v = view(s.value(), layout.flatOutput());
            anchor = s.value();
            output(TapKind.VALUE_DRAIN, l, reduce("ReduceL2", op("MatMul", v, headWeights(s)), false));
        }
        if (taps.has(TapKind.RESIDUAL, l)) {
            if (s.residual() == null) {
                throw new ModelException("The residual stream of layer " + l + " could not be identified in this graph.",
                        "Analyses that need residual states (massive activations, residual peaks) are unavailable for this model.");
            }
            String r = view(s.residual(), false);
            anchor = s.residual();
            output(TapKind.RESIDUAL, l, r);
        }
    }

    /**
     * {@code [B,H,T,K]} max-pooled in blocks of {@code p = ceil(max(T,K)/side)} queries by p keys (p >= 1 since T >= 1):
     * padded with zeros at the end to whole blocks (probabilities are >= 0, so a zero never wins over a block's own
     * values), reshaped to {@code [B,H,T/p,p,K/p,p]} and reduced over the two p axes. The block size is computed in the
     * graph from the shape, so one session serves every prompt length; the arithmetic runs on float (exact for
     * integers below 2^24) so that it needs no integer Max or Ceil.
     */
    private String pooled(String probs, int side, int layer) {
        if (opset < 11) {
            throw new ModelException("The pooled attention tap needs opset 11 or later (Pad with computed pads); layer " + layer
                    + " is in an opset " + opset + " graph.", "Tap the full probabilities (PROBS) for this model.");
        }
        String tk = cast(node("Slice", List.of(node("Shape", List.of(probs), List.of()), constInts("s2", 2), constInts("e4", 4)), List.of()));
        String m = reduce("ReduceMax", tk, true, 0);
        String p = node("Ceil", List.of(op("Div", m, constFloat("side" + side, side))), List.of());
        String n = node("Ceil", List.of(op("Div", tk, p)), List.of());
        String pad = toInt64(op("Sub", op("Mul", n, p), tk));
        String pads = node("Concat", List.of(constInts("zeros6", 0, 0, 0, 0, 0, 0), pad), List.of(attrInt("axis", 0)));
        String padded = node("Pad", List.of(probs, pads), List.of());
        String pi = toInt64(p);
        String ni = toInt64(n);
        String nq = node("Slice", List.of(ni, constInts("s0", 0), constInts("e1", 1)), List.of());
        String nk = node("Slice", List.of(ni, constInts("s1", 1), constInts("e2", 2)), List.of());
        String blocks = node("Concat", List.of(constInts("zeros2", 0, 0), nq, pi, nk, pi), List.of(attrInt("axis", 0)));
        return reduce("ReduceMax", op("Reshape", padded, blocks), false, 3, 5);
    }

    private String toInt64(String tensor) {
        return node("Cast", List.of(tensor), List.of(attrInt("to", OnnxMl.TensorProto.DataType.INT64.getNumber())));
    }

    /** W_O as [H, Dh, D] so that {@code z[B,H,T,Dh] @ W} gives every head's contribution separately. */
    private String headWeights(AttentionSite s) {
        if (s.outputWeight() == null) {
            throw new ModelException("The output projection of layer " + s.layer() + " could not be identified in this graph.",
                    "Per-head contribution and value-drain taps are unavailable for this model; the other taps work.");
        }
        String w = s.outputWeight();
        if (index.elemType(w) != FLOAT) {
            w = cast(w);
        }
        if (s.outputWeightTransposed()) {
            w = node("Transpose", List.of(w), List.of(attrInts("perm", 1, 0)));
        }
        return op("Reshape", w, constInts("hw" + s.queryHeads() + "x" + s.headDim(), s.queryHeads(), s.headDim(), -1));
    }

    private void output(TapKind kind, int layer, String tensor) {
        String name = kind.outputName(layer);
        OnnxMl.NodeProto id = OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName("hs/out/" + name)
                .addInput(tensor).addOutput(name).build();
        emit(id);
        outputs.add(valueInfo(name, kind.isIntegral() ? OnnxMl.TensorProto.DataType.INT64 : OnnxMl.TensorProto.DataType.FLOAT, -1));
    }

    // ---- node helpers -------------------------------------------------------------------------------------

    private String op(String type, String... in) {
        return node(type, List.of(in), List.of());
    }

    private String node(String type, List<String> in, List<OnnxMl.AttributeProto> attrs) {
        String out = "hs_t" + (counter++);
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(type).setName("hs/" + type + "_" + counter)
                .addAllInput(in).addOutput(out).addAllAttribute(attrs);
        emit(n.build());
        return out;
    }

    private void emit(OnnxMl.NodeProto n) {
        after.computeIfAbsent(anchor, k -> new ArrayList<>()).add(n);
    }

    private String gather(String tensor, String index) {
        return node("Gather", List.of(tensor, index), List.of(attrInt("axis", 1)));
    }

    private String cast(String tensor) {
        return node("Cast", List.of(tensor), List.of(attrInt("to", OnnxMl.TensorProto.DataType.FLOAT.getNumber())));
    }

    private String unsqueeze(String tensor, long... axes) {
        if (opset >= 13) {
            return node("Unsqueeze", List.of(tensor, constInts("ax" + join(axes), axes)), List.of());
        }
        return node("Unsqueeze", List.of(tensor), List.of(attrInts("axes", axes)));
    }

    private String reduce(String type, String tensor, boolean keep, long... axes) {
        long[] ax = axes.length == 0 ? new long[]{-1} : axes;
        boolean axesAsInput = type.equals("ReduceSum") ? opset >= 13 : opset >= 18;
        List<OnnxMl.AttributeProto> attrs = new ArrayList<>(List.of(attrInt("keepdims", keep ? 1 : 0)));
        if (axesAsInput) {
            return node(type, List.of(tensor, constInts("ax" + join(ax), ax)), attrs);
        }
        attrs.add(attrInts("axes", ax));
        return node(type, List.of(tensor), attrs);
    }

    private static String join(long[] v) {
        StringBuilder b = new StringBuilder();
        for (long x : v) {
            b.append('_').append(x < 0 ? "m" + (-x) : Long.toString(x));
        }
        return b.toString();
    }

    private final Map<String, String> constants = new HashMap<>();

    private String constFloat(String key, float v) {
        return constants.computeIfAbsent("f_" + key, k -> {
            initializers.add(OnnxMl.TensorProto.newBuilder().setName("hs_c_" + k)
                    .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).addFloatData(v).build());
            return "hs_c_" + k;
        });
    }

    private String constInt(String key, long v) {
        return constants.computeIfAbsent("i_" + key, k -> {
            initializers.add(OnnxMl.TensorProto.newBuilder().setName("hs_c_" + k)
                    .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber()).addInt64Data(v).build());
            return "hs_c_" + k;
        });
    }

    private String constInts(String key, long... v) {
        return constants.computeIfAbsent("v_" + key, k -> {
            OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName("hs_c_" + k)
                    .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber()).addDims(v.length);
            for (long x : v) {
                t.addInt64Data(x);
            }
            initializers.add(t.build());
            return "hs_c_" + k;
        });
    }

    private static OnnxMl.AttributeProto attrInt(String name, long v) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static OnnxMl.AttributeProto attrInts(String name, long... v) {
        OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static OnnxMl.ValueInfoProto valueInfo(String name, OnnxMl.TensorProto.DataType type, int rank) {
        OnnxMl.TypeProto.Tensor.Builder t = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber());
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(t)).build();
    }

    private OnnxMl.ModelProto build(OnnxModel model) {
        OnnxMl.GraphProto.Builder g = source.toBuilder().clearNode();
        List<OnnxMl.NodeProto> head = after.getOrDefault(null, List.of());
        for (String anchorTensor : after.keySet()) {
            if (anchorTensor != null && !index.producer.containsKey(anchorTensor)) {
                head = new ArrayList<>(head);
                head.addAll(after.get(anchorTensor));
            }
        }
        head.forEach(g::addNode);
        for (OnnxMl.NodeProto n : source.getNodeList()) {
            OnnxMl.NodeProto.Builder b = n.toBuilder();
            for (int i = 0; i < b.getInputCount(); i++) {
                String to = rewire.get(b.getInput(i));
                if (to != null) {
                    b.setInput(i, to);
                }
            }
            g.addNode(b);
            for (String out : n.getOutputList()) {
                List<OnnxMl.NodeProto> extra = after.get(out);
                if (extra != null) {
                    extra.forEach(g::addNode);
                }
            }
        }
        g.addAllInitializer(initializers);
        g.addAllInput(inputs);
        g.addAllOutput(outputs);
        return model.skeleton().toBuilder().setGraph(g).build();
    }
}
