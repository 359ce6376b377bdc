"""Shared model definitions, tokenizer writer, ONNX export wrappers and the
headscope.json manifest writer.

Used by the bundled-model training scripts (train_needle.py, train_vlm.py) and by
assets/export/export_hf.py, so that bundled models and user-exported Hugging Face
models produce the same ONNX interface and the same manifest format.

All attention is written out eagerly (scores = q @ k^T / sqrt(dh), additive mask,
softmax, @ v, o_proj) so that each head's attention pattern is a plain Softmax
node in the exported graph.
"""
import json
import math
import os
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

MANIFEST_FORMAT = "headscope-manifest/1"
OPSET = 14
NEG_INF = -1e9

# --------------------------------------------------------------------------------------
# Tokenizer (word level, mirrors HF tokenizers: Lowercase normalizer + Whitespace
# pre-tokenizer, whose regex is \w+|[^\w\s]+)
# --------------------------------------------------------------------------------------
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
PAD, BOS, EOS, UNK = 0, 1, 2, 3
_WS_RE = re.compile(r"\w+|[^\w\s]+")


def pre_tokenize(text):
    return _WS_RE.findall(text.lower())


class WordTokenizer:
    def __init__(self, vocab):
        self.vocab = dict(vocab)
        self.inv = {i: w for w, i in self.vocab.items()}

    def encode(self, text):
        return [self.vocab.get(w, UNK) for w in pre_tokenize(text)]

    def encode_words(self, words):
        return [self.vocab.get(w, UNK) for w in words]

    def decode(self, ids):
        return " ".join(self.inv.get(int(i), "<unk>") for i in ids)

    def __len__(self):
        return len(self.vocab)

    @staticmethod
    def load(path):
        with open(path) as f:
            tj = json.load(f)
        return WordTokenizer(tj["model"]["vocab"])


def write_tokenizer_json(path, vocab, specials):
    """Write a Hugging Face tokenizers JSON (WordLevel model) by hand."""
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True} for s in specials]
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
        "model": {"type": "WordLevel", "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])),
                  "unk_token": "<unk>"},
    }
    with open(path, "w") as f:
        json.dump(tj, f, ensure_ascii=True)


# --------------------------------------------------------------------------------------
# Masks and shared pieces
# --------------------------------------------------------------------------------------
def additive_mask(attention_mask, T, dtype):
    """Causal + padding mask, additive, shape [B,1,T,S]: the T queries are the last T of the
    S = attention_mask.shape[1] keys (S = T without a past; S = past + T with one)."""
    S = attention_mask.shape[1]
    kidx = torch.arange(S, device=attention_mask.device)
    qidx = torch.arange(S - T, S, device=attention_mask.device)
    causal = (kidx.unsqueeze(0) > qidx.unsqueeze(1)).to(dtype) * NEG_INF  # [T,S]
    pad = (1.0 - attention_mask.to(dtype)) * NEG_INF  # [B,S]
    return causal.unsqueeze(0).unsqueeze(0) + pad.unsqueeze(1).unsqueeze(2)


def eager_attention(q, k, v, mask):
    """q,k,v: [B,H,T,dh]; mask additive broadcastable to [B,H,T,T]."""
    dh = q.shape[-1]
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh)
    scores = scores + mask
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, v)


