package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

/**
 * Computes a [B, T, V] output (the logits) only at the positions a metric reads: a graph input
 * {@value #POSITIONS} (float [1 or B, N], the same row in every batch element, cast to int64 in the graph so that it
 * travels like any other float state and repeats with the batch) selects
 * the positions with a {@code Gather} on the sequence axis. When the output is a {@code MatMul} of a rank-3 activation
 * by a constant [D, V] weight (the LM head, possibly followed by a constant bias), the Gather goes on the activation
 * before the head, so the head's product is computed for N positions instead of T; otherwise it goes on the output.
 * Either way the output becomes [B, N, V] with row i holding position {@code positions[i]}.
 */
public final class OutputGather {
    /** The graph input that names the positions to keep (float values, whole numbers). */
    public static final String POSITIONS = "hs_read_positions";
    private static final String INDICES = "hs_read_positions_i64";
    private static final String GATHERED = "hs_read_gathered";
    private static final String ROW = "hs_read_row";
    private static final String ROW0 = "hs_read_row0";

    /** The rewritten graph, and whether the Gather was placed before the LM head's product. */
    public record Result(OnnxMl.ModelProto model, boolean beforeHead) {
    }

    private OutputGather() {
    }

    public static Result apply(OnnxMl.ModelProto model, String output) {
        OnnxMl.GraphProto g = model.getGraph();
        GraphIndex index = new GraphIndex(g);
        int outIndex = -1;
        for (int i = 0; i < g.getOutputCount(); i++) {
            if (g.getOutput(i).getName().equals(output)) {
                outIndex = i;
            }
        }
        if (outIndex < 0 || index.producer.get(output) == null) {
            throw new IllegalArgumentException("graph has no computed output '" + output + "'");
        }
        OnnxMl.GraphProto.Builder b = g.toBuilder();
        b.addInput(OnnxMl.ValueInfoProto.newBuilder().setName(POSITIONS).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
                        .setShape(OnnxMl.TensorShapeProto.newBuilder()
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("read_batch"))
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("read_positions"))))));
        b.addInitializer(OnnxMl.TensorProto.newBuilder().setName(ROW0).setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber())
                .addInt64Data(0));
        OnnxMl.NodeProto row = OnnxMl.NodeProto.newBuilder().setOpType("Gather").setName("hs_read/Row").addInput(POSITIONS)
                .addInput(ROW0).addOutput(ROW).addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axis")
                        .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(0)).build();
        OnnxMl.NodeProto cast = OnnxMl.NodeProto.newBuilder().setOpType("Cast").setName("hs_read/Cast").addInput(ROW)
                .addOutput(INDICES).addAttribute(OnnxMl.AttributeProto.newBuilder().setName("to")
                        .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(OnnxMl.TensorProto.DataType.INT64.getNumber())).build();
        OnnxMl.NodeProto head = lmHead(index, output, g.getOutput(outIndex));
        boolean before = head != null;
        String source;
        String target;
        int insertAt;
        if (before) {
            source = head.getInput(0);
            target = GATHERED;
            insertAt = index.producerIndex.get(head.getOutput(0));
            b.setNode(insertAt, head.toBuilder().setInput(0, GATHERED));
        } else {
            // rename the output's producer and gather its result into the output name
            int at = index.producerIndex.get(output);
            OnnxMl.NodeProto p = g.getNode(at);
            OnnxMl.NodeProto.Builder pb = p.toBuilder();
            for (int i = 0; i < p.getOutputCount(); i++) {
                if (p.getOutput(i).equals(output)) {
                    pb.setOutput(i, GATHERED);
                }
            }
            b.setNode(at, pb);
            source = GATHERED;
            target = output;
            insertAt = at + 1;
        }
        OnnxMl.NodeProto gather = OnnxMl.NodeProto.newBuilder().setOpType("Gather").setName("hs_read/Gather").addInput(source)
                .addInput(INDICES).addOutput(target).addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axis")
                        .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1)).build();
        // nodes stay topologically sorted: Cast and Gather right before the node that reads the gathered tensor
        java.util.List<OnnxMl.NodeProto> nodes = new java.util.ArrayList<>(b.getNodeList());
        nodes.add(insertAt, gather);
        nodes.add(insertAt, cast);
        nodes.add(insertAt, row);
        b.clearNode().addAllNode(nodes);
        OnnxMl.ValueInfoProto out = g.getOutput(outIndex);
        if (out.getType().getTensorType().getShape().getDimCount() == 3) {
            OnnxMl.TensorShapeProto.Builder shape = out.getType().getTensorType().getShape().toBuilder();
            shape.setDim(1, OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("read_positions"));
            b.setOutput(outIndex, out.toBuilder().setType(out.getType().toBuilder().setTensorType(
                    out.getType().getTensorType().toBuilder().setShape(shape))));
        }
        return new Result(model.toBuilder().setGraph(b).build(), before);
    }

    /**
     * The LM head: the MatMul producing the output (directly, or through an Add of a constant bias) whose right operand
     * is a constant [D, V] (or the Transpose of a constant [V, D]) and whose output is declared rank 3; null when the
     * graph does not have that shape.
     */
    static OnnxMl.NodeProto lmHead(GraphIndex index, String output, OnnxMl.ValueInfoProto declared) {
        if (declared.getType().getTensorType().getShape().getDimCount() != 3) {
            return null;
        }
        OnnxMl.NodeProto n = index.producer.get(output);
        if (n != null && n.getOpType().equals("Add") && n.getInputCount() == 2) {
            String other = index.isConstant(n.getInput(1)) ? n.getInput(0) : index.isConstant(n.getInput(0)) ? n.getInput(1) : null;
            n = other == null ? null : index.producer.get(other);
            if (n != null && index.consumersOf(n.getOutput(0)).size() != 1) {
                return null;
            }
        }
        if (n == null || !n.getOpType().equals("MatMul") || !n.getDomain().isEmpty()) {
            return null;
        }
        OnnxMl.TensorProto w = index.initializers.get(n.getInput(1));
        OnnxMl.NodeProto t = index.producer.get(n.getInput(1));
        if (w == null && t != null && t.getOpType().equals("Transpose") && t.getDomain().isEmpty()) {
            w = index.initializers.get(t.getInput(0));  // a tied embedding [V, D] stored once, transposed in the graph
        }
        if (w == null || w.getDimsCount() != 2) {
            return null;
        }
        return n;
    }
}
