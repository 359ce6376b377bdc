package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a model output carries, resolved once per model ({@link HookedModel#output(OutputRole)}) like the input roles:
 * the manifest's {@code "outputs"} block first, then a documented fallback on the graph's outputs.
 * <ul>
 * <li>{@link #LOGITS}: {@code outputs.logits} of the manifest, else the output named {@code logits}; none otherwise.</li>
 * <li>{@link #HIDDEN_STATES}: {@code outputs.hidden_states} of the manifest, else (when the model has no logits) the
 *     first output other than a {@code present*} cache output that declares three axes {@code [B, T, D]}.</li>
 * </ul>
 * Every analysis that reads "the model's output" reads {@link HookedModel#measuredOutput()}: the logits when there are
 * any, else the hidden states.
 */
public enum OutputRole {
    LOGITS, HIDDEN_STATES;

    /** The role's key in the manifest's {@code "outputs"} block. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The role named {@code key} in a manifest, or empty when HeadScope does not know it. */
    static Optional<OutputRole> ofKey(String key) {
        for (OutputRole r : values()) {
            if (r.key().equalsIgnoreCase(key)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** Resolves every role of a graph's outputs: the manifest first (each name must be a graph output), then the fallback. */
    static Map<OutputRole, String> resolve(OnnxMl.GraphProto graph, Map<String, String> manifestRoles, String modelName) {
        List<OnnxMl.ValueInfoProto> outs = graph.getOutputList().stream().filter(o -> !o.getName().startsWith("present")).toList();
        List<String> names = graph.getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).toList();
        Map<OutputRole, String> roles = new EnumMap<>(OutputRole.class);
        if (manifestRoles != null) {
            for (Map.Entry<String, String> e : manifestRoles.entrySet()) {
                OutputRole role = ofKey(e.getKey()).orElse(null);
                if (role == null) {
                    continue;
                }
                if (!names.contains(e.getValue())) {
                    throw new ModelException("The manifest of " + modelName + " names '" + e.getValue() + "' as the " + role.key()
                            + " output, but the graph has no such output (outputs: " + names + ").",
                            "Fix \"outputs\" in headscope.json to name one of the graph's outputs.");
                }
                roles.put(role, e.getValue());
            }
        }
        if (!roles.containsKey(LOGITS) && names.contains("logits")) {
            roles.put(LOGITS, "logits");
        }
        if (!roles.containsKey(HIDDEN_STATES) && !roles.containsKey(LOGITS)) {
            outs.stream().filter(o -> o.getType().getTensorType().getShape().getDimCount() == 3).findFirst()
                    .ifPresent(o -> roles.put(HIDDEN_STATES, o.getName()));
        }
        return roles;
    }
}
