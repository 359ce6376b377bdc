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
final class AttentionCommand implements Command {
    @Override
    public String name() {
        return "attention";
    }

    @Override
    public String usage() {
        return "attention MODEL (--text TEXT | --ids 1,2,3) [--layers 0,3] --out FILE [--device auto|cuda|cpu]";
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
            args.rejectUnknown();
            for (int l : layers) {
                if (l < 0 || l >= m.layers()) {
                    throw new UsageException("layer " + l + " does not exist; the model has layers 0.." + (m.layers() - 1));
                }
            }
            RunResult r = ScanIo.cancellable(cancel -> m.session(TapSet.of(TapKind.PROBS, layers), HookSet.NONE)
                    .run(RunRequest.tokens(tokens.ids()), cancel));
            target.writeFile(stream -> {
                try (JsonGenerator g = ReportWriter.JSON.getFactory().createGenerator(stream, JsonEncoding.UTF8)) {
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
                    g.writeArrayFieldStart("layers");
                    for (int l : layers) {
                        FloatTensor p = r.tap(TapKind.PROBS, l);
                        g.writeStartObject();
                        g.writeNumberField("layer", l);
                        g.writeArrayFieldStart("probs");
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
            return Cli.OK;
        }
    }
}
