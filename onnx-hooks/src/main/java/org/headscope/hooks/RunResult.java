package org.headscope.hooks;

import java.util.Map;

/**
 * What a run returned: the requested model outputs and every tap of the session, copied out of native memory.
 */
public record RunResult(Map<String, FloatTensor> floats, Map<String, LongTensor> longs) {
    public RunResult {
        floats = Map.copyOf(floats);
        longs = Map.copyOf(longs);
    }

    public FloatTensor tap(TapKind kind, int layer) {
        if (kind.isIntegral()) {
            throw new IllegalArgumentException(kind + " is an integer tap; use argmax(layer)");
        }
        return require(floats, kind.outputName(layer), kind, layer);
    }

    public LongTensor argmax(int layer) {
        return require(longs, TapKind.ARGMAX.outputName(layer), TapKind.ARGMAX, layer);
    }

    public FloatTensor output(String name) {
        FloatTensor t = floats.get(name);
        if (t == null) {
            throw new IllegalArgumentException("output '" + name + "' was not fetched; fetched: " + floats.keySet());
        }
        return t;
    }

    private static <T> T require(Map<String, T> map, String name, TapKind kind, int layer) {
        T t = map.get(name);
        if (t == null) {
            throw new IllegalArgumentException("tap " + kind + " of layer " + layer + " is not in this session's tap set");
        }
        return t;
    }
}
