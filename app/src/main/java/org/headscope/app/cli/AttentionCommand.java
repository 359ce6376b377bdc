package org.headscope.app.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import org.headscope.analysis.report.OutputTarget;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

/** Writes the full attention probabilities of chosen layers for one prompt. */
public final class AttentionCommand implements Command {
    @Override
    public String name() {
        return "attention";
    }

    @Override
    public String usage() {
        return "attention MODEL (--text TEXT | --ids 1,2,3) [--layers 0,3] [--pool N] [--format json|npy] --out FILE [--device auto|cuda|cpu]\n"
                + "  --format npy writes one float32 array [layers, heads, queries, keys] (layers in the order given) in NumPy's .npy format\n"
                + "  --pool N writes each head's map max-pooled in the graph to at most N x N blocks (an overview of a long prompt)";
    }

    @Override
    public String summary() {
        return "write attention probabilities {tokens, layers:[{layer, probs[head][query][key]}]} as JSON";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        try (OutputTarget target = OutputTarget.file(args.requirePath("out")); HookedModel m = ModelArgs.open(args)) {
            Path file = target.path();
            HsTokenizer.Tokens tokens = ModelArgs.tokens(args, m);
            List<Integer> layers = args.integers("layers", IntStream.range(0, m.layers()).boxed().toList());
            String format = args.string("format", "json");
            if (!format.equals("json") && !format.equals("npy")) {
                throw new UsageException("--format must be json or npy, got '" + format + "'");
            }
            int pool = args.integer("pool", 0);
            if (args.has("pool") && pool < 2) {
                throw new UsageException("--pool must be at least 2 (blocks per side), got " + pool);
            }
            args.rejectUnknown();
            for (int l : layers) {
                if (l < 0 || l >= m.layers()) {
                    throw new UsageException("layer " + l + " does not exist; the model has layers 0.." + (m.layers() - 1));
                }
            }
            TapKind kind = pool > 0 ? TapKind.POOLED : TapKind.PROBS;
            TapSet taps = pool > 0 ? TapSet.of(kind, layers).withPoolSide(pool) : TapSet.of(kind, layers);
            RunResult r = ScanIo.cancellable(cancel -> m.session(taps, HookSet.NONE).run(RunRequest.tokens(tokens.ids()), cancel));
            int block = pool > 0 ? Math.max(1, (tokens.size() + pool - 1) / pool) : 1;
            if (format.equals("npy")) {
                target.writeFile(stream -> writeNpy(stream, layers.stream().map(l -> r.tap(kind, l)).toList()));
                FloatTensor first = r.tap(kind, layers.getFirst());
                err.println("wrote " + file + " (float32 [" + layers.size() + " layers " + layers + ", heads, " + first.dim(2) + ", "
                        + first.dim(3) + "]" + (pool > 0 ? ", max over blocks of " + block + " x " + block + " tokens" : "") + ", "
                        + m.device().provider() + ")");
                return ExitCode.OK.code();
            }
            target.writeFile(stream -> {
                try (JsonGenerator g = ReportWriter.JSON.getFactory().createGenerator(stream, JsonEncoding.UTF8)) {
                    // shortest round-trip float text by the Schubfach writer, streamed row by row
                    g.enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER.mappedFeature());
                    g.writeStartObject();
                    g.writeArrayFieldStart("tokens");
                    for (String s : tokens.strings()) {
                        g.writeString(s);
                    }
                    g.writeEndArray();
                    g.writeArrayFieldStart("ids");
                    for (long id : tokens.ids()) {
                        g.writeNumber(id);
                    }
                    g.writeEndArray();
                    if (pool > 0) {
                        // cell [i][j] is the largest probability of queries i*block.. and keys j*block.. (each < block more)
                        g.writeNumberField("pool_block", block);
                    }
                    g.writeArrayFieldStart("layers");
                    for (int l : layers) {
                        FloatTensor p = r.tap(kind, l);
                        g.writeStartObject();
                        g.writeNumberField("layer", l);
                        g.writeArrayFieldStart(pool > 0 ? "pooled_max" : "probs");
                        for (int h = 0; h < p.dim(1); h++) {
                            g.writeStartArray();
                            for (int q = 0; q < p.dim(2); q++) {
                                g.writeStartArray();
                                int base = p.offset(0, h, q, 0);
                                for (int k = 0; k < p.dim(3); k++) {
                                    g.writeNumber(p.data()[base + k]);
                                }
                                g.writeEndArray();
                            }
                            g.writeEndArray();
                        }
                        g.writeEndArray();
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                    g.writeStringField("device", m.device().provider());
                    g.writeEndObject();
                }
            });
            err.println("wrote " + file + " (" + tokens.size() + " tokens, " + layers.size() + " layers, " + m.device().provider() + ")");
            return ExitCode.OK.code();
        }
    }

    /** NumPy .npy (format 1.0): little-endian float32, C order, shape [layers, heads, queries, keys]. */
    static void writeNpy(java.io.OutputStream out, List<FloatTensor> layers) throws java.io.IOException {
        FloatTensor first = layers.get(0);
        int h = first.dim(1);
        int q = first.dim(2);
        int k = first.dim(3);
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + layers.size() + ", " + h + ", " + q + ", " + k + "), }";
        int unpadded = 10 + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        StringBuilder header = new StringBuilder(dict);
        while (10 + header.length() + 1 < total) {
            header.append(' ');
        }
        header.append('\n');
        java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(10).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        head.put((byte) 0x93).put("NUMPY".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                .putShort((short) header.length());
        out.write(head.array());
        out.write(header.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (FloatTensor p : layers) {
            if (p.dim(1) != h || p.dim(2) != q || p.dim(3) != k) {
                throw new IllegalStateException("layers have different attention shapes");
            }
            float[] d = p.data();
            int n = h * q * k;
            for (int i = 0; i < n; i++) {
                if (!buf.hasRemaining()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putFloat(d[i]);
            }
        }
        out.write(buf.array(), 0, buf.position());
    }
}
