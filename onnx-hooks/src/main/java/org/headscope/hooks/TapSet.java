package org.headscope.hooks;

import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which taps a session computes, per layer. Immutable; equal sets share a cached session.
 */
public record TapSet(Map<TapKind, Set<Integer>> layers) {
    public static final TapSet NONE = new TapSet(Map.of());

    public TapSet {
        EnumMap<TapKind, Set<Integer>> copy = new EnumMap<>(TapKind.class);
        layers.forEach((k, v) -> {
            if (!v.isEmpty()) {
                copy.put(k, Set.copyOf(new TreeSet<>(v)));
            }
        });
        layers = java.util.Collections.unmodifiableMap(copy);
    }

    public static TapSet of(TapKind kind, Collection<Integer> layers) {
        return NONE.with(kind, layers);
    }

    public TapSet with(TapKind kind, Collection<Integer> more) {
        EnumMap<TapKind, Set<Integer>> copy = new EnumMap<>(TapKind.class);
        copy.putAll(layers);
        TreeSet<Integer> merged = new TreeSet<>(copy.getOrDefault(kind, Set.of()));
        merged.addAll(more);
        copy.put(kind, merged);
        return new TapSet(copy);
    }

    public boolean has(TapKind kind, int layer) {
        return layers.getOrDefault(kind, Set.of()).contains(layer);
    }

    public boolean isEmpty() {
        return layers.isEmpty();
    }
}
