package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An opened model bundle: the graph, its attention sites (with head counts learned from one probe run), the
 * tokenizer, the device, and a cache of sessions per (tap set, hook families). Closing it closes every session.
 */
public final class HookedModel implements AutoCloseable {
    private static final int MAX_SESSIONS = 12;
    private static final String FOLDER_CONFIG = "session.model_external_initializers_file_folder_path";

    /** ONNX Runtime's environment, created with the first session: a model opened from the probe cache needs none. */
    private OrtEnvironment env;
    private final Manifest manifest;
    private final OnnxModel model;
    /** The file as deployed; {@link #model} is its normalised graph (subgraphs inlined, fused attention unfused). */
    private final OnnxModel deployed;
    private final GraphNormaliser.Result normalised;
    /** Producers, consumers and element types of {@link #model}'s graph, built once. */
    private final GraphIndex graphIndex;
    private final List<String> warnings;
    private final List<ModelInput> inputs;
    /** The graph outputs by role, resolved once from the manifest and the graph ({@link OutputRole}). */
    private final Map<OutputRole, String> outputRoles;
    private final List<AttentionSite> sites;
    private final DeviceInfo device;
    /** The tokenizer file the manifest names (checked to exist at open), or null. */
    private final Path tokenizerFile;
    /** Loaded on first use: reading the file and its native library is not needed to inspect a model. */
    private HsTokenizer tokenizer;
    private final VisionParts vision;
    private final Map<Key, CompiledSession> sessions = new LinkedHashMap<>(16, 0.75f, true);
    private CompiledSession plain;
    private boolean closed;

    private record Key(TapSet taps, HookSet hooks) {
    }

    /** A reading session: from a layer (0: the whole model), with taps and hooks, one output gathered at positions. */
    private record ReadKey(int fromLayer, TapSet taps, HookSet hooks, String output) {
    }

    private final Map<ReadKey, CompiledSession> reading = new LinkedHashMap<>(16, 0.75f, true);
    /** True when the sites' shapes came from the probe cache rather than a probe run (for tests). */
    private final boolean probeCached;

    private HookedModel(Path bundleFolder, Manifest manifest, OnnxModel model, DevicePreference preference, ProbeCache probeCache) {
        this.manifest = manifest;
        this.deployed = model;
        this.warnings = manifest.sha256() != null && !manifest.sha256().equalsIgnoreCase(model.sha256())
                ? List.of("The model file differs from the one its manifest describes: " + model.path().getFileName()
                        + " has SHA-256 " + model.sha256().substring(0, 16) + "..., headscope.json records "
                        + manifest.sha256().substring(0, 16) + "... . Results are for the file as it is now; re-export "
                        + "or restore the file if this is not intended.")
                : List.of();
        this.normalised = GraphNormaliser.normalise(model.graph(), model.opset());
        this.model = normalised.changed() ? model.withGraph(normalised.graph(), normalised.opset()) : model;
        this.graphIndex = new GraphIndex(this.model.graph());
        this.inputs = ModelInput.of(this.model.graph(), manifest.inputs());
        this.outputRoles = OutputRole.resolve(this.model.graph(), manifest.outputs(), manifest.name());
        this.device = preference.resolve();
        List<AttentionSite> blocks = origins(AttentionLocator.findBlocks(this.model.graph()));
        String key = probeCache == null ? null : ProbeCache.key(deployed, inputs, manifest, blocks);
        List<ProbeCache.Shape> known = key == null ? null : probeCache.read(probeCache.file(deployed, key), key, blocks.size());
        if (known != null) {
            List<AttentionSite> out = new ArrayList<>(blocks.size());
            for (int i = 0; i < blocks.size(); i++) {
                ProbeCache.Shape k = known.get(i);
                out.add(blocks.get(i).withShape(i, k.queryHeads(), k.kvHeads(), k.headDim(), k.layout()));
            }
            this.sites = List.copyOf(out);
        } else {
            this.sites = probe(blocks);
            if (key != null) {
                probeCache.write(probeCache.file(deployed, key), key, sites);
            }
        }
        this.probeCached = known != null;
        this.tokenizerFile = manifest.tokenizer() == null ? null
                : HsTokenizer.requireFile(bundleFolder.resolve(manifest.tokenizer()));
        this.vision = manifest.vision() == null ? null : new VisionParts(env(), bundleFolder, manifest.vision(), this::options);
    }

