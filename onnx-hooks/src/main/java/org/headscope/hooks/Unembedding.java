package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The end of a language model's graph: the final norm and the unembedding, found by walking back from the logits
 * output. Direct logit attribution and the logit lens read it.
 *
 * <p>Walk: from the logits through reshapes, casts and a bias {@code Add} to a {@code MatMul}/{@code Gemm} with a
 * weight (the unembedding); its activation input is the norm's output; from there through a bias {@code Add}
 * ({@code beta}) and a {@code Mul} by a weight ({@code gamma}) to the normalised tensor {@code n}; and from {@code n}
 * back to the residual {@code x} that the norm's statistics are computed from: {@code ReduceMean(x)} (a LayerNorm,
 * which centres) or {@code ReduceMean(x^2)} without centring (an RMSNorm).
 *
 * @param logits     the graph output holding the logits
 * @param residual   the final norm's input: the residual stream after the last layer, [B,T,D]
 * @param normalized {@code n = (x - mean x) / sigma} (LayerNorm) or {@code x / sigma} (RMSNorm), before gamma; null
 *                   when the norm is one fused operator
 * @param centred    true for a LayerNorm (the mean is subtracted), false for an RMSNorm
 * @param norm       how the norm was found, in words
 * @param unembed    the unembedding's node, described
 */
public record Unembedding(String logits, String residual, String normalized, boolean centred, String norm, String unembed) {
    private static final Set<String> PASS = Set.of("Reshape", "Cast", "Identity", "Squeeze", "Unsqueeze", "Flatten");
    private static final Set<String> FUSED = Set.of("LayerNormalization", "SimplifiedLayerNormalization",
            "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "RMSNormalization");

    /** The result of the search: the unembedding, or why it was not found. */
    public record Found(Unembedding unembedding, String whyNot) {
        public boolean ok() {
            return unembedding != null;
        }

        /** The unembedding, or a {@link ModelException} saying why it is not there. */
        public Unembedding require(String analysis) {
            if (unembedding == null) {
                throw new ModelException(analysis + " needs the final norm and the unembedding, and they were not found: " + whyNot,
                        "Analyses that read heads (patching, ablation, sinks, retrieval) work without them.");
            }
            return unembedding;
        }
    }

    /** Searches the graph for the final norm and unembedding feeding {@code logits}. */
    public static Found find(OnnxMl.GraphProto graph, String logits) {
        GraphIndex index = new GraphIndex(graph);
        String t = logits;
        OnnxMl.NodeProto unembed = null;
        for (int step = 0; step < 10 && unembed == null; step++) {
            OnnxMl.NodeProto p = index.producer.get(t);
            if (p == null) {
                return new Found(null, "the logits '" + logits + "' are not computed by a product with a weight matrix");
            }
            String op = p.getOpType();
            if (PASS.contains(op)) {
                t = p.getInput(0);
            } else if (op.equals("Add") && index.isWeight(p.getInput(1))) {
                t = p.getInput(0);
            } else if (op.equals("Add") && index.isWeight(p.getInput(0))) {
                t = p.getInput(1);
            } else if ((op.equals("MatMul") || op.equals("Gemm")) && index.isWeight(p.getInput(1))) {
                unembed = p;
                t = p.getInput(0);
            } else if (op.equals("Tanh") || op.equals("Div") || op.equals("Mul")) {
                return new Found(null, "the logits pass through " + GraphIndex.describe(p)
                        + " after the unembedding (final logit softcapping or scaling), which is not linear");
            } else {
                return new Found(null, "the logits come from " + GraphIndex.describe(p) + ", not from a product with the unembedding weight");
            }
        }
        if (unembed == null) {
            return new Found(null, "no unembedding product found within ten nodes of the logits");
        }
        String y = t;
        // the norm's output: through reshapes, a bias (beta) and the scale (gamma) to the normalised tensor
        for (int step = 0; step < 6; step++) {
            OnnxMl.NodeProto p = index.producer.get(y);
            if (p != null && PASS.contains(p.getOpType())) {
                y = p.getInput(0);
            } else {
                break;
            }
        }
        OnnxMl.NodeProto p = index.producer.get(y);
        if (p != null && FUSED.contains(p.getOpType())) {
            boolean centred = p.getOpType().equals("LayerNormalization") || p.getOpType().equals("SkipLayerNormalization");
            return new Found(new Unembedding(logits, p.getInput(0), null, centred, "fused " + GraphIndex.describe(p),
                    GraphIndex.describe(unembed)), null);
        }
        if (p != null && p.getOpType().equals("Add") && (index.isWeight(p.getInput(1)) || index.isWeight(p.getInput(0)))) {
            y = index.isWeight(p.getInput(1)) ? p.getInput(0) : p.getInput(1);
            p = index.producer.get(y);
        }
        if (p == null || !p.getOpType().equals("Mul") || !(index.isWeight(p.getInput(0)) || index.isWeight(p.getInput(1)))) {
            return new Found(null, "the unembedding " + GraphIndex.describe(unembed) + " does not read a norm scaled by a weight (found "
                    + (p == null ? "a graph input" : GraphIndex.describe(p)) + ")");
        }
        String n = index.isWeight(p.getInput(1)) ? p.getInput(0) : p.getInput(1);
        // the residual: what the norm's statistics are computed from
        String meanOf = null;
        String squareOf = null;
        // breadth first from n, so the nearest statistics win (earlier layers' norms lie further back)
        ArrayDeque<String> todo = new ArrayDeque<>(List.of(n));
        ArrayDeque<Integer> depths = new ArrayDeque<>(List.of(0));
        Set<String> seen = new HashSet<>();
        int found = Integer.MAX_VALUE;
        while (!todo.isEmpty()) {
            String u = todo.poll();
            int depth = depths.poll();
            if (depth > 12 || (found != Integer.MAX_VALUE && depth > found + 2)) {
                break;
            }
            if (!seen.add(u)) {
                continue;
            }
            OnnxMl.NodeProto q = index.producer.get(u);
            if (q == null || index.isConstant(u)) {
                continue;
            }
            if (q.getOpType().equals("ReduceMean")) {
                String in = q.getInput(0);
                OnnxMl.NodeProto r = index.producer.get(in);
                boolean square = r != null && (r.getOpType().equals("Pow")
                        || (r.getOpType().equals("Mul") && r.getInput(0).equals(r.getInput(1))));
                if (square) {
                    OnnxMl.NodeProto s = index.producer.get(r.getInput(0));
                    if (squareOf == null && (s == null || !s.getOpType().equals("Sub"))) {
                        squareOf = r.getInput(0);
                        found = Math.min(found, depth);
                    }
                } else if (meanOf == null) {
                    meanOf = in;
                    found = Math.min(found, depth);
                }
            }
            for (String in : q.getInputList()) {
                if (!in.isEmpty() && !index.isConstant(in)) {
                    todo.add(in);
                    depths.add(depth + 1);
                }
            }
        }
        if (meanOf == null && squareOf == null) {
            return new Found(null, "the norm before " + GraphIndex.describe(unembed) + " computes no mean over the hidden size "
                    + "(neither a LayerNorm nor an RMSNorm written out)");
        }
        boolean centred = meanOf != null;
        String x = centred ? meanOf : squareOf;
        return new Found(new Unembedding(logits, x, n, centred, (centred ? "LayerNorm" : "RMSNorm") + " written out, scaled by "
                + GraphIndex.describe(p), GraphIndex.describe(unembed)), null);
    }
}
