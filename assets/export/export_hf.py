#!/usr/bin/env python3
"""Export a Hugging Face model to the folder layout HeadScope opens.

Run on your own machine (needs: torch, transformers, onnx; onnxruntime for --dtype fp16,
--ort-optimize, --ort-fuse and --quantize; the model is read from the Hub cache or a local
path):

    python3 export_hf.py gpt2 out/gpt2
    python3 export_hf.py Qwen/Qwen2-0.5B out/qwen2-0.5b --max-length 2048
    python3 export_hf.py bert-base-uncased out/bert --kind encoder
    python3 export_hf.py llava-hf/llava-1.5-7b-hf out/llava --kind vlm
    python3 export_hf.py --config tiny-llama.json --random-weights --seed 1 out/tiny-llama

What it does by default
  * loads the model in float32 with attn_implementation="eager", so every attention
    head is exported as explicit MatMul -> Softmax -> MatMul nodes (no SDPA, no fused
    attention; no onnxruntime attention fusion is applied afterwards);
  * exports with the TorchScript exporter at opset 14, dynamic batch and sequence axes;
    decoders get past key/value inputs and present outputs (--past, default on for
    TorchScript exports without quantisation or fusion): one graph that takes an empty past
    for the prompt and the cache for each next token, checked against the uncached model;
  * decoder-only LMs (GPT-2, Llama, Qwen2, Mistral, ...): model.onnx with inputs
    input_ids, attention_mask (+ position_ids except for GPT-2 / BLOOM) and output logits;
  * BERT-style encoders: model.onnx with input_ids, attention_mask -> logits (masked-LM
    head) or last_hidden_state when the checkpoint has no MLM head;
  * LLaVA-style VLMs: vision.onnx (pixel_values -> projected image_embeds), embed.onnx
    (input_ids -> inputs_embeds) and decoder.onnx (inputs_embeds, attention_mask,
    position_ids -> logits), like real VLM exports are split;
  * models above 2 GB are written with external data (<file>.onnx.data next to it);
  * copies tokenizer.json (fast tokenizer required) and writes headscope.json.

Other export paths (see README.md): --attn sdpa, --exporter dynamo, --opset N,
--dtype fp16, --ort-optimize, --ort-fuse bert|gpt2, --quantize int8|qdq|int4. Several post-steps
apply in that order: fp16, ORT optimisation, ORT attention fusion, int8.

The export wrappers and the manifest writer are shared with HeadScope's bundled models
(assets/scripts/headscope_models.py), imported from there.
"""
import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import headscope_models as hm  # noqa: E402

TWO_GB = 2 * 1024 ** 3
# models whose forward takes no position_ids (learned positions from 0, or ALiBi)
NO_POSITION_IDS = {"gpt2", "gpt_neo", "gptj", "gpt_bigcode", "bloom"}
ENCODER_TYPES = {"bert", "roberta", "distilbert", "albert", "electra", "xlm-roberta", "deberta",
                 "deberta-v2", "camembert", "mpnet"}
# op types that make up (or replace) attention, counted in the summary
ATTENTION_OPS = ("Softmax", "Attention", "MultiHeadAttention", "GroupQueryAttention",
                 "FusedMatMul", "MatMulInteger", "DynamicQuantizeMatMul", "QAttention",
                 "SkipLayerNormalization", "RotaryEmbedding")


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def load_config(args):
    """The model's config: from the Hub / a local model folder, or from --config JSON."""
    from transformers import AutoConfig
    if args.config:
        with open(args.config) as f:
            d = json.load(f)
        model_type = d.pop("model_type")
        return AutoConfig.for_model(model_type, **d)
    return AutoConfig.from_pretrained(args.model)


def _set_attn(cfg, attn):
    for c in [cfg] + [getattr(cfg, k) for k in ("text_config", "vision_config") if
                      getattr(cfg, k, None) is not None]:
        if hasattr(c, "_attn_implementation"):
            c._attn_implementation = attn
    if hasattr(cfg, "use_cache"):
        cfg.use_cache = False
    tc = getattr(cfg, "text_config", None)
    if tc is not None and hasattr(tc, "use_cache"):
        tc.use_cache = False