# --------------------------------------------------------------------------------------
# GPT-2 style decoder
# --------------------------------------------------------------------------------------
class GPT2Attention(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.h = n_heads
        self.dh = d // n_heads
        self.c_attn = nn.Linear(d, 3 * d)  # fused QKV
        self.c_proj = nn.Linear(d, d)  # o_proj

    def forward(self, x, mask, past=None):
        """past: None, or this layer's cached (key, value) [B,H,P,dh]; then the keys and values
        of the new tokens are appended and the result is (output, (key, value))."""
        B, T, D = x.shape
        qkv = self.c_attn(x)
        q, k, v = qkv.split(D, dim=2)
        q = q.view(B, T, self.h, self.dh).transpose(1, 2)
        k = k.view(B, T, self.h, self.dh).transpose(1, 2)
        v = v.view(B, T, self.h, self.dh).transpose(1, 2)
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        o = eager_attention(q, k, v, mask)
        o = self.c_proj(o.transpose(1, 2).reshape(B, T, D))
        return o if past is None else (o, (k, v))


class GPT2Block(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = GPT2Attention(d, n_heads)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(d, 4 * d))
        self.mlp.add_module("act", nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * d, d))

    def forward(self, x, mask, past=None):
        if past is None:
            x = x + self.attn(self.ln_1(x), mask)
            return x + self.mlp(self.ln_2(x))
        a, present = self.attn(self.ln_1(x), mask, past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present


class GPT2LM(nn.Module):
    def __init__(self, vocab_size, d=128, n_layers=4, n_heads=8, max_len=512):
        super().__init__()
        self.config = dict(arch="gpt2", vocab_size=vocab_size, d=d, n_layers=n_layers,
                           n_heads=n_heads, max_len=max_len)
        self.wte = nn.Embedding(vocab_size, d)
        self.wpe = nn.Embedding(max_len, d)
        self.h = nn.ModuleList([GPT2Block(d, n_heads) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d)
        self.apply(_init_weights)

    def hidden(self, input_ids, attention_mask):
        B, T = input_ids.shape
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        mask = additive_mask(attention_mask, T, x.dtype)
        for blk in self.h:
            x = blk(x, mask)
        return self.ln_f(x)

    def logits_from_hidden(self, h):
        return F.linear(h, self.wte.weight)  # tied output embedding

    def forward(self, input_ids, attention_mask):
        return self.logits_from_hidden(self.hidden(input_ids, attention_mask))

    def forward_with_past(self, input_ids, attention_mask, past):
        """Logits of the new tokens and every layer's (key, value) over past + new tokens.
        past: per layer (key, value) [B,H,P,dh] (P may be 0); attention_mask covers the P + T
        keys; the new tokens sit at positions P..P+T-1."""
        B, T = input_ids.shape
        S = attention_mask.shape[1]
        pos = torch.arange(S - T, S, device=input_ids.device).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        mask = additive_mask(attention_mask, T, x.dtype)
        presents = []
        for blk, kv in zip(self.h, past):
            x, present = blk(x, mask, kv)
            presents.append(present)
        return self.logits_from_hidden(self.ln_f(x)), presents


# --------------------------------------------------------------------------------------
# Llama style decoder (RoPE from position_ids, RMSNorm, SwiGLU, GQA with repeat_kv)
# --------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    """HF-style: [B,Hkv,T,dh] -> [B,Hkv*n_rep,T,dh] via expand + reshape."""
    if n_rep == 1:
        return x
    B, Hkv, T, dh = x.shape
    x = x[:, :, None, :, :].expand(B, Hkv, n_rep, T, dh)
    return x.reshape(B, Hkv * n_rep, T, dh)


class LlamaRotary(nn.Module):
    def __init__(self, dh, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dh, 2).float() / dh))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):
        freqs = position_ids.float().unsqueeze(-1) * self.inv_freq  # [B,T,dh/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)  # [B,1,T,dh]


