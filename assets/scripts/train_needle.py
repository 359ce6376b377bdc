"""Train a needle-in-a-haystack decoder (needle-gpt or needle-llama) on CPU.

    OMP_NUM_THREADS=1 python3 assets/scripts/train_needle.py --arch gpt2 --steps 3000
    OMP_NUM_THREADS=1 python3 assets/scripts/train_needle.py --arch llama --steps 3000

Data: a mix of natural English text (Debian `fortunes`, training split) and synthetic
needle episodes (see needle_data.py; with --needles-max K an episode carries up to K
needles, each asked about). Length curriculum: 64 -> 128 -> 256 -> 512.
Writes into assets/models/<name>/: tokenizer.json, checkpoint.pt, train_log.jsonl,
model.onnx, headscope.json (and assets/needles/ held-out files).
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import headscope_models as hm  # noqa: E402
import needle_data as nd  # noqa: E402

ASSETS = os.path.dirname(HERE)

# curriculum: (start fraction of training, lengths, sampling weights)
CURRICULUM = [
    (0.00, [64], [1.0]),
    (0.10, [64, 128], [0.4, 0.6]),
    (0.25, [64, 128, 256], [0.2, 0.3, 0.5]),
    (0.45, [64, 128, 256, 512], [0.1, 0.15, 0.25, 0.5]),
]


def phase_at(frac, starts=None):
    phases = CURRICULUM if starts is None else [
        (s, lens, w) for s, (_, lens, w) in zip(starts, CURRICULUM)]
    cur = phases[0]
    for ph in phases:
        if frac >= ph[0]:
            cur = ph
    return cur


def needles_per_episode(T, needles_max):
    """Most needles an episode of T tokens carries: one per 64 tokens, at most needles_max."""
    return max(1, min(needles_max, T // 64))


def draw_needle(rng, heldout_keys, taken=()):
    while True:
        needle = nd.make_needle(rng)
        if needle["key"] not in heldout_keys and needle["key"] not in taken:
            return needle


def make_batch(rng, T, B, stream, tok, heldout_keys, text_frac, lm_frac, needles_max=1):
    ids, ans_mask, lm_mask = [], [], []
    kmax = needles_per_episode(T, needles_max)
    for _ in range(B):
        am = [0] * (T - 1)
        lm = [1 if rng.random() < lm_frac else 0 for _ in range(T - 1)]
        if rng.random() < text_frac:
            seq = [hm.BOS] + stream.window(rng, T - 1)
        else:
            if kmax == 1:
                needle = draw_needle(rng, heldout_keys)
                seq, a0, q0, _ = nd.make_episode(rng, stream, tok, needle, T, rng.random())
                q_starts, spans = [q0], [(a0, T)]
            else:
                needles = []
                for _ in range(rng.randint(1, kmax)):  # distinct keys: each question has one answer
                    needles.append(draw_needle(rng, heldout_keys, {n["key"] for n in needles}))
                seq, spans, q_starts = nd.make_multi_episode(rng, stream, tok, needles, T)
            for q0, (a0, a1) in zip(q_starts, spans):
                for i in range(q0, a0):  # question tokens: always in the LM loss
                    lm[i - 1] = 1
                for i in range(a0, a1):  # answer + eos predicted from the previous position
                    am[i - 1] = 1
                    lm[i - 1] = 0
        ids.append(seq)
        ans_mask.append(am)
        lm_mask.append(lm)
    return (torch.tensor(ids, dtype=torch.long), torch.tensor(ans_mask, dtype=torch.bool),
            torch.tensor(lm_mask, dtype=torch.bool))


def loss_fn(model, arch, ids, ans_mask, lm_mask):
    B, T = ids.shape
    am = torch.ones(B, T, dtype=torch.long)
    if arch == "llama":
        h = model.hidden(ids, am, torch.arange(T).unsqueeze(0).expand(B, T))
    else:
        h = model.hidden(ids, am)
    h = h[:, :-1]
    tgt = ids[:, 1:]
    out = {}
    ha = h[ans_mask]
    la = model.logits_from_hidden(ha)
    ta = tgt[ans_mask]
    if ta.numel():
        out["ans"] = F.cross_entropy(la, ta)
        out["ans_acc"] = (la.argmax(-1) == ta).float().mean()
    hl = h[lm_mask]
    out["lm"] = F.cross_entropy(model.logits_from_hidden(hl), tgt[lm_mask])
    out["loss"] = out["lm"] + out.get("ans", 0.0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["gpt2", "llama"], required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=None, help="llama: head size (default d/heads)")
    ap.add_argument("--tie", action="store_true", help="llama: tie lm_head to the token embedding")
    ap.add_argument("--rope-theta", type=float, default=10000.0, help="llama: RoPE base")
    ap.add_argument("--attention-bias", action="store_true", help="llama: q/k/v biases (Qwen2-style)")
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--text-frac", type=float, default=0.2)
    ap.add_argument("--lm-frac", type=float, default=0.25)
    ap.add_argument("--needles-max", type=int, default=1,
                    help="most needles (each with its own question and answer) in one episode; an "
                         "episode of T tokens carries 1 to min(this, T/64), drawn uniformly. 1 keeps "
                         "one needle per episode")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--phase-starts", default="0,0.1,0.25,0.45",
                    help="start fractions of the 4 curriculum phases (max length 64/128/256/512)")
    ap.add_argument("--unlock-acc", type=float, default=0.0,
                    help="adaptive curriculum: stay at lengths <= 128 until the moving average of "
                         "the teacher-forced answer-token accuracy reaches this value (or until "
                         "--unlock-max of the steps); later phases are then spread over the "
                         "remaining steps. 0 disables it.")
    ap.add_argument("--unlock-max", type=float, default=0.4)
    ap.add_argument("--resume", action="store_true",
                    help="continue from checkpoint.pt with a fresh lr schedule of --steps steps on "
                         "the full-length mix, appending to train_log.jsonl")
    ap.add_argument("--bench", action="store_true", help="time a few steps per length and exit")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    name = args.name or ("needle-gpt" if args.arch == "gpt2" else "needle-llama")
    out = args.out or os.path.join(ASSETS, "models", name)
    os.makedirs(out, exist_ok=True)

    train_f, held_f = nd.split_corpus()
    vocab = nd.build_vocab(train_f)
    tok = hm.WordTokenizer(vocab)
    nd.write_tokenizer(os.path.join(out, "tokenizer.json"), vocab)
    held_needles = nd.heldout_needles()
    nd.write_needle_assets(os.path.join(ASSETS, "needles"), held_f, held_needles)
    heldout_keys = {n["key"] for n in held_needles}

    if args.arch == "gpt2":
        model = hm.GPT2LM(len(vocab), args.d, args.layers, args.heads, args.max_len)
    else:
        model = hm.LlamaLM(len(vocab), args.d, args.layers, args.heads, args.kv_heads,
                           max_len=args.max_len, head_dim=args.head_dim,
                           tie_embeddings=args.tie, rope_theta=args.rope_theta,
                           attention_bias=args.attention_bias)
    step0, t_prev = 0, 0.0
    if args.resume:
        ck = torch.load(os.path.join(out, "checkpoint.pt"), map_location="cpu")
        model.load_state_dict(ck["state_dict"])
        step0, t_prev = ck["step"], ck["time"]
    # a resumed run draws a different, still seeded, stream of batches
    rng = random.Random(args.seed + step0)
    stream = nd.TokenStream(train_f, tok, seed=args.seed + step0)
    print(f"{name}: {hm.count_params(model)} params, vocab {len(vocab)}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)

    if args.bench:
        for T in [64, 128, 256, 512]:
            B = max(1, args.batch_tokens // T)
            ts = []
            for _ in range(3):
                batch = make_batch(rng, T, B, stream, tok, heldout_keys, args.text_frac, args.lm_frac,
                           args.needles_max)
                t0 = time.time()
                o = loss_fn(model, args.arch, *batch)
                opt.zero_grad()
                o["loss"].backward()
                opt.step()
                ts.append(time.time() - t0)
            print(f"T={T} B={B} step {min(ts):.3f}s", flush=True)
        return

    targs = dict(vars(args))
    targs["command"] = "OMP_NUM_THREADS=1 python3 assets/scripts/" + " ".join(
        [os.path.basename(sys.argv[0])] + sys.argv[1:])
    log_path = os.path.join(out, "train_log.jsonl")
    if args.resume:
        with open(log_path) as f:
            old = [json.loads(l) for l in f if l.strip()]
        with open(log_path, "w") as f:
            for r in old:
                if r["step"] <= step0:
                    f.write(json.dumps(r) + "\n")
        with open(os.path.join(out, "train_args.json")) as f:
            prev = json.load(f)
        prev.setdefault("resumed", []).append(
            {"from_step": step0, "steps": args.steps, "lr": args.lr, "warmup": args.warmup,
             "command": targs["command"]})
        targs = prev
    with open(os.path.join(out, "train_args.json"), "w") as f:
        json.dump(targs, f, indent=2)
    logf = open(log_path, "a" if args.resume else "w")
    t_start = time.time()
    ema = None
    acc_ema = 0.0
    unlock_step = None
    starts = [float(x) for x in args.phase_starts.split(",")]
    for step in range(1, args.steps + 1):
        frac = (step - 1) / args.steps
        if args.resume:
            _, lens, weights = CURRICULUM[3]
        elif args.unlock_acc > 0:
            if unlock_step is None and (acc_ema >= args.unlock_acc or frac >= args.unlock_max):
                unlock_step = step
                print(f"curriculum unlocked at step {step} (answer acc ema {acc_ema:.3f})",
                      flush=True)
                targs["unlock_step"] = step
                with open(os.path.join(out, "train_args.json"), "w") as f:
                    json.dump(targs, f, indent=2)
            if unlock_step is None:
                _, lens, weights = phase_at(min(frac, starts[2] - 1e-9), starts)
            else:
                rest = (step - unlock_step) / max(1, args.steps - unlock_step)
                _, lens, weights = CURRICULUM[2] if rest < 0.2 else CURRICULUM[3]
        else:
            _, lens, weights = phase_at(frac, starts)
        T = rng.choices(lens, weights)[0]
        B = max(1, args.batch_tokens // T)
        if step <= args.warmup:
            lr = args.lr * step / args.warmup
        else:
            p = (step - args.warmup) / max(1, args.steps - args.warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = make_batch(rng, T, B, stream, tok, heldout_keys, args.text_frac, args.lm_frac,
                           args.needles_max)
        o = loss_fn(model, args.arch, *batch)
        opt.zero_grad()
        o["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        rec = {"step": step0 + step, "T": T, "lr": lr, "loss": o["loss"].item(), "lm": o["lm"].item(),
               "ans": o["ans"].item() if "ans" in o else None,
               "ans_acc": o["ans_acc"].item() if "ans_acc" in o else None,
               "time": round(t_prev + time.time() - t_start, 1)}
        logf.write(json.dumps(rec) + "\n")
        ema = rec["loss"] if ema is None else 0.98 * ema + 0.02 * rec["loss"]
        if rec["ans_acc"] is not None:
            acc_ema = 0.95 * acc_ema + 0.05 * rec["ans_acc"]
        if step % 50 == 0 or step == 1:
            logf.flush()
            print(f"step {step} T={T} loss {rec['loss']:.3f} (ema {ema:.3f}) lm {rec['lm']:.3f} "
                  f"ans {rec['ans']} acc {rec['ans_acc']} lr {lr:.2e} t {rec['time']}s", flush=True)
        if step % args.ckpt_every == 0 or step == args.steps:
            torch.save({"config": model.config, "state_dict": model.state_dict(),
                        "step": step0 + step, "time": t_prev + time.time() - t_start}, os.path.join(out, "checkpoint.pt"))
    logf.close()
    print(f"done in {time.time() - t_start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