def load_model(cls, args, cfg):
    """from_pretrained (or, with --random-weights, from_config seeded with --seed), float32,
    attention implementation --attn, eval mode, no cache."""
    attn = args.attn
    if args.random_weights:
        torch.manual_seed(args.seed)
        # Auto classes build through from_config, model classes through _from_config
        build = getattr(cls, "from_config", None) or cls._from_config
        model = build(cfg, attn_implementation=attn).float()
    else:
        # transformers 5 names the argument dtype, older releases torch_dtype; the oldest
        # lack attn_implementation
        for kw in ({"attn_implementation": attn, "dtype": torch.float32},
                   {"attn_implementation": attn, "torch_dtype": torch.float32},
                   {"torch_dtype": torch.float32}):
            try:
                model = cls.from_pretrained(args.model, **kw)
                break
            except TypeError:
                continue
        else:
            raise SystemExit("cannot load %s with %s" % (args.model, cls.__name__))
    _set_attn(model.config, attn)
    model.eval()
    return model


def load_with_eager(cls, name, **kw):
    """from_pretrained with eager attention (kept for callers of the previous API)."""
    args = types.SimpleNamespace(model=name, attn="eager", random_weights=False, seed=0)
    return load_model(cls, args, None)


def model_bytes(model):
    return sum(p.numel() * p.element_size() for p in model.parameters())


