package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Brings a deployed graph to the form {@link AttentionLocator} reads, before any tap or hook is added: an Optimum
 * merged decoder's no-cache branch is inlined in place of its {@code If}, and fused attention operators are
 * rewritten into primitive nodes by {@link AttentionUnfuser}. Everything else is left as it is, so a graph that
 * already writes its attention out passes through unchanged.
 */
final class GraphNormaliser {
    /** Marks node names that came out of an inlined subgraph. */
    static final String INLINED = "/hs_inlined/";

    /**
     * The normalised graph, the opset it needs, and one note per rewrite (which node, what was done).
     *
     * @param inputsChanged true when graph inputs were dropped (an inlined merged decoder no longer takes
     *                      {@code use_cache_branch}), so even plain runs must use the normalised graph
     */
    record Result(OnnxMl.GraphProto graph, long opset, List<Rewrite> rewrites, boolean inputsChanged) {
        boolean changed() {
            return !rewrites.isEmpty();
        }
    }

    /** One rewrite: the node it replaced, its operator, and what was done, as {@code inspect} reports it. */
    record Rewrite(String node, String op, String detail) {
    }

    private GraphNormaliser() {
    }

    static Result normalise(OnnxMl.GraphProto graph, long opset) {
        List<Rewrite> rewrites = new ArrayList<>();
        int inputsBefore = graph.getInputCount();
        OnnxMl.GraphProto g = inlineMergedDecoder(graph, rewrites);
        AttentionUnfuser.Result unfused = AttentionUnfuser.unfuse(g, opset);
        g = unfused.graph();
        for (AttentionUnfuser.Unfused u : unfused.unfused()) {
            rewrites.add(new Rewrite(u.node(), u.op(), u.detail()));
        }
        long needed = Math.max(opset, unfused.minOpset());
        return new Result(g, needed, List.copyOf(rewrites), g.getInputCount() != inputsBefore);
    }

    /**
     * Optimum's merged decoders hold the model twice, in the branches of an {@code If} on a boolean graph input
     * ({@code use_cache_branch}): with past key/values (then) and without (else). HeadScope runs whole prompts, so
     * the no-cache branch replaces the {@code If}, the switch input goes, and so do past inputs nothing reads any
     * more.
     */
    static OnnxMl.GraphProto inlineMergedDecoder(OnnxMl.GraphProto graph, List<Rewrite> rewrites) {
        Set<String> graphInputs = new HashSet<>();
        graph.getInputList().forEach(v -> graphInputs.add(v.getName()));
        OnnxMl.GraphProto.Builder out = graph.toBuilder().clearNode();
        boolean inlined = false;
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            String cond = n.getInputCount() > 0 ? n.getInput(0) : "";
            boolean cacheSwitch = n.getOpType().equals("If") && graphInputs.contains(cond)
                    && InputRole.infer(cond) == InputRole.USE_CACHE;
            if (!cacheSwitch) {
                out.addNode(n);
                continue;
            }
            OnnxMl.GraphProto noCache = branch(n, "else_branch");
            if (noCache == null || noCache.getOutputCount() != n.getOutputCount()) {
                throw new ModelException("The merged decoder's switch " + GraphIndex.describe(n)
                        + " has no no-cache branch with one output per node output.",
                        "Open decoder_model.onnx (exported without merging) instead of decoder_model_merged.onnx.");
            }
            String prefix = (n.getName().isEmpty() ? n.getOutput(0) : n.getName()) + INLINED;
            for (OnnxMl.NodeProto inner : noCache.getNodeList()) {
                out.addNode(inner.toBuilder().setName(prefix + (inner.getName().isEmpty() ? inner.getOutput(0) : inner.getName())));
            }
            out.addAllInitializer(noCache.getInitializerList());
            for (int i = 0; i < n.getOutputCount(); i++) {
                out.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName(prefix + "out" + i)
                        .addInput(noCache.getOutput(i).getName()).addOutput(n.getOutput(i)));
            }
            rewrites.add(new Rewrite(n.getName().isEmpty() ? n.getOutput(0) : n.getName(), "If",
                    "merged decoder: no-cache branch inlined, '" + cond + "' fixed to false"));
            inlined = true;
        }
        if (!inlined) {
            return graph;
        }
        return dropUnreadInputs(out.build());
    }

    private static OnnxMl.GraphProto branch(OnnxMl.NodeProto n, String name) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name) && a.hasG()) {
                return a.getG();
            }
        }
        return null;
    }

    /** Graph inputs no node (nor any subgraph) reads and no output forwards are removed. */
    private static OnnxMl.GraphProto dropUnreadInputs(OnnxMl.GraphProto g) {
        Set<String> read = new HashSet<>();
        collectReads(g, read);
        g.getOutputList().forEach(v -> read.add(v.getName()));
        Map<String, OnnxMl.ValueInfoProto> keep = new LinkedHashMap<>();
        for (OnnxMl.ValueInfoProto v : g.getInputList()) {
            if (read.contains(v.getName())) {
                keep.put(v.getName(), v);
            }
        }
        return g.toBuilder().clearInput().addAllInput(keep.values()).build();
    }

    private static void collectReads(OnnxMl.GraphProto g, Set<String> read) {
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            read.addAll(n.getInputList());
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    collectReads(a.getG(), read);
                }
                a.getGraphsList().forEach(sub -> collectReads(sub, read));
            }
        }
    }
}
