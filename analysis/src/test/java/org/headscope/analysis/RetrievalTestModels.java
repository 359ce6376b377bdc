package org.headscope.analysis;

import ai.onnx.proto.OnnxMl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A one-layer attention-only decoder with known weights, built in the test. The residual stream holds three blocks of
 * the vocabulary size: the current token (one-hot), the previous token (one-hot, shifted in the graph) and an output
 * block the unembedding reads. Head 0 is the planted copy head: its query is the current token, its key the token
 * before each key, so it attends to the token that followed an earlier copy of the current token, and it writes that
 * token into the output block (gain 10). Head 1 attends to copies of the current token itself (echo) and head 2
 * attends uniformly; both write with gain 1. With the prompt "... the magic word is quartz . ... the magic word is",
 * only head 0 attends to "quartz" and the model answers "quartz".
 */
final class RetrievalTestModels {
    static final List<String> WORDS = List.of("<pad>", "<bos>", "<eos>", "<unk>", ".", "the", "magic", "word", "is", "quartz",
            "secret", "code", "pepper", "red", "fox", "runs", "far", "blue", "bird", "sings", "loud", "green", "frog", "jumps",
            "high", "old", "cat", "sleeps");
    static final String HAYSTACK = "red fox runs far . blue bird sings loud . green frog jumps high . old cat sleeps . "
            + "blue fox sings far . old frog runs high . red cat jumps loud .";
    static final List<Needle> NEEDLES = List.of(
            new Needle("the magic word is quartz .", "the magic word is", "quartz"),
            new Needle("the secret code is pepper .", "the secret code is", "pepper"));
    static final int COPY_HEAD = 0;
    static final int ECHO_HEAD = 1;
    static final int HEADS = 3;
    private static final float SHARPNESS = 20f;

    private RetrievalTestModels() {
    }

    /** Writes model.onnx, tokenizer.json and headscope.json into the folder and returns it. */
    static Path plantedCopyModel(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.onnx"), graph().toByteArray());
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
        Files.writeString(dir.resolve("headscope.json"), """
                {"format": "headscope-manifest/1", "name": "planted-copy", "kind": "decoder", "architecture": "test",
                 "model": "model.onnx", "tokenizer": "tokenizer.json",
                 "inputs": {"input_ids": "input_ids"}, "outputs": {"logits": "logits"},
                 "bos": 1, "eos": 2, "pad": 0, "maxLength": 256,
                 "retrieval": {"template": "{haystack} {question}", "sentenceEnd": "."}}
                """);
        return dir;
    }