class LlamaAttention(nn.Module):
    def __init__(self, d, n_heads, n_kv_heads, head_dim=None, attention_bias=False):
        super().__init__()
        self.h = n_heads
        self.hkv = n_kv_heads
        self.dh = head_dim or d // n_heads
        # attention_bias=True: q/k/v biases as in Qwen2 (o_proj stays bias-free)
        self.q_proj = nn.Linear(d, n_heads * self.dh, bias=attention_bias)
        self.k_proj = nn.Linear(d, n_kv_heads * self.dh, bias=attention_bias)
        self.v_proj = nn.Linear(d, n_kv_heads * self.dh, bias=attention_bias)
        self.o_proj = nn.Linear(n_heads * self.dh, d, bias=False)

    def forward(self, x, mask, cos, sin, past=None):
        """past: None, or this layer's cached (key, value) [B,Hkv,P,dh] (keys rotated); then
        the result is (output, (key, value)) over past + new tokens, before repeat_kv."""
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.dh).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.hkv, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.hkv, self.dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        present = (k, v)
        k = repeat_kv(k, self.h // self.hkv)
        v = repeat_kv(v, self.h // self.hkv)
        o = eager_attention(q, k, v, mask)
        o = self.o_proj(o.transpose(1, 2).reshape(B, T, self.h * self.dh))
        return o if past is None else (o, present)


class LlamaMLP(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, d, n_heads, n_kv_heads, ff, head_dim=None, attention_bias=False):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = LlamaAttention(d, n_heads, n_kv_heads, head_dim, attention_bias)
        self.post_attention_layernorm = RMSNorm(d)
        self.mlp = LlamaMLP(d, ff)

    def forward(self, x, mask, cos, sin, past=None):
        if past is None:
            x = x + self.self_attn(self.input_layernorm(x), mask, cos, sin)
            return x + self.mlp(self.post_attention_layernorm(x))
        a, present = self.self_attn(self.input_layernorm(x), mask, cos, sin, past)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaLM(nn.Module):
    def __init__(self, vocab_size, d=128, n_layers=4, n_heads=8, n_kv_heads=2, ff=None,
                 max_len=512, head_dim=None, tie_embeddings=False, rope_theta=10000.0,
                 attention_bias=False):
        super().__init__()
        ff = ff or int(8 * d / 3 / 16 + 0.999) * 16
        head_dim = head_dim or d // n_heads
        self.config = dict(arch="llama", vocab_size=vocab_size, d=d, n_layers=n_layers,
                           n_heads=n_heads, n_kv_heads=n_kv_heads, ff=ff, max_len=max_len,
                           head_dim=head_dim, tie_embeddings=tie_embeddings,
                           rope_theta=rope_theta, attention_bias=attention_bias)
        self.embed_tokens = nn.Embedding(vocab_size, d)
        self.rotary = LlamaRotary(head_dim, rope_theta)
        self.layers = nn.ModuleList([LlamaBlock(d, n_heads, n_kv_heads, ff, head_dim,
                                                attention_bias) for _ in range(n_layers)])
        self.norm = RMSNorm(d)
        self.tie_embeddings = tie_embeddings
        if not tie_embeddings:
            self.lm_head = nn.Linear(d, vocab_size, bias=False)
        self.apply(_init_weights)

    def hidden_from_embeds(self, inputs_embeds, attention_mask, position_ids):
        T = inputs_embeds.shape[1]
        mask = additive_mask(attention_mask, T, inputs_embeds.dtype)
        cos, sin = self.rotary(position_ids)
        x = inputs_embeds
        for blk in self.layers:
            x = blk(x, mask, cos, sin)
        return self.norm(x)

    def logits_from_hidden(self, h):
        if self.tie_embeddings:  # like tie_word_embeddings=True in HF Llama / Qwen2 configs
            return F.linear(h, self.embed_tokens.weight)
        return self.lm_head(h)

    def hidden(self, input_ids, attention_mask, position_ids=None):
        if position_ids is None:
            position_ids = default_position_ids(attention_mask)
        return self.hidden_from_embeds(self.embed_tokens(input_ids), attention_mask, position_ids)

    def forward(self, input_ids, attention_mask, position_ids):
        return self.logits_from_hidden(self.hidden(input_ids, attention_mask, position_ids))

    def forward_with_past(self, input_ids, attention_mask, past, position_ids):
        """Logits of the new tokens and every layer's (key, value) over past + new tokens
        (see GPT2LM.forward_with_past); position_ids: the new tokens' positions."""
        x = self.embed_tokens(input_ids)
        mask = additive_mask(attention_mask, input_ids.shape[1], x.dtype)
        cos, sin = self.rotary(position_ids)
        presents = []
        for blk, kv in zip(self.layers, past):
            x, present = blk(x, mask, cos, sin, kv)
            presents.append(present)
        return self.logits_from_hidden(self.norm(x)), presents


def default_position_ids(attention_mask):
    """Positions counting only attended tokens (left padding friendly)."""
    pos = attention_mask.long().cumsum(-1) - 1
    return pos.clamp(min=0)


def _init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, std=0.02)


def build_decoder(config):
    c = dict(config)
    arch = c.pop("arch")
    if arch == "gpt2":
        return GPT2LM(**c)
    if arch == "llama":
        return LlamaLM(**c)
    raise ValueError(arch)


# --------------------------------------------------------------------------------------
# Small VLM: ViT patch encoder + projector + Llama decoder
# --------------------------------------------------------------------------------------
class ViTBlock(nn.Module):
    def __init__(self, d, n_heads):
        super().__init__()
        self.h = n_heads
        self.dh = d // n_heads
        self.layer_norm1 = nn.LayerNorm(d)
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)
        self.layer_norm2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        B, N, D = x.shape
        h = self.layer_norm1(x)
        q = self.q_proj(h).view(B, N, self.h, self.dh).transpose(1, 2)
        k = self.k_proj(h).view(B, N, self.h, self.dh).transpose(1, 2)
        v = self.v_proj(h).view(B, N, self.h, self.dh).transpose(1, 2)
        o = eager_attention(q, k, v, 0.0)  # bidirectional, no mask
        x = x + self.out_proj(o.transpose(1, 2).reshape(B, N, D))
        return x + self.fc2(F.gelu(self.fc1(self.layer_norm2(x))))


