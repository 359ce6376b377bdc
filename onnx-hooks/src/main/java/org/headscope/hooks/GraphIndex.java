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
        List<OnnxMl.ValueInfoProto> typed = new ArrayList<>(graph.getInputList());
        typed.addAll(graph.getOutputList());
        typed.addAll(graph.getValueInfoList());
        for (OnnxMl.ValueInfoProto v : typed) {
            int t = v.getType().getTensorType().getElemType();
            if (t != 0) {
                declaredTypes.put(v.getName(), t);
            }
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

    private final Map<String, Integer> declaredTypes = new HashMap<>();
    private final Map<String, Integer> inferredTypes = new HashMap<>();

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

    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT.getNumber();
    private static final int INT64 = OnnxMl.TensorProto.DataType.INT64.getNumber();
    private static final int INT32 = OnnxMl.TensorProto.DataType.INT32.getNumber();
    private static final int BOOL = OnnxMl.TensorProto.DataType.BOOL.getNumber();
    private static final int UINT8 = OnnxMl.TensorProto.DataType.UINT8.getNumber();
    private static final Set<String> BOOLEAN_OPS = Set.of("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
            "Not", "And", "Or", "Xor", "IsNaN", "IsInf");
    private static final Set<String> INT64_OPS = Set.of("Shape", "Size", "ArgMax", "ArgMin", "NonZero", "TopK/1");

    /**
     * The element type of a tensor (an {@code OnnxMl.TensorProto.DataType} number), read from the graph's declared
     * types where it has them and otherwise propagated from the producing node: exporters rarely write value_info
     * for intermediate tensors, and a float16 graph needs its taps and hooks cast at exactly these tensors.
     * Unknown types read as float.
     */
    synchronized int elemType(String tensor) {
        Integer known = declaredTypes.get(tensor);
        if (known != null) {
            return known;
        }
        Integer cached = inferredTypes.get(tensor);
        if (cached != null) {
            return cached;
        }
        // iterative deepening over producers keeps long chains (hundreds of layers) off the Java stack
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        todo.push(tensor);
        onStack.add(tensor);
        while (!todo.isEmpty()) {
            String t = todo.peek();
            if (inferredTypes.containsKey(t) || declaredTypes.containsKey(t)) {
                todo.pop();
                onStack.remove(t);
                continue;
            }
            String dependency = typeDependency(t);
            if (dependency != null && !declaredTypes.containsKey(dependency) && !inferredTypes.containsKey(dependency)
                    && onStack.add(dependency)) {
                todo.push(dependency);
                continue;
            }
            todo.pop();
            onStack.remove(t);
            inferredTypes.put(t, directType(t, dependency));
        }
        return inferredTypes.getOrDefault(tensor, FLOAT);
    }

    /** The tensor whose type decides this one's, or null when the producer alone decides. */
    private String typeDependency(String tensor) {
        if (initializers.containsKey(tensor)) {
            return null;
        }
        OnnxMl.NodeProto p = producer.get(tensor);
        if (p == null) {
            return null;
        }
        int slot = p.getOutputList().indexOf(tensor);
        String op = p.getOpType();
        if (op.equals("Cast") || op.equals("Constant") || op.equals("ConstantOfShape") || BOOLEAN_OPS.contains(op)
                || INT64_OPS.contains(op) || op.equals("MatMulInteger") || op.equals("QuantizeLinear")
                || op.equals("DynamicQuantizeLinear") || op.equals("EyeLike")) {
            return null;
        }
        if (op.equals("CastLike")) {
            return p.getInput(1);
        }
        if (op.equals("Where")) {
            return p.getInput(1);
        }
        if (op.equals("DequantizeLinear")) {
            return p.getInput(1);
        }
        if (op.equals("TopK") && slot == 1) {
            return null;
        }
        for (String in : p.getInputList()) {
            if (!in.isEmpty()) {
                return in;
            }
        }
        return null;
    }

    private int directType(String tensor, String dependency) {
        OnnxMl.TensorProto init = initializers.get(tensor);
        if (init != null) {
            return init.getDataType();
        }
        OnnxMl.NodeProto p = producer.get(tensor);
        if (p == null) {
            return FLOAT;
        }
        int slot = p.getOutputList().indexOf(tensor);
        String op = p.getOpType();
        switch (op) {
            case "Cast" -> {
                return (int) attrInt(p, "to", FLOAT);
            }
            case "Constant", "ConstantOfShape" -> {
                for (OnnxMl.AttributeProto a : p.getAttributeList()) {
                    if (a.getName().equals("value") && a.hasT()) {
                        return a.getT().getDataType();
                    }
                    if (a.getName().startsWith("value_int")) {
                        return INT64;
                    }
                    if (a.getName().startsWith("value_float")) {
                        return FLOAT;
                    }
                }
                return FLOAT;
            }
            case "MatMulInteger" -> {
                return INT32;
            }
            case "QuantizeLinear" -> {
                return p.getInputCount() > 2 && !p.getInput(2).isEmpty() ? elemType(p.getInput(2)) : UINT8;
            }
            case "DynamicQuantizeLinear" -> {
                return slot == 1 ? FLOAT : UINT8;
            }
            case "TopK" -> {
                return INT64;
            }
            default -> {
            }
        }
        if (BOOLEAN_OPS.contains(op)) {
            return BOOL;
        }
        if (INT64_OPS.contains(op)) {
            return INT64;
        }
        if (dependency == null) {
            return FLOAT;
        }
        Integer t = declaredTypes.get(dependency);
        return t != null ? t : inferredTypes.getOrDefault(dependency, FLOAT);
    }

    /**
     * True when the tensor is a weight: a constant, or a constant seen through dequantisation (QDQ int8 graphs
     * store weights as {@code DequantizeLinear(initializer)}), casts, transposes and reshapes.
     */
    boolean isWeight(String tensor) {
        String t = tensor;
        for (int depth = 0; depth < 6; depth++) {
            if (isConstant(t)) {
                return true;
            }
            OnnxMl.NodeProto p = producer.get(t);
            if (p == null || !Set.of("DequantizeLinear", "Cast", "Transpose", "Reshape", "Identity").contains(p.getOpType())) {
                return false;
            }
            t = p.getInput(0);
        }
        return false;
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

    static float attrFloat(OnnxMl.NodeProto n, String name, float fallback) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return fallback;
    }

    static String describe(OnnxMl.NodeProto n) {
        String domain = n.getDomain().isEmpty() ? "" : n.getDomain() + ".";
        return "'" + (n.getName().isEmpty() ? n.getOutput(0) : n.getName()) + "' (" + domain + n.getOpType() + ")";
    }
}
