package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One graph input: its role, element type and declared dimensions (-1 where symbolic).
 */
public record ModelInput(String name, InputRole role, int elemType, long[] dims) {

    public boolean isFloat() {
        return elemType == OnnxMl.TensorProto.DataType.FLOAT.getNumber();
    }

    public boolean isInt32() {
        return elemType == OnnxMl.TensorProto.DataType.INT32.getNumber();
    }

    /** The model's real inputs (initializer-backed inputs excluded), roles from the manifest first, then names. */
    static List<ModelInput> of(OnnxMl.GraphProto graph, Map<String, String> manifestRoles) {
        Set<String> inits = new HashSet<>();
        graph.getInitializerList().forEach(t -> inits.add(t.getName()));
        List<ModelInput> out = new ArrayList<>();
        for (OnnxMl.ValueInfoProto v : graph.getInputList()) {
            if (inits.contains(v.getName())) {
                continue;
            }
            InputRole role = null;
            if (manifestRoles != null) {
                for (var e : manifestRoles.entrySet()) {
                    if (e.getValue().equals(v.getName())) {
                        role = InputRole.valueOf(e.getKey().toUpperCase(java.util.Locale.ROOT));
                    }
                }
            }
            if (role == null) {
                role = InputRole.infer(v.getName());
            }
            OnnxMl.TypeProto.Tensor t = v.getType().getTensorType();
            long[] dims = new long[t.getShape().getDimCount()];
            for (int i = 0; i < dims.length; i++) {
                OnnxMl.TensorShapeProto.Dimension d = t.getShape().getDim(i);
                dims[i] = d.hasDimValue() ? d.getDimValue() : -1;
            }
            out.add(new ModelInput(v.getName(), role, t.getElemType(), dims));
        }
        return List.copyOf(out);
    }
}
