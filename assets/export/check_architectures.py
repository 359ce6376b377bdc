"""A wider check than the committed conformance matrix, run by hand: for each architecture below, a tiny
random-weight model (real transformers classes, configs here, nothing downloaded) is exported by export_hf.py
along four paths (eager; HF's default sdpa through the dynamo exporter at opset 18; the same at opset 23, the
ONNX Attention op; fp16 of the sdpa export), opened by HeadScope's `attention` command, and its probabilities
compared with Hugging Face's eager `output_attentions`. Prints one line per (architecture, path).

    OMP_NUM_THREADS=1 python3 assets/export/check_architectures.py [ARCH ...] [--work DIR]

Needs torch, transformers, onnx, onnxscript, onnxruntime (see README.md) and a built HeadScope (./headscope).
"""
import contextlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import export_hf  # noqa: E402
import transformers  # noqa: E402

T = 8
CFGS = {
 "mistral": dict(model_type="mistral", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=128, max_position_embeddings=64),
 "phi3": dict(model_type="phi3", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=128, max_position_embeddings=64, pad_token_id=0),
 "gpt_neox": dict(model_type="gpt_neox", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128, max_position_embeddings=64, rotary_pct=0.5),
 "opt": dict(model_type="opt", hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128, max_position_embeddings=64, word_embed_proj_dim=32),
 "qwen3": dict(model_type="qwen3", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8, vocab_size=128, max_position_embeddings=64),
 "gpt_bigcode": dict(model_type="gpt_bigcode", n_embd=32, n_inner=64, n_layer=2, n_head=4, vocab_size=128, n_positions=64, multi_query=True),
 "stablelm": dict(model_type="stablelm", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, vocab_size=128, max_position_embeddings=64),
 "mpt": dict(model_type="mpt", d_model=32, n_heads=4, n_layers=2, vocab_size=128, max_seq_len=64, expansion_ratio=2),
 "gptj": dict(model_type="gptj", n_embd=32, n_layer=2, n_head=4, vocab_size=128, n_positions=64, rotary_dim=4),
 "olmo": dict(model_type="olmo", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128, max_position_embeddings=64),
 "gemma3_text": dict(model_type="gemma3_text", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8, vocab_size=128, max_position_embeddings=64, sliding_window=32),
 "roberta": dict(model_type="roberta", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128, max_position_embeddings=70),
 "distilbert": dict(model_type="distilbert", dim=32, hidden_dim=64, n_layers=2, n_heads=4, vocab_size=128, max_position_embeddings=64),
 "falcon_new": dict(model_type="falcon", hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_kv_heads=2, new_decoder_architecture=True, vocab_size=128, alibi=False),
 "falcon_alibi": dict(model_type="falcon", hidden_size=32, num_hidden_layers=2, num_attention_heads=4, multi_query=True, alibi=True, vocab_size=128),
}
PATHS = {"eager": ["--attn","eager"], "sdpa18": ["--attn","sdpa"], "attn23": ["--attn","sdpa","--opset","23"], "fp16": ["--attn","sdpa","--dtype","fp16"]}
args = sys.argv[1:]
work = tempfile.mkdtemp(prefix="headscope-archs-")
if "--work" in args:
    i = args.index("--work")
    work = args[i + 1]
    del args[i:i + 2]
os.makedirs(work, exist_ok=True)
os.chdir(work)
names = args or list(CFGS)
for name in names:
    cfg = dict(CFGS[name]); cfg.setdefault("initializer_range", 0.2); cfg.setdefault("bos_token_id", 1); cfg.setdefault("eos_token_id", 2)
    os.makedirs(name, exist_ok=True)
    json.dump(cfg, open(f"{name}/config.json","w"))
    ids = [1, 5, 9, 33, 7, 60, 12, 90]
    ref = None
    for p, opts in PATHS.items():
        out = f"{name}/{p}"
        try:
            argv = [out, "--config", f"{name}/config.json", "--random-weights", "--seed", "7"] + opts
            with open(os.devnull, "w") as dn:
                with contextlib.redirect_stdout(dn), contextlib.redirect_stderr(dn):
                    export_hf.export(export_hf.parser().parse_args(argv))
        except Exception as e:
            print(f"{name}/{p}: EXPORT FAILED {str(e).splitlines()[0][:150]}", flush=True); continue
        if ref is None:
            args = export_hf.resolve(export_hf.parser().parse_args([out, "--config", f"{name}/config.json", "--random-weights", "--seed", "7", "--attn", "eager"]))
            c = export_hf.load_config(args)
            kind = export_hf.detect_kind(c)
            cls = transformers.AutoModelForMaskedLM if kind == "encoder" else transformers.AutoModelForCausalLM
            with open(os.devnull, "w") as dn:
                with contextlib.redirect_stdout(dn):
                    m = export_hf.load_model(cls, args, c)
            with torch.no_grad():
                o = m(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, T, dtype=torch.long), output_attentions=True)
            ref = np.stack([a[0].numpy() for a in o.attentions])
        r = subprocess.run([os.path.join(ROOT, "headscope"), "attention", os.path.abspath(out), "--ids", ",".join(map(str, ids)), "--out", os.path.abspath(f"{out}/attn.json")], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{name}/{p}: HEADSCOPE rc={r.returncode} {r.stderr.strip().splitlines()[-1][:250] if r.stderr.strip() else ''}", flush=True); continue
        d = json.load(open(f"{out}/attn.json"))
        hs = np.array([l["probs"] for l in d["layers"]])
        diff = np.abs(hs - ref).max() if hs.shape == ref.shape else f"shape {hs.shape} vs {ref.shape}"
        print(f"{name}/{p}: max|diff| vs HF eager = {diff}", flush=True)
