package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * An ONNX model opened for reading and rewriting.
 *
 * <p>The parsed graph is kept as a <em>skeleton</em>: every large weight lives outside the protobuf, either in
 * the model's own external-data files or, for a model with inline weights, in one weights file written once
 * into the cache folder. Rewritten graphs therefore stay small, sessions load the weights from disk, and a
 * multi-gigabyte model is never held twice in memory.
 */
public final class OnnxModel {
    /** Inline tensors larger than this move to the weights file. */
    private static final int EXTERNALIZE_BYTES = 1024;

    private final Path path;
    private final OnnxMl.ModelProto skeleton;
    private final Path weightsFolder;
    private final String sha256;

    private OnnxModel(Path path, OnnxMl.ModelProto skeleton, Path weightsFolder, String sha256) {
        this.path = path;
        this.skeleton = skeleton;
        this.weightsFolder = weightsFolder;
        this.sha256 = sha256;
    }

    /** Opens a model with the default cache folder for externalised weights. */
    public static OnnxModel load(Path path) {
        return load(path, CacheFolder.root().resolve("weights"));
    }

    public static OnnxModel load(Path path, Path weightsCache) {
        Path file = path.toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new ModelException("Model file " + file + " does not exist or is not a file.",
                    "Check the path; pass the .onnx file or a folder with a headscope.json manifest.");
        }
        String hash;
        OnnxMl.ModelProto proto;
        String stamp = stamp(file);
        Path memo = stamp == null ? null : weightsCache.resolve("sha256").resolve(sha1(stamp));
        String known = memo == null ? null : readMemo(memo, stamp);
        try (InputStream raw = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            InputStream buffered = new BufferedInputStream(raw, 1 << 20);
            // the file's hash is remembered per (path, size, modification time, file key): hashing a large model at
            // every start costs more than parsing it
            InputStream in = known != null ? buffered : new DigestInputStream(buffered, digest);
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            coded.setRecursionLimit(512);
            proto = OnnxMl.ModelProto.parseFrom(coded);
            if (known != null) {
                hash = known;
            } else {
                in.transferTo(OutputStream.nullOutputStream());
                hash = HexFormat.of().formatHex(digest.digest());
                writeMemo(memo, stamp, hash);
            }
        } catch (InvalidProtocolBufferException e) {
            throw new ModelException("File " + file.getFileName() + " is not a readable ONNX model: it is truncated or corrupt ("
                    + e.getMessage() + ").",
                    "Re-export or re-download the model; compare its size with the original (" + sizeOf(file) + " bytes here).", e);
        } catch (AccessDeniedException e) {
            throw new ModelException("Model file " + file + " cannot be read (permission denied).", "Make the file readable.", e);
        } catch (NoSuchFileException e) {
            throw new ModelException("Model file " + file + " does not exist.", "Check the path.", e);
        } catch (IOException e) {
            throw new ModelException("Model file " + file + " could not be read: " + e.getMessage(), "Check the disk and the file.", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        validate(file, proto);
        Path folder = file.getParent();
        boolean external = usesExternalData(proto.getGraph());
        if (external) {
            checkExternalLocations(folder, proto.getGraph());
            return new OnnxModel(file, proto, folder, hash);
        }
        Path cacheFolder = weightsCache.resolve(hash.substring(0, 24));
        OnnxMl.ModelProto skeleton = externalize(proto, cacheFolder);
        WeightsCache.touch(cacheFolder);
        new WeightsCache(weightsCache).prune(WeightsCache.maxBytes(), cacheFolder);
        return new OnnxModel(file, skeleton, cacheFolder, hash);
    }

    /** What identifies this version of the file: path, size, modification time (ns) and file key; null if unreadable. */
    private static String stamp(Path file) {
        try {
            var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
            return file + "|" + a.size() + "|" + a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) + "|" + a.fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private static String sha1(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The remembered hash when the memo names exactly this stamp, else null. */
    private static String readMemo(Path memo, String stamp) {
        try {
            if (!Files.isRegularFile(memo) || Files.size(memo) > 4096) {
                return null;
            }
            List<String> lines = Files.readAllLines(memo);
            return lines.size() == 2 && lines.get(0).equals(stamp) && lines.get(1).matches("[0-9a-f]{64}") ? lines.get(1) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void writeMemo(Path memo, String stamp, String hash) {
        try {
            Files.createDirectories(memo.getParent());
            Path tmp = Files.createTempFile(memo.getParent(), "memo", ".tmp");
            Files.writeString(tmp, stamp + "\n" + hash + "\n");
            Files.move(tmp, memo, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            // a cache that cannot be written only costs the hash again next time
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void validate(Path file, OnnxMl.ModelProto proto) {
        if (proto.getIrVersion() <= 0 || !proto.hasGraph() || proto.getGraph().getNodeCount() == 0
                || proto.getOpsetImportCount() == 0) {
            throw new ModelException("File " + file.getFileName() + " is not an ONNX model (no graph, IR version or opset found).",
                    "Open a .onnx file exported with torch.onnx.export or Optimum (see assets/export/README.md).");
        }
        checkNodes(file, proto.getGraph());
    }

    /** Fewest inputs and outputs of the operators HeadScope reads; a node with fewer is malformed. */
    private static final java.util.Map<String, int[]> ARITY = java.util.Map.ofEntries(
            java.util.Map.entry("MatMul", new int[]{2, 1}), java.util.Map.entry("Gemm", new int[]{2, 1}),
            java.util.Map.entry("Softmax", new int[]{1, 1}), java.util.Map.entry("Add", new int[]{2, 1}),
            java.util.Map.entry("Sub", new int[]{2, 1}), java.util.Map.entry("Mul", new int[]{2, 1}),
            java.util.Map.entry("Div", new int[]{2, 1}), java.util.Map.entry("Pow", new int[]{2, 1}),
            java.util.Map.entry("Where", new int[]{3, 1}), java.util.Map.entry("Transpose", new int[]{1, 1}),
            java.util.Map.entry("Reshape", new int[]{1, 1}), java.util.Map.entry("Split", new int[]{1, 1}),
            java.util.Map.entry("Concat", new int[]{1, 1}), java.util.Map.entry("Gather", new int[]{2, 1}),
            java.util.Map.entry("Slice", new int[]{1, 1}), java.util.Map.entry("Expand", new int[]{2, 1}),
            java.util.Map.entry("Unsqueeze", new int[]{1, 1}), java.util.Map.entry("Squeeze", new int[]{1, 1}),
            java.util.Map.entry("Cast", new int[]{1, 1}), java.util.Map.entry("Sqrt", new int[]{1, 1}),
            java.util.Map.entry("Exp", new int[]{1, 1}), java.util.Map.entry("Tanh", new int[]{1, 1}),
            java.util.Map.entry("Erf", new int[]{1, 1}), java.util.Map.entry("Neg", new int[]{1, 1}),
            java.util.Map.entry("Relu", new int[]{1, 1}), java.util.Map.entry("Sigmoid", new int[]{1, 1}),
            java.util.Map.entry("ReduceMean", new int[]{1, 1}), java.util.Map.entry("LayerNormalization", new int[]{2, 1}));

    /**
     * Structural checks of the main graph before anything reads it: every node of a known operator has its required
     * inputs and outputs, and every input a node names is defined (a graph input, a weight, or an output of a node).
     */
    private static void checkNodes(Path file, OnnxMl.GraphProto graph) {
        java.util.Set<String> defined = new java.util.HashSet<>();
        graph.getInputList().forEach(v -> defined.add(v.getName()));
        graph.getInitializerList().forEach(t -> defined.add(t.getName()));
        graph.getSparseInitializerList().forEach(t -> defined.add(t.getValues().getName()));
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            defined.addAll(n.getOutputList());
        }
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            String what = n.getOpType() + " node '" + n.getName() + "'";
            boolean standard = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            int[] arity = standard ? ARITY.get(n.getOpType()) : null;
            if (arity != null) {
                long inputs = n.getInputList().stream().limit(arity[0]).filter(x -> !x.isEmpty()).count();
                if (n.getInputCount() < arity[0] || inputs < arity[0] || n.getOutputCount() < arity[1] || n.getOutput(0).isEmpty()) {
                    throw new ModelException("The graph in " + file.getFileName() + " is malformed: " + what + " has "
                            + n.getInputCount() + " input(s) and " + n.getOutputCount() + " output(s); it needs at least "
                            + arity[0] + " and " + arity[1] + ".",
                            "Re-export the model (torch.onnx.export) and check it with onnx.checker.check_model.");
                }
            }
            if (n.getOutputCount() == 0) {
                throw new ModelException("The graph in " + file.getFileName() + " is malformed: " + what + " has no output.",
                        "Re-export the model (torch.onnx.export) and check it with onnx.checker.check_model.");
            }
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    throw new ModelException("The graph in " + file.getFileName() + " is malformed: " + what + " reads '" + in
                            + "', which nothing in the graph defines.",
                            "Re-export the model (torch.onnx.export) and check it with onnx.checker.check_model.");
                }
            }
        }
        for (OnnxMl.ValueInfoProto out : graph.getOutputList()) {
            if (!defined.contains(out.getName())) {
                throw new ModelException("The graph in " + file.getFileName() + " is malformed: output '" + out.getName()
                        + "' is computed by no node.", "Re-export the model (torch.onnx.export) and check it with onnx.checker.check_model.");
            }
        }
    }

    static boolean usesExternalData(OnnxMl.GraphProto graph) {
        for (OnnxMl.TensorProto t : graph.getInitializerList()) {
            if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
                return true;
            }
        }
        return false;
    }

    private static void checkExternalLocations(Path folder, OnnxMl.GraphProto graph) {
        for (OnnxMl.TensorProto t : graph.getInitializerList()) {
            if (t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL) {
                continue;
            }
            String location = externalField(t, "location");
            if (location == null || location.isBlank()) {
                throw new ModelException("Weight " + t.getName() + " is marked external but names no file.",
                        "Re-export the model with onnx.save_model(..., save_as_external_data=True).");
            }
            Path p = Path.of(location);
            Path resolved = folder.resolve(location).normalize();
            if (p.isAbsolute() || !resolved.startsWith(folder)) {
                throw new ModelException("Weight " + t.getName() + " points at external data '" + location
                        + "', outside the model's folder; HeadScope refuses paths that escape the folder.",
                        "Move the data file beside the model and set its location to a plain file name.");
            }
            if (!Files.isRegularFile(resolved)) {
                throw new ModelException("External data file '" + location + "' for weight " + t.getName() + " is missing.",
                        "Copy the model's data file(s) into " + folder + ".");
            }
        }
    }

    private static String externalField(OnnxMl.TensorProto t, String key) {
        for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
            if (e.getKey().equals(key)) {
                return e.getValue();
            }
        }
        return null;
    }

    /**
     * Moves large inline initializers into {@code folder/weights.bin} (written once per model hash) and returns
     * the graph that refers to them. A cache file already there is used only when it holds exactly these bytes (it
     * is compared as the initializers are walked, so a same-size corruption is caught); otherwise it is rewritten.
     */
    private static OnnxMl.ModelProto externalize(OnnxMl.ModelProto proto, Path folder) {
        return externalize(proto, folder, true);
    }

    private static OnnxMl.ModelProto externalize(OnnxMl.ModelProto proto, Path folder, boolean reuse) {
        Path weights = folder.resolve("weights.bin");
        boolean write = !reuse || !Files.isRegularFile(weights);
        OnnxMl.GraphProto.Builder graph = proto.getGraph().toBuilder();
        long offset = 0;
        boolean same = true;
        Path tmp = null;
        try {
            OutputStream out = OutputStream.nullOutputStream();
            InputStream cached = InputStream.nullInputStream();
            if (write) {
                Files.createDirectories(folder);
                tmp = Files.createTempFile(folder, "weights", ".tmp");
                out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20);
            } else {
                cached = new BufferedInputStream(Files.newInputStream(weights), 1 << 20);
            }
            byte[] buf = new byte[1 << 16];
            try (OutputStream o = out; InputStream c = cached) {
                for (int i = 0; i < graph.getInitializerCount(); i++) {
                    OnnxMl.TensorProto t = graph.getInitializer(i);
                    ByteString bytes = t.getRawData();
                    if (bytes.size() <= EXTERNALIZE_BYTES) {
                        continue;
                    }
                    if (write) {
                        bytes.writeTo(o);
                    } else if (same) {
                        for (int pos = 0; pos < bytes.size() && same; ) {
                            int n = c.readNBytes(buf, 0, Math.min(buf.length, bytes.size() - pos));
                            same = n > 0 && bytes.substring(pos, pos + n).equals(ByteString.copyFrom(buf, 0, n));
                            pos += Math.max(n, 1);
                        }
                    }
                    graph.setInitializer(i, t.toBuilder()
                            .clearRawData()
                            .setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", "weights.bin"))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Integer.toString(bytes.size())))
                            .build());
                    offset += bytes.size();
                }
                if (!write && same) {
                    same = c.read() < 0;
                }
            }
            if (write) {
                Files.move(tmp, weights, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else if (!same) {
                return externalize(proto, folder, false);
            }
        } catch (IOException e) {
            throw new ModelException("Could not write the weights cache in " + folder + ": " + e.getMessage(),
                    "Free disk space or point -Dheadscope.cache (or HEADSCOPE_CACHE) at a writable folder.", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the temp file is only left behind when the move failed, and the error above says why
                }
            }
        }
        return proto.toBuilder().setGraph(graph).build();
    }

    private static OnnxMl.StringStringEntryProto entry(String key, String value) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /**
     * The same model (file, weights, hash) with another graph and default-domain opset: the normalised graph that
     * taps and hooks are added to. Weights stay where this model's skeleton points.
     */
    OnnxModel withGraph(OnnxMl.GraphProto graph, long opset) {
        OnnxMl.ModelProto.Builder b = skeleton.toBuilder().setGraph(graph);
        for (int i = 0; i < b.getOpsetImportCount(); i++) {
            OnnxMl.OperatorSetIdProto op = b.getOpsetImport(i);
            if ((op.getDomain().isEmpty() || op.getDomain().equals("ai.onnx")) && op.getVersion() < opset) {
                b.setOpsetImport(i, op.toBuilder().setVersion(opset));
            }
        }
        return new OnnxModel(path, b.build(), weightsFolder, sha256);
    }

    public Path path() {
        return path;
    }

    /** The graph with weights referred to, not held. */
    public OnnxMl.ModelProto skeleton() {
        return skeleton;
    }

    public OnnxMl.GraphProto graph() {
        return skeleton.getGraph();
    }

    /** Folder from which a rewritten graph's external weights are resolved. */
    public Path weightsFolder() {
        return weightsFolder;
    }

    public String sha256() {
        return sha256;
    }

    public String producer() {
        String v = skeleton.getProducerVersion();
        return skeleton.getProducerName() + (v.isEmpty() ? "" : " " + v);
    }

    /** Opset of the default ONNX domain. */
    public long opset() {
        for (OnnxMl.OperatorSetIdProto op : skeleton.getOpsetImportList()) {
            if (op.getDomain().isEmpty() || op.getDomain().equals("ai.onnx")) {
                return op.getVersion();
            }
        }
        return 0;
    }

    public List<String> outputNames() {
        return graph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).toList();
    }
}
