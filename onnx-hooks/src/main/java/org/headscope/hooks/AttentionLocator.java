package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds every eager attention block of a graph:
 * {@code MatMul(Q, K^T) -> Div/Mul(scale) -> mask ops -> Softmax -> MatMul(P, V)}.
 *
 * <p>Blocks are ordered by graph (topological) order, which is layer order for every exporter we know of.
 * Head counts are not read here: {@link HookedModel} learns them from one probe run, because exporters write
 * shapes inconsistently. Fused attention operators and attention inside subgraphs are refused with the node's
 * name and how to re-export.
 */
public final class AttentionLocator {
    private static final Set<String> FUSED_MS = Set.of("Attention", "MultiHeadAttention", "GroupQueryAttention",
            "PackedAttention", "PackedMultiHeadAttention", "DecoderMaskedMultiHeadAttention",
            "DecoderMaskedSelfAttention", "SparseAttention", "LongformerAttention", "QAttention", "DecoderAttention");
    private static final Set<String> PASS_THROUGH = Set.of("Identity", "Cast", "Dropout");
    private static final Set<String> KV_EXPANSION = Set.of("Reshape", "Expand", "Unsqueeze", "Identity", "Cast", "Tile");
    private static final Set<String> HEAD_MERGE = Set.of("Transpose", "Reshape", "Identity", "Cast", "Flatten");
    private static final String REEXPORT = "Re-export the model with eager attention and without ONNX Runtime's attention fusion, "
            + "e.g. python assets/export/export_hf.py MODEL_ID OUT_DIR (it sets attn_implementation='eager').";

    private AttentionLocator() {
    }

