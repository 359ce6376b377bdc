package org.headscope.hooks;

import java.util.Arrays;

/**
 * A dense int64 tensor (token ids, argmax indices) in row-major order with its shape beside it.
 */
public record LongTensor(long[] shape, long[] data) {
    public LongTensor {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
    }

    public int dim(int axis) {
        return (int) shape[axis < 0 ? shape.length + axis : axis];
    }

    public long get(int... index) {
        long off = 0;
        for (int i = 0; i < index.length; i++) {
            off = off * shape[i] + index[i];
        }
        return data[(int) off];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LongTensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "LongTensor" + Arrays.toString(shape);
    }
}
