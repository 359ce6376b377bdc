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
    private static final Set<String> PASS_THROUGH = Set.of("Identity", "Cast", "Dropout", "QuantizeLinear", "DequantizeLinear");
    /** Layout ops between the softmax and P·V (heads folded into or out of the batch axis). */
    private static final Set<String> PROBS_LAYOUT = Set.of("Reshape", "Squeeze", "Unsqueeze", "Flatten");
    private static final Set<String> KV_EXPANSION = Set.of("Reshape", "Expand", "Unsqueeze", "Identity", "Cast", "Tile",
            "QuantizeLinear", "DequantizeLinear");
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
                throw new ModelException("Node " + GraphIndex.describe(n) + " is a fused attention operator HeadScope does not "
                        + "unfuse (it rewrites the ONNX Attention op and com.microsoft Attention, MultiHeadAttention and "
                        + "GroupQueryAttention into plain nodes): its attention probabilities never exist as a tensor.", REEXPORT);
            }
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                List<OnnxMl.GraphProto> subs = new ArrayList<>(a.getGraphsList());
                if (a.hasG()) {
                    subs.add(a.getG());
                }
                for (OnnxMl.GraphProto sub : subs) {
                    if (containsAttention(sub)) {
                        throw new ModelException("Attention sits inside the subgraph of node " + GraphIndex.describe(n)
                                + (n.getInputCount() > 0 ? ", switched by '" + n.getInput(0) + "'" : "")
                                + "; HeadScope inlines the no-cache branch of a merged decoder (an If on use_cache_branch) "
                                + "and reads top-level graphs otherwise.",
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
        OnnxMl.NodeProto pv = valueProduct(index, probs);
        if (pv == null) {
            return null;
        }
        List<OnnxMl.NodeProto> chain = scoreChain(index, softmax.getInput(0));
        if (chain == null) {
            return null;
        }
        OnnxMl.NodeProto qk = chain.get(0);
        String scores = scoresTensor(index, chain);
        String value = pv.getInput(1);
        List<String> kvChain = valueChain(index, value);
        String kvValue = kvChain.get(kvChain.size() - 1);
        String context = pv.getOutput(0);
        OutputProjection proj = outputProjection(index, context);
        return new AttentionSite(layer, 0, 0, 0, scores, softmax.getInput(0), probs, context,
                qk.getInput(0), qk.getInput(1), value, kvValue,
                proj == null ? null : proj.weight, proj != null && proj.transposed, proj == null ? null : proj.residual,
                AttentionSite.Layout.HEADS_AXIS, "eager");
    }

    /**
     * V as the P·V product reads it, then each tensor before it through GQA/MQA expansion (Expand, Tile, Reshape,
     * Unsqueeze): the probe run picks the one with the fewest heads as the key/value layout.
     */
    static List<String> valueChain(GraphIndex index, String value) {
        List<String> chain = new ArrayList<>(List.of(value));
        OnnxMl.NodeProto p = index.producer.get(value);
        while (p != null && KV_EXPANSION.contains(p.getOpType()) && chain.size() < 16) {
            chain.add(p.getInput(0));
            p = index.producer.get(p.getInput(0));
        }
        return chain;
    }

    private static boolean isProduct(GraphIndex index, OnnxMl.NodeProto n) {
        boolean matmul = n.getOpType().equals("MatMul") && n.getDomain().isEmpty();
        boolean fused = n.getOpType().equals("FusedMatMul") && n.getDomain().equals("com.microsoft");
        return (matmul || fused) && n.getInputCount() >= 2
                && !index.isWeight(n.getInput(0)) && !index.isWeight(n.getInput(1));
    }

    /**
     * The product P·V: a MatMul (or ONNX Runtime's FusedMatMul without transposes and scaling of P) that reads
     * the probabilities as its left operand, looking through casts, dropout, reshapes (heads folded into the batch)
     * and the NaN guard that decomposed SDPA writes ({@code Where(IsNaN(p), 0, p)}).
     */
    private static OnnxMl.NodeProto valueProduct(GraphIndex index, String tensor) {
        Deque<String> todo = new ArrayDeque<>(List.of(tensor));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String t = todo.poll();
            if (!seen.add(t) || seen.size() > 32) {
                continue;
            }
            for (OnnxMl.NodeProto c : index.consumersOf(t)) {
                String op = c.getOpType();
                if (isProduct(index, c) && c.getInput(0).equals(t) && !c.getInput(1).equals(t)) {
                    boolean plain = op.equals("MatMul") || (GraphIndex.attrInt(c, "transA", 0) == 0
                            && GraphIndex.attrInt(c, "transBatchA", 0) == 0 && GraphIndex.attrFloat(c, "alpha", 1f) == 1f);
                    if (plain) {
                        return c;
                    }
                }
                boolean dataInput = c.getInputCount() > 0 && c.getInput(0).equals(t);
                if (PASS_THROUGH.contains(op) || (PROBS_LAYOUT.contains(op) && dataInput)
                        || (op.equals("Where") && c.getInputCount() == 3 && !c.getInput(0).equals(t))) {
                    todo.add(c.getOutput(0));
                }
            }
        }
        return null;
    }

    /**
     * Walks back from the softmax input through scale, softcap, bias, mask and layout ops to the product of two
     * activations, and returns the path from that product (first) to the node producing the softmax input (last).
     */
    private static List<OnnxMl.NodeProto> scoreChain(GraphIndex index, String softmaxInput) {
        Deque<String> todo = new ArrayDeque<>(List.of(softmaxInput));
        java.util.Map<String, String> towardSoftmax = new java.util.HashMap<>();
        Set<String> seen = new HashSet<>();
        int steps = 0;
        while (!todo.isEmpty() && steps++ < 96) {
            String t = todo.poll();
            if (!seen.add(t)) {
                continue;
            }
            OnnxMl.NodeProto p = index.producer.get(t);
            if (p == null) {
                continue;
            }
            if (isProduct(index, p)) {
                List<OnnxMl.NodeProto> chain = new ArrayList<>();
                for (String x = t; x != null; x = towardSoftmax.get(x)) {
                    chain.add(index.producer.get(x));
                }
                return chain;
            }
            List<String> next = new ArrayList<>();
            switch (p.getOpType()) {
                case "QuantizeLinear", "DequantizeLinear" -> next.add(p.getInput(0));
                case "Add", "Sub", "Mul", "Div", "Cast", "Identity", "Max", "Min", "Clip", "Tanh", "Softcap" -> {
                    for (String in : p.getInputList()) {
                        if (!in.isEmpty() && !index.isConstant(in)) {
                            next.add(in);
                        }
                    }
                }
                case "Where" -> {
                    for (int i = 1; i < p.getInputCount(); i++) {
                        if (!index.isConstant(p.getInput(i))) {
                            next.add(p.getInput(i));
                        }
                    }
                }
                case "Reshape", "Squeeze", "Unsqueeze", "Flatten" -> next.add(p.getInput(0));
                default -> {
                }
            }
            for (String in : next) {
                towardSoftmax.putIfAbsent(in, t);
                todo.add(in);
            }
        }
        return null;
    }

    /**
     * Where the score tap and the pre-softmax hook sit on the chain product -> softmax: in the softmax's own
     * layout (after the last reshape), after the scale and any softcap ({@code tanh(s/c)*c}), and before the first
     * tensor added to it there (the mask; for ALiBi models, whose bias is added before the reshape to heads, the
     * scores include the positional bias).
     */
    private static String scoresTensor(GraphIndex index, List<OnnxMl.NodeProto> chain) {
        int start = 0;
        for (int i = 0; i < chain.size(); i++) {
            if (Set.of("Reshape", "Squeeze", "Unsqueeze", "Flatten").contains(chain.get(i).getOpType())) {
                start = i;
            }
        }
        String scores = chain.get(start).getOutput(0);
        for (int i = start + 1; i < chain.size(); i++) {
            OnnxMl.NodeProto n = chain.get(i);
            String op = n.getOpType();
            boolean unary = op.equals("Tanh") || op.equals("Cast") || op.equals("Identity") || op.equals("Softcap");
            boolean scale = (op.equals("Mul") || op.equals("Div")) && n.getInputCount() == 2
                    && (index.isConstant(n.getInput(1)) || index.isConstant(n.getInput(0)));
            if (!unary && !scale) {
                break;
            }
            scores = n.getOutput(0);
        }
        return scores;
    }

    private record OutputProjection(String weight, boolean transposed, String residual) {
    }

    private static OutputProjection outputProjection(GraphIndex index, String context) {
        String t = context;
        OnnxMl.NodeProto proj = null;
        boolean quantised = false;
        for (int step = 0; step < 8 && proj == null; step++) {
            List<OnnxMl.NodeProto> users = index.consumersOf(t).stream()
                    .filter(n -> !n.getOpType().equals("Shape")).toList();
            if (users.size() != 1) {
                return null;
            }
            OnnxMl.NodeProto u = users.get(0);
            String op = u.getOpType();
            if ((op.equals("MatMul") || op.equals("Gemm")) && index.isWeight(u.getInput(1))) {
                proj = u;
            } else if (op.equals("MatMulNBits") || op.equals("MatMulInteger") || op.equals("QLinearMatMul")) {
                // a quantised projection: its weight cannot be read as [H*Dh, D] floats, but the residual can be found
                quantised = true;
                proj = u;
            } else if (op.equals("DynamicQuantizeLinear") || op.equals("QuantizeLinear") || op.equals("DequantizeLinear")
                    || HEAD_MERGE.contains(op)) {
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
        for (int step = 0; step < 6 && residual == null; step++) {
            List<OnnxMl.NodeProto> users = index.consumersOf(out).stream()
                    .filter(n -> !n.getOpType().equals("Shape")).toList();
            if (users.size() != 1) {
                break;
            }
            OnnxMl.NodeProto u = users.get(0);
            if (u.getOpType().equals("Add")) {
                String other = u.getInput(0).equals(out) ? u.getInput(1) : u.getInput(0);
                if (index.isWeight(other)) {
                    out = u.getOutput(0);
                } else {
                    residual = other;
                }
            } else if (u.getOpType().equals("Reshape") || u.getOpType().equals("Identity") || u.getOpType().equals("Cast")
                    || (quantised && u.getOpType().equals("Mul"))) {
                // (a quantised projection's output is rescaled by a Mul before the bias and the residual add)
                out = u.getOutput(0);
            } else if (u.getOpType().equals("SkipLayerNormalization") || u.getOpType().equals("SkipSimplifiedLayerNormalization")) {
                // ONNX Runtime's fusion of bias + residual add + normalisation: the other of its first two inputs
                String other = u.getInput(0).equals(out) ? u.getInput(1) : u.getInput(0);
                residual = index.isConstant(other) ? null : other;
                break;
            } else {
                break;
            }
        }
        return new OutputProjection(quantised ? null : proj.getInput(1), transposed, residual);
    }
}