    /** Attention blocks of the model with tensor names filled in and head counts still unknown (0). */
    public static List<AttentionSite> findBlocks(OnnxMl.GraphProto graph) {
        refuseFused(graph);
        GraphIndex index = new GraphIndex(graph);
        List<AttentionSite> sites = new ArrayList<>();
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            if (!node.getOpType().equals("Softmax") || !node.getDomain().isEmpty()) {
                continue;
            }
            AttentionSite site = block(index, node, sites.size());
            if (site != null) {
                sites.add(site);
            }
        }
        if (sites.isEmpty()) {
            throw new ModelException("No attention found: the graph has no Softmax feeding a MatMul with values ("
                    + graph.getNodeCount() + " nodes searched).",
                    "Open a transformer exported with eager attention (torch.onnx.export); " + REEXPORT);
        }
        return List.copyOf(sites);
    }

    private static void refuseFused(OnnxMl.GraphProto graph) {
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            boolean ms = n.getDomain().equals("com.microsoft") && FUSED_MS.contains(n.getOpType());
            boolean onnxAttention = (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx")) && n.getOpType().equals("Attention");
            if (ms || onnxAttention) {
                throw new ModelException("Node " + GraphIndex.describe(n) + " is a fused attention operator: its attention "
                        + "probabilities never exist as a tensor, so HeadScope cannot read or steer them.", REEXPORT);
            }
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                List<OnnxMl.GraphProto> subs = new ArrayList<>(a.getGraphsList());
                if (a.hasG()) {
                    subs.add(a.getG());
                }
                for (OnnxMl.GraphProto sub : subs) {
                    if (containsAttention(sub)) {
                        throw new ModelException("Attention sits inside the subgraph of node " + GraphIndex.describe(n)
                                + " (an Optimum merged decoder with and without past key/values); HeadScope reads top-level graphs only.",
                                "Export without merging: optimum-cli export onnx --no-post-process, or use decoder_model.onnx "
                                        + "instead of decoder_model_merged.onnx; " + REEXPORT);
                    }
                }
            }
        }
    }

    private static boolean containsAttention(OnnxMl.GraphProto g) {
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Softmax") || FUSED_MS.contains(n.getOpType())) {
                return true;
            }
        }
        return false;
    }

    private static AttentionSite block(GraphIndex index, OnnxMl.NodeProto softmax, int layer) {
        String probs = softmax.getOutput(0);
        OnnxMl.NodeProto pv = firstMatMulReading(index, probs, 0);
        if (pv == null) {
            return null;
        }
        OnnxMl.NodeProto qk = scoreMatMul(index, softmax.getInput(0));
        if (qk == null) {
            return null;
        }
        String scores = qk.getOutput(0);
        List<OnnxMl.NodeProto> scoreUsers = index.consumersOf(scores);
        if (scoreUsers.size() == 1) {
            OnnxMl.NodeProto s = scoreUsers.get(0);
            String op = s.getOpType();
            if ((op.equals("Div") || op.equals("Mul")) && s.getInputCount() == 2
                    && (index.isConstant(s.getInput(1)) || index.isConstant(s.getInput(0)))) {
                scores = s.getOutput(0);
            }
        }
        String value = pv.getInput(1);
        String kvValue = value;
        OnnxMl.NodeProto p = index.producer.get(kvValue);
        while (p != null && KV_EXPANSION.contains(p.getOpType())) {
            kvValue = p.getInput(0);
            p = index.producer.get(kvValue);
        }
        String context = pv.getOutput(0);
        OutputProjection proj = outputProjection(index, context);
        return new AttentionSite(layer, 0, 0, 0, scores, softmax.getInput(0), probs, context,
                qk.getInput(0), qk.getInput(1), value, kvValue,
                proj == null ? null : proj.weight, proj != null && proj.transposed, proj == null ? null : proj.residual);
    }

    /** The MatMul reading the tensor as its input {@code slot}, looking through casts and dropout. */
    private static OnnxMl.NodeProto firstMatMulReading(GraphIndex index, String tensor, int slot) {
        Deque<String> todo = new ArrayDeque<>(List.of(tensor));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String t = todo.poll();
            if (!seen.add(t)) {
                continue;
            }
            for (OnnxMl.NodeProto c : index.consumersOf(t)) {
                if (c.getOpType().equals("MatMul") && c.getInput(slot).equals(t) && !index.isConstant(c.getInput(1 - slot))) {
                    return c;
                }
                if (PASS_THROUGH.contains(c.getOpType())) {
                    todo.add(c.getOutput(0));
                }
            }
        }
        return null;
    }

    /** Walks back from the softmax input through mask and scale ops to the MatMul of two activations. */
    private static OnnxMl.NodeProto scoreMatMul(GraphIndex index, String softmaxInput) {
        Deque<String> todo = new ArrayDeque<>(List.of(softmaxInput));
        Set<String> seen = new HashSet<>();
        int steps = 0;
        while (!todo.isEmpty() && steps++ < 64) {
            String t = todo.poll();
            if (!seen.add(t)) {
                continue;
            }
            OnnxMl.NodeProto p = index.producer.get(t);
            if (p == null) {
                continue;
            }
            switch (p.getOpType()) {
                case "MatMul" -> {
                    if (!index.isConstant(p.getInput(0)) && !index.isConstant(p.getInput(1))) {
                        return p;
                    }
                }
                case "Add", "Sub", "Where", "Mul", "Div", "Cast", "Identity", "Max", "Min", "Clip", "Tanh", "Softcap" -> {
                    for (String in : p.getInputList()) {
                        if (!in.isEmpty() && !index.isConstant(in)) {
                            todo.add(in);
                        }
                    }
                }
                default -> {
                }
            }
        }
        return null;
    }

    private record OutputProjection(String weight, boolean transposed, String residual) {
    }

    private static OutputProjection outputProjection(GraphIndex index, String context) {
        String t = context;
        OnnxMl.NodeProto proj = null;
        for (int step = 0; step < 8 && proj == null; step++) {
            List<OnnxMl.NodeProto> users = index.consumersOf(t).stream()
                    .filter(n -> !n.getOpType().equals("Shape")).toList();
            if (users.size() != 1) {
                return null;
            }
            OnnxMl.NodeProto u = users.get(0);
            if ((u.getOpType().equals("MatMul") || u.getOpType().equals("Gemm")) && index.initializers.containsKey(u.getInput(1))) {
                proj = u;
            } else if (HEAD_MERGE.contains(u.getOpType())) {
                t = u.getOutput(0);
            } else {
                return null;
            }
        }
        if (proj == null) {
            return null;
        }
        boolean transposed = proj.getOpType().equals("Gemm") && GraphIndex.attrInt(proj, "transB", 0) == 1;
        String out = proj.getOutput(0);
        String residual = null;
        for (int step = 0; step < 4 && residual == null; step++) {
            List<OnnxMl.NodeProto> users = index.consumersOf(out).stream()
                    .filter(n -> !n.getOpType().equals("Shape")).toList();
            if (users.size() != 1) {
                break;
            }
            OnnxMl.NodeProto u = users.get(0);
            if (u.getOpType().equals("Add")) {
                String other = u.getInput(0).equals(out) ? u.getInput(1) : u.getInput(0);
                if (index.isConstant(other)) {
                    out = u.getOutput(0);
                } else {
                    residual = other;
                }
            } else if (u.getOpType().equals("Reshape") || u.getOpType().equals("Identity")) {
                out = u.getOutput(0);
            } else {
                break;
            }
        }
        return new OutputProjection(proj.getInput(1), transposed, residual);
    }
}