class VisionEncoder(nn.Module):
    def __init__(self, d_vision=96, n_layers=2, n_heads=4, image_size=32, patch=4, d_text=128):
        super().__init__()
        self.grid = image_size // patch
        self.patch_embedding = nn.Conv2d(3, d_vision, kernel_size=patch, stride=patch)
        self.position_embedding = nn.Parameter(torch.randn(self.grid * self.grid, d_vision) * 0.02)
        self.layers = nn.ModuleList([ViTBlock(d_vision, n_heads) for _ in range(n_layers)])
        # no affine shift here and no biases in the projector: a learned constant offset let
        # the image tokens collapse to one large constant vector early in training
        self.post_layernorm = nn.LayerNorm(d_vision, elementwise_affine=False)
        # LLaVA-style two-layer MLP projector
        self.projector = nn.Sequential()
        self.projector.add_module("linear_1", nn.Linear(d_vision, d_text, bias=False))
        self.projector.add_module("act", nn.GELU())
        self.projector.add_module("linear_2", nn.Linear(d_text, d_text, bias=False))

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values)  # [B,dv,g,g]
        x = x.flatten(2).transpose(1, 2) + self.position_embedding  # row-major patches
        for blk in self.layers:
            x = blk(x)
        return self.projector(self.post_layernorm(x))


class ShapesVLM(nn.Module):
    def __init__(self, vocab_size, d=128, n_layers=4, n_heads=8, n_kv_heads=2, d_vision=96,
                 vision_layers=2, max_len=128, attention_bias=True):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, d=d, n_layers=n_layers, n_heads=n_heads,
                           n_kv_heads=n_kv_heads, d_vision=d_vision, vision_layers=vision_layers,
                           max_len=max_len, attention_bias=attention_bias)
        self.vision = VisionEncoder(d_vision, vision_layers, 4, 32, 4, d)
        self.lm = LlamaLM(vocab_size, d, n_layers, n_heads, n_kv_heads, max_len=max_len,
                          attention_bias=attention_bias)
        self.apply(_init_weights)

    def embed(self, input_ids):
        return self.lm.embed_tokens(input_ids)


# --------------------------------------------------------------------------------------
# Export wrappers
# --------------------------------------------------------------------------------------
class DecoderExportWrapper(nn.Module):
    """input_ids, attention_mask[, position_ids] -> logits. Works for our models and for
    Hugging Face causal LMs (called with keyword arguments, use_cache=False)."""

    def __init__(self, model, use_position_ids, hf=False):
        super().__init__()
        self.model = model
        self.use_position_ids = use_position_ids
        self.hf = hf

    def forward(self, input_ids, attention_mask, position_ids=None):
        if self.hf:
            kw = dict(input_ids=input_ids, attention_mask=attention_mask, use_cache=False,
                      return_dict=True)
            if self.use_position_ids:
                kw["position_ids"] = position_ids
            return self.model(**kw).logits
        if self.use_position_ids:
            return self.model(input_ids, attention_mask, position_ids)
        return self.model(input_ids, attention_mask)


