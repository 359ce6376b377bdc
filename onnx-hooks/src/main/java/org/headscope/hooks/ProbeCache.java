package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What the probe run of {@link HookedModel} found per attention site (heads, key/value heads, head size, layout),
 * remembered in the cache folder ({@code <cache>/probe/}) so that opening an unchanged model skips the probe's
 * session and run. An entry is keyed by everything the findings depend on: the model file's SHA-256 (computed once
 * per file version, see {@link OnnxModel}), the size and time of its external data files, the graph inputs with the
 * manifest's roles, every field of the located sites (the normalised graph as the locator saw it), the entry format
 * and the code (the jars' or class folders' sizes and times of HeadScope's engine and ONNX Runtime). An entry is
 * written atomically and read whole: a wrong header, key, count, value or checksum is a miss, and the model is
 * probed again and the entry rewritten. {@code -Dheadscope.probe-cache=off} (or {@code HEADSCOPE_PROBE_CACHE=off})
 * always probes.
 */
final class ProbeCache {
    static final String FORMAT = "headscope-probe-cache 1";

    /** One site's findings, in layer order. */
    record Shape(int queryHeads, int kvHeads, int headDim, AttentionSite.Layout layout) {
        boolean valid() {
            return queryHeads > 0 && kvHeads > 0 && headDim > 0 && queryHeads % kvHeads == 0;
        }
    }

    private static volatile String codeStamp;

    private final Path folder;

    ProbeCache(Path folder) {
        this.folder = folder;
    }

    /** The cache folder's {@code probe/}, or null when switched off. */
    static ProbeCache standard() {
        String v = System.getProperty("headscope.probe-cache");
        if (v == null || v.isBlank()) {
            v = System.getenv("HEADSCOPE_PROBE_CACHE");
        }
        if (v != null && v.trim().equalsIgnoreCase("off")) {
            return null;
        }
        return new ProbeCache(CacheFolder.root().resolve("probe"));
    }

    Path folder() {
        return folder;
    }

    /** The entry's file for this key. */
    Path file(OnnxModel model, String key) {
        return folder.resolve(model.sha256().substring(0, 24) + "-" + key.substring(0, 16) + ".txt");
    }

    /** The digest of everything the probe's findings depend on. */
    static String key(OnnxModel model, List<ModelInput> inputs, Manifest manifest, List<AttentionSite> blocks) {
        StringBuilder b = new StringBuilder(FORMAT).append('\n');
        b.append("code ").append(codeStamp()).append('\n');
        b.append("model ").append(model.sha256()).append('\n');
        for (String f : externalFiles(model)) {
            b.append("data ").append(f).append(' ').append(stamp(model.weightsFolder().resolve(f))).append('\n');
        }
        Map<String, String> roles = manifest.inputs() == null ? Map.of() : new TreeMap<>(manifest.inputs());
        b.append("manifest-inputs ").append(roles).append('\n');
        for (ModelInput in : inputs) {
            b.append("input ").append(in.name()).append(' ').append(in.role()).append(' ').append(in.elemType()).append(' ')
                    .append(java.util.Arrays.toString(in.dims())).append('\n');
        }
        for (AttentionSite s : blocks) {
            // every field, written out: a record's toString is bootstrapped through method handles, a tenth of a
            // second at start-up
            AttentionSite.Layout l = s.layout();
            b.append("site");
            for (Object f : new Object[]{s.layer(), s.queryHeads(), s.kvHeads(), s.headDim(), s.scores(), s.softmaxInput(),
                    s.probs(), s.headOutput(), s.query(), s.key(), s.value(), s.kvValue(), s.outputWeight(),
                    s.outputWeightTransposed(), s.residual(), l == null ? null : l.flatScores(), l == null ? null : l.flatProbs(),
                    l == null ? null : l.flatOutput(), s.origin()}) {
                String v = String.valueOf(f);
                b.append(' ').append(v.length()).append(':').append(v);
            }
            b.append('\n');
        }
        return sha256(b.toString());
    }

    /** The findings for {@code blocks} under {@code key}, or null on any miss, mismatch or unreadable entry. */
    List<Shape> read(Path file, String key, int sites) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > 64L * 1024 + 64L * sites) {
                return null;
            }
            String text = Files.readString(file, StandardCharsets.UTF_8);
            int last = text.lastIndexOf("sha256 ");
            if (last < 0 || !text.endsWith("\n") || !text.substring(last).equals("sha256 " + sha256(text.substring(0, last)) + "\n")) {
                return null;
            }
            List<String> lines = text.substring(0, last).lines().toList();
            if (lines.size() != sites + 3 || !lines.get(0).equals(FORMAT) || !lines.get(1).equals("key " + key)
                    || !lines.get(2).equals("sites " + sites)) {
                return null;
            }
            List<Shape> out = new ArrayList<>(sites);
            for (int i = 0; i < sites; i++) {
                String[] f = lines.get(i + 3).split(" ", -1);
                if (f.length != 8 || !f[0].equals("site") || Integer.parseInt(f[1]) != i) {
                    return null;
                }
                Shape s = new Shape(Integer.parseInt(f[2]), Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                        new AttentionSite.Layout(bool(f[5]), bool(f[6]), bool(f[7])));
                if (!s.valid()) {
                    return null;
                }
                out.add(s);
            }
            return List.copyOf(out);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Writes the entry (a temporary file moved into place); a cache that cannot be written is left as it is. */
    void write(Path file, String key, List<AttentionSite> sites) {
        StringBuilder b = new StringBuilder(FORMAT).append('\n').append("key ").append(key).append('\n')
                .append("sites ").append(sites.size()).append('\n');
        for (int i = 0; i < sites.size(); i++) {
            AttentionSite s = sites.get(i);
            AttentionSite.Layout l = s.layout();
            b.append("site ").append(i).append(' ').append(s.queryHeads()).append(' ').append(s.kvHeads()).append(' ')
                    .append(s.headDim()).append(' ').append(bit(l.flatScores())).append(' ').append(bit(l.flatProbs()))
                    .append(' ').append(bit(l.flatOutput())).append('\n');
        }
        String sum = sha256(b.toString());
        b.append("sha256 ").append(sum).append('\n');
        Path tmp = null;
        try {
            Files.createDirectories(folder);
            tmp = Files.createTempFile(folder, ".probe-", ".tmp");
            Files.writeString(tmp, b.toString(), StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                // no atomic rename here: no entry rather than one a reader could see half written
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | RuntimeException e) {
            try {
                if (tmp != null) {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException ignored) {
                // a read-only or full cache: the next open probes again
            }
        }
    }

    private static boolean bool(String s) {
        return switch (s) {
            case "1" -> true;
            case "0" -> false;
            default -> throw new IllegalArgumentException(s);
        };
    }

    private static char bit(boolean b) {
        return b ? '1' : '0';
    }

    /** The external data files the graph names (sorted, relative to the weights folder). */
    private static TreeSet<String> externalFiles(OnnxModel model) {
        TreeSet<String> out = new TreeSet<>();
        for (OnnxMl.TensorProto t : model.graph().getInitializerList()) {
            if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
                for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
                    if (e.getKey().equals("location")) {
                        out.add(e.getValue());
                    }
                }
            }
        }
        return out;
    }

    /** Size and modification time (ns) of a file, or "missing". */
    private static String stamp(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return a.size() + " " + a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (IOException e) {
            return "missing";
        }
    }

    /**
     * The code the findings come from: the engine's and ONNX Runtime's jars (path, size, time), or for a class folder
     * (tests, an IDE) every class file of the engine's package. Computed once per process.
     */
    static String codeStamp() {
        String s = codeStamp;
        if (s == null) {
            s = code(HookedModel.class, "org/headscope/hooks") + " " + code(ai.onnxruntime.OrtSession.class, "ai/onnxruntime");
            codeStamp = s;
        }
        return s;
    }

    private static String code(Class<?> c, String pkg) {
        try {
            var source = c.getProtectionDomain().getCodeSource();
            if (source == null) {
                return "unknown-" + System.nanoTime();
            }
            Path p = Path.of(source.getLocation().toURI());
            if (Files.isRegularFile(p)) {
                return p + ":" + stamp(p);
            }
            StringBuilder b = new StringBuilder(p.toString());
            try (Stream<Path> files = Files.walk(p.resolve(pkg))) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    b.append('|').append(p.relativize(f)).append(':').append(stamp(f));
                }
            }
            return sha256(b.toString());
        } catch (IOException | URISyntaxException | RuntimeException e) {
            // unknown code: a stamp that matches nothing written before, so the probe always runs
            return "unknown-" + System.nanoTime();
        }
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
