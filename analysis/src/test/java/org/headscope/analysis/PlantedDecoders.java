package org.headscope.analysis;

import static org.headscope.analysis.PlantedModels.floats;

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
final class PlantedDecoders {
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

    private PlantedDecoders() {
    }

    /** Writes model.onnx, tokenizer.json and headscope.json into the folder and returns it. */
    static Path plantedCopyModel(Path dir) throws IOException {
        return plantedCopyModel(dir, "logits");
    }

    /** The planted copy model with its logits output named {@code logits} in the graph and the manifest's "outputs". */
    static Path plantedCopyModel(Path dir, String logits) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.onnx"), graph(logits).toByteArray());
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
        Files.writeString(dir.resolve("headscope.json"), """
                {"format": "headscope-manifest/1", "name": "planted-copy", "kind": "decoder", "architecture": "test",
                 "model": "model.onnx", "tokenizer": "tokenizer.json",
                 "inputs": {"input_ids": "input_ids"}, "outputs": {"logits": "%s"},
                 "bos": 1, "eos": 2, "pad": 0, "maxLength": 256,
                 "retrieval": {"template": "{haystack} {question}", "sentenceEnd": "."}}
                """.formatted(logits));
        return dir;
    }

    /** Layout of the planted vision-language decoder's residual stream: bias, is-image, is-text, then content. */
    static final int CONTENT = 4;
    static final int VISION_HEAD = 0;

    /**
     * A split vision-language model (vision encoder, token embedding, two-layer decoder fed embeddings, both layers
     * alike) whose head 0 attends only to image tokens (its key reads the is-image feature) and heads 1..3 only to text tokens (is-text).
     * Each head averages the content of what it attends to. Image token n carries the normalised RGB of pixel n of a
     * 2x2 image, text token i carries the unit vector {@code e_(i mod 4)}; so layer 0's VHD is known by hand: head 0 moves
     * from the mean text content to the mean pixel colour, heads 1..3 do not move.
     */
    static Path plantedVisionModel(Path dir) throws IOException {
        Files.createDirectories(dir);
        int d = 3 + CONTENT;
        int v = WORDS.size();
        float[] embed = new float[v * d];
        for (int i = 0; i < v; i++) {
            embed[i * d] = 1;
            embed[i * d + 2] = 1;
            embed[i * d + 3 + i % CONTENT] = 1;
        }
        Graph e = new Graph();
        e.inits.add(floats("embed", embed, v, d));
        e.nodes.add(node("Gather", List.of("embed", "input_ids"), "embeds", Map.of()));
        Files.write(dir.resolve("embed.onnx"), e.model("planted_embed", PlantedModels.valueInfo("input_ids", OnnxMl.TensorProto.DataType.INT64, "batch", "seq"),
                PlantedModels.valueInfo("embeds", OnnxMl.TensorProto.DataType.FLOAT, "batch", "seq", String.valueOf(d))).toByteArray());
        float[] wImg = new float[3 * d];
        for (int c = 0; c < 3; c++) {
            wImg[c * d + 3 + c] = 1;
        }
        float[] bImg = new float[d];
        bImg[0] = 1;
        bImg[1] = 1;
        Graph vis = new Graph();
        vis.inits.addAll(List.of(longs("flat", 1, 3, 4), floats("w_img", wImg, 3, d), floats("b_img", bImg, d)));
        vis.nodes.add(node("Reshape", List.of("pixel_values", "flat"), "pix_flat", Map.of()));
        vis.nodes.add(transpose("pix_flat", "pix_tokens", 0, 2, 1));
        vis.nodes.add(node("MatMul", List.of("pix_tokens", "w_img"), "img_proj", Map.of()));
        vis.nodes.add(node("Add", List.of("img_proj", "b_img"), "image_embeds", Map.of()));
        Files.write(dir.resolve("vision.onnx"), vis.model("planted_vision",
                PlantedModels.valueInfo("pixel_values", OnnxMl.TensorProto.DataType.FLOAT, "1", "3", "2", "2"),
                PlantedModels.valueInfo("image_embeds", OnnxMl.TensorProto.DataType.FLOAT, "1", "4", String.valueOf(d))).toByteArray());
        int heads = 4;
        int dh = CONTENT;
        float[] wq = new float[d * heads * dh];
        float[] wk = new float[d * heads * dh];
        float[] wv = new float[d * heads * dh];
        float[] wo = new float[heads * dh * d];
        for (int h = 0; h < heads; h++) {
            wq[h * dh] = SHARPNESS;
            wk[(h == VISION_HEAD ? 1 : 2) * heads * dh + h * dh] = 1;
            for (int c = 0; c < CONTENT; c++) {
                wv[(3 + c) * heads * dh + h * dh + c] = 1;
                wo[(h * dh + c) * d + 3 + c] = 1;
            }
        }
        float[] u = new float[d * v];
        for (int c = 0; c < CONTENT; c++) {
            for (int t = 4; t < v; t++) {
                u[(3 + c) * v + t] = t % CONTENT == c ? 1 + t / 100f : 0;
            }
        }
        Graph dec = new Graph();
        dec.attention("l0_", "inputs_embeds", "inputs_embeds", heads, dh, d, wq, wk, wv, wo);
        dec.attention("l1_", "l0_resid_out", "inputs_embeds", heads, dh, d, wq, wk, wv, wo);
        dec.inits.add(floats("unembed", u, d, v));
        dec.nodes.add(node("MatMul", List.of("l1_resid_out", "unembed"), "logits", Map.of()));
        Files.write(dir.resolve("decoder.onnx"), dec.model("planted_vlm",
                PlantedModels.valueInfo("inputs_embeds", OnnxMl.TensorProto.DataType.FLOAT, "batch", "seq", String.valueOf(d)),
                PlantedModels.valueInfo("logits", OnnxMl.TensorProto.DataType.FLOAT, "batch", "seq", String.valueOf(v))).toByteArray());
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
        Files.writeString(dir.resolve("headscope.json"), """
                {"format": "headscope-manifest/1", "name": "planted-vlm", "kind": "decoder", "architecture": "test",
                 "model": "decoder.onnx", "tokenizer": "tokenizer.json",
                 "inputs": {"inputs_embeds": "inputs_embeds"}, "outputs": {"logits": "logits"},
                 "bos": 1, "eos": 2, "pad": 0, "maxLength": 64,
                 "vision": {"model": "vision.onnx", "pixelInput": "pixel_values", "output": "image_embeds",
                            "embed": "embed.onnx", "embedInput": "input_ids", "embedOutput": "embeds",
                            "imageSize": 2, "mean": [0, 0, 0], "std": [1, 1, 1], "imageStart": 1, "imageTokens": 4,
                            "grid": [2, 2]}}
                """);
        return dir;
    }

    static String tokenizerJson() {
        return tokenizerJson(WORDS.size());
    }

    /** The word-level tokenizer of {@link #WORDS}, padded with words w28, w29, ... to {@code size} entries. */
    static String tokenizerJson(int size) {
        StringBuilder vocab = new StringBuilder();
        StringBuilder added = new StringBuilder();
        for (int i = 0; i < size; i++) {
            vocab.append(i == 0 ? "" : ", ").append('"').append(i < WORDS.size() ? WORDS.get(i) : "w" + i).append("\": ").append(i);
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

    private static OnnxMl.ModelProto graph(String logits) {
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
        Graph g = new Graph();
        g.inits.addAll(List.of(floats("embed", embed, v, v), floats("zero", new float[]{0}),
                longs("s0", 0), longs("sm1", -1), longs("ax1", 1), longs("pads", 0, 1, 0, 0, 0, 0)));
        g.nodes.add(node("Gather", List.of("embed", "input_ids"), "cur", Map.of()));
        g.nodes.add(node("Slice", List.of("cur", "s0", "sm1", "ax1"), "cur_head", Map.of()));
        g.nodes.add(node("Pad", List.of("cur_head", "pads"), "prev", Map.of()));
        g.nodes.add(node("Mul", List.of("cur", "zero"), "out_block", Map.of()));
        g.nodes.add(node("Concat", List.of("cur", "prev", "out_block"), "resid", Map.of("axis", 2L)));
        g.attention("", "resid", "input_ids", HEADS, v, d, wq, wk, wv, wo);
        g.inits.add(floats("unembed", u, d, v));
        g.nodes.add(node("MatMul", List.of("resid_out", "unembed"), logits, Map.of()));
        return g.model("planted_copy", PlantedModels.valueInfo("input_ids", OnnxMl.TensorProto.DataType.INT64, "batch", "seq"),
                PlantedModels.valueInfo(logits, OnnxMl.TensorProto.DataType.FLOAT, "batch", "seq", String.valueOf(v)));
    }

    /** Nodes and weights of a graph being built. */
    private static final class Graph {
        final List<OnnxMl.NodeProto> nodes = new ArrayList<>();
        final List<OnnxMl.TensorProto> inits = new ArrayList<>();

        /**
         * One causal attention block in the exporters' layout reading {@code resid} [B,T,D] and writing
         * {@code p + "resid_out"} = resid + attention output; tensor names start with {@code p}; the sequence length comes
         * from {@code lengthOf}'s axis 1.
         */
        void attention(String p, String resid, String lengthOf, int heads, int headDim, int d, float[] wq, float[] wk, float[] wv, float[] wo) {
            inits.addAll(List.of(floats(p + "wq", wq, d, heads * headDim), floats(p + "wk", wk, d, heads * headDim),
                    floats(p + "wv", wv, d, heads * headDim), floats(p + "wo", wo, heads * headDim, d), floats(p + "one", new float[]{1}),
                    floats(p + "big", new float[]{1e9f}), longs(p + "heads_shape", 0, 0, heads, headDim),
                    longs(p + "merge_shape", 0, 0, heads * headDim), longs(p + "t1", 1), longs(p + "t2", 2)));
            nodes.add(node("MatMul", List.of(resid, p + "wq"), p + "q_flat", Map.of()));
            nodes.add(node("Reshape", List.of(p + "q_flat", p + "heads_shape"), p + "q_split", Map.of()));
            nodes.add(transpose(p + "q_split", p + "q", 0, 2, 1, 3));
            nodes.add(node("MatMul", List.of(resid, p + "wk"), p + "k_flat", Map.of()));
            nodes.add(node("Reshape", List.of(p + "k_flat", p + "heads_shape"), p + "k_split", Map.of()));
            nodes.add(transpose(p + "k_split", p + "k_t", 0, 2, 3, 1));
            nodes.add(node("MatMul", List.of(resid, p + "wv"), p + "v_flat", Map.of()));
            nodes.add(node("Reshape", List.of(p + "v_flat", p + "heads_shape"), p + "v_split", Map.of()));
            nodes.add(transpose(p + "v_split", p + "v", 0, 2, 1, 3));
            nodes.add(node("MatMul", List.of(p + "q", p + "k_t"), p + "scores", Map.of()));
            nodes.add(node("Div", List.of(p + "scores", p + "one"), p + "scaled", Map.of()));
            nodes.add(node("Shape", List.of(lengthOf), p + "in_shape", Map.of()));
            nodes.add(node("Slice", List.of(p + "in_shape", p + "t1", p + "t2"), p + "t_vec", Map.of()));
            nodes.add(node("Concat", List.of(p + "t_vec", p + "t_vec"), p + "tt", Map.of("axis", 0L)));
            nodes.add(OnnxMl.NodeProto.newBuilder().setOpType("ConstantOfShape").addInput(p + "tt").addOutput(p + "ones")
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                            .setT(floats(p + "fill", new float[]{1}, 1))).build());
            nodes.add(node("Trilu", List.of(p + "ones"), p + "lower", Map.of("upper", 0L)));
            nodes.add(node("Sub", List.of(p + "lower", p + "one"), p + "lower_minus_one", Map.of()));
            nodes.add(node("Mul", List.of(p + "lower_minus_one", p + "big"), p + "mask", Map.of()));
            nodes.add(node("Add", List.of(p + "scaled", p + "mask"), p + "masked", Map.of()));
            nodes.add(node("Softmax", List.of(p + "masked"), p + "probs", Map.of("axis", -1L)));
            nodes.add(node("MatMul", List.of(p + "probs", p + "v"), p + "z", Map.of()));
            nodes.add(transpose(p + "z", p + "z_t", 0, 2, 1, 3));
            nodes.add(node("Reshape", List.of(p + "z_t", p + "merge_shape"), p + "z_merged", Map.of()));
            nodes.add(node("MatMul", List.of(p + "z_merged", p + "wo"), p + "attn_out", Map.of()));
            nodes.add(node("Add", List.of(p + "attn_out", resid), p + "resid_out", Map.of()));
        }

        OnnxMl.ModelProto model(String name, OnnxMl.ValueInfoProto input, OnnxMl.ValueInfoProto output) {
            OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName(name).addAllNode(nodes).addAllInitializer(inits)
                    .addInput(input).addOutput(output).build();
            return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("PlantedDecoders")
                    .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
        }
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

    private static OnnxMl.TensorProto longs(String name, long... data) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.INT64.getNumber()).addDims(data.length);
        for (long x : data) {
            t.addInt64Data(x);
        }
        return t.build();
    }
}
