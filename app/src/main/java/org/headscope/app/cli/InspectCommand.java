package org.headscope.app.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.AttentionSite;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.ModelInput;

import java.io.PrintStream;

/** Prints what HeadScope found in a model, as JSON. */
public final class InspectCommand implements Command {
    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String usage() {
        return "inspect MODEL [--device auto|cuda|cpu]";
    }

    @Override
    public String summary() {
        return "print the model's inputs, attention sites (layers, heads, kv heads, head dim) and the device, as JSON";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        try (HookedModel m = ModelArgs.open(args)) {
            args.rejectUnknown();
            ObjectNode root = ReportWriter.JSON.createObjectNode();
            root.put("model", m.model().path().toString());
            root.put("producer", m.model().producer());
            root.put("opset", m.model().opset());
            root.put("sha256", m.model().sha256());
            ArrayNode inputs = root.putArray("inputs");
            for (ModelInput in : m.inputs()) {
                inputs.addObject().put("name", in.name()).put("role", in.role().name().toLowerCase(java.util.Locale.ROOT));
            }
            ArrayNode sites = root.putArray("sites");
            for (AttentionSite s : m.sites()) {
                ObjectNode site = sites.addObject().put("layer", s.layer()).put("queryHeads", s.queryHeads()).put("kvHeads", s.kvHeads())
                        .put("headDim", s.headDim()).put("found", s.origin());
                if (s.layout().flatScores() || s.layout().flatProbs() || s.layout().flatOutput()) {
                    site.put("layout", "heads folded into the batch axis ([B*H, T, K]); viewed as [B, H, T, K]");
                }
            }
            ArrayNode rewrites = root.putArray("rewrites");
            m.rewrites().forEach(rewrites::add);
            ArrayNode warnings = root.putArray("warnings");
            m.warnings().forEach(warnings::add);
            root.put("device", m.device().provider());
            root.put("deviceReason", m.device().reason());
            root.put("tokenizer", m.tokenizerFile().map(f -> f.getFileName().toString()).orElse(null));
            root.put("causal", m.isCausal());
            out.println(ReportWriter.JSON.writeValueAsString(root));
            return ExitCode.OK.code();
        }
    }
}