def write_tokenizer(args, cfg, out):
    """Copy the model's fast tokenizer; with --random-weights (no checkpoint) write a
    word-level tokenizer whose tokens are <pad> <bos> <eos> <unk> t4 t5 ... (one per id)."""
    if args.random_weights:
        vocab_size = getattr(cfg, "vocab_size", None) or cfg.text_config.vocab_size
        names = {}
        for role, default in (("pad", 0), ("bos", 1), ("eos", 2)):
            i = special_from_config(cfg, role)
            names[default if i is None else i] = "<%s>" % role
        vocab = {}
        for i in range(vocab_size):
            vocab[names.get(i, "<unk>" if i == 3 else "t%d" % i)] = i
        specials = [w for w in vocab if w.startswith("<")]
        hm.write_tokenizer_json(os.path.join(out, "tokenizer.json"), vocab, specials)
        return None
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model, use_fast=True)
    tmp = tempfile.mkdtemp()
    try:
        tok.save_pretrained(tmp)
        src = os.path.join(tmp, "tokenizer.json")
        if not os.path.exists(src):
            raise SystemExit("this model has no fast tokenizer (tokenizer.json); HeadScope "
                             "needs one")
        shutil.copy(src, os.path.join(out, "tokenizer.json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tok


def special_from_config(cfg, role):
    for c in (cfg, getattr(cfg, "text_config", None)):
        v = getattr(c, role + "_token_id", None) if c is not None else None
        if isinstance(v, list):
            v = v[0] if v else None
        if v is not None:
            return v
    return None


def special_ids(tok, cfg):
    """(bos, eos, pad): from the tokenizer, or from the config when there is none."""
    if tok is None:
        bos, eos, pad = (special_from_config(cfg, r) for r in ("bos", "eos", "pad"))
        return bos, eos, pad if pad is not None else eos
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    return tok.bos_token_id, tok.eos_token_id, pad


def detect_kind(cfg):
    if getattr(cfg, "vision_config", None) is not None and getattr(cfg, "text_config", None):
        return "vlm"
    if cfg.model_type in ENCODER_TYPES:
        return "encoder"
    return "decoder"


def max_len_of(cfg, default=2048):
    for k in ("max_position_embeddings", "n_positions", "n_ctx"):
        v = getattr(cfg, k, None)
        if isinstance(v, int) and v > 0:
            return v
    return default


def source_of(args):
    return os.path.basename(args.config) if args.config else args.model


def export_kw(args):
    return {"opset": args.opset, "dynamo": args.exporter == "dynamo"}


# --------------------------------------------------------------------------------------
# The three kinds
# --------------------------------------------------------------------------------------
def export_decoder(args, cfg, out):
    from transformers import AutoModelForCausalLM
    model = load_model(AutoModelForCausalLM, args, cfg)
    tok = write_tokenizer(args, cfg, out)
    use_pos = cfg.model_type not in NO_POSITION_IDS
    ext = model_bytes(model) > TWO_GB
    path = os.path.join(out, "model.onnx")
    if args.past == "on":
        layers, kv_heads, head_dim = cache_shape(cfg)
        reference = reference_logits(model, use_pos, cfg.vocab_size)
        hm.export_decoder_with_past(model, path, use_pos, layers, kv_heads, head_dim,
                                    vocab_hint=min(1000, cfg.vocab_size), external_data=ext,
                                    **export_kw(args))
        check_past_decoding(path, reference, use_pos, layers, kv_heads, head_dim)
    else:
        hm.export_decoder(model, path, use_position_ids=use_pos, hf=True,
                          vocab_hint=min(1000, cfg.vocab_size), external_data=ext, **export_kw(args))
    inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    if use_pos:
        inputs["position_ids"] = "position_ids"
    bos, eos, pad = special_ids(tok, cfg)
    arch = "gpt2" if cfg.model_type in NO_POSITION_IDS - {"bloom"} else (
        "llama" if cfg.model_type in ("llama", "qwen2", "mistral") else cfg.model_type)
    return hm.make_manifest(args.name, "decoder", arch, "model.onnx", inputs=inputs, bos=bos,
                            eos=eos, pad=pad,
                            max_length=args.max_length or max_len_of(cfg),
                            extra={"source": source_of(args), "modelType": cfg.model_type})


def cache_shape(cfg):
    """(layers, key/value heads, head size) of a decoder's key/value cache."""
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer")
    heads = getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head")
    kv = getattr(cfg, "num_key_value_heads", None) or heads
    if getattr(cfg, "multi_query", False):
        kv = 1
    hidden = getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd")
    head_dim = getattr(cfg, "head_dim", None) or hidden // heads
    return layers, kv, head_dim


def reference_logits(model, use_pos, vocab):
    """Token ids and the model's own logits over them (no cache), before export."""
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(4, min(1000, vocab), (1, 12), generator=g)
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=False).logits
    return ids, logits.numpy()


def check_past_decoding(path, reference, use_pos, layers, kv_heads, head_dim, tol=1e-3):
    """Prefill 8 tokens on an empty past, then 4 one-token steps on the returned cache, in
    onnxruntime; every step's logits must equal the model's full run (no cache)."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        print("  past: onnxruntime missing, cached decoding not checked", file=sys.stderr)
        return
    ids, want = reference
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    past = [np.zeros((1, kv_heads, 0, head_dim), np.float32) for _ in range(2 * layers)]
    worst = 0.0
    for start, end in [(0, 8)] + [(j, j + 1) for j in range(8, ids.shape[1])]:
        feed = {"input_ids": ids[:, start:end].numpy(),
                "attention_mask": np.ones((1, end), np.int64)}
        if use_pos:
            feed["position_ids"] = np.arange(start, end, dtype=np.int64)[None]
        for i in range(layers):
            feed["past_key_values.%d.key" % i] = past[2 * i]
            feed["past_key_values.%d.value" % i] = past[2 * i + 1]
        out = sess.run(None, {k: v for k, v in feed.items() if k in names})
        worst = max(worst, float(np.abs(out[0] - want[:, start:end]).max()))
        past = out[1:]
    del sess
    if worst > tol:
        raise SystemExit("the export with past key/values decodes differently from the model "
                         "(max |logit diff| %.3g); export with --past off" % worst)
    print("  past: prefill + 4 cached steps equal the full run (max |logit diff| %.2g)" % worst)


def export_encoder(args, cfg, out):
    from transformers import AutoModel, AutoModelForMaskedLM
    output = "logits"
    try:
        model = load_model(AutoModelForMaskedLM, args, cfg)
    except Exception:  # noqa: BLE001 - checkpoints without an MLM head
        model = load_model(AutoModel, args, cfg)
        output = "last_hidden_state"
    tok = write_tokenizer(args, cfg, out)
    ext = model_bytes(model) > TWO_GB
    hm.export_encoder(model, os.path.join(out, "model.onnx"), output=output,
                      vocab_hint=min(1000, cfg.vocab_size), external_data=ext, **export_kw(args))
    if tok is not None:
        bos, eos, pad = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id
    else:
        bos, eos, pad = special_ids(None, cfg)
    return hm.make_manifest(args.name, "encoder", cfg.model_type, "model.onnx",
                            inputs={"input_ids": "input_ids", "attention_mask": "attention_mask"},
                            outputs={output: output}, bos=bos, eos=eos, pad=pad,
                            max_length=args.max_length or max_len_of(cfg, 512),
                            extra={"source": source_of(args), "modelType": cfg.model_type})


class _LogitsOut(nn.Module):
    """Base language model + separate lm_head (transformers 5's LLaVA layout)."""

    def __init__(self, base, head):
        super().__init__()
        self.base = base
        self.head = head

    def forward(self, **kw):
        h = self.base(**kw).last_hidden_state
        return types.SimpleNamespace(logits=self.head(h))


def vlm_class():
    """LlavaForConditionalGeneration, else the image-text-to-text auto class (transformers
    5 removed AutoModelForVision2Seq; older releases have only that one)."""
    try:
        from transformers import LlavaForConditionalGeneration
        return LlavaForConditionalGeneration
    except ImportError:
        pass
    try:
        from transformers import AutoModelForImageTextToText
        return AutoModelForImageTextToText
    except ImportError:
        from transformers import AutoModelForVision2Seq
        return AutoModelForVision2Seq


class _ImageFeatures(nn.Module):
    """pixel_values -> projected image features, what LLaVA's get_image_features does for
    one image and one feature layer. A module (not a closure) so that the vision tower's
    and projector's weights are parameters of the exported graph."""

    def __init__(self, tower, projector, layer, strategy):
        super().__init__()
        self.tower = tower
        self.projector = projector
        self.layer = layer
        self.strategy = strategy

    def forward(self, pixel_values):
        hs = self.tower(pixel_values, output_hidden_states=True,
                        return_dict=True).hidden_states[self.layer]
        if self.strategy == "default":
            hs = hs[:, 1:]  # drop CLS
        return self.projector(hs)


def vlm_parts(vlm):
    """(image_features(pixel_values) -> [1, N, d_text], language model returning .logits,
    token embedding) of a LLaVA-style model, for transformers 4 and 5 layouts."""
    cfg = vlm.config
    layer = getattr(cfg, "vision_feature_layer", -2)
    strategy = getattr(cfg, "vision_feature_select_strategy", "default")
    tower = getattr(vlm, "vision_tower", None) or vlm.model.vision_tower
    projector = getattr(vlm, "multi_modal_projector", None) or vlm.model.multi_modal_projector
    image_features = _ImageFeatures(tower, projector, layer, strategy)

    lm = getattr(vlm, "language_model", None)
    if lm is None or not hasattr(lm, "forward"):
        lm = vlm.model.language_model
    if not hasattr(lm, "lm_head") and hasattr(vlm, "lm_head"):
        lm = _LogitsOut(lm, vlm.lm_head)
    return image_features, lm, vlm.get_input_embeddings()


def export_vlm(args, cfg, out):
    from transformers import AutoImageProcessor
    vlm = load_model(vlm_class(), args, cfg)
    tok = write_tokenizer(args, cfg, out)
    vcfg, tcfg = cfg.vision_config, cfg.text_config
    image_features, lm, embed = vlm_parts(vlm)
    size = vcfg.image_size
    patch = vcfg.patch_size
    grid = size // patch
    ext = model_bytes(vlm) > TWO_GB
    tower = getattr(vlm, "vision_tower", None) or vlm.model.vision_tower
    vision_ext = sum(p.numel() * 4 for p in tower.parameters()) > TWO_GB
    kw = export_kw(args)
    hm.export_vision(image_features, os.path.join(out, "vision.onnx"), size,
                     external_data=vision_ext, **kw)
    hm.export_embed(embed, os.path.join(out, "embed.onnx"),
                    external_data=embed.weight.numel() * 4 > TWO_GB, **kw)
    hm.export_embeds_decoder(lm, os.path.join(out, "decoder.onnx"), tcfg.hidden_size, hf=True,
                             external_data=ext, **kw)
    mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    if not args.random_weights:
        try:
            ip = AutoImageProcessor.from_pretrained(args.model)
            mean, std = list(ip.image_mean), list(ip.image_std)
        except Exception:  # noqa: BLE001 - keep CLIP's values
            pass
    image_token_id = getattr(cfg, "image_token_index", getattr(cfg, "image_token_id", None))
    bos, eos, pad = special_ids(tok, cfg)
    n_img = grid * grid
    return hm.make_manifest(
        args.name, "vlm", tcfg.model_type, "decoder.onnx",
        inputs={"inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                "position_ids": "position_ids"},
        bos=bos, eos=eos, pad=pad, max_length=args.max_length or max_len_of(tcfg),
        vision={"model": "vision.onnx", "pixelInput": "pixel_values", "output": "image_embeds",
                "embed": "embed.onnx", "embedInput": "input_ids", "embedOutput": "inputs_embeds",
                "imageSize": size, "mean": mean, "std": std, "imageStart": args.image_start,
                "imageTokens": n_img, "grid": [grid, grid], "imageTokenId": image_token_id},
        extra={"source": source_of(args), "modelType": cfg.model_type})


# --------------------------------------------------------------------------------------
# Post-steps on the written .onnx files (each rewrites the file in place)
# --------------------------------------------------------------------------------------
def _save(model, path):
    import onnx
    big = model.ByteSize() > TWO_GB - 64 * 1024 ** 2
    if os.path.exists(path + ".data"):
        os.remove(path + ".data")
    onnx.save_model(model, path, save_as_external_data=big, all_tensors_to_one_file=True,
                    location=os.path.basename(path) + ".data", size_threshold=1024)


def strip_stack_traces(path):
    """Drop the dynamo exporter's per-node Python stack traces (they name files on the
    exporting machine and are half of a small model's bytes); the node names, namespaces
    and name scopes stay."""
    import onnx
    m = onnx.load(path)
    for n in m.graph.node:
        keep = [p for p in n.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del n.metadata_props[:]
        n.metadata_props.extend(keep)
    _save(m, path)


def to_fp16(path):
    """Weights and activations in float16, graph inputs and outputs kept float32."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    m = convert_float_to_float16(onnx.load(path), keep_io_types=True)
    _save(m, path)


def ort_optimize(path):
    """Save the graph as an onnxruntime CPU session sees it after its EXTENDED level
    optimisations (constant folding, fused MatMul/Gelu/LayerNorm, sometimes attention)."""
    import onnxruntime as ort
    tmp = path + ".ortopt.onnx"
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = tmp
    so.intra_op_num_threads = 1
    ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    os.replace(tmp, path)


def ort_fuse(path, model_type, num_heads, hidden_size):
    """onnxruntime.transformers' offline optimizer (attention fusion into
    com.microsoft Attention / MultiHeadAttention nodes). Returns the fused op counts."""
    from onnxruntime.transformers.optimizer import optimize_model
    opt = optimize_model(path, model_type=model_type, num_heads=num_heads,
                         hidden_size=hidden_size, opt_level=0, use_gpu=False)
    opt.save_model_to_file(path)
    return opt.get_fused_operator_statistics()


def quantize_int8(path):
    """Dynamic int8 quantisation of the weights (activations quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    tmp = path + ".int8.onnx"
    quantize_dynamic(path, tmp, weight_type=QuantType.QInt8)
    os.replace(tmp, path)


def quantize_qdq(path, feeds):
    """Static int8 quantisation in QDQ format (QuantizeLinear/DequantizeLinear pairs around every
    MatMul, activations calibrated on the given example inputs)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    tmp = path + ".qdq.onnx"
    quantize_static(path, tmp, Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"])
    os.replace(tmp, path)


def quantize_int4(path):
    """4-bit block-wise weight quantisation of the MatMuls (com.microsoft.MatMulNBits)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    q = MatMulNBitsQuantizer(onnx.load(path), block_size=16, is_symmetric=True)
    q.process()
    tmp = path + ".int4.onnx"
    q.model.save_model_to_file(tmp)
    os.replace(tmp, path)


def calibration_feeds(path, seed):
    """A few random prompts (ids, mask, positions; embeddings for a VLM decoder) for static quantisation."""
    import numpy as np
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = []
    for t in (8, 16):
        feed = {}
        for i in sess.get_inputs():
            if "embeds" in i.name:
                feed[i.name] = rng.standard_normal((1, t, i.shape[2])).astype(np.float32) * 0.02
            elif "position" in i.name:
                feed[i.name] = np.arange(t, dtype=np.int64)[None]
            elif "mask" in i.name:
                feed[i.name] = np.ones((1, t), dtype=np.int64)
            elif "token_type" in i.name:
                feed[i.name] = np.zeros((1, t), dtype=np.int64)
            else:
                feed[i.name] = rng.integers(3, 60, (1, t)).astype(np.int64)
        feeds.append(feed)
    del sess
    return feeds


def text_config(cfg):
    return getattr(cfg, "text_config", None) or cfg


def post_process(args, cfg, out, files):
    for f in files:
        p = os.path.join(out, f)
        if args.exporter == "dynamo":
            strip_stack_traces(p)
        if args.dtype == "fp16":
            to_fp16(p)
        if args.ort_optimize:
            ort_optimize(p)
        if args.ort_fuse and f in ("model.onnx", "decoder.onnx"):
            tc = text_config(cfg)
            heads = getattr(tc, "num_attention_heads", None) or getattr(tc, "n_head")
            hidden = getattr(tc, "hidden_size", None) or getattr(tc, "n_embd")
            stats = ort_fuse(p, args.ort_fuse, heads, hidden)
            print("  %s: ORT fusion %s" % (f, {k: v for k, v in stats.items() if v}))
        if args.quantize == "int8":
            quantize_int8(p)
        elif args.quantize == "qdq" and f in ("model.onnx", "decoder.onnx"):
            quantize_qdq(p, calibration_feeds(p, args.seed))
        elif args.quantize == "int4" and f in ("model.onnx", "decoder.onnx"):
            quantize_int4(p)


def graph_summary(path):
    """{"opset", "ops": counts of attention-related op types, "bytes"} of one .onnx file."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    counts = collections.Counter(n.op_type for n in m.graph.node)
    opset = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
    size = os.path.getsize(path)
    if os.path.exists(path + ".data"):
        size += os.path.getsize(path + ".data")
    return {"opset": opset.get("ai.onnx"), "domains": opset, "bytes": size,
            "ops": {k: counts[k] for k in ATTENTION_OPS if counts[k]}}


def onnx_files(out):
    return sorted(f for f in os.listdir(out) if f.endswith(".onnx"))


def report(out):
    """Print what was written: files, sizes, opset, attention op kinds per graph."""
    for f in sorted(os.listdir(out)):
        p = os.path.join(out, f)
        line = "  %-16s %10d bytes" % (f, os.path.getsize(p))
        if f.endswith(".onnx"):
            s = graph_summary(p)
            line += "  opset %s  attention ops %s" % (s["opset"], s["ops"] or "none")
        print(line)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", help="Hugging Face model id or local path "
                    "(omit with --config)")
    ap.add_argument("out", help="output folder (created)")
    ap.add_argument("--kind", choices=["auto", "decoder", "encoder", "vlm"], default="auto")
    ap.add_argument("--name", default=None, help="display name (default: folder name)")
    ap.add_argument("--max-length", type=int, default=None)
    ap.add_argument("--image-start", type=int, default=1,
                    help="VLM: sequence index where the image embeddings start")
    ap.add_argument("--config", default=None,
                    help="a config JSON (with model_type) instead of a Hub id; needs "
                         "--random-weights")
    ap.add_argument("--random-weights", action="store_true",
                    help="initialise the weights randomly (from_config) instead of loading "
                         "a checkpoint")
    ap.add_argument("--seed", type=int, default=0, help="torch seed for --random-weights "
                    "and the export's example inputs")
    ap.add_argument("--attn", choices=["eager", "sdpa"], default="eager",
                    help="attention implementation of the model (eager: one Softmax per "
                         "layer that HeadScope reads)")
    ap.add_argument("--exporter", choices=["torchscript", "dynamo"], default=None,
                    help="torch.onnx exporter (default: torchscript for --attn eager, "
                         "dynamo for sdpa)")
    ap.add_argument("--opset", type=int, default=None,
                    help="ONNX opset (default 14 for torchscript, 18 for dynamo)")
    ap.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32",
                    help="fp16: convert the exported graph to float16, inputs/outputs stay "
                         "float32")
    ap.add_argument("--ort-optimize", action="store_true",
                    help="save the graph after onnxruntime's EXTENDED graph optimisations")
    ap.add_argument("--ort-fuse", choices=["bert", "gpt2"], default=None,
                    help="run onnxruntime.transformers' optimizer (attention fusion) with "
                         "this model type")
    ap.add_argument("--past", choices=["auto", "on", "off"], default="auto",
                    help="decoders: past key/value inputs and present outputs, one graph for "
                         "prefill (empty past) and one-token steps, so HeadScope decodes with "
                         "a KV cache (auto: on for TorchScript exports without --quantize or "
                         "--ort-fuse; checked against the model's uncached run)")
    ap.add_argument("--quantize", choices=["int8", "qdq", "int4"], default=None,
                    help="int8: dynamic int8 quantisation; qdq: static int8 in QDQ format (calibrated "
                         "on random prompts); int4: 4-bit MatMulNBits weights (onnxruntime.quantization)")
    return ap


def resolve(args):
    """Fill the defaults that depend on other options; check combinations."""
    if args.config is None and args.model is None:
        raise SystemExit("give a model id / path, or --config with --random-weights")
    if args.config is not None and not args.random_weights:
        raise SystemExit("--config has no weights: add --random-weights")
    if args.exporter is None:
        args.exporter = "torchscript" if args.attn == "eager" else "dynamo"
    if args.opset is None:
        args.opset = hm.OPSET if args.exporter == "torchscript" else 18
    if args.past == "auto":
        # verified for TorchScript exports of fp32 and fp16 graphs; quantisation calibrates
        # and the fusion tool rewrites graphs without past inputs
        plain = args.exporter == "torchscript" and not args.quantize and not args.ort_fuse
        args.past = "on" if plain else "off"
    args.name = args.name or os.path.basename(os.path.normpath(args.out))
    return args


def export(args):
    """Write the folder for parsed (and resolved) arguments; returns the manifest dict."""
    args = resolve(args)
    cfg = load_config(args)
    if args.attn == "sdpa" and getattr(text_config(cfg), "attn_logit_softcapping", None):
        print("warning: sdpa attention does not apply this model's attention softcapping "
              "(attn_logit_softcapping=%s): the export computes another function than the model; "
              "use --attn eager to keep it" % text_config(cfg).attn_logit_softcapping, file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    kind = detect_kind(cfg) if args.kind == "auto" else args.kind
    torch.manual_seed(args.seed)
    with torch.no_grad():
        man = {"decoder": export_decoder, "encoder": export_encoder, "vlm": export_vlm}[kind](
            args, cfg, args.out)
    post_process(args, cfg, args.out, onnx_files(args.out))
    man["export"] = {"past": args.past == "on" and kind == "decoder", "attn": args.attn, "exporter": args.exporter, "opset": args.opset,
                     "dtype": args.dtype, "ortOptimize": bool(args.ort_optimize),
                     "ortFuse": args.ort_fuse, "quantize": args.quantize,
                     "torch": torch.__version__, "transformers": _transformers_version()}
    if args.random_weights:
        man["export"]["randomWeights"] = True
        man["export"]["seed"] = args.seed
    man["export"] = {k: v for k, v in man["export"].items() if v is not None}
    path = hm.write_manifest(args.out, man)
    print("wrote %s (%s, %s exporter, opset %d, %s%s%s%s)" % (
        args.out, kind, args.exporter, args.opset, args.dtype,
        ", ORT-optimised" if args.ort_optimize else "",
        ", ORT-fused (%s)" % args.ort_fuse if args.ort_fuse else "",
        (", " + args.quantize) if args.quantize else ""))
    report(args.out)
    return man, path


def _transformers_version():
    import transformers
    return transformers.__version__


def main(argv=None):
    args = parser().parse_args(argv)
    if args.model is not None and args.config is not None:
        raise SystemExit("give either a model id or --config, not both")
    if args.random_weights:
        torch.set_num_threads(1)  # bit-for-bit repeatable random models
    export(args)


if __name__ == "__main__":
    main()
