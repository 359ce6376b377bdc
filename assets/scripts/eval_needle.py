"""Measure needle-retrieval exact match of a trained needle model (torch checkpoint).

    OMP_NUM_THREADS=1 python3 assets/scripts/eval_needle.py assets/models/needle-gpt

Uses only held-out data: assets/needles/needles.jsonl (needle sentences never used in
training) and assets/needles/haystack.txt (fortunes held out from training).
For each context length L in {64,128,256,512} and depth in {0%, 11%, ..., 100%}
(10 depths) it builds one episode per held-out needle (exactly L tokens including
<bos>, the question prompt and the answer slot), greedily decodes after
"answer :" and counts an exact match when the generated tokens up to <eos> equal
the answer. Writes <model>/eval.json.
"""
import argparse
import json
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import headscope_models as hm  # noqa: E402
import needle_data as nd  # noqa: E402

ASSETS = os.path.dirname(HERE)


def load_model(folder):
    ck = torch.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu")
    model = hm.build_decoder(ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


class LineStream(nd.TokenStream):
    def __init__(self, path, tok):
        with open(path) as f:
            fs = [l.split() for l in f if l.strip()]
        super().__init__(fs, tok, seed=0)


@torch.no_grad()
def greedy(model, arch, ids, max_new):
    B = ids.shape[0]
    out = []
    for _ in range(max_new):
        T = ids.shape[1]
        am = torch.ones(B, T, dtype=torch.long)
        if arch == "llama":
            logits = model(ids, am, torch.arange(T).unsqueeze(0).expand(B, T))
        else:
            logits = model(ids, am)
        nxt = logits[:, -1].argmax(-1)
        out.append(nxt)
        ids = torch.cat([ids, nxt[:, None]], 1)
    return torch.stack(out, 1)


def evaluate(model, arch, tok, needles, stream, lengths, depths, trials, seed=0):
    rng = random.Random(seed)
    res = {}
    for L in lengths:
        res[str(L)] = {}
        for d in depths:
            prompts, answers = [], []
            for i in range(trials):
                ndl = needles[i % len(needles)]
                ids, a0, _, _ = nd.make_episode(rng, stream, tok, ndl, L, d)
                prompts.append(ids[:a0])
                answers.append(ids[a0:])
            ok = 0
            for plen in sorted({len(p) for p in prompts}):  # same-length prompts batch together
                grp = [(p, a) for p, a in zip(prompts, answers) if len(p) == plen]
                x = torch.tensor([p for p, _ in grp], dtype=torch.long)
                gen = greedy(model, arch, x, max(len(a) for _, a in grp) + 1).tolist()
                for g, (_, a) in zip(gen, grp):
                    if g[:len(a)] == a:  # answer tokens followed by <eos>
                        ok += 1
            res[str(L)][f"{d:.2f}"] = ok / trials
            print(f"L={L} depth={d:.2f} acc={ok / trials:.3f}", flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--lengths", default="64,128,256,512")
    ap.add_argument("--trials", type=int, default=60, help="episodes per (length, depth) cell")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, ck = load_model(args.model_dir)
    arch = ck["config"]["arch"]
    tok = hm.WordTokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    with open(os.path.join(ASSETS, "needles", "needles.jsonl")) as f:
        needles = [json.loads(l) for l in f if l.strip()]
    stream = LineStream(os.path.join(ASSETS, "needles", "haystack.txt"), tok)
    lengths = [int(x) for x in args.lengths.split(",")]
    depths = [i / 9 for i in range(10)]
    t0 = time.time()
    res = evaluate(model, arch, tok, needles, stream, lengths, depths, args.trials)
    per_len = {L: sum(v.values()) / len(v) for L, v in res.items()}
    overall = sum(per_len.values()) / len(per_len)
    worst = min(min(v.values()) for v in res.values())
    summary = {"model": os.path.basename(os.path.abspath(args.model_dir)), "metric": "exact_match",
               "trials_per_cell": args.trials, "lengths": lengths,
               "depths": [round(d, 4) for d in depths], "accuracy": res,
               "mean_per_length": per_len, "overall": overall, "worst_cell": worst,
               "checkpoint_step": ck.get("step"), "example": needles[0], "eval_seconds": round(time.time() - t0, 1),
               "command": "OMP_NUM_THREADS=1 python3 assets/scripts/eval_needle.py "
                          f"assets/models/{os.path.basename(os.path.abspath(args.model_dir))}"
                          + (f" --trials {args.trials}" if args.trials != 60 else "")}
    print(json.dumps({"mean_per_length": per_len, "overall": overall, "worst_cell": worst}))
    if not args.no_write:
        with open(os.path.join(args.model_dir, "eval.json"), "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
