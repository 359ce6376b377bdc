package org.headscope.hooks;

import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which taps a session computes, per layer, and the side {@link TapKind#POOLED} pools to. Immutable; equal sets share
 * a cached session.
 */
public record TapSet(Map<TapKind, Set<Integer>> layers, int poolSide) {
    /** The default side of {@link TapKind#POOLED} maps in cells: the workbench's grid tile. */
    public static final int POOL_SIDE = 40;
    public static final TapSet NONE = new TapSet(Map.of());

    public TapSet(Map<TapKind, Set<Integer>> layers) {
        this(layers, POOL_SIDE);
    }

    public TapSet {
        if (poolSide < 1) {
            throw new IllegalArgumentException("pool side must be at least 1, got " + poolSide);
        }
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
        return new TapSet(copy, poolSide);
    }

    /** The same taps with {@link TapKind#POOLED} maps of at most {@code side x side} cells. */
    public TapSet withPoolSide(int side) {
        return new TapSet(layers, side);
    }

    public boolean has(TapKind kind, int layer) {
        return layers.getOrDefault(kind, Set.of()).contains(layer);
    }

    public boolean isEmpty() {
        return layers.isEmpty();
    }
}