    /**
     * Opens a .onnx file, or a folder holding headscope.json (or a single .onnx file). The probe's findings come from
     * the cache folder when this version of the model was probed before ({@link ProbeCache}).
     */
    public static HookedModel open(Path path, DevicePreference preference) {
        return open(path, preference, ProbeCache.standard());
    }

    /** As {@link #open(Path, DevicePreference)} with this probe cache, or none (null: always probe). */
    static HookedModel open(Path path, DevicePreference preference, ProbeCache probeCache) {
        Path p = path.toAbsolutePath().normalize();
        Manifest manifest;
        Path folder;
        Path modelFile;
        if (Files.isDirectory(p)) {
            folder = p;
            Path mf = p.resolve(Manifest.FILE);
            if (Files.isRegularFile(mf)) {
                manifest = Manifest.read(mf);
                modelFile = p.resolve(manifest.model());
            } else {
                List<Path> onnx;
                try (var s = Files.list(p)) {
                    onnx = s.filter(f -> f.toString().endsWith(".onnx")).toList();
                } catch (java.io.IOException e) {
                    throw new ModelException("Folder " + p + " cannot be listed: " + e.getMessage(), "Check its permissions.", e);
                }
                if (onnx.size() != 1) {
                    throw new ModelException("Folder " + p + " holds " + onnx.size() + " .onnx files and no headscope.json.",
                            "Open the .onnx file itself, or add a headscope.json naming the model (see README).");
                }
                modelFile = onnx.get(0);
                manifest = Manifest.inferred(modelFile);
            }
        } else {
            modelFile = p;
            folder = p.getParent();
            Path mf = folder.resolve(Manifest.FILE);
            Manifest m = Files.isRegularFile(mf) ? Manifest.read(mf) : null;
            manifest = m != null && modelFile.getFileName().toString().equals(m.model()) ? m : Manifest.inferred(modelFile);
        }
        OnnxModel model = OnnxModel.load(modelFile);
        return new HookedModel(folder, manifest, model, preference, probeCache);
    }

    public static HookedModel open(Path path) {
        return open(path, DevicePreference.AUTO);
    }