class DecoderWithPastExportWrapper(nn.Module):
    """input_ids, attention_mask[, position_ids], past_key_values.{i}.key/value ->
    logits, present.{i}.key/value, for a Hugging Face causal LM. One graph serves prefill
    (past of length 0) and one-token steps. Without position_ids inputs the positions are
    taken from the mask (cumsum - 1 over the past and new tokens), so they never depend on
    the traced example's past length."""

    def __init__(self, model, use_position_ids, layers):
        super().__init__()
        self.model = model
        self.use_position_ids = use_position_ids
        self.layers = layers

    def forward(self, input_ids, attention_mask, *rest):
        from transformers import DynamicCache
        if self.use_position_ids:
            position_ids, flat = rest[0], rest[1:]
        else:
            pos = attention_mask.cumsum(-1) - 1
            position_ids, flat = pos[:, pos.shape[1] - input_ids.shape[1]:], rest
        cache = DynamicCache(ddp_cache_data=[(flat[2 * i], flat[2 * i + 1])
                                             for i in range(self.layers)], config=self.model.config)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         position_ids=position_ids, past_key_values=cache, use_cache=True,
                         return_dict=True)
        present = []
        for layer in out.past_key_values.layers:
            present += [layer.keys, layer.values]
        return (out.logits, *present)


class OwnDecoderWithPastExportWrapper(DecoderWithPastExportWrapper):
    """The same interface as DecoderWithPastExportWrapper for this file's GPT2LM / LlamaLM
    (their forward_with_past)."""

    def forward(self, input_ids, attention_mask, *rest):
        position_ids, flat = (rest[0], rest[1:]) if self.use_position_ids else (None, rest)
        past = [(flat[2 * i], flat[2 * i + 1]) for i in range(self.layers)]
        if self.use_position_ids:
            logits, presents = self.model.forward_with_past(input_ids, attention_mask, past, position_ids)
        else:
            logits, presents = self.model.forward_with_past(input_ids, attention_mask, past)
        return (logits, *[t for kv in presents for t in kv])


def export_decoder_with_past(model, path, use_position_ids, layers, kv_heads, head_dim,
                             vocab_hint=16, external_data=False, hf=True, **export_kw):
    """A decoder with past key/value inputs and present outputs ([batch, kv_heads, length,
    head_dim] each), traced on a non-empty past so that the past length stays dynamic.
    hf=False: one of this file's decoders (GPT2LM, LlamaLM)."""
    wrapper = (DecoderWithPastExportWrapper if hf else OwnDecoderWithPastExportWrapper)(
        model, use_position_ids, layers)
    B, P, T = 1, 3, 5
    ids = torch.randint(4, vocab_hint, (B, T), dtype=torch.long)
    am = torch.ones(B, P + T, dtype=torch.long)
    names = ["input_ids", "attention_mask"]
    args = [ids, am]
    dyn = {"input_ids": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "total_sequence"},
           "logits": {0: "batch", 1: "sequence"}}
    if use_position_ids:
        args.append(torch.arange(P, P + T, dtype=torch.long).unsqueeze(0))
        names.append("position_ids")
        dyn["position_ids"] = {0: "batch", 1: "sequence"}
    outputs = ["logits"]
    for i in range(layers):
        for kv in ("key", "value"):
            names.append("past_key_values.%d.%s" % (i, kv))
            dyn[names[-1]] = {0: "batch", 2: "past_sequence"}
            outputs.append("present.%d.%s" % (i, kv))
            dyn[outputs[-1]] = {0: "batch", 2: "total_sequence"}
            args.append(torch.randn(B, kv_heads, P, head_dim))
    return export_onnx(wrapper, tuple(args), path, names, outputs, dyn, external_data, **export_kw)


