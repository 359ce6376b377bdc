package org.headscope.hooks;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each fused attention operator, run by ONNX Runtime's own kernel, gives the same outputs as its unfused rewrite;
 * the rewrite's probabilities are proper distributions with exact zeros where the op masks; and
 * {@link AttentionLocator} finds the rewrite as an ordinary attention block.
 */
class AttentionUnfuserTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final int B = 2;
    private static final int S = 5;
    private static final int H = 4;
    private static final int DH = 8;
    private static final String NODE = "attn";

    /** Which score positions [b, h, query, key] the op masks, for the probability checks. */
    private interface Masked {
        boolean at(int b, int h, int i, int j);
    }

    private static final Masked NONE = (b, h, i, j) -> false;

    // ---- ONNX Attention -------------------------------------------------------------------------------------

    @Test
    void onnxAttention3dGqaCausal() throws Exception {
        Random r = new Random(1);
        List<Feed> in = List.of(f32("Q", r, B, S, H * DH), f32("K", r, B, S, 2 * DH), f32("V", r, B, S, 2 * DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V"), List.of("Y", "present_key", "present_value"),
                attr("is_causal", 1), attr("q_num_heads", H), attr("kv_num_heads", 2));
        check(n, 23, in, DataType.FLOAT, 1e-5, causal(S, S), "4q/2kv heads, 3-D, causal");
    }

    @Test
    void onnxAttention4dPastBoolMask() throws Exception {
        Random r = new Random(2);
        int p = 3;
        int t = p + S;
        boolean[] mask = new boolean[B * S * t];
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < S; i++) {
                for (int j = 0; j < t; j++) {
                    mask[(b * S + i) * t + j] = !(j == 1 && b == 0) && !(j == 6 && i < 2);
                }
            }
        }
        List<Feed> in = List.of(f32("Q", r, B, H, S, DH), f32("K", r, B, H, S, DH), f32("V", r, B, H, S, DH),
                bool("mask", mask, B, 1, S, t), f32("past_key", r, B, H, p, DH), f32("past_value", r, B, H, p, DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V", "mask", "past_key", "past_value"),
                List.of("Y", "present_key", "present_value"));
        check(n, 23, in, DataType.FLOAT, 1e-5, (b, h, i, j) -> !mask[(b * S + i) * t + j], "4 heads, 4-D, past kv, bool mask");
    }

    @Test
    void onnxAttentionMqaPastCausalScale() throws Exception {
        Random r = new Random(3);
        int p = 4;
        List<Feed> in = List.of(f32("Q", r, B, H, S, DH), f32("K", r, B, 1, S, DH), f32("V", r, B, 1, S, DH),
                f32("past_key", r, B, 1, p, DH), f32("past_value", r, B, 1, p, DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V", "", "past_key", "past_value"),
                List.of("Y", "present_key", "present_value"), attr("is_causal", 1), attr("scale", 0.2f));
        check(n, 23, in, DataType.FLOAT, 1e-5, causal(S, p + S), "4q/1kv heads, 4-D, past kv, causal");
    }

    @Test
    void onnxAttentionSoftcapFloatMaskQkOutput() throws Exception {
        Random r = new Random(4);
        float[] mask = new float[S * S];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = i % 7 == 3 ? -Float.MAX_VALUE : (float) r.nextGaussian();
        }
        List<Feed> in = List.of(f32("Q", r, B, S, H * DH), f32("K", r, B, S, H * DH), f32("V", r, B, S, H * DH),
                f32("mask", mask, S, S));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V", "mask"), List.of("Y", "", "", "qk"),
                attr("q_num_heads", H), attr("kv_num_heads", H), attr("softcap", 2.5f));
        check(n, 23, in, DataType.FLOAT, 1e-5, (b, h, i, j) -> (i * S + j) % 7 == 3, "float mask, softcap");
    }

    @Test
    void onnxAttentionFloat16Causal() throws Exception {
        Random r = new Random(5);
        List<Feed> in = List.of(f16("Q", r, B, H, S, DH), f16("K", r, B, 2, S, DH), f16("V", r, B, 2, S, DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V"), List.of("Y", "present_key", "present_value"),
                attr("is_causal", 1));
        check(n, 23, in, DataType.FLOAT16, 1e-2, causal(S, S), "4q/2kv heads, 4-D, causal");
    }

    @Test
    void onnxAttentionWithUnknownShapesUsesRunTimeHeadsAndScale() throws Exception {
        Random r = new Random(6);
        List<Feed> in = List.of(f32("Q", r, B, H, S, DH), f32("K", r, B, 2, S + 1, DH), f32("V", r, B, 2, S + 1, DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V"), List.of("Y"));
        OnnxMl.ModelProto original = model(n, in, 23, DataType.FLOAT, true);
        AttentionUnfuser.Result res = AttentionUnfuser.unfuse(original.getGraph(), 23);
        assertEquals("heads from shapes, 4-D", res.unfused().get(0).detail());
        compare(original, withGraph(original, res.graph()), in, 1e-5, NONE, S + 1);
    }

    @Test
    void onnxAttentionOpset24FloatMaskCausalGqa() throws Exception {
        Random r = new Random(15);
        int p = 2;
        float[] mask = gaussian(r, B, 1, S, p + S);
        for (int i = 0; i < S; i++) {
            mask[i * (p + S) + 3] = -Float.MAX_VALUE;
        }
        List<Feed> in = List.of(f32("Q", r, B, S, H * DH), f32("K", r, B, S, 2 * DH), f32("V", r, B, S, 2 * DH),
                f32("mask", mask, B, 1, S, p + S), f32("past_key", r, B, 2, p, DH), f32("past_value", r, B, 2, p, DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V", "mask", "past_key", "past_value"),
                List.of("Y", "present_key", "present_value"), attr("is_causal", 1), attr("q_num_heads", H), attr("kv_num_heads", 2));
        Masked c = causal(S, p + S);
        check(n, 24, in, DataType.FLOAT, 1e-5, (b, h, i, j) -> c.at(b, h, i, j) || (b == 0 && j == 3),
                "4q/2kv heads, 3-D, past kv, float mask, causal");
    }

    @Test
    void onnxAttentionWithUntracedDtypeCastsConstantsLikeTheQuery() throws Exception {
        Random r = new Random(16);
        List<Feed> in = List.of(f32("Qx", r, B, S, H * DH), f32("Kx", r, B, S, H * DH), f32("Vx", r, B, S, H * DH));
        NodeProto n = node("Attention", "", List.of("Q", "K", "V"), List.of("Y"), attr("is_causal", 1),
                attr("q_num_heads", H), attr("kv_num_heads", H), attr("softcap", 4f));
        OnnxMl.ModelProto typed = model(n, in, 23, DataType.FLOAT, false);
        OnnxMl.GraphProto.Builder g = typed.getGraph().toBuilder().clearNode().clearOutput();
        for (String x : List.of("Q", "K", "V")) {
            // a producer whose output type the unfuser does not trace
            g.addNode(NodeProto.newBuilder().setOpType("Abs").setName("abs_" + x).addInput(x + "x").addOutput(x));
        }
        // the fused node's output has no recorded type either: it feeds the graph output through an Identity
        g.addNode(n).addNode(NodeProto.newBuilder().setOpType("Identity").setName("out").addInput("Y").addOutput("Yout"))
                .addOutput(GraphRewriter.valueInfo("Yout", DataType.FLOAT, -1));
        OnnxMl.ModelProto original = withGraph(typed, g.build());
        AttentionUnfuser.Result res = AttentionUnfuser.unfuse(original.getGraph(), 23);
        assertEquals(15, res.minOpset());
        assertTrue(res.graph().getNodeList().stream().anyMatch(x -> x.getOpType().equals("CastLike")));
        compare(original, withGraph(original, res.graph()), in, 1e-5, causal(S, S), S);
    }

    // ---- com.microsoft.MultiHeadAttention ------------------------------------------------------------------

    @Test
    void multiHeadAttentionBiasAndKeyPadding() throws Exception {
        Random r = new Random(7);
        int[] pad = new int[B * S];
        for (int i = 0; i < pad.length; i++) {
            pad[i] = (i == 3 || i == 9 || i == 8) ? 0 : 1;
        }
        List<Feed> in = List.of(f32("query", r, B, S, H * DH), f32("key", r, B, S, H * DH), f32("value", r, B, S, H * DH),
                f32("bias", r, 3 * H * DH), i32("kpm", pad, B, S));
        NodeProto n = node("MultiHeadAttention", "com.microsoft", List.of("query", "key", "value", "bias", "kpm"),
                List.of("output"), attr("num_heads", H));
        check(n, 17, in, DataType.FLOAT, 1e-5, (b, h, i, j) -> pad[b * S + j] == 0, "4 heads, bias, key padding mask");
    }

    @Test
    void multiHeadAttentionPastBiasCausal() throws Exception {
        Random r = new Random(8);
        int p = 3;
        List<Feed> in = List.of(f32("query", r, B, S, H * DH), f32("key", r, B, S, H * DH), f32("value", r, B, S, H * DH),
                f32("attn_bias", r, 1, H, S, p + S), f32("past_key", r, B, H, p, DH), f32("past_value", r, B, H, p, DH));
        NodeProto n = node("MultiHeadAttention", "com.microsoft", List.of("query", "key", "value", "", "", "attn_bias", "past_key", "past_value"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H), attr("unidirectional", 1));
        check(n, 17, in, DataType.FLOAT, 1e-5, causal(S, p + S), "4 heads, past kv, attention bias, causal");
    }

    @Test
    void multiHeadAttentionFloat16() throws Exception {
        Random r = new Random(9);
        List<Feed> in = List.of(f16("query", r, B, S, H * DH), f16("key", r, B, S + 2, H * DH), f16("value", r, B, S + 2, H * DH));
        NodeProto n = node("MultiHeadAttention", "com.microsoft", List.of("query", "key", "value"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H), attr("scale", 0.3f));
        check(n, 17, in, DataType.FLOAT16, 1e-2, NONE, "4 heads");
    }

    @Test
    void multiHeadAttentionAtOpset12() throws Exception {
        Random r = new Random(17);
        int[] pad = new int[B * S];
        java.util.Arrays.fill(pad, 1);
        pad[S + 2] = 0;
        List<Feed> in = List.of(f32("query", r, B, S, H * DH), f32("key", r, B, S, H * DH), f32("value", r, B, S, H * DH),
                i32("kpm", pad, B, S));
        NodeProto n = node("MultiHeadAttention", "com.microsoft", List.of("query", "key", "value", "", "kpm"),
                List.of("output"), attr("num_heads", H), attr("unidirectional", 1));
        check(n, 12, in, DataType.FLOAT, 1e-5, (b, h, i, j) -> j > i || pad[b * S + j] == 0, "4 heads, key padding mask, causal");
    }

    @Test
    void multiHeadAttentionCrossWithKeyValueInHeads() throws Exception {
        Random r = new Random(18);
        List<Feed> in = List.of(f32("query", r, B, S, H * DH), f32("key", r, B, H, S + 3, DH), f32("value", r, B, H, S + 3, DH));
        NodeProto n = node("MultiHeadAttention", "com.microsoft", List.of("query", "key", "value"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H));
        check(n, 17, in, DataType.FLOAT, 1e-5, NONE, "4 heads, 4-D key/value");
    }

    @Test
    void twoLayersAreUnfusedInPlaceAndFoundInOrder() throws Exception {
        Random r = new Random(19);
        List<Feed> in = List.of(f32("x", r, B, S, H * DH));
        OnnxMl.GraphProto.Builder g = model(node("Relu", "", List.of("x"), List.of("h0")), in, 17, DataType.FLOAT, false)
                .getGraph().toBuilder().clearOutput();
        for (int l = 0; l < 2; l++) {
            String h = "h" + l;
            g.addNode(NodeProto.newBuilder().setOpType("MultiHeadAttention").setDomain("com.microsoft").setName("layer" + l)
                    .addAllInput(List.of(h, h, h)).addOutput("a" + l).addAttribute(attr("num_heads", H)).addAttribute(attr("unidirectional", 1)));
            g.addNode(NodeProto.newBuilder().setOpType("Add").setName("residual" + l).addInput(h).addInput("a" + l).addOutput("h" + (l + 1)));
        }
        g.addOutput(GraphRewriter.valueInfo("h2", DataType.FLOAT, -1));
        OnnxMl.ModelProto original = model(node("Relu", "", List.of("x"), List.of("h0")), in, 17, DataType.FLOAT, false).toBuilder()
                .setGraph(g).build();
        AttentionUnfuser.Result res = AttentionUnfuser.unfuse(original.getGraph(), 17);
        assertEquals(List.of("layer0", "layer1"), res.unfused().stream().map(AttentionUnfuser.Unfused::node).toList());
        assertTopological(res.graph());
        List<AttentionSite> sites = AttentionLocator.findBlocks(res.graph());
        assertEquals(List.of("layer0/unfused/probs", "layer1/unfused/probs"), sites.stream().map(AttentionSite::probs).toList());
        Map<String, Out> want = run(original, in);
        Map<String, Out> got = run(withGraph(original, res.graph()), in);
        float[] w = want.get("h2").data();
        float[] o = got.get("h2").data();
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], o[i], 1e-5);
        }
    }

    // ---- com.microsoft.GroupQueryAttention -------------------------------------------------------------------

    @Test
    void groupQueryAttentionPromptRotarySoftcap() throws Exception {
        // ORT's CPU GroupQueryAttention needs a head size that is a multiple of 16
        int dh = 16;
        Random r = new Random(10);
        List<Feed> in = new ArrayList<>(List.of(f32("query", r, B, S, H * dh), f32("key", r, B, S, 2 * dh), f32("value", r, B, S, 2 * dh),
                i32("seqlens_k", new int[]{S - 1, S - 1}, B), i32("total_sequence_length", new int[]{S})));
        in.addAll(rotaryCaches(dh / 2, 16));
        NodeProto n = node("GroupQueryAttention", "com.microsoft",
                List.of("query", "key", "value", "", "", "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H), attr("kv_num_heads", 2),
                attr("do_rotary", 1), attr("softcap", 3f));
        check(n, 17, in, DataType.FLOAT, 1e-5, causal(S, S), "GQA 4q/2kv heads, causal, rotary, softcap");
    }

    @Test
    void groupQueryAttentionPastInterleavedPartialRotaryMqa() throws Exception {
        // ORT's CPU kernel takes a multi-token step over a past only for batch size 1; rotary on 16 of 32 features
        int dh = 32;
        Random r = new Random(11);
        int p = 4;
        int s = 2;
        List<Feed> in = new ArrayList<>(List.of(f32("query", r, 1, s, H * dh), f32("key", r, 1, s, dh), f32("value", r, 1, s, dh),
                f32("past_key", r, 1, 1, p, dh), f32("past_value", r, 1, 1, p, dh),
                i32("seqlens_k", new int[]{p + s - 1}, 1), i32("total_sequence_length", new int[]{p + s})));
        in.addAll(rotaryCaches(8, 16));
        NodeProto n = node("GroupQueryAttention", "com.microsoft",
                List.of("query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H), attr("kv_num_heads", 1),
                attr("do_rotary", 1), attr("rotary_interleaved", 1));
        check(n, 17, in, DataType.FLOAT, 1e-5, causal(s, p + s), "GQA 4q/1kv heads, causal, rotary (interleaved), past kv");
    }

    @Test
    void groupQueryAttentionPackedQkvDecodeStep() throws Exception {
        int dh = 16;
        Random r = new Random(12);
        int p = 3;
        List<Feed> in = new ArrayList<>(List.of(f32("qkv", r, B, 1, (H + 4) * dh), f32("past_key", r, B, 2, p, dh), f32("past_value", r, B, 2, p, dh),
                i32("seqlens_k", new int[]{p, p}, B), i32("total_sequence_length", new int[]{p + 1})));
        in.addAll(rotaryCaches(dh / 2, 16));
        NodeProto n = node("GroupQueryAttention", "com.microsoft",
                List.of("qkv", "", "", "past_key", "past_value", "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H), attr("kv_num_heads", 2), attr("scale", 0.25f),
                attr("do_rotary", 1));
        check(n, 17, in, DataType.FLOAT, 1e-5, causal(1, p + 1), "GQA 4q/2kv heads, causal, packed qkv, rotary, past kv");
    }

    // ---- com.microsoft.Attention ---------------------------------------------------------------------------

    @Test
    void microsoftAttentionMaskCausal() throws Exception {
        Random r = new Random(13);
        int in = 12;
        int[] mask = new int[B * S];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = i == 7 ? 0 : 1;
        }
        List<Feed> feeds = List.of(f32("input", r, B, S, in), f32("weights", r, in, 3 * H * DH), f32("bias", r, 3 * H * DH),
                i32("mask_index", mask, B, S));
        NodeProto n = node("Attention", "com.microsoft", List.of("input", "weights", "bias", "mask_index"), List.of("output"),
                attr("num_heads", H), attr("unidirectional", 1));
        check(n, 17, feeds, DataType.FLOAT, 1e-5, (b, h, i, j) -> j > i || mask[b * S + j] == 0,
                "4 heads, input projection, 2-D mask, causal");
    }

    @Test
    void microsoftAttentionPastHiddenSizes() throws Exception {
        Random r = new Random(14);
        int in = 12;
        int p = 2;
        List<Feed> feeds = List.of(f32("input", r, B, S, in), f32("weights", r, in, 3 * H * DH), f32("bias", r, 3 * H * DH),
                f32("past", r, 2, B, H, p, DH));
        NodeProto n = node("Attention", "com.microsoft", List.of("input", "weights", "bias", "", "past"), List.of("output", "present"),
                attr("num_heads", H), attr("unidirectional", 1), ints("qkv_hidden_sizes", H * DH, H * DH, H * DH));
        check(n, 17, feeds, DataType.FLOAT, 1e-5, causal(S, p + S), "4 heads, input projection, past kv, causal");
    }

    // ---- refusals and pass-through -------------------------------------------------------------------------

    @Test
    void slidingWindowIsRefusedNamingTheNode() {
        NodeProto n = node("GroupQueryAttention", "com.microsoft",
                List.of("query", "key", "value", "", "", "seqlens_k", "total_sequence_length"), List.of("output"),
                attr("num_heads", H), attr("kv_num_heads", 2), attr("local_window_size", 2));
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("g").addNode(n).build();
        ModelException e = assertThrows(ModelException.class, () -> AttentionUnfuser.unfuse(g, 17));
        assertTrue(e.problem().contains("'" + NODE + "'") && e.problem().contains("local_window_size"), e.getMessage());
        assertTrue(e.fix().contains("eager"), e.getMessage());
    }

    @Test
    void oneDimensionalMaskIndexIsRefused() {
        NodeProto n = node("Attention", "com.microsoft", List.of("input", "weights", "bias", "mask_index"), List.of("output"),
                attr("num_heads", H));
        OnnxMl.GraphProto g = model(n, List.of(i32("mask_index", new int[]{S, S}, B)), 17, DataType.FLOAT, false).getGraph();
        ModelException e = assertThrows(ModelException.class, () -> AttentionUnfuser.unfuse(g, 17));
        assertTrue(e.problem().contains("'" + NODE + "' (com.microsoft.Attention)") && e.problem().contains("rank-1 mask_index"), e.getMessage());
    }

    @Test
    void sharedPastPresentBufferIsRefused() {
        NodeProto n = node("GroupQueryAttention", "com.microsoft",
                List.of("query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length"),
                List.of("output", "present_key", "present_value"), attr("num_heads", H), attr("kv_num_heads", 2));
        Random r = new Random(20);
        OnnxMl.GraphProto g = model(n, List.of(f32("past_key", r, 1, 2, 16, DH)), 17, DataType.FLOAT, false).getGraph().toBuilder()
                .clearOutput().addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("present_key").setType(OnnxMl.TypeProto.newBuilder()
                        .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT.getNumber())
                                .setShape(OnnxMl.TensorShapeProto.newBuilder()
                                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))
                                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(2))
                                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(16))
                                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(DH)))))).build();
        ModelException e = assertThrows(ModelException.class, () -> AttentionUnfuser.unfuse(g, 17));
        assertTrue(e.problem().contains("'" + NODE + "'") && e.problem().contains("shares one buffer"), e.getMessage());
    }

    @Test
    void qkOutputModesOtherThanZeroAreRefused() {
        NodeProto n = node("Attention", "", List.of("Q", "K", "V"), List.of("Y", "", "", "qk"), attr("qk_matmul_output_mode", 3));
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("g").addNode(n).build();
        ModelException e = assertThrows(ModelException.class, () -> AttentionUnfuser.unfuse(g, 23));
        assertTrue(e.problem().contains("'" + NODE + "' (Attention)") && e.problem().contains("mode 3"), e.getMessage());
    }

    @Test
    void graphWithoutFusedAttentionIsReturnedUnchanged() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("g")
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("x").addOutput("y")).build();
        AttentionUnfuser.Result res = AttentionUnfuser.unfuse(g, 17);
        assertSame(g, res.graph());
        assertTrue(res.unfused().isEmpty());
    }

    // ---- harness -------------------------------------------------------------------------------------------

    /**
     * Unfuses the one-node model, checks the report, node order and that the locator finds the block, then compares
     * every output with ONNX Runtime's fused kernel and checks the unfused probabilities.
     */
    private static void check(NodeProto n, long opset, List<Feed> in, DataType type, double tol, Masked masked, String detail)
            throws OrtException {
        OnnxMl.ModelProto original = model(n, in, opset, type, false);
        AttentionUnfuser.Result res = AttentionUnfuser.unfuse(original.getGraph(), opset);
        assertEquals(1, res.unfused().size());
        AttentionUnfuser.Unfused u = res.unfused().get(0);
        assertEquals(NODE, u.node());
        assertEquals((n.getDomain().isEmpty() ? "" : n.getDomain() + ".") + n.getOpType(), u.op());
        assertTrue(u.detail().endsWith(detail) || u.detail().equals(detail), u.detail());
        assertTrue(res.minOpset() <= opset, "minOpset " + res.minOpset());
        assertTopological(res.graph());
        for (OnnxMl.NodeProto x : res.graph().getNodeList()) {
            assertTrue(!x.getOpType().contains("Attention"), x.getOpType());
        }
        List<AttentionSite> sites = AttentionLocator.findBlocks(res.graph());
        assertEquals(1, sites.size());
        // the score tap sits after the scale and, when there is one, after the softcap (what the mask is added to)
        boolean softcap = res.graph().getNodeList().stream().anyMatch(x -> x.getOutput(0).equals(NODE + "/unfused/softcap_mul"));
        assertEquals(NODE + (softcap ? "/unfused/softcap_mul" : "/unfused/scores"), sites.get(0).scores());
        assertEquals(NODE + "/unfused/probs", sites.get(0).probs());
        OnnxMl.ModelProto unfused = withGraph(original, res.graph());
        compare(original, unfused, in, tol, masked, -1);
    }

    private static void compare(OnnxMl.ModelProto original, OnnxMl.ModelProto unfused, List<Feed> in, double tol, Masked masked, int keys)
            throws OrtException {
        String probs = NODE + "/unfused/probs";
        OnnxMl.ModelProto tapped = unfused.toBuilder().setGraph(unfused.getGraph().toBuilder()
                .addOutput(GraphRewriter.valueInfo(probs, DataType.forNumber(original.getGraph().getOutput(0).getType()
                        .getTensorType().getElemType()), -1))).build();
        Map<String, Out> want = run(original, in);
        Map<String, Out> got = run(tapped, in);
        for (Map.Entry<String, Out> e : want.entrySet()) {
            Out w = e.getValue();
            Out g = got.get(e.getKey());
            assertEquals(java.util.Arrays.toString(w.shape), java.util.Arrays.toString(g.shape), e.getKey() + " shape");
            double worst = 0;
            for (int i = 0; i < w.data.length; i++) {
                worst = Math.max(worst, Math.abs(w.data[i] - g.data[i]));
            }
            assertTrue(worst <= tol, e.getKey() + " differs by " + worst);
        }
        Out p = got.get(probs);
        int heads = (int) p.shape[1];
        int rows = (int) p.shape[2];
        int cols = (int) p.shape[3];
        if (keys > 0) {
            assertEquals(keys, cols);
        }
        for (int b = 0; b < p.shape[0]; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < rows; i++) {
                    double sum = 0;
                    for (int j = 0; j < cols; j++) {
                        float v = p.data[((b * heads + h) * rows + i) * cols + j];
                        sum += v;
                        if (masked.at(b, h, i, j)) {
                            assertEquals(0f, v, "masked prob at " + b + "," + h + "," + i + "," + j);
                        }
                    }
                    assertEquals(1.0, sum, tol, "row sum");
                }
            }
        }
    }

    private static void assertTopological(OnnxMl.GraphProto g) {
        Set<String> known = new HashSet<>();
        g.getInputList().forEach(v -> known.add(v.getName()));
        g.getInitializerList().forEach(t -> known.add(t.getName()));
        Set<String> names = new HashSet<>();
        for (NodeProto n : g.getNodeList()) {
            assertTrue(names.add(n.getName()), "duplicate node name " + n.getName());
            for (String i : n.getInputList()) {
                assertTrue(i.isEmpty() || known.contains(i), n.getName() + " reads " + i + " before it is produced");
            }
            known.addAll(n.getOutputList());
        }
    }

    private record Out(long[] shape, float[] data) {
    }

    private static Map<String, Out> run(OnnxMl.ModelProto model, List<Feed> in) throws OrtException {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            for (Feed f : in) {
                feeds.put(f.name, f.tensor());
            }
            try (OrtSession session = ENV.createSession(model.toByteArray(), opts);
                 OrtSession.Result result = session.run(feeds)) {
                Map<String, Out> out = new HashMap<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    OnnxTensor t = (OnnxTensor) e.getValue();
                    FloatBuffer fb = t.getFloatBuffer();
                    float[] data = new float[fb.remaining()];
                    fb.get(data);
                    out.put(e.getKey(), new Out(t.getInfo().getShape(), data));
                }
                return out;
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxMl.ModelProto model(NodeProto n, List<Feed> in, long opset, DataType type, boolean dynamic) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("attention").addNode(n);
        for (Feed f : in) {
            OnnxMl.TensorShapeProto.Builder sh = OnnxMl.TensorShapeProto.newBuilder();
            for (int i = 0; i < f.shape.length; i++) {
                OnnxMl.TensorShapeProto.Dimension.Builder d = OnnxMl.TensorShapeProto.Dimension.newBuilder();
                if (dynamic) {
                    d.setDimParam(f.name + "_" + i);
                } else {
                    d.setDimValue(f.shape[i]);
                }
                sh.addDim(d);
            }
            g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName(f.name).setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(f.type.getNumber()).setShape(sh))));
        }
        for (String o : n.getOutputList()) {
            if (!o.isEmpty()) {
                g.addOutput(GraphRewriter.valueInfo(o, type, -1));
            }
        }
        return OnnxMl.ModelProto.newBuilder().setIrVersion(opset >= 24 ? 11 : opset >= 23 ? 10 : 8).setProducerName("test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .setGraph(g).build();
    }

    private static OnnxMl.ModelProto withGraph(OnnxMl.ModelProto m, OnnxMl.GraphProto g) {
        return m.toBuilder().setGraph(g).build();
    }

    private static NodeProto node(String op, String domain, List<String> in, List<String> out, AttributeProto... attrs) {
        return NodeProto.newBuilder().setOpType(op).setDomain(domain).setName(NODE).addAllInput(in).addAllOutput(out)
                .addAllAttribute(List.of(attrs)).build();
    }

    private static AttributeProto attr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto attr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    private static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    /** Query i sees keys 0..keys-queries+i. */
    private static Masked causal(int queries, int keys) {
        return (b, h, i, j) -> j > keys - queries + i;
    }

    private static List<Feed> rotaryCaches(int half, int maxLen) {
        float[] cos = new float[maxLen * half];
        float[] sin = new float[maxLen * half];
        for (int p = 0; p < maxLen; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(10000, -2.0 * i / (2 * half));
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return List.of(f32("cos_cache", cos, maxLen, half), f32("sin_cache", sin, maxLen, half));
    }

    // ---- feeds ---------------------------------------------------------------------------------------------

    private record Feed(String name, DataType type, long[] shape, float[] f, int[] i, boolean[] b) {
        OnnxTensor tensor() throws OrtException {
            return switch (type) {
                case FLOAT -> OnnxTensor.createTensor(ENV, FloatBuffer.wrap(f), shape);
                case FLOAT16 -> {
                    short[] h = new short[f.length];
                    for (int k = 0; k < f.length; k++) {
                        h[k] = Float.floatToFloat16(f[k]);
                    }
                    yield OnnxTensor.createTensor(ENV, ShortBuffer.wrap(h), shape, OnnxJavaType.FLOAT16);
                }
                case INT32 -> OnnxTensor.createTensor(ENV, IntBuffer.wrap(i), shape);
                case BOOL -> {
                    ByteBuffer bb = ByteBuffer.allocateDirect(b.length);
                    for (boolean x : b) {
                        bb.put((byte) (x ? 1 : 0));
                    }
                    bb.rewind();
                    yield OnnxTensor.createTensor(ENV, bb, shape, OnnxJavaType.BOOL);
                }
                default -> throw new IllegalStateException(type.toString());
            };
        }
    }

    private static long[] shape(int... dims) {
        long[] s = new long[dims.length];
        for (int k = 0; k < dims.length; k++) {
            s[k] = dims[k];
        }
        return s;
    }

    private static float[] gaussian(Random r, int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        float[] v = new float[n];
        for (int k = 0; k < n; k++) {
            v[k] = (float) r.nextGaussian();
        }
        return v;
    }

    private static Feed f32(String name, Random r, int... dims) {
        return new Feed(name, DataType.FLOAT, shape(dims), gaussian(r, dims), null, null);
    }

    private static Feed f32(String name, float[] v, int... dims) {
        return new Feed(name, DataType.FLOAT, shape(dims), v, null, null);
    }

    private static Feed f16(String name, Random r, int... dims) {
        return new Feed(name, DataType.FLOAT16, shape(dims), gaussian(r, dims), null, null);
    }

    private static Feed i32(String name, int[] v, int... dims) {
        return new Feed(name, DataType.INT32, shape(dims), null, v, null);
    }

    private static Feed bool(String name, boolean[] v, int... dims) {
        return new Feed(name, DataType.BOOL, shape(dims), null, null, v);
    }
}