    /**
     * One run on a five-token prompt with the block tensors exposed: head counts, head size, key/value heads and
     * the layout (heads on their own axis or folded into the batch) are read off the shapes, because exporters write
     * shapes inconsistently or not at all.
     */
    private List<AttentionSite> probe(List<AttentionSite> blocks) {
        List<String> names = new ArrayList<>();
        Map<AttentionSite, List<String>> valueChains = new LinkedHashMap<>();
        for (AttentionSite s : blocks) {
            names.add(s.scores());
            names.add(s.probs());
            names.add(s.headOutput());
            List<String> chain = AttentionLocator.valueChain(graphIndex, s.value());
            valueChains.put(s, chain);
            names.addAll(chain);
        }
        GraphRewriter.Exposed exposed = GraphRewriter.expose(model, names);
        try (OwnedSession probe = new OwnedSession(newSession(exposed.model(), TapSet.NONE, HookSet.NONE, List.of(), false))) {
            int t = 5;
            RunRequest req = hasRole(InputRole.INPUTS_EMBEDS) ? RunRequest.embeddings(probeEmbeddings(t))
                    : RunRequest.tokens(new long[]{1, 2, 3, 4, 5});
            RunResult r = probe.run(req.withOutputs(new java.util.LinkedHashSet<>(exposed.outputFor().values())));
            List<AttentionSite> out = new ArrayList<>();
            for (AttentionSite s : blocks) {
                FloatTensor sc = r.output(exposed.outputFor().get(s.scores()));
                FloatTensor p = r.output(exposed.outputFor().get(s.probs()));
                FloatTensor z = r.output(exposed.outputFor().get(s.headOutput()));
                if ((p.rank() != 4 && p.rank() != 3) || (z.rank() != 4 && z.rank() != 3) || (sc.rank() != 4 && sc.rank() != 3)) {
                    throw new ModelException("Attention of layer " + out.size() + " has probabilities of rank " + p.rank()
                            + " and head outputs of rank " + z.rank()
                            + " (expected [batch, heads, queries, keys], or heads folded into the batch).",
                            "Re-export with the standard head layout (eager attention in Hugging Face transformers).");
                }
                // the probe runs one sequence, so a folded [B*H, T, K] tensor has H on its first axis
                int heads = p.rank() == 4 ? p.dim(1) : sc.rank() == 4 ? sc.dim(1) : z.rank() == 4 ? z.dim(1) : p.dim(0);
                int keys = p.dim(p.rank() - 1);
                int headDim = z.dim(z.rank() - 1);
                int kv = heads;
                for (String v : valueChains.get(s)) {
                    FloatTensor vt = r.output(exposed.outputFor().get(v));
                    if (vt.rank() == 4 && vt.dim(2) == keys && vt.dim(3) == headDim) {
                        kv = Math.min(kv, vt.dim(1));
                    } else if (vt.rank() == 3 && vt.dim(1) == keys && vt.dim(2) == headDim) {
                        kv = Math.min(kv, vt.dim(0));
                    }
                }
                if (kv <= 0 || heads % kv != 0) {
                    kv = heads;
                }
                AttentionSite.Layout layout = new AttentionSite.Layout(sc.rank() == 3, p.rank() == 3, z.rank() == 3);
                out.add(s.withShape(out.size(), heads, kv, headDim, layout));
            }
            return List.copyOf(out);
        }
    }

    /** Marks the sites that exist only because a fused operator was unfused or a subgraph inlined. */
    private List<AttentionSite> origins(List<AttentionSite> blocks) {
        if (!normalised.changed()) {
            return blocks;
        }
        List<AttentionSite> out = new ArrayList<>();
        for (AttentionSite s : blocks) {
            OnnxMl.NodeProto softmax = graphIndex.producer.get(s.probs());
            String name = softmax == null ? s.probs() : softmax.getName() + " " + s.probs();
            String origin = s.origin();
            for (GraphNormaliser.Rewrite r : normalised.rewrites()) {
                boolean unfusedHere = !r.op().equals("If") && name.contains(r.node() + "/");
                boolean inlinedHere = r.op().equals("If") && name.contains(r.node() + GraphNormaliser.INLINED);
                if (unfusedHere || inlinedHere) {
                    origin = (r.op().equals("If") ? "inlined " : "unfused ") + r.op() + " '" + r.node() + "': " + r.detail();
                }
            }
            out.add(new AttentionSite(s.layer(), s.queryHeads(), s.kvHeads(), s.headDim(), s.scores(), s.softmaxInput(), s.probs(),
                    s.headOutput(), s.query(), s.key(), s.value(), s.kvValue(), s.outputWeight(), s.outputWeightTransposed(),
                    s.residual(), s.layout(), origin));
        }
        return out;
    }

    /**
     * A session on the normalised graph with no taps or hooks (the caller closes it): what unfusing alone costs
     * against {@link #plain()}, which runs the deployed file with its fused kernels. For a model that needed no
     * rewrite it runs the same graph as {@link #plain()}.
     */
    public OwnedSession openNormalisedSession() {
        ensureOpen();
        return new OwnedSession(newSession(model.skeleton(), TapSet.NONE, HookSet.NONE, sites, true));
    }

    /** Things the user should know about this model that do not stop it from opening (a file that differs from its manifest). */
    public List<String> warnings() {
        return warnings;
    }

    /** How many fused attention nodes were rewritten into plain nodes on opening. */
    public long unfusedNodes() {
        return normalised.rewrites().stream().filter(r -> !r.op().equals("If")).count();
    }