    private static String tokenizerJson() {
        StringBuilder vocab = new StringBuilder();
        StringBuilder added = new StringBuilder();
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.append(i == 0 ? "" : ", ").append('"').append(WORDS.get(i)).append("\": ").append(i);
            if (i < 4) {
                added.append(i == 0 ? "" : ", ").append("{\"id\": ").append(i).append(", \"content\": \"").append(WORDS.get(i))
                        .append("\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}");
            }
        }
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [" + added + "], "
                + "\"normalizer\": {\"type\": \"Lowercase\"}, \"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"post_processor\": null, "
                + "\"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": false}, "
                + "\"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "}, \"unk_token\": \"<unk>\"}}";
    }

    private static OnnxMl.ModelProto graph() {
        int v = WORDS.size();
        int d = 3 * v;
        float[] wq = new float[d * HEADS * v];
        float[] wk = new float[d * HEADS * v];
        float[] wv = new float[d * HEADS * v];
        float[] wo = new float[HEADS * v * d];
        float[] u = new float[d * v];
        for (int i = 0; i < v; i++) {
            wq[i * HEADS * v + COPY_HEAD * v + i] = SHARPNESS;
            wk[(v + i) * HEADS * v + COPY_HEAD * v + i] = 1;
            wq[i * HEADS * v + ECHO_HEAD * v + i] = SHARPNESS;
            wk[i * HEADS * v + ECHO_HEAD * v + i] = 1;
            for (int h = 0; h < HEADS; h++) {
                wv[i * HEADS * v + h * v + i] = 1;
                wo[(h * v + i) * d + 2 * v + i] = h == COPY_HEAD ? 10 : 1;
            }
            u[(2 * v + i) * v + i] = 1;
        }
        float[] embed = new float[v * v];
        for (int i = 0; i < v; i++) {
            embed[i * v + i] = 1;
        }
        List<OnnxMl.TensorProto> inits = new ArrayList<>(List.of(
                floats("embed", embed, v, v), floats("wq", wq, d, HEADS * v), floats("wk", wk, d, HEADS * v),
                floats("wv", wv, d, HEADS * v), floats("wo", wo, HEADS * v, d), floats("unembed", u, d, v),
                floats("zero", new float[]{0}), floats("one", new float[]{1}), floats("big", new float[]{1e9f}),
                longs("heads_shape", 0, 0, HEADS, v), longs("merge_shape", 0, 0, HEADS * v),
                longs("s0", 0), longs("s1", 1), longs("s2", 2), longs("sm1", -1), longs("ax1", 1), longs("pads", 0, 1, 0, 0, 0, 0)));
        List<OnnxMl.NodeProto> nodes = new ArrayList<>();
        nodes.add(node("Gather", List.of("embed", "input_ids"), "cur", Map.of()));
        nodes.add(node("Slice", List.of("cur", "s0", "sm1", "ax1"), "cur_head", Map.of()));
        nodes.add(node("Pad", List.of("cur_head", "pads"), "prev", Map.of()));
        nodes.add(node("Mul", List.of("cur", "zero"), "out_block", Map.of()));
        nodes.add(node("Concat", List.of("cur", "prev", "out_block"), "resid", Map.of("axis", 2L)));
        nodes.add(node("MatMul", List.of("resid", "wq"), "q_flat", Map.of()));
        nodes.add(node("Reshape", List.of("q_flat", "heads_shape"), "q_split", Map.of()));
        nodes.add(transpose("q_split", "q", 0, 2, 1, 3));
        nodes.add(node("MatMul", List.of("resid", "wk"), "k_flat", Map.of()));
        nodes.add(node("Reshape", List.of("k_flat", "heads_shape"), "k_split", Map.of()));
        nodes.add(transpose("k_split", "k_t", 0, 2, 3, 1));
        nodes.add(node("MatMul", List.of("resid", "wv"), "v_flat", Map.of()));
        nodes.add(node("Reshape", List.of("v_flat", "heads_shape"), "v_split", Map.of()));
        nodes.add(transpose("v_split", "v", 0, 2, 1, 3));
        nodes.add(node("MatMul", List.of("q", "k_t"), "scores", Map.of()));
        nodes.add(node("Div", List.of("scores", "one"), "scaled", Map.of()));
        nodes.add(node("Shape", List.of("input_ids"), "ids_shape", Map.of()));
        nodes.add(node("Slice", List.of("ids_shape", "s1", "s2"), "t_vec", Map.of()));
        nodes.add(node("Concat", List.of("t_vec", "t_vec"), "tt", Map.of("axis", 0L)));
        nodes.add(OnnxMl.NodeProto.newBuilder().setOpType("ConstantOfShape").addInput("tt").addOutput("ones")
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                        .setT(floats("fill", new float[]{1}, 1))).build());
        nodes.add(node("Trilu", List.of("ones"), "lower", Map.of("upper", 0L)));
        nodes.add(node("Sub", List.of("lower", "one"), "lower_minus_one", Map.of()));
        nodes.add(node("Mul", List.of("lower_minus_one", "big"), "mask", Map.of()));
        nodes.add(node("Add", List.of("scaled", "mask"), "masked", Map.of()));
        nodes.add(node("Softmax", List.of("masked"), "probs", Map.of("axis", -1L)));
        nodes.add(node("MatMul", List.of("probs", "v"), "z", Map.of()));
        nodes.add(transpose("z", "z_t", 0, 2, 1, 3));
        nodes.add(node("Reshape", List.of("z_t", "merge_shape"), "z_merged", Map.of()));
        nodes.add(node("MatMul", List.of("z_merged", "wo"), "attn_out", Map.of()));
        nodes.add(node("Add", List.of("attn_out", "resid"), "resid_out", Map.of()));
        nodes.add(node("MatMul", List.of("resid_out", "unembed"), "logits", Map.of()));
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("planted_copy").addAllNode(nodes).addAllInitializer(inits)
                .addInput(valueInfo("input_ids", OnnxMl.TensorProto.DataType.INT64, "batch", "seq"))
                .addOutput(valueInfo("logits", OnnxMl.TensorProto.DataType.FLOAT, "batch", "seq", String.valueOf(v))).build();
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("RetrievalTestModels")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }

    private static OnnxMl.NodeProto transpose(String in, String out, long... perm) {
        return OnnxMl.NodeProto.newBuilder().setOpType("Transpose").addInput(in).addOutput(out).setName(out)
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("perm").setType(OnnxMl.AttributeProto.AttributeType.INTS)
                        .addAllInts(java.util.Arrays.stream(perm).boxed().toList())).build();
    }

    private static OnnxMl.NodeProto node(String op, List<String> in, String out, Map<String, Long> ints) {
        OnnxMl.NodeProto.Builder b = OnnxMl.NodeProto.newBuilder().setOpType(op).addAllInput(in).addOutput(out).setName(out);
        new LinkedHashMap<>(ints).forEach((k, val) -> b.addAttribute(OnnxMl.AttributeProto.newBuilder().setName(k)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(val)));
        return b.build();
    }

    private static OnnxMl.TensorProto floats(String name, float[] data, long... dims) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber());
        for (long dim : dims) {
            t.addDims(dim);
        }
        for (float f : data) {
            t.addFloatData(f);
        }
        return t.build();
    }

    private static OnnxMl.TensorProto longs(String name, long... data) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber()).addDims(data.length);
        for (long x : data) {
            t.addInt64Data(x);
        }
        return t.build();
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, OnnxMl.TensorProto.DataType type, String... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (String d : dims) {
            OnnxMl.TensorShapeProto.Dimension.Builder dim = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d.chars().allMatch(Character::isDigit)) {
                dim.setDimValue(Long.parseLong(d));
            } else {
                dim.setDimParam(d);
            }
            shape.addDim(dim);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }
}
