#!/usr/bin/env python3
"""Export a Hugging Face model to the folder layout HeadScope opens.

Run on your own machine (needs: torch, transformers, onnx; the model is read from the
Hub cache or a local path):

    python3 export_hf.py gpt2 out/gpt2
    python3 export_hf.py Qwen/Qwen2-0.5B out/qwen2-0.5b --max-length 2048
    python3 export_hf.py bert-base-uncased out/bert --kind encoder
    python3 export_hf.py llava-hf/llava-1.5-7b-hf out/llava --kind vlm

What it does
  * loads the model in float32 with attn_implementation="eager", so every attention
    head is exported as explicit MatMul -> Softmax -> MatMul nodes (no SDPA, no fused
    attention; no onnxruntime attention fusion is applied afterwards);
  * exports with the TorchScript exporter at opset 14, dynamic batch and sequence axes,
    no past key/values (use_cache=False);
  * decoder-only LMs (GPT-2, Llama, Qwen2, Mistral, ...): model.onnx with inputs
    input_ids, attention_mask (+ position_ids except for GPT-2) and output logits;
  * BERT-style encoders: model.onnx with input_ids, attention_mask -> logits (masked-LM
    head) or last_hidden_state when the checkpoint has no MLM head;
  * LLaVA-style VLMs: vision.onnx (pixel_values -> projected image_embeds), embed.onnx
    (input_ids -> inputs_embeds) and decoder.onnx (inputs_embeds, attention_mask,
    position_ids -> logits), like real VLM exports are split;
  * models above 2 GB are written with external data (<file>.onnx.data next to it);
  * copies tokenizer.json (fast tokenizer required) and writes headscope.json.

The export wrappers and the manifest writer are shared with HeadScope's bundled models
(assets/scripts/headscope_models.py), imported from there.
"""
import argparse
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
NO_POSITION_IDS = {"gpt2", "gpt_neo", "gptj", "gpt_bigcode"}
ENCODER_TYPES = {"bert", "roberta", "distilbert", "albert", "electra", "xlm-roberta", "deberta",
                 "deberta-v2", "camembert", "mpnet"}


def load_with_eager(cls, name, **kw):
    """from_pretrained with eager attention (older transformers lack the argument)."""
    try:
        model = cls.from_pretrained(name, attn_implementation="eager", torch_dtype=torch.float32,
                                    **kw)
    except TypeError:
        model = cls.from_pretrained(name, torch_dtype=torch.float32, **kw)
    cfg = model.config
    for c in [cfg] + [getattr(cfg, k) for k in ("text_config", "vision_config") if
                      getattr(cfg, k, None) is not None]:
        if hasattr(c, "_attn_implementation"):
            c._attn_implementation = "eager"
    if hasattr(cfg, "use_cache"):
        cfg.use_cache = False
    model.eval()
    return model


def model_bytes(model):
    return sum(p.numel() * p.element_size() for p in model.parameters())


def copy_tokenizer(name, out):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(name, use_fast=True)
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


def special_ids(tok):
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


def export_decoder(args, cfg, out):
    from transformers import AutoModelForCausalLM
    model = load_with_eager(AutoModelForCausalLM, args.model)
    tok = copy_tokenizer(args.model, out)
    use_pos = cfg.model_type not in NO_POSITION_IDS
    ext = model_bytes(model) > TWO_GB
    hm.export_decoder(model, os.path.join(out, "model.onnx"), use_position_ids=use_pos, hf=True,
                      vocab_hint=min(1000, cfg.vocab_size), external_data=ext)
    inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    if use_pos:
        inputs["position_ids"] = "position_ids"
    bos, eos, pad = special_ids(tok)
    arch = "gpt2" if cfg.model_type in NO_POSITION_IDS else (
        "llama" if cfg.model_type in ("llama", "qwen2", "mistral") else cfg.model_type)
    return hm.make_manifest(args.name, "decoder", arch, "model.onnx", inputs=inputs, bos=bos,
                            eos=eos, pad=pad,
                            max_length=args.max_length or max_len_of(cfg),
                            extra={"source": args.model, "modelType": cfg.model_type})


