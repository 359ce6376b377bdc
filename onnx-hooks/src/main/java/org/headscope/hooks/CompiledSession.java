package org.headscope.hooks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;

/**
 * One ONNX Runtime session over a compiled graph with a fixed tap set and hook families. Runs are cancellable;
 * every native object a run opens is closed before it returns. A session retired from the cache while runs are
 * in flight closes when the last of them ends.
 */
final class CompiledSession implements AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final List<ModelInput> inputs;
    private final List<AttentionSite> sites;
    private final TapSet taps;
    private final HookSet hooks;
    private final DeviceInfo device;
    private final Set<String> tapOutputs;
    private final Set<String> modelOutputs;

    CompiledSession(OrtEnvironment env, OrtSession session, List<ModelInput> inputs, List<AttentionSite> sites, TapSet taps,
                  HookSet hooks, DeviceInfo device, List<String> modelOutputs) {
        this.env = env;
        this.session = session;
        this.inputs = inputs;
        this.sites = sites;
        this.taps = taps;
        this.hooks = hooks;
        this.device = device;
        Set<String> tapNames = new LinkedHashSet<>();
        taps.layers().forEach((kind, layers) -> layers.forEach(l -> tapNames.add(kind.outputName(l))));
        this.tapOutputs = Set.copyOf(tapNames);
        this.modelOutputs = Set.copyOf(modelOutputs);
    }

    TapSet taps() {
        return taps;
    }

    HookSet hooks() {
        return hooks;
    }

    DeviceInfo device() {
        return device;
    }

    List<AttentionSite> sites() {
        return sites;
    }

    private int inFlight;
    private boolean retired;
    private boolean closed;

    /**
     * One run's claim on this session: the session stays open until the lease is closed, even when it is retired from
     * a cache meanwhile. Leases are taken where the session is looked up, under the cache's lock, so a lookup never
     * returns a session that closes before it runs.
     */
    final class Lease implements AutoCloseable {
        private boolean released;

        RunResult run(RunRequest request, CancelToken cancel) {
            return CompiledSession.this.run(request, cancel);
        }

        Cached run(RunRequest request, KvCache past, Map<String, String> keep, CancelToken cancel) {
            return CompiledSession.this.run(request, past, keep, cancel);
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                release();
            }
        }
    }

    /** Claims this session for a run; fails when it was closed (its model closed, or its owner closed it). */
    synchronized Lease lease() {
        if (closed) {
            throw new IllegalStateException("this session was closed (its model was closed or replaced); open the model again");
        }
        inFlight++;
        return new Lease();
    }

    private synchronized void release() {
        inFlight--;
        if (retired && inFlight == 0) {
            close();
        }
    }

    /** Closes now if idle, else when the last run in flight ends. */
    synchronized void retire() {
        retired = true;
        if (inFlight == 0) {
            close();
        }
    }

    RunResult run(RunRequest request, CancelToken cancel) {
        return run(request, null, Map.of(), cancel).result();
    }

    /** A run's copied outputs, and the present outputs it left in ONNX Runtime as the next step's cache (or null). */
    record Cached(RunResult result, KvCache cache) {
    }

    /**
     * A run that feeds {@code past} (a previous step's present outputs, still in ONNX Runtime) to the past inputs
     * as they are, and leaves the outputs {@code keep} names (past input to the present output that feeds it) in ONNX
     * Runtime as the returned cache instead of copying them; the caller closes that cache. Everything else a run
     * opens is closed before it returns; {@code past} stays open (its owner closes it).
     */
    Cached run(RunRequest request, KvCache past, Map<String, String> keep, CancelToken cancel) {
        cancel.check();
        int batch = request.batchSize();
        int interventions = request.interventions().size();
        if (interventions > 1 && interventions != batch) {
            if (batch == 1) {
                request = request.repeat(interventions);
                batch = interventions;
            } else {
                throw new IllegalArgumentException(interventions + " interventions for a batch of " + batch);
            }
        }
        if (past != null && past.batchSize() != batch) {
            throw new IllegalArgumentException("a cache of batch " + past.batchSize() + " for a batch of " + batch);
        }
        checkMemory(request, batch, past);
        Map<String, OnnxTensor> feed = new HashMap<>();
        Set<String> borrowed = new java.util.HashSet<>();
        try (OrtSession.RunOptions options = new OrtSession.RunOptions();
             AutoCloseable ignored = cancel.onCancel(() -> terminate(options))) {
            feedInputs(request, feed, past, borrowed);
            Set<String> wanted = new LinkedHashSet<>(tapOutputs);
            if (request.outputs() == null) {
                modelOutputs.stream().filter(n -> !n.startsWith("present")).forEach(wanted::add);
            } else {
                for (String o : request.outputs()) {
                    if (!modelOutputs.contains(o)) {
                        throw new IllegalArgumentException("model has no output '" + o + "'; it has " + modelOutputs);
                    }
                    wanted.add(o);
                }
            }
            for (String o : keep.values()) {
                if (!modelOutputs.contains(o)) {
                    throw new IllegalArgumentException("model has no output '" + o + "'; it has " + modelOutputs);
                }
                wanted.add(o);
            }
            OrtSession.Result result = session.run(feed, wanted, options);
            boolean handed = false;
            try {
                RunResult copied = collect(result, Set.copyOf(keep.values()));
                KvCache cache = null;
                if (!keep.isEmpty()) {
                    Map<String, OnnxTensor> present = new java.util.LinkedHashMap<>();
                    for (Map.Entry<String, String> e : keep.entrySet()) {
                        present.put(e.getKey(), (OnnxTensor) result.get(e.getValue()).orElseThrow());
                    }
                    cache = new KvCache(result, present);
                    handed = true;
                }
                return new Cached(copied, cache);
            } finally {
                if (!handed) {
                    result.close();
                }
            }
        } catch (OrtException e) {
            if (cancel.isCancelled()) {
                throw new CancellationException("run cancelled");
            }
            throw translate(e, request);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            feed.forEach((name, t) -> {
                if (!borrowed.contains(name)) {
                    t.close();
                }
            });
        }
    }

    /** Refuses, before it starts, a run whose attention cannot fit in the memory left (see {@link MemoryBudget}). */
    private void checkMemory(RunRequest request, int batch, KvCache past) {
        if (sites.isEmpty()) {
            return;
        }
        int pastLen = pastLength(request, past);
        int full = 0;
        for (TapKind k : java.util.List.of(TapKind.PROBS, TapKind.SCORES)) {
            full += taps.layers().getOrDefault(k, java.util.Set.of()).size();
        }
        MemoryBudget.check(batch, sites.get(0).queryHeads(), request.length(), (long) pastLen + request.length(), full);
    }

    private static void terminate(OrtSession.RunOptions options) {
        try {
            options.setTerminate(true);
        } catch (OrtException | IllegalStateException ignored) {
            // the run already finished and closed its options; nothing left to stop
        }
    }

    private ModelException translate(OrtException e, RunRequest request) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        if (msg.contains("Failed to allocate") || msg.contains("out of memory") || msg.contains("bad_alloc")) {
            return new ModelException("The device ran out of memory running " + request.batchSize() + " x " + request.length()
                    + " tokens on " + device.provider() + ".",
                    "Use a shorter prompt, a smaller batch, or fewer full-attention taps (reductions need far less memory).", e);
        }
        return new ModelException("ONNX Runtime failed to run the model: " + msg.lines().findFirst().orElse(msg),
                "Check that the inputs match the model (see `headscope inspect`); if the model runs elsewhere, report this with the model's inspect output.", e);
    }

    private static int pastLength(RunRequest r, KvCache cache) {
        if (cache != null) {
            return cache.length();
        }
        int pastLen = 0;
        for (FloatTensor p : r.past().values()) {
            pastLen = p.dim(2);
        }
        return pastLen;
    }

    /** Fills {@code feed}; names fed straight from {@code cache} go into {@code borrowed} (the run must not close them). */
    private void feedInputs(RunRequest r, Map<String, OnnxTensor> feed, KvCache cache, Set<String> borrowed) throws OrtException {
        int b = r.batchSize();
        int t = r.length();
        int pastLen = pastLength(r, cache);
        int keys = pastLen + t;
        for (ModelInput in : inputs) {
            FloatTensor state = r.states().get(in.name());
            if (state != null) {
                feed.put(in.name(), floats(in, state));
                continue;
            }
            switch (in.role()) {
                case INPUT_IDS -> feed.put(in.name(), ints(in, require(r.inputIds(), in, "token ids")));
                case ATTENTION_MASK -> feed.put(in.name(), ints(in, r.attentionMask() != null ? r.attentionMask() : filled(b, keys, 1)));
                case POSITION_IDS -> feed.put(in.name(), ints(in, r.positionIds() != null ? r.positionIds() : positions(b, pastLen, t)));
                case TOKEN_TYPE_IDS -> feed.put(in.name(), ints(in, r.tokenTypeIds() != null ? r.tokenTypeIds() : filled(b, t, 0)));
                case INPUTS_EMBEDS -> feed.put(in.name(), floats(in, require(r.inputsEmbeds(), in, "input embeddings")));
                case PAST_KEY, PAST_VALUE -> {
                    OnnxTensor held = cache == null ? null : cache.tensor(in.name());
                    if (held != null) {
                        feed.put(in.name(), held);
                        borrowed.add(in.name());
                        continue;
                    }
                    FloatTensor p = r.past().get(in.name());
                    feed.put(in.name(), floats(in, p != null ? p : emptyPast(in, b)));
                }
                case USE_CACHE -> throw new ModelException("Input '" + in.name() + "' switches between cached and uncached decoding "
                        + "(an Optimum merged decoder).", "Export without merging (see assets/export/README.md).");
                default -> throw new ModelException("Input '" + in.name() + "' has no role HeadScope knows.",
                        "Name its role in headscope.json under \"inputs\" (input_ids, attention_mask, position_ids, token_type_ids, inputs_embeds).");
            }
        }
        Map<String, FloatTensor> hookTensors = HookTensors.build(r.interventions(), hooks, sites.size(),
                sites.isEmpty() ? 0 : sites.get(0).queryHeads(), sites.isEmpty() ? 0 : sites.get(0).headDim(), keys, t);
        for (var e : hookTensors.entrySet()) {
            feed.put(e.getKey(), floats(e.getValue()));
        }
        if (taps.layers().containsKey(TapKind.SPAN_MASS)) {
            feed.put(HookSet.KEY_SPAN, floats(r.keySpan() != null ? r.keySpan() : FloatTensor.zeros(1, 1)));
        }
    }

    private static <T> T require(T value, ModelInput in, String what) {
        if (value == null) {
            throw new IllegalArgumentException("model input '" + in.name() + "' needs " + what);
        }
        return value;
    }

    private static FloatTensor emptyPast(ModelInput in, int batch) {
        if (in.dims().length != 4 || in.dims()[1] < 0 || in.dims()[3] < 0) {
            throw new ModelException("Past key/value input '" + in.name() + "' has no static head count and head size.",
                    "Pass past tensors explicitly, or export the model without past key/values.");
        }
        return new FloatTensor(new long[]{batch, in.dims()[1], 0, in.dims()[3]}, new float[0]);
    }

    private static LongTensor filled(int b, int n, long v) {
        long[] d = new long[b * n];
        java.util.Arrays.fill(d, v);
        return new LongTensor(new long[]{b, n}, d);
    }

    private static LongTensor positions(int b, int start, int t) {
        long[] d = new long[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                d[i * t + j] = start + j;
            }
        }
        return new LongTensor(new long[]{b, t}, d);
    }

    private OnnxTensor ints(ModelInput in, LongTensor v) throws OrtException {
        if (in.isInt32()) {
            IntBuffer buf = ByteBuffer.allocateDirect(v.data().length * 4).order(ByteOrder.nativeOrder()).asIntBuffer();
            for (long x : v.data()) {
                buf.put(Math.toIntExact(x));
            }
            buf.rewind();
            return OnnxTensor.createTensor(env, buf, v.shape());
        }
        LongBuffer buf = ByteBuffer.allocateDirect(v.data().length * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
        buf.put(v.data()).rewind();
        return OnnxTensor.createTensor(env, buf, v.shape());
    }

    /** A float tensor for a graph input, converted to the input's half-precision type where it has one. */
    private OnnxTensor floats(ModelInput in, FloatTensor v) throws OrtException {
        boolean fp16 = in.elemType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT16.getNumber();
        boolean bf16 = in.elemType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.BFLOAT16.getNumber();
        if (!fp16 && !bf16) {
            return floats(v);
        }
        java.nio.ShortBuffer buf = ByteBuffer.allocateDirect(Math.max(2, v.data().length * 2)).order(ByteOrder.nativeOrder()).asShortBuffer();
        for (float x : v.data()) {
            buf.put(fp16 ? ai.onnxruntime.platform.Fp16Conversions.floatToFp16(x) : ai.onnxruntime.platform.Fp16Conversions.floatToBf16(x));
        }
        buf.rewind();
        if (v.data().length == 0) {
            buf.limit(0);
        }
        return OnnxTensor.createTensor(env, buf, v.shape(), fp16 ? ai.onnxruntime.OnnxJavaType.FLOAT16 : ai.onnxruntime.OnnxJavaType.BFLOAT16);
    }

    private OnnxTensor floats(FloatTensor v) throws OrtException {
        FloatBuffer buf = ByteBuffer.allocateDirect(Math.max(4, v.data().length * 4)).order(ByteOrder.nativeOrder()).asFloatBuffer();
        buf.put(v.data()).rewind();
        if (v.data().length == 0) {
            buf.limit(0);
        }
        return OnnxTensor.createTensor(env, buf, v.shape());
    }

    private static RunResult collect(OrtSession.Result result, Set<String> skip) throws OrtException {
        Map<String, FloatTensor> floats = new HashMap<>();
        Map<String, LongTensor> longs = new HashMap<>();
        for (Map.Entry<String, OnnxValue> e : result) {
            if (skip.contains(e.getKey()) || !(e.getValue() instanceof OnnxTensor tensor)) {
                continue;
            }
            TensorInfo info = tensor.getInfo();
            long[] shape = info.getShape();
            switch (info.type) {
                case FLOAT, FLOAT16, BFLOAT16 -> {
                    // half-precision outputs are widened to float by ONNX Runtime's own conversion
                    FloatBuffer fb = tensor.getFloatBuffer();
                    float[] data = new float[fb.remaining()];
                    fb.get(data);
                    floats.put(e.getKey(), new FloatTensor(shape, data));
                }
                case INT64 -> {
                    LongBuffer lb = tensor.getLongBuffer();
                    long[] data = new long[lb.remaining()];
                    lb.get(data);
                    longs.put(e.getKey(), new LongTensor(shape, data));
                }
                default -> {
                }
            }
        }
        return new RunResult(floats, longs);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the session failed", e);
        }
    }
}