    /** True when an Optimum merged decoder was opened on its inlined no-cache branch. */
    public boolean inlinedMergedDecoder() {
        return normalised.rewrites().stream().anyMatch(r -> r.op().equals("If"));
    }

    /** What was rewritten before attention could be read: inlined subgraphs and unfused attention operators. */
    public List<String> rewrites() {
        return normalised.rewrites().stream().map(r -> r.op() + " '" + r.node() + "': " + r.detail()).toList();
    }

    private FloatTensor probeEmbeddings(int t) {
        ModelInput in = inputs.stream().filter(i -> i.role() == InputRole.INPUTS_EMBEDS).findFirst().orElseThrow();
        long d = in.dims().length == 3 ? in.dims()[2] : -1;
        if (d <= 0) {
            throw new ModelException("Input '" + in.name() + "' does not declare its hidden size.", "Export with a static hidden dimension.");
        }
        FloatTensor e = FloatTensor.zeros(1, t, d);
        java.util.Random rnd = new java.util.Random(7);
        for (int i = 0; i < e.data().length; i++) {
            e.data()[i] = (float) rnd.nextGaussian() * 0.02f;
        }
        return e;
    }

    public boolean hasRole(InputRole role) {
        return inputs.stream().anyMatch(i -> i.role() == role);
    }

    private synchronized OrtEnvironment env() {
        if (env == null) {
            env = OrtEnvironment.getEnvironment(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
        }
        return env;
    }

    OrtSession.SessionOptions options(boolean allowCuda) throws OrtException {
        env();   // the environment (and the native library) before any other ONNX Runtime object
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        try {
            RuntimeSettings.current().applyTo(o);
            if (allowCuda && device.isCuda()) {
                o.addCUDA(0);
            }
            return o;
        } catch (OrtException e) {
            o.close();
            throw e;
        }
    }

    private CompiledSession newSession(OnnxMl.ModelProto proto, TapSet taps, HookSet hooks, List<AttentionSite> forSites,
                                     boolean allowCuda) {
        return newSession(proto, inputs, taps, hooks, forSites, allowCuda);
    }

    private CompiledSession newSession(OnnxMl.ModelProto proto, List<ModelInput> graphInputs, TapSet taps, HookSet hooks,
                                     List<AttentionSite> forSites, boolean allowCuda) {
        try (OrtSession.SessionOptions o = options(allowCuda)) {
            o.addConfigEntry(FOLDER_CONFIG, model.weightsFolder().toString());
            if (hooks.any()) {
                // Hook inputs change shape between runs (neutral [1,L,H,1], edited [B,L,H,K]); ONNX Runtime's memory
                // pattern, planned from earlier shapes, has been seen to fail on them inside fused Split nodes.
                o.setMemoryPatternOptimization(false);
            }
            OrtSession s = env().createSession(proto.toByteArray(), o);
            List<String> outputs = proto.getGraph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName)
                    .filter(n -> !n.startsWith("hs_tap_")).toList();
            return new CompiledSession(env(), s, graphInputs, forSites, taps, hooks, device, outputs);
        } catch (OrtException e) {
            throw new ModelException("ONNX Runtime cannot load " + model.path().getFileName() + ": "
                    + e.getMessage().lines().findFirst().orElse(""),
                    "Check that the file is a complete ONNX export (opset 9 or newer) and that its data files are beside it.", e);
        }
    }

    /** The untouched model loaded by path: no taps, no hooks, all of ONNX Runtime's optimisations. */
    public HookedSession plain() {
        return session(TapSet.NONE, HookSet.NONE);
    }

    /**
     * A session with these taps that may use these hook families. Each run goes to the graph compiled (once, then
     * cached) with just the families its interventions use; see {@link HookedSession}.
     */
    public HookedSession session(TapSet taps, HookSet hooks) {
        ensureOpen();
        return new HookedSession(taps, hooks, false, used -> lease(taps, used), device, sites);
    }

