package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Producer/consumer lookups over one graph. */
final class GraphIndex {
    final OnnxMl.GraphProto graph;
    final Map<String, OnnxMl.NodeProto> producer = new HashMap<>();
    final Map<String, Integer> producerIndex = new HashMap<>();
    final Map<String, List<OnnxMl.NodeProto>> consumers = new HashMap<>();
    final Map<String, OnnxMl.TensorProto> initializers = new HashMap<>();
    final Set<String> graphInputs = new HashSet<>();

    GraphIndex(OnnxMl.GraphProto graph) {
        this.graph = graph;
        for (OnnxMl.TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        for (OnnxMl.ValueInfoProto v : graph.getInputList()) {
            graphInputs.add(v.getName());
        }
        for (int i = 0; i < graph.getNodeCount(); i++) {
            OnnxMl.NodeProto n = graph.getNode(i);
            for (String o : n.getOutputList()) {
                producer.put(o, n);
                producerIndex.put(o, i);
            }
            for (String in : n.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
    }

    List<OnnxMl.NodeProto> consumersOf(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    /** True when the tensor is a weight or a constant: an initializer or the output of a Constant node. */
    boolean isConstant(String tensor) {
        if (initializers.containsKey(tensor)) {
            return true;
        }
        OnnxMl.NodeProto p = producer.get(tensor);
        return p != null && p.getOpType().equals("Constant");
    }

    static String attrString(OnnxMl.NodeProto n, String name) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getS().toStringUtf8();
            }
        }
        return null;
    }

    static long attrInt(OnnxMl.NodeProto n, String name, long fallback) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }

    static String describe(OnnxMl.NodeProto n) {
        String domain = n.getDomain().isEmpty() ? "" : n.getDomain() + ".";
        return "'" + (n.getName().isEmpty() ? n.getOutput(0) : n.getName()) + "' (" + domain + n.getOpType() + ")";
    }
}
