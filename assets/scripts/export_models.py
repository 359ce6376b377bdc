"""Export the bundled models from their torch checkpoints to ONNX and write headscope.json.

    python3 assets/scripts/export_models.py needle-gpt
    python3 assets/scripts/export_models.py needle-llama
    python3 assets/scripts/export_models.py shapes-vlm

Uses the shared export wrappers and manifest writer in headscope_models.py (the same
code assets/export/export_hf.py uses for Hugging Face models).
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import headscope_models as hm  # noqa: E402

ASSETS = os.path.dirname(HERE)


# BundledSample.NEEDLE_PROMPT (app): the prompt the workbench opens the needle models with
NEEDLE_PROMPT = ("be cautious in your daily affairs . the green palace was built by nineteen apples ."
                 " beware of a tall blond man with one black shoe . question : who built the green palace ? answer :")


def export_needle(name, folder=None):
    """model.onnx with past key/value inputs and present outputs: one graph that runs the
    prompt on an empty past and each next token on the cache. Checked against the graph
    without past inputs (the previous bundled export, made in a temporary folder) on the
    bundled sample and held-out episodes: prefill logits within 1e-5, and cached greedy
    decoding gives the same tokens as re-running the whole sequence."""
    import tempfile
    folder = folder or os.path.join(ASSETS, "models", name)
    import needle_data as nd
    ck = torch.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu")
    cfg = ck["config"]
    model = hm.build_decoder(cfg)
    model.load_state_dict(ck["state_dict"])
    model.eval()
    arch = cfg["arch"]
    use_pos = arch == "llama"
    layers = cfg["n_layers"]
    kv_heads = cfg.get("n_kv_heads") or cfg["n_heads"]
    head_dim = cfg.get("head_dim") or cfg["d"] // cfg["n_heads"]
    path = os.path.join(folder, "model.onnx")
    with tempfile.TemporaryDirectory(prefix="headscope-needle-") as tmp:
        plain = hm.export_decoder(model, os.path.join(tmp, "plain.onnx"), use_position_ids=use_pos)
        hm.export_decoder_with_past(model, path, use_pos, layers, kv_heads, head_dim, hf=False)
        saved = hm.share_transposed_weights(path)
        print("  %s: %d bytes (tied unembedding stored once: %d bytes saved)"
              % (name, os.path.getsize(path), saved))
        check_cached_export(path, plain, folder, use_pos, layers, kv_heads, head_dim, cfg["max_len"])
    inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    if use_pos:
        inputs["position_ids"] = "position_ids"
    man = hm.make_manifest(
        name, "decoder", arch, "model.onnx", inputs=inputs, bos=hm.BOS, eos=hm.EOS, pad=hm.PAD,
        max_length=cfg["max_len"],
        retrieval={"template": nd.TEMPLATE, "sentenceEnd": "."},
        extra={"export": {"past": True}})
    hm.write_manifest(folder, man)
    return folder


def check_samples(folder):
    """Prompts (token ids with <bos>): the bundled sample, and held-out episodes (eval_needle's
    needles and haystack) of 64 to 512 tokens with the needle at the start, middle and end."""
    import random
    import needle_data as nd
    import eval_needle as ev
    tok = hm.WordTokenizer.load(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(ASSETS, "needles", "needles.jsonl")) as f:
        needles = [json.loads(l) for l in f if l.strip()]
    stream = ev.LineStream(os.path.join(ASSETS, "needles", "haystack.txt"), tok)
    rng = random.Random(0)
    prompts = [[hm.BOS] + tok.encode(NEEDLE_PROMPT)]
    for i, (L, d) in enumerate([(64, 0.0), (128, 0.5), (256, 1.0), (512, 0.0), (512, 0.5), (512, 1.0)]):
        ids, a0, _, _ = nd.make_episode(rng, stream, tok, needles[i % len(needles)], L, d)
        prompts.append(ids[:a0])
    return prompts


def check_cached_export(path, plain, folder, use_pos, layers, kv_heads, head_dim, max_len, steps=6,
                        prefill_tol=1e-5, step_tol=1e-4):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    full = ort.InferenceSession(plain, so, providers=["CPUExecutionProvider"])
    cached = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def run_full(ids):
        feed = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}
        if use_pos:
            feed["position_ids"] = np.arange(len(ids), dtype=np.int64)[None]
        return full.run(["logits"], feed)[0]

    def run_cached(new, start, past):
        feed = {"input_ids": np.array([new], np.int64),
                "attention_mask": np.ones((1, start + len(new)), np.int64)}
        if use_pos:
            feed["position_ids"] = np.arange(start, start + len(new), dtype=np.int64)[None]
        for i in range(layers):
            feed["past_key_values.%d.key" % i] = past[2 * i]
            feed["past_key_values.%d.value" % i] = past[2 * i + 1]
        out = cached.run(None, feed)
        return out[0], out[1:]

    worst_prefill = worst_step = 0.0
    prompts = check_samples(folder)
    for ids in prompts:
        ids = list(ids)
        past = [np.zeros((1, kv_heads, 0, head_dim), np.float32) for _ in range(2 * layers)]
        logits, past = run_cached(ids, 0, past)
        worst_prefill = max(worst_prefill, float(np.abs(logits - run_full(ids)).max()))
        seq, tokens_full, tokens_cached = list(ids), [], []
        for s in range(min(steps, max_len + 1 - len(ids))):
            if s:
                logits, past = run_cached([tokens_cached[-1]], len(seq) - 1, past)
            want = run_full(seq)[0, -1]
            tokens_full.append(int(want.argmax()))
            got = logits[0, -1]
            tokens_cached.append(int(got.argmax()))
            worst_step = max(worst_step, float(np.abs(got - want).max()))
            seq.append(tokens_full[-1])
        if tokens_full != tokens_cached:
            raise SystemExit("cached decoding gave %s, the full re-run %s" % (tokens_cached, tokens_full))
    if worst_prefill > prefill_tol or worst_step > step_tol:
        raise SystemExit("the export with past key/values differs from the one without: prefill "
                         "max |logit diff| %.3g (limit %g), steps %.3g (limit %g)"
                         % (worst_prefill, prefill_tol, worst_step, step_tol))
    print("  checked on %d prompts (%s tokens): prefill logits equal the graph without past "
          "inputs within %.2g, %d cached greedy steps give the same tokens (max |logit diff| %.2g)"
          % (len(prompts), "/".join(str(len(p)) for p in prompts), worst_prefill, steps, worst_step))


def export_vlm(folder=None):
    import shapes_data as sd
    folder = folder or os.path.join(ASSETS, "models", "shapes-vlm")
    ck = torch.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu")
    model = hm.ShapesVLM(**ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    d = ck["config"]["d"]
    hm.export_vision(model.vision, os.path.join(folder, "vision.onnx"), sd.SIZE)
    hm.export_embed(model.lm.embed_tokens, os.path.join(folder, "embed.onnx"))
    hm.export_embeds_decoder(model.lm, os.path.join(folder, "decoder.onnx"), d)
    man = hm.make_manifest(
        "shapes-vlm", "vlm", "llama", "decoder.onnx",
        inputs={"inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                "position_ids": "position_ids"},
        bos=hm.BOS, eos=hm.EOS, pad=hm.PAD, max_length=ck["config"]["max_len"],
        vision={"model": "vision.onnx", "pixelInput": "pixel_values", "output": "image_embeds",
                "embed": "embed.onnx", "embedInput": "input_ids", "embedOutput": "inputs_embeds",
                "imageSize": sd.SIZE, "mean": sd.MEAN, "std": sd.STD, "imageStart": 1,
                "imageTokens": 64, "grid": [8, 8], "imageTokenId": sd.IMAGE_TOKEN_ID})
    hm.write_manifest(folder, man)
    return folder


if __name__ == "__main__":
    torch.set_num_threads(1)
    # usage: export_models.py NAME [NAME ...]   or   export_models.py NAME --dir FOLDER
    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder = sys.argv[sys.argv.index("--dir") + 1] if "--dir" in sys.argv else None
    if folder:
        names = names[:1]
    for n in names:
        print(export_vlm(folder) if n == "shapes-vlm" else export_needle(n, folder))