def export_encoder(args, cfg, out):
    from transformers import AutoModel, AutoModelForMaskedLM
    output = "logits"
    try:
        model = load_with_eager(AutoModelForMaskedLM, args.model)
    except Exception:  # noqa: BLE001 - checkpoints without an MLM head
        model = load_with_eager(AutoModel, args.model)
        output = "last_hidden_state"
    tok = copy_tokenizer(args.model, out)
    ext = model_bytes(model) > TWO_GB
    hm.export_encoder(model, os.path.join(out, "model.onnx"), output=output,
                      vocab_hint=min(1000, cfg.vocab_size), external_data=ext)
    return hm.make_manifest(args.name, "encoder", cfg.model_type, "model.onnx",
                            inputs={"input_ids": "input_ids", "attention_mask": "attention_mask"},
                            outputs={output: output}, bos=tok.cls_token_id, eos=tok.sep_token_id,
                            pad=tok.pad_token_id,
                            max_length=args.max_length or max_len_of(cfg, 512),
                            extra={"source": args.model, "modelType": cfg.model_type})


class _LogitsOut(nn.Module):
    """Base language model + separate lm_head (newer transformers' LLaVA layout)."""

    def __init__(self, base, head):
        super().__init__()
        self.base = base
        self.head = head

    def forward(self, **kw):
        h = self.base(**kw).last_hidden_state
        return types.SimpleNamespace(logits=self.head(h))


def export_vlm(args, cfg, out):
    from transformers import AutoImageProcessor, AutoModelForVision2Seq
    try:
        from transformers import LlavaForConditionalGeneration as VLMClass
    except ImportError:
        VLMClass = AutoModelForVision2Seq
    vlm = load_with_eager(VLMClass, args.model)
    tok = copy_tokenizer(args.model, out)
    vcfg, tcfg = cfg.vision_config, cfg.text_config
    layer = getattr(cfg, "vision_feature_layer", -2)
    strategy = getattr(cfg, "vision_feature_select_strategy", "default")

    def image_features(pixel_values):
        if hasattr(vlm, "get_image_features"):
            try:
                feats = vlm.get_image_features(pixel_values=pixel_values,
                                               vision_feature_layer=layer,
                                               vision_feature_select_strategy=strategy)
                return feats if torch.is_tensor(feats) else torch.cat(list(feats), 0).unsqueeze(0)
            except TypeError:
                pass
        hs = vlm.vision_tower(pixel_values, output_hidden_states=True).hidden_states[layer]
        if strategy == "default":
            hs = hs[:, 1:]
        return vlm.multi_modal_projector(hs)

    lm = getattr(vlm, "language_model", None)
    if lm is None:
        lm = vlm.model.language_model
    if not hasattr(lm, "lm_head") and hasattr(vlm, "lm_head"):
        lm = _LogitsOut(lm, vlm.lm_head)
    size = vcfg.image_size
    patch = vcfg.patch_size
    grid = size // patch
    ext = model_bytes(vlm) > TWO_GB
    vision_ext = sum(p.numel() * 4 for p in vlm.vision_tower.parameters()) > TWO_GB
    hm.export_vision(image_features, os.path.join(out, "vision.onnx"), size, external_data=vision_ext)
    hm.export_embed(vlm.get_input_embeddings(), os.path.join(out, "embed.onnx"),
                    external_data=vlm.get_input_embeddings().weight.numel() * 4 > TWO_GB)
    hm.export_embeds_decoder(lm, os.path.join(out, "decoder.onnx"), tcfg.hidden_size, hf=True,
                             external_data=ext)
    try:
        ip = AutoImageProcessor.from_pretrained(args.model)
        mean, std = list(ip.image_mean), list(ip.image_std)
    except Exception:  # noqa: BLE001
        mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    image_token_id = getattr(cfg, "image_token_index", getattr(cfg, "image_token_id", None))
    bos, eos, pad = special_ids(tok)
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
        extra={"source": args.model, "modelType": cfg.model_type})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="Hugging Face model id or local path")
    ap.add_argument("out", help="output folder (created)")
    ap.add_argument("--kind", choices=["auto", "decoder", "encoder", "vlm"], default="auto")
    ap.add_argument("--name", default=None, help="display name (default: folder name)")
    ap.add_argument("--max-length", type=int, default=None)
    ap.add_argument("--image-start", type=int, default=1,
                    help="VLM: sequence index where the image embeddings start")
    args = ap.parse_args()
    from transformers import AutoConfig
    cfg = AutoConfig.from_pretrained(args.model)
    os.makedirs(args.out, exist_ok=True)
    args.name = args.name or os.path.basename(os.path.normpath(args.out))
    kind = detect_kind(cfg) if args.kind == "auto" else args.kind
    torch.set_grad_enabled(False)
    man = {"decoder": export_decoder, "encoder": export_encoder, "vlm": export_vlm}[kind](
        args, cfg, args.out)
    print("wrote", hm.write_manifest(args.out, man))


if __name__ == "__main__":
    main()
