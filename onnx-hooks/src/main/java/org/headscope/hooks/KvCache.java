package org.headscope.hooks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;

import java.util.Map;

/**
 * The key/value cache after a step, left in ONNX Runtime: the present outputs of the run that made it, by the past
 * input each feeds next. The next step feeds these tensors as they are (no copy into Java and back); closing the cache
 * closes that run's output values, each once. The decoder closes a cache after the step that read it.
 */
public final class KvCache implements AutoCloseable {
    private final OrtSession.Result owner;
    private final Map<String, OnnxTensor> past;
    private final int batch;
    private final int length;
    private boolean closed;

    KvCache(OrtSession.Result owner, Map<String, OnnxTensor> past) {
        this.owner = owner;
        this.past = Map.copyOf(past);
        long[] shape = this.past.values().iterator().next().getInfo().getShape();
        this.batch = (int) shape[0];
        this.length = (int) shape[2];
    }

    /** The tensor for a past input, or null when this cache has none for it. */
    synchronized OnnxTensor tensor(String pastInput) {
        if (closed) {
            throw new IllegalStateException("the key/value cache is closed");
        }
        return past.get(pastInput);
    }

    /** Batch size of the cached keys and values. */
    public int batchSize() {
        return batch;
    }

    /** Number of positions cached (the past length of the next step). */
    public int length() {
        return length;
    }

    /** Copies of the cached tensors as floats, by past input (for a step that must change them, e.g. repeat the batch). */
    public synchronized Map<String, FloatTensor> toFloats() {
        if (closed) {
            throw new IllegalStateException("the key/value cache is closed");
        }
        Map<String, FloatTensor> out = new java.util.LinkedHashMap<>();
        past.forEach((name, t) -> {
            java.nio.FloatBuffer fb = t.getFloatBuffer();
            float[] data = new float[fb.remaining()];
            fb.get(data);
            out.put(name, new FloatTensor(t.getInfo().getShape(), data));
        });
        return out;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            owner.close();
        }
    }
}