class EmbedsDecoderExportWrapper(nn.Module):
    """inputs_embeds, attention_mask, position_ids -> logits."""

    def __init__(self, lm, hf=False):
        super().__init__()
        self.lm = lm
        self.hf = hf

    def forward(self, inputs_embeds, attention_mask, position_ids):
        if self.hf:
            return self.lm(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                           position_ids=position_ids, use_cache=False, return_dict=True).logits
        return self.lm.logits_from_hidden(
            self.lm.hidden_from_embeds(inputs_embeds, attention_mask, position_ids))


class EncoderExportWrapper(nn.Module):
    """input_ids, attention_mask -> logits (masked-LM head) or last_hidden_state."""

    def __init__(self, model, output="logits"):
        super().__init__()
        self.model = model
        self.output = output

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
        return out.logits if self.output == "logits" else out.last_hidden_state


class EmbedExportWrapper(nn.Module):
    """input_ids -> inputs_embeds."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding

    def forward(self, input_ids):
        return self.embedding(input_ids)


class VisionExportWrapper(nn.Module):
    """pixel_values -> image_embeds (already projected to the decoder width)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, pixel_values):
        return self.fn(pixel_values)


def _torch_export(module, args, path, input_names, output_names, dynamic_axes, opset,
                  dynamo, large=False):
    """One torch.onnx.export call. dynamo=False is the TorchScript exporter (newer torch
    releases default to the dynamo exporter, so the choice is always passed)."""
    kw = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
              opset_version=opset, dynamo=dynamo)
    if dynamo:
        kw["external_data"] = large  # > 2 GB: the dynamo exporter writes <file>.data
    else:
        kw["do_constant_folding"] = True
    with torch.no_grad():
        try:
            torch.onnx.export(module, args, path, **kw)
        except TypeError:
            if dynamo:  # torch releases before the dynamo exporter existed
                raise
            kw.pop("dynamo")
            torch.onnx.export(module, args, path, **kw)


def export_onnx(module, args, path, input_names, output_names, dynamic_axes,
                external_data=False, opset=OPSET, dynamo=False):
    """TorchScript exporter (dynamo=False, default) or the dynamo exporter, opset 14 unless
    told otherwise, fp32. Large models (> 2 GB) are re-saved with external data next to
    the .onnx file."""
    import onnx
    module.eval()
    if not external_data:
        _torch_export(module, args, path, input_names, output_names, dynamic_axes, opset,
                      dynamo)
        onnx.checker.check_model(path)
        return path
    import shutil
    import tempfile
    tmp = tempfile.mkdtemp(prefix="headscope-export-")
    try:
        tmp_path = os.path.join(tmp, "model.onnx")
        _torch_export(module, args, tmp_path, input_names, output_names, dynamic_axes, opset,
                      dynamo, large=True)
        m = onnx.load(tmp_path)  # pulls in whatever external files the exporter wrote
        data_name = os.path.basename(path) + ".data"
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    onnx.checker.check_model(path)
    return path


def export_decoder(model, path, use_position_ids, hf=False, vocab_hint=16, external_data=False,
                   **export_kw):
    wrapper = DecoderExportWrapper(model, use_position_ids, hf=hf)
    B, T = 1, 8
    ids = torch.randint(4, vocab_hint, (B, T), dtype=torch.long)
    am = torch.ones(B, T, dtype=torch.long)
    names = ["input_ids", "attention_mask"]
    args = (ids, am)
    dyn = {"input_ids": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "sequence"},
           "logits": {0: "batch", 1: "sequence"}}
    if use_position_ids:
        pos = torch.arange(T, dtype=torch.long).unsqueeze(0)
        args = (ids, am, pos)
        names.append("position_ids")
        dyn["position_ids"] = {0: "batch", 1: "sequence"}
    return export_onnx(wrapper, args, path, names, ["logits"], dyn, external_data, **export_kw)


def export_encoder(model, path, output="logits", vocab_hint=16, external_data=False,
                   **export_kw):
    wrapper = EncoderExportWrapper(model, output)
    ids = torch.randint(4, vocab_hint, (1, 8), dtype=torch.long)
    am = torch.ones(1, 8, dtype=torch.long)
    dyn = {"input_ids": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "sequence"},
           output: {0: "batch", 1: "sequence"}}
    return export_onnx(wrapper, (ids, am), path, ["input_ids", "attention_mask"], [output], dyn,
                       external_data, **export_kw)


