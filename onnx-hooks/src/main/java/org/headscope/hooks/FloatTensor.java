package org.headscope.hooks;

import java.util.Arrays;

/**
 * A dense float32 tensor in row-major order with its shape beside it.
 */
public record FloatTensor(long[] shape, float[] data) {
    public FloatTensor {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
    }

    public static FloatTensor zeros(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return new FloatTensor(shape.clone(), new float[Math.toIntExact(n)]);
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return (int) shape[axis < 0 ? shape.length + axis : axis];
    }

    /** Flat offset of an index (row-major). */
    public int offset(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index rank " + index.length + " != tensor rank " + shape.length);
        }
        long off = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " outside " + Arrays.toString(shape));
            }
            off = off * shape[i] + index[i];
        }
        return (int) off;
    }

    public float get(int... index) {
        return data[offset(index)];
    }

    /** The contiguous slice with the leading indices fixed, e.g. slice(b, h) of [B,H,T,K] is a [T,K] tensor. */
    public FloatTensor slice(int... leading) {
        long[] rest = Arrays.copyOfRange(shape, leading.length, shape.length);
        int size = 1;
        for (long d : rest) {
            size *= (int) d;
        }
        int[] full = Arrays.copyOf(leading, shape.length);
        int start = size == 0 ? 0 : offset(full);
        return new FloatTensor(rest, Arrays.copyOfRange(data, start, start + size));
    }

    /** The same values with a leading axis of size 1 added, e.g. [T,V] becomes [1,T,V]. */
    public FloatTensor reshapeLeading() {
        long[] s = new long[shape.length + 1];
        s[0] = 1;
        System.arraycopy(shape, 0, s, 1, shape.length);
        return new FloatTensor(s, data);
    }

    /** Values as a 2-D array; the tensor must have rank 2. */
    public float[][] toMatrix() {
        if (rank() != 2) {
            throw new IllegalStateException("rank " + rank() + " tensor is not a matrix");
        }
        int rows = dim(0);
        int cols = dim(1);
        float[][] m = new float[rows][];
        for (int r = 0; r < rows; r++) {
            m[r] = Arrays.copyOfRange(data, r * cols, (r + 1) * cols);
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatTensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatTensor" + Arrays.toString(shape);
    }
}
