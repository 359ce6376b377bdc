package org.headscope.app.model;

import java.nio.file.Path;

import org.headscope.hooks.AttentionSite;
import org.headscope.hooks.HookedModel;

/**
 * An open model and where it came from.
 *
 * @param model  the open model (owned by {@link ModelViewModel}, closed when another replaces it)
 * @param source a bundled model's name, or the path the user opened
 * @param path   the file or folder actually opened
 */
public record LoadedModel(HookedModel model, String source, Path path) {
    public String name() {
        String n = model.manifest().name();
        return n == null || n.isBlank() ? path.getFileName().toString() : n;
    }

    /** Layers, heads, kv heads and head dim as the model bar shows them. */
    public String facts() {
        AttentionSite s = model.sites().getFirst();
        return model.layers() + " layers \u00d7 " + s.queryHeads() + " heads, " + s.kvHeads() + " kv heads, head dim "
                + s.headDim() + (model.isCausal() ? ", causal" : ", bidirectional")
                + (model.vision().isPresent() ? ", vision" : "") + rewritten();
    }

    /** How the attention was reached when the deployed graph had to be rewritten first (see {@code inspect}). */
    private String rewritten() {
        long unfused = model.unfusedNodes();
        StringBuilder b = new StringBuilder();
        if (unfused > 0) {
            b.append(", ").append(unfused).append(" fused attention node").append(unfused == 1 ? "" : "s").append(" unfused");
        }
        if (model.inlinedMergedDecoder()) {
            b.append(", merged decoder: no-cache branch");
        }
        return b.toString();
    }
}