def export_embeds_decoder(lm, path, d, hf=False, external_data=False, **export_kw):
    wrapper = EmbedsDecoderExportWrapper(lm, hf=hf)
    B, T = 1, 8
    args = (torch.randn(B, T, d), torch.ones(B, T, dtype=torch.long),
            torch.arange(T, dtype=torch.long).unsqueeze(0))
    dyn = {"inputs_embeds": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "sequence"},
           "position_ids": {0: "batch", 1: "sequence"},
           "logits": {0: "batch", 1: "sequence"}}
    return export_onnx(wrapper, args, path, ["inputs_embeds", "attention_mask", "position_ids"],
                       ["logits"], dyn, external_data, **export_kw)


def export_embed(embedding, path, external_data=False, **export_kw):
    ids = torch.tensor([[1, 5, 6, 7]], dtype=torch.long)
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}}
    return export_onnx(EmbedExportWrapper(embedding), (ids,), path, ["input_ids"],
                       ["inputs_embeds"], dyn, external_data, **export_kw)


def export_vision(fn, path, image_size, external_data=False, **export_kw):
    px = torch.randn(1, 3, image_size, image_size)
    dyn = {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}
    return export_onnx(VisionExportWrapper(fn), (px,), path, ["pixel_values"], ["image_embeds"],
                       dyn, external_data, **export_kw)


def share_transposed_weights(path):
    """Stores a weight once when the exporter's constant folding also stored it transposed (a
    tied unembedding: the embedding [V,D] for the Gather, its transpose [D,V] for the MatMul):
    each initializer equal to another one transposed becomes a Transpose node of that one
    (ONNX Runtime folds it back when it loads the model). Returns the bytes saved."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(path)
    g = m.graph
    arrays = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    # the table a Gather reads (the embedding, by its parameter name) stays an initializer
    gathered = {n.input[0] for n in g.node if n.op_type == "Gather"}
    shared = {}
    for name, a in arrays.items():
        if a.ndim != 2 or a.size < 4096 or name in gathered:
            continue
        for other, o in arrays.items():
            if other != name and other not in shared and o.shape == a.shape[::-1] \
                    and o.dtype == a.dtype and np.array_equal(o.T, a):
                shared[name] = other
                break
    if not shared:
        return 0
    keep = [i for i in g.initializer if i.name not in shared]
    del g.initializer[:]
    g.initializer.extend(keep)
    for name, src in reversed(list(shared.items())):
        g.node.insert(0, helper.make_node("Transpose", [src], [name], name=name + "/shared",
                                          perm=[1, 0]))
    onnx.save(m, path)
    onnx.checker.check_model(path)
    return sum(arrays[n].nbytes for n in shared)


# --------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------
def make_manifest(name, kind, architecture, model_file, tokenizer_file="tokenizer.json",
                  inputs=None, outputs=None, bos=None, eos=None, pad=None, max_length=None,
                  retrieval=None, vision=None, extra=None):
    """Build a headscope-manifest/1 dict; fields that do not apply (None) are omitted."""
    m = {"format": MANIFEST_FORMAT, "name": name, "kind": kind, "architecture": architecture,
         "model": model_file, "tokenizer": tokenizer_file,
         "inputs": inputs, "outputs": outputs or {"logits": "logits"},
         "bos": bos, "eos": eos, "pad": pad, "maxLength": max_length,
         "retrieval": retrieval, "vision": vision}
    if extra:
        m.update(extra)
    return {k: v for k, v in m.items() if v is not None}


def write_manifest(folder, manifest):
    """Writes headscope.json; records the model file's SHA-256 (HeadScope warns when the file no longer matches)."""
    model = os.path.join(folder, manifest.get("model", ""))
    if "sha256" not in manifest and os.path.isfile(model):
        import hashlib
        h = hashlib.sha256()
        with open(model, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        manifest = dict(manifest, sha256=h.hexdigest())
    path = os.path.join(folder, "headscope.json")
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return path


def count_params(model):
    return sum(p.numel() for p in model.parameters())
