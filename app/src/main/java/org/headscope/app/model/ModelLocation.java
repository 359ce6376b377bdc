package org.headscope.app.model;

import ai.onnx.proto.OnnxMl;
import org.headscope.app.util.UserPaths;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.InputRole;
import org.headscope.hooks.ModelInput;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Where a model named by the user lives, and what its graph says about its vocabulary: shared by commands and panels. */
public final class ModelLocation {
    private ModelLocation() {
    }

    /**
     * A bundled model's name, or a path (resolved against the caller's folder) to a .onnx file or model folder.
     *
     * @throws IllegalArgumentException naming what was given and where it was looked for
     */
    public static Path resolve(String model) {
        if (BundledModels.available().contains(model)) {
            return BundledModels.folder(model);
        }
        Path p;
        try {
            p = UserPaths.resolve(model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("MODEL: " + e.getMessage(), e);
        }
        if (!Files.exists(p)) {
            throw new IllegalArgumentException("model '" + model + "' is neither a file, a folder, nor a bundled model "
                    + BundledModels.available() + " (looked for " + p + ")");
        }
        return p;
    }

    /** The number of token ids the model's embedding table holds, or -1 when the graph does not say. */
    public static long vocabularySize(HookedModel model) {
        String ids = null;
        for (ModelInput in : model.inputs()) {
            if (in.role() == InputRole.INPUT_IDS) {
                ids = in.name();
            }
        }
        if (ids == null) {
            return -1;
        }
        OnnxMl.GraphProto g = model.model().graph();
        Map<String, OnnxMl.TensorProto> weights = new HashMap<>();
        g.getInitializerList().forEach(t -> weights.put(t.getName(), t));
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() >= 2 && n.getInput(1).equals(ids)) {
                OnnxMl.TensorProto table = weights.get(n.getInput(0));
                if (table != null && table.getDimsCount() == 2 && table.getDims(0) > 0) {
                    return table.getDims(0);
                }
            }
        }
        return -1;
    }
}