    /** The compiled graph for these taps and hook families, claimed for one run under the cache's lock. */
    private synchronized CompiledSession.Lease lease(TapSet taps, HookSet hooks) {
        return compiled(taps, hooks).lease();
    }

    private synchronized CompiledSession compiled(TapSet taps, HookSet hooks) {
        ensureOpen();
        if (taps.isEmpty() && !hooks.any()) {
            if (plain == null) {
                try (OrtSession.SessionOptions o = options(true)) {
                    // the deployed file as it is (fused kernels included), unless its inputs changed on the way
                    OrtSession s;
                    if (normalised.inputsChanged()) {
                        o.addConfigEntry(FOLDER_CONFIG, model.weightsFolder().toString());
                        s = env().createSession(model.skeleton().toByteArray(), o);
                    } else {
                        s = env().createSession(deployed.path().toString(), o);
                    }
                    plain = new CompiledSession(env(), s, inputs, sites, TapSet.NONE, HookSet.NONE, device, model.outputNames());
                } catch (OrtException e) {
                    throw new ModelException("ONNX Runtime cannot load " + model.path().getFileName() + ": " + e.getMessage(),
                            "Check that the file is a complete ONNX export.", e);
                }
            }
            return plain;
        }
        Key key = new Key(taps, hooks);
        CompiledSession s = sessions.get(key);
        if (s == null) {
            s = newSession(GraphRewriter.rewrite(model, sites, taps, hooks), taps, hooks, sites, true);
            sessions.put(key, s);
            if (sessions.size() > MAX_SESSIONS) {
                Iterator<Map.Entry<Key, CompiledSession>> it = sessions.entrySet().iterator();
                it.next().getValue().retire();
                it.remove();
            }
        }
        return s;
    }

    /**
     * A session that starts at the residual stream entering {@code fromLayer} (fed through
     * {@link RunRequest#withStates}, keyed by {@link AttentionSite#residual()}) and computes only the layers from
     * there on. Taps may name only those layers. Used by ablation sweeps: layers before an ablated head need not
     * be recomputed. Not cached: the caller closes it (a sweep opens one per layer, uses it, and drops it).
     */
    public OwnedSession openSuffixSession(int fromLayer, TapSet taps, HookSet hooks) {
        ensureOpen();
        taps.layers().forEach((kind, ls) -> ls.forEach(l -> {
            if (l < fromLayer) {
                throw new IllegalArgumentException("tap " + kind + " of layer " + l + " lies before the suffix starting at layer " + fromLayer);
            }
        }));
        AttentionSite site = sites.get(fromLayer);
        List<String> outputs = new ArrayList<>(model.outputNames().stream().filter(n -> !n.startsWith("present")).toList());
        taps.layers().forEach((kind, ls) -> ls.forEach(l -> outputs.add(kind.outputName(l))));
        OnnxMl.ModelProto cut = GraphRewriter.suffix(GraphRewriter.rewrite(model, sites, taps, hooks), site, outputs);
        List<ModelInput> in = new ArrayList<>(inputs);
        in.add(new ModelInput(site.residual(), InputRole.OTHER, graphIndex.elemType(site.residual()), new long[]{-1, -1, -1}));
        return new OwnedSession(newSession(cut, List.copyOf(in), taps, hooks, sites, true));
    }

    /**
     * A session on the part of the graph from tensor {@code start} to {@code outputs} (see {@link GraphRewriter#cut}):
     * {@code start} is fed through {@link RunRequest#withStates}, the token ids a request carries are not read. The
     * logit lens runs the graph's own final norm and unembedding this way. The caller closes it.
     */
    public OwnedSession openCutSession(String start, List<String> outputs) {
        ensureOpen();
        OnnxMl.ModelProto cut = GraphRewriter.cut(model.skeleton(), start, outputs);
        List<ModelInput> in = new ArrayList<>(inputs);
        in.add(new ModelInput(start, InputRole.OTHER, graphIndex.elemType(start), new long[]{-1, -1, -1}));
        List<String> outs = List.copyOf(outputs);
        try (OrtSession.SessionOptions o = options(true)) {
            o.addConfigEntry(FOLDER_CONFIG, model.weightsFolder().toString());
            OrtSession s = env().createSession(cut.toByteArray(), o);
            return new OwnedSession(new CompiledSession(env(), s, List.copyOf(in), sites, TapSet.NONE, HookSet.NONE, device, outs));
        } catch (OrtException e) {
            throw new ModelException("ONNX Runtime cannot load the part of " + model.path().getFileName() + " after '" + start + "': "
                    + e.getMessage().lines().findFirst().orElse(""), "Report this with the model's inspect output.", e);
        }
    }

