package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An Optimum-style merged decoder (the model twice, in the branches of an {@code If} on {@code use_cache_branch})
 * built from the GPT-2 fixture: the cached branch is marked by doubling its logits, so reading torch's numbers
 * proves the no-cache branch was the one inlined, and attention that lived only inside a subgraph is found.
 */
class MergedDecoderTest {
    private static final Path FIXTURE = Path.of("src/test/fixtures/gpt2");

    @Test
    void opensTheNoCacheBranchOfAMergedDecoder(@TempDir Path dir) throws IOException {
        OnnxMl.ModelProto plain = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(FIXTURE.resolve("model.onnx")));
        OnnxMl.GraphProto g = plain.getGraph();
        Set<String> outer = new HashSet<>();
        g.getInputList().forEach(v -> outer.add(v.getName()));
        g.getInitializerList().forEach(t -> outer.add(t.getName()));
        String logits = g.getOutput(0).getName();

        OnnxMl.GraphProto noCache = branch(g, "nc/", outer, false);
        OnnxMl.GraphProto cached = branch(g, "c/", outer, true);
        OnnxMl.NodeProto ifNode = OnnxMl.NodeProto.newBuilder().setOpType("If").setName("optimum::if")
                .addInput("use_cache_branch").addOutput(logits)
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("then_branch").setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(cached))
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("else_branch").setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(noCache))
                .build();
        OnnxMl.ValueInfoProto flag = OnnxMl.ValueInfoProto.newBuilder().setName("use_cache_branch").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.BOOL.getNumber())
                        .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))))).build();
        OnnxMl.GraphProto merged = g.toBuilder().clearNode().addNode(ifNode).addInput(flag).build();
        Path file = dir.resolve("decoder_model_merged.onnx");
        Files.write(file, plain.toBuilder().setGraph(merged).build().toByteArray());

        JsonNode expected = new ObjectMapper().readTree(FIXTURE.resolve("expected.json").toFile());
        RunRequest request = FixtureTest.request(expected.get("inputs"));
        try (HookedModel model = HookedModel.open(file, DevicePreference.CPU)) {
            assertEquals(2, model.sites().size());
            assertTrue(model.inputs().stream().noneMatch(i -> i.role() == InputRole.USE_CACHE), "the switch input is gone");
            assertEquals(1, model.rewrites().size(), model.rewrites().toString());
            assertTrue(model.sites().get(0).origin().contains("inlined If"), model.sites().get(0).origin());
            List<Integer> layers = List.of(0, 1);
            RunResult r = model.session(TapSet.of(TapKind.PROBS, layers), HookSet.NONE).run(request);
            for (int l : layers) {
                FixtureTest.assertClose(expected.get("clean").get("probs").get(l), r.tap(TapKind.PROBS, l), "probs L" + l);
            }
            FixtureTest.assertClose(expected.get("clean").get("output"), r.output(logits), "logits");
            FixtureTest.assertClose(expected.get("clean").get("output"), model.plain().run(request).output(logits), "plain logits");
        }
    }

    /** The graph's nodes as a branch: inner tensors renamed under {@code prefix}, outer ones read from the parent. */
    private static OnnxMl.GraphProto branch(OnnxMl.GraphProto g, String prefix, Set<String> outer, boolean doubled) {
        OnnxMl.GraphProto.Builder b = OnnxMl.GraphProto.newBuilder().setName(prefix + "branch");
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            OnnxMl.NodeProto.Builder c = n.toBuilder().setName(prefix + n.getName());
            for (int i = 0; i < c.getInputCount(); i++) {
                if (!c.getInput(i).isEmpty() && !outer.contains(c.getInput(i))) {
                    c.setInput(i, prefix + c.getInput(i));
                }
            }
            for (int i = 0; i < c.getOutputCount(); i++) {
                c.setOutput(i, prefix + c.getOutput(i));
            }
            b.addNode(c);
        }
        String out = prefix + g.getOutput(0).getName();
        if (doubled) {
            b.addInitializer(OnnxMl.TensorProto.newBuilder().setName(prefix + "two").setDataType(1).addFloatData(2f));
            b.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Mul").addInput(out).addInput(prefix + "two").addOutput(out + "_x2"));
            out = out + "_x2";
        }
        b.addOutput(g.getOutput(0).toBuilder().setName(out));
        return b.build();
    }
}
