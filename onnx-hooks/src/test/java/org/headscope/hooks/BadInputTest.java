package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each kind of bad model gets its own message naming the problem and the fix. */
class BadInputTest {
    private static final Path GPT2 = Path.of("src/test/fixtures/gpt2/model.onnx");

    @TempDir
    Path dir;

    private ModelException refused(Path model) {
        return assertThrows(ModelException.class, () -> {
            try (HookedModel m = HookedModel.open(model, DevicePreference.CPU)) {
                m.sites();
            }
        });
    }

    @Test
    void truncatedFileIsCalledTruncated() throws IOException {
        byte[] full = Files.readAllBytes(GPT2);
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, java.util.Arrays.copyOf(full, full.length / 2));
        ModelException e = refused(cut);
        assertTrue(e.problem().contains("truncated or corrupt"), e.getMessage());
        assertTrue(e.fix().contains("Re-export"), e.getMessage());
    }

    @Test
    void randomBytesAreNotAModel() throws IOException {
        byte[] noise = new byte[4096];
        new Random(3).nextBytes(noise);
        Path f = dir.resolve("noise.onnx");
        Files.write(f, noise);
        ModelException e = refused(f);
        assertTrue(e.problem().contains("truncated or corrupt") || e.problem().contains("is not an ONNX model"), e.getMessage());
    }

    @Test
    void graphWithoutAttentionSaysSo() throws IOException {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("mlp")
                .addInput(input("input_ids", OnnxMl.TensorProto.DataType.INT64))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Cast").setName("cast").addInput("input_ids").addOutput("x")
                        .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("to").setType(OnnxMl.AttributeProto.AttributeType.INT)
                                .setI(OnnxMl.TensorProto.DataType.FLOAT.getNumber())))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("x").addOutput("y"))
                .addOutput(input("y", OnnxMl.TensorProto.DataType.FLOAT)).build();
        ModelException e = refused(save(g, "mlp.onnx"));
        assertTrue(e.problem().startsWith("No attention found"), e.getMessage());
    }

    @Test
    void fusedAttentionNamesTheNodeAndHowToReexport() throws IOException {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("fused")
                .addInput(input("hidden", OnnxMl.TensorProto.DataType.FLOAT))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Attention").setDomain("com.microsoft")
                        .setName("/layers.0/attn/Attention").addInput("hidden").addOutput("out"))
                .addOutput(input("out", OnnxMl.TensorProto.DataType.FLOAT)).build();
        ModelException e = refused(save(g, "fused.onnx"));
        assertTrue(e.problem().contains("'/layers.0/attn/Attention' (com.microsoft.Attention)"), e.getMessage());
        assertTrue(e.fix().contains("eager"), e.getMessage());
    }

    @Test
    void attentionInsideAnIfOnAnythingButTheCacheSwitchIsRefused() throws IOException {
        OnnxMl.GraphProto branch = OnnxMl.GraphProto.newBuilder().setName("branch")
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Softmax").setName("sm").addInput("hidden").addOutput("p"))
                .addOutput(input("p", OnnxMl.TensorProto.DataType.FLOAT)).build();
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("merged")
                .addInput(input("hidden", OnnxMl.TensorProto.DataType.FLOAT))
                .addInput(input("route_flag", OnnxMl.TensorProto.DataType.BOOL))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("If").setName("optimum::if").addInput("route_flag").addOutput("p")
                        .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("then_branch").setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(branch))
                        .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("else_branch").setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(branch)))
                .addOutput(input("p", OnnxMl.TensorProto.DataType.FLOAT)).build();
        ModelException e = refused(save(g, "merged.onnx"));
        assertTrue(e.problem().contains("'optimum::if' (If)") && e.problem().contains("subgraph")
                && e.problem().contains("route_flag"), e.getMessage());
    }

    @Test
    void externalDataThatEscapesTheFolderIsRefused() throws IOException {
        OnnxMl.ModelProto gpt2 = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(GPT2));
        OnnxMl.GraphProto.Builder g = gpt2.getGraph().toBuilder();
        OnnxMl.TensorProto t = g.getInitializer(0);
        g.setInitializer(0, t.toBuilder().clearRawData().setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue("../../etc/passwd")).build());
        Path f = dir.resolve("escape.onnx");
        Files.write(f, gpt2.toBuilder().setGraph(g).build().toByteArray());
        ModelException e = refused(f);
        assertTrue(e.problem().contains("outside the model's folder"), e.getMessage());
    }

    @Test
    void externalDataBesideTheModelLoadsWithoutInliningAndRunsTheSame() throws IOException {
        OnnxMl.ModelProto gpt2 = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(GPT2));
        OnnxMl.GraphProto.Builder g = gpt2.getGraph().toBuilder();
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            OnnxMl.TensorProto t = g.getInitializer(i);
            ByteString raw = t.getRawData();
            if (raw.size() < 256) {
                continue;
            }
            long offset = data.size();
            raw.writeTo(data);
            g.setInitializer(i, t.toBuilder().clearRawData().setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", "model.onnx.data"))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Integer.toString(raw.size()))).build());
        }
        Path folder = Files.createDirectories(dir.resolve("ext"));
        Files.write(folder.resolve("model.onnx.data"), data.toByteArray());
        Files.write(folder.resolve("model.onnx"), gpt2.toBuilder().setGraph(g).build().toByteArray());
        long[] ids = {5, 9, 2, 41, 7};
        try (HookedModel ext = HookedModel.open(folder.resolve("model.onnx"), DevicePreference.CPU);
             HookedModel inline = HookedModel.open(GPT2, DevicePreference.CPU)) {
            assertEquals(folder, ext.model().weightsFolder(), "weights are read from the model's own folder");
            assertTrue(ext.model().skeleton().getSerializedSize() <= Files.size(folder.resolve("model.onnx")),
                    "the parsed graph holds no external weights");
            assertTrue(inline.model().skeleton().getSerializedSize() < Files.size(GPT2) - data.size() + 4096,
                    "inline weights were moved out of the parsed graph");
            TapSet taps = TapSet.of(TapKind.PROBS, java.util.List.of(1));
            RunResult a = ext.session(taps, HookSet.ALL).run(RunRequest.tokens(ids).withIntervention(Intervention.builder().zeroHead(0, 1).build()));
            RunResult b = inline.session(taps, HookSet.ALL).run(RunRequest.tokens(ids).withIntervention(Intervention.builder().zeroHead(0, 1).build()));
            assertEquals(b.output("logits"), a.output("logits"));
            assertEquals(b.tap(TapKind.PROBS, 1), a.tap(TapKind.PROBS, 1));
        }
    }

    @Test
    void missingTokenizerTellsWhereToPutIt() {
        try (HookedModel m = HookedModel.open(GPT2, DevicePreference.CPU)) {
            ModelException e = assertThrows(ModelException.class, m::requireTokenizer);
            assertTrue(e.fix().contains("tokenizer.json"), e.getMessage());
        }
    }

    @Test
    void cpuIsChosenWithAReasonWhenCudaIsAbsent() {
        try (HookedModel m = HookedModel.open(GPT2, DevicePreference.AUTO)) {
            DeviceInfo d = m.device();
            if (!d.isCuda()) {
                assertEquals("CPU", d.provider());
                assertTrue(d.reason().contains("CUDA") || d.reason().contains("cuda"), d.reason());
            }
        }
    }

    private static OnnxMl.StringStringEntryProto entry(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static OnnxMl.ValueInfoProto input(String name, OnnxMl.TensorProto.DataType type) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber()))).build();
    }

    private Path save(OnnxMl.GraphProto g, String name) throws IOException {
        OnnxMl.ModelProto m = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(14))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .setGraph(g).build();
        Path f = dir.resolve(name);
        Files.write(f, m.toByteArray());
        return f;
    }
}