    /** A session whose graph also outputs named inner tensors (as float), and the output name of each. */
    public record ExposedSession(OwnedSession session, Map<String, String> outputFor) implements AutoCloseable {
        @Override
        public void close() {
            session.close();
        }
    }

    /** A session that outputs these inner tensors of the graph besides its outputs; the caller closes it. */
    public ExposedSession openExposedSession(List<String> tensors) {
        ensureOpen();
        GraphRewriter.Exposed exposed = GraphRewriter.expose(model, tensors);
        return new ExposedSession(new OwnedSession(newSession(exposed.model(), TapSet.NONE, HookSet.NONE, sites, true)),
                exposed.outputFor());
    }

    /** The final norm and unembedding of a language model, or why they could not be found. */
    public Unembedding.Found unembedding() {
        String logits = outputRoles.get(OutputRole.LOGITS);
        if (logits == null) {
            return new Unembedding.Found(null, "the model has no logits output (outputs: " + model.outputNames()
                    + "; name it in headscope.json under \"outputs\": {\"logits\": NAME})");
        }
        return Unembedding.find(model.graph(), logits);
    }

    /**
     * A session that computes {@code output} only at the positions fed as {@link OutputGather#POSITIONS} (through
     * {@link RunRequest#withStates}; row i of the output is position i of that list), in-graph before the LM head
     * when the graph allows it (see {@link OutputGather}). From {@code fromLayer > 0} it starts at the residual
     * stream entering that layer, like {@link #openSuffixSession}. Compiled once and cached with the model (runs
     * go through the graph with all of {@code hooks}, neutral where unused); the returned handle need not be closed.
     */
    public synchronized HookedSession readingSession(int fromLayer, TapSet taps, HookSet hooks, String output) {
        ensureOpen();
        ReadKey key = new ReadKey(fromLayer, taps, hooks, output);
        reading(key);
        return new HookedSession(taps, hooks, true, used -> leaseReading(key), device, sites);
    }

    private synchronized CompiledSession.Lease leaseReading(ReadKey key) {
        ensureOpen();
        return reading(key).lease();
    }

    /** The reading session for this key, compiled on first use and kept in the cache (LRU beyond MAX_SESSIONS). */
    private CompiledSession reading(ReadKey key) {
        int fromLayer = key.fromLayer();
        TapSet taps = key.taps();
        HookSet hooks = key.hooks();
        String output = key.output();
        CompiledSession s = reading.get(key);
        if (s == null) {
            OnnxMl.ModelProto proto = GraphRewriter.rewrite(model, sites, taps, hooks);
            List<ModelInput> in = new ArrayList<>(inputs);
            if (fromLayer > 0) {
                taps.layers().forEach((kind, ls) -> ls.forEach(l -> {
                    if (l < fromLayer) {
                        throw new IllegalArgumentException("tap " + kind + " of layer " + l + " lies before the suffix starting at layer " + fromLayer);
                    }
                }));
                AttentionSite site = sites.get(fromLayer);
                List<String> outputs = new ArrayList<>(List.of(output));
                taps.layers().forEach((kind, ls) -> ls.forEach(l -> outputs.add(kind.outputName(l))));
                proto = GraphRewriter.suffix(proto, site, outputs);
                in.add(new ModelInput(site.residual(), InputRole.OTHER, graphIndex.elemType(site.residual()),
                        new long[]{-1, -1, -1}));
            }
            proto = OutputGather.apply(proto, output).model();
            in.add(new ModelInput(OutputGather.POSITIONS, InputRole.OTHER, OnnxMl.TensorProto.DataType.FLOAT.getNumber(), new long[]{-1, -1}));
            s = newSession(proto, List.copyOf(in), taps, hooks, sites, true);
            reading.put(key, s);
            if (reading.size() > MAX_SESSIONS) {
                Iterator<Map.Entry<ReadKey, CompiledSession>> it = reading.entrySet().iterator();
                it.next().getValue().retire();
                it.remove();
            }
        }
        return s;
    }

