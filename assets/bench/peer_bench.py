#!/usr/bin/env python3
"""The PyTorch side of HeadScope's speed claims, on the same weights and the same token ids.

Needs torch, transformers, onnx and onnxruntime (the versions in README.md). Three steps:

    # 1. needle-gpt as a Hugging Face GPT-2 (same weights, checked equal to the bundled model), exported with past
    #    key/values by assets/export/export_hf.py's exporter (so HeadScope decodes with a KV cache)
    python3 assets/bench/peer_bench.py prepare /tmp/needle-gpt-past

    # 2. per-head zero-ablation sweep, a hooked forward per head (what users write in PyTorch); with --report it
    #    checks the loss changes against HeadScope's report of the same sweep
    ./headscope ablate /tmp/needle-gpt-past --prompt "$P" --target "$T" --out /tmp/abl
    python3 assets/bench/peer_bench.py ablate /tmp/needle-gpt-past --prompt "$P" --target "$T" --report /tmp/abl

    # 3. Retrieval-Head-style scoring (the reference code's method: prefill, then greedy steps on the KV cache with
    #    output_attentions, argmax of each head's last row) on the tests HeadScope dumped, checked against its scores
    ./headscope bench-retrieval /tmp/needle-gpt-past --rounds 1 --dump-ids /tmp/grid.json
    python3 assets/bench/peer_bench.py retrieval /tmp/needle-gpt-past /tmp/grid.json

Each timed step prints its in-process time (min / median / max over --repeats, after one warm-up); the whole-process
comparison is made with assets/bench/interleave.py (see README.md, "Speed").
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ASSETS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ASSETS, "scripts"))
sys.path.insert(0, os.path.join(ASSETS, "export"))


def hf_needle_gpt():
    """The bundled needle-gpt checkpoint loaded into transformers' GPT2LMHeadModel (exact GELU, tied head)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    ck = torch.load(os.path.join(ASSETS, "models", "needle-gpt", "checkpoint.pt"), map_location="cpu")
    c = ck["config"]
    cfg = GPT2Config(vocab_size=c["vocab_size"], n_positions=c["max_len"], n_embd=c["d"], n_layer=c["n_layers"],
                     n_head=c["n_heads"], activation_function="gelu", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     layer_norm_epsilon=1e-5, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)
    cfg._attn_implementation = "eager"
    model = GPT2LMHeadModel(cfg).eval()
    sd = ck["state_dict"]
    out = {}
    for k, v in sd.items():
        name = "transformer." + k
        # nn.Linear [out, in] -> GPT-2's Conv1D [in, out]
        if any(k.endswith(s) for s in ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")):
            v = v.t().contiguous()
        out[name] = v
    missing, unexpected = model.load_state_dict(out, strict=False)
    missing = [m for m in missing if not m.endswith("attn.bias") and not m.endswith("masked_bias") and m != "lm_head.weight"]
    if missing or unexpected:
        raise SystemExit("weights do not map: missing %s, unexpected %s" % (missing, unexpected))
    model.tie_weights()
    # the bundled model's own module, to check the conversion
    import headscope_models as hm
    own = hm.build_decoder(c)
    own.load_state_dict(sd)
    own.eval()
    ids = torch.randint(4, c["vocab_size"], (1, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        diff = (model(input_ids=ids).logits - own(ids, torch.ones_like(ids))).abs().max().item()
    if diff > 1e-4:
        raise SystemExit("the Hugging Face GPT-2 differs from the bundled model (max |logit diff| %.3g)" % diff)
    return model, diff


def prepare(args):
    import export_hf
    import headscope_models as hm
    import torch
    model, diff = hf_needle_gpt()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.onnx")
    ref = export_hf.reference_logits(model, False, model.config.vocab_size)
    layers, kv, dh = export_hf.cache_shape(model.config)
    torch.manual_seed(0)
    with torch.no_grad():
        hm.export_decoder_with_past(model, path, False, layers, kv, dh, vocab_hint=1000)
    export_hf.check_past_decoding(path, ref, False, layers, kv, dh)
    src = os.path.join(ASSETS, "models", "needle-gpt")
    shutil.copy(os.path.join(src, "tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(src, "headscope.json")) as f:
        man = json.load(f)
    man["name"] = "needle-gpt-past"
    man["export"] = {"past": True, "from": "needle-gpt checkpoint as transformers GPT2LMHeadModel",
                     "conversionMaxLogitDiff": diff}
    with open(os.path.join(args.out, "headscope.json"), "w") as f:
        json.dump(man, f, indent=2)
    print("wrote %s (Hugging Face GPT-2 equal to the bundled needle-gpt within %.2g)" % (args.out, diff))


def tokenizer_ids(folder, text, special):
    from tokenizers import Tokenizer
    with open(os.path.join(folder, "headscope.json")) as f:
        man = json.load(f)
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    ids = tok.encode(text, add_special_tokens=special).ids
    if special and man.get("bos") is not None and (not ids or ids[0] != man["bos"]):
        ids = [man["bos"]] + ids
    return ids


def timed(fn, repeats):
    """One warm-up run, then `repeats` timed runs; repeats 0 times a single cold run (for whole-process timing)."""
    if repeats == 0:
        t0 = time.perf_counter()
        out = fn()
        return out, [time.perf_counter() - t0]
    fn()  # warm-up
    t = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        t.append(time.perf_counter() - t0)
    return out, t


def report_times(label, t):
    print("%-48s min %.3f  median %.3f  max %.3f s (%d runs)" % (label, min(t), statistics.median(t), max(t), len(t)))


def ablate(args):
    import torch
    import torch.nn.functional as F
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(args.threads)
    model, _ = hf_needle_gpt()  # the prepared folder holds these weights as an ONNX export
    folder = args.model if os.path.isdir(args.model) else os.path.join(ASSETS, "models", "needle-gpt")
    prompt = tokenizer_ids(folder, args.prompt, True)
    target = tokenizer_ids(folder, args.target, False)
    ids = torch.tensor([prompt + target])
    p = len(prompt)
    layers = model.config.n_layer
    heads = model.config.n_head
    dh = model.config.n_embd // heads

    def loss_of(logits):
        return F.cross_entropy(logits[0, p - 1:-1], ids[0, p:]).item()

    def sweep():
        out = {}
        with torch.no_grad():
            clean = loss_of(model(input_ids=ids).logits)
            for l in range(layers):
                for h in range(heads):
                    def zero(mod, inp, h=h):
                        x = inp[0].clone()
                        x[..., h * dh:(h + 1) * dh] = 0
                        return (x,)
                    handle = model.transformer.h[l].attn.c_proj.register_forward_pre_hook(zero)
                    try:
                        out[(l, h)] = loss_of(model(input_ids=ids).logits) - clean
                    finally:
                        handle.remove()
        return out

    deltas, t = timed(sweep, args.repeats)
    report_times("torch: hooked forward per head (%d heads, %d tokens)" % (layers * heads, ids.shape[1]), t)
    if args.report:
        with open(os.path.join(args.report, "report.json")) as f:
            rep = json.load(f)
        worst = max(abs(h["loss_delta"] - deltas[(h["layer"], h["head"])]) for h in rep["heads"])
        print("max |loss change difference| against HeadScope's report: %.2g over %d heads" % (worst, len(rep["heads"])))


def retrieval(args):
    import torch
    torch.set_num_threads(args.threads)
    model, _ = hf_needle_gpt()
    with open(args.dump) as f:
        grid = json.load(f)
    eos = grid["eos"]
    max_new = grid["maxNewTokens"]
    layers = model.config.n_layer
    heads = model.config.n_head

    def run_all():
        scores = []
        responses = []
        with torch.no_grad():
            for test in grid["tests"]:
                prompt = test["prompt"]
                a0, a1 = test["answerStart"], test["answerEnd"]
                unit = 1.0 / (a1 - a0)
                s = [[0.0] * heads for _ in range(layers)]
                out = model(input_ids=torch.tensor([prompt]), use_cache=True, output_attentions=True)
                past = out.past_key_values
                gen = []
                for step in range(max_new):
                    token = int(out.logits[0, -1].argmax())
                    gen.append(token)
                    for l in range(layers):
                        top = out.attentions[l][0, :, -1].argmax(-1)
                        for h in range(heads):
                            j = int(top[h])
                            if a0 <= j < a1 and prompt[j] == token:
                                s[l][h] += unit
                    if token == eos:
                        break
                    out = model(input_ids=torch.tensor([[token]]), past_key_values=past, use_cache=True,
                                output_attentions=True)
                    past = out.past_key_values
                scores.append(s)
                responses.append(gen)
        return scores, responses

    (scores, responses), t = timed(run_all, args.repeats)
    report_times("torch: prefill + KV-cache decoding, %d tests" % len(grid["tests"]), t)
    hs = grid["generateScores"]
    worst = max(abs(a - b) for x, y in zip(scores, hs) for ra, rb in zip(x, y) for a, b in zip(ra, rb))
    print("max |retrieval score difference| against HeadScope's generate mode, per test and head: %.2g" % worst)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("out")
    a = sub.add_parser("ablate")
    a.add_argument("model", help="the prepared folder (or needle-gpt)")
    a.add_argument("--prompt", required=True)
    a.add_argument("--target", required=True)
    a.add_argument("--report", default=None, help="HeadScope's ablate --out folder, to compare loss changes")
    a.add_argument("--repeats", type=int, default=3)
    a.add_argument("--threads", type=int, default=2)
    r = sub.add_parser("retrieval")
    r.add_argument("model")
    r.add_argument("dump", help="bench-retrieval --dump-ids FILE")
    r.add_argument("--repeats", type=int, default=1)
    r.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    {"prepare": prepare, "ablate": ablate, "retrieval": retrieval}[args.cmd](args)


if __name__ == "__main__":
    main()