    /** True when the sites' head counts, head size and layout came from the probe cache (no probe run). */
    boolean probeCached() {
        return probeCached;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    public OnnxModel model() {
        return model;
    }

    public Manifest manifest() {
        return manifest;
    }

    public List<AttentionSite> sites() {
        return sites;
    }

    public List<ModelInput> inputs() {
        return inputs;
    }

    /** The graph output that plays {@code role} ({@link OutputRole} says how it is resolved), or empty. */
    public Optional<String> output(OutputRole role) {
        return Optional.ofNullable(outputRoles.get(role));
    }

    /** True when the model gives next-token (or per-token) logits. */
    public boolean hasLogits() {
        return outputRoles.containsKey(OutputRole.LOGITS);
    }

    /** The logits output, or a ModelException saying how to name it. */
    public String requireLogits() {
        String logits = outputRoles.get(OutputRole.LOGITS);
        if (logits == null) {
            throw new ModelException(manifest.name() + " has no logits output (outputs: " + model.outputNames() + ").",
                    "Name the logits output in headscope.json under \"outputs\": {\"logits\": NAME}.");
        }
        return logits;
    }

    /**
     * The output the analyses measure: the logits when the model has them, else its hidden states, else its first
     * output other than a {@code present*} cache output.
     */
    public String measuredOutput() {
        return output(OutputRole.LOGITS).or(() -> output(OutputRole.HIDDEN_STATES))
                .orElseGet(() -> model.outputNames().stream().filter(n -> !n.startsWith("present")).findFirst()
                        .orElseThrow(() -> new ModelException(manifest.name() + " has no output.", "Export the model with its outputs.")));
    }

    public DeviceInfo device() {
        return device;
    }

    public int layers() {
        return sites.size();
    }

    public int heads() {
        return sites.get(0).queryHeads();
    }

    /** The tokenizer, loaded on the first call; empty when the model has none. */
    public synchronized Optional<HsTokenizer> tokenizer() {
        if (tokenizer == null && tokenizerFile != null) {
            ensureOpen();
            tokenizer = HsTokenizer.load(tokenizerFile, manifest.bos());
        }
        return Optional.ofNullable(tokenizer);
    }

    /** The tokenizer's file, without loading it; empty when the model has none. */
    public Optional<Path> tokenizerFile() {
        return Optional.ofNullable(tokenizerFile);
    }

    /** The tokenizer, or a clear error naming the file the manifest expects. */
    public HsTokenizer requireTokenizer() {
        return tokenizer().orElseThrow(() -> new ModelException("No tokenizer found for " + model.path().getFileName() + ".",
                "Put the model's tokenizer.json beside it (or name it in headscope.json), or pass token ids with --ids."));
    }

    public Optional<VisionParts> vision() {
        return Optional.ofNullable(vision);
    }

    /** True when keys are masked causally (decoders); bidirectional encoders return false. */
    public boolean isCausal() {
        String kind = manifest.kind();
        if (kind != null) {
            return !kind.equals("encoder");
        }
        return !hasRole(InputRole.TOKEN_TYPE_IDS);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        sessions.values().forEach(CompiledSession::retire);
        sessions.clear();
        reading.values().forEach(CompiledSession::retire);
        reading.clear();
        if (plain != null) {
            plain.retire();
        }
        if (vision != null) {
            vision.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
