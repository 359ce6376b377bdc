"""Train the shapes-vlm model (ViT patch encoder + MLP projector + Llama decoder) on CPU.

    OMP_NUM_THREADS=1 python3 assets/scripts/train_vlm.py --steps 1500

Sequence layout: <bos> [64 projected image patch embeddings] {question} {answer} <eos>.
A fraction (--no-image-frac) of the batches drop the image tokens
(<bos> {question} {answer} <eos>, contiguous positions) so that this path is
in-distribution; there the best the model can do is the answer prior.
Writes assets/models/shapes-vlm/{tokenizer.json, checkpoint.pt, train_log.jsonl}.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import headscope_models as hm  # noqa: E402
import shapes_data as sd  # noqa: E402

ASSETS = os.path.dirname(HERE)
N_IMG = 64


def encode_batch(examples, tok):
    """Text part after <bos>: question + answer + <eos>, right padded."""
    seqs, ans = [], []
    for ex in examples:
        q = tok.encode(ex["question"])
        a = tok.encode(ex["answer"]) + [hm.EOS]
        seqs.append(q + a)
        ans.append((len(q), len(q) + len(a)))
    L = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), L, dtype=torch.long)
    am = torch.zeros(len(seqs), L, dtype=torch.long)
    amask = torch.zeros(len(seqs), L, dtype=torch.bool)
    qmask = torch.zeros(len(seqs), L, dtype=torch.bool)
    for i, (s, (a0, a1)) in enumerate(zip(seqs, ans)):
        ids[i, :len(s)] = torch.tensor(s)
        am[i, :len(s)] = 1
        amask[i, a0:a1] = True
        qmask[i, :a0] = True
    return ids, am, amask, qmask


def build_inputs(model, pixels, text_ids, text_am, with_image, image_embeds=None):
    """Returns inputs_embeds, attention_mask, position_ids and the sequence offset of the
    first text token (1 + 64 with the image, 1 without). image_embeds: the vision encoder's
    output for these pixels when the caller has it already."""
    B = text_ids.shape[0]
    bos = model.embed(torch.full((B, 1), hm.BOS, dtype=torch.long))
    txt = model.embed(text_ids)
    if with_image:
        img = model.vision(pixels) if image_embeds is None else image_embeds
        x = torch.cat([bos, img, txt], 1)
        am = torch.cat([torch.ones(B, 1 + N_IMG, dtype=torch.long), text_am], 1)
        off = 1 + N_IMG
    else:
        x = torch.cat([bos, txt], 1)
        am = torch.cat([torch.ones(B, 1, dtype=torch.long), text_am], 1)
        off = 1
    pos = torch.arange(x.shape[1]).unsqueeze(0).expand(B, -1)
    return x, am, pos, off


class PatchProbe(torch.nn.Module):
    """Auxiliary per-patch classifier on the image embeddings the decoder receives (the
    projector's output; training only, not exported): kind and colour of the object in the
    layout cell of each patch, and the cell. It stands in for the pretrained image encoder
    (CLIP) real LLaVA-style models start from. Trained on the answers alone, the decoder
    never received the shape kinds; with the probe on the encoder's features before the
    projector, the features held them (probe loss 0.001) but the projector still passed on
    only colour and occupancy."""

    def __init__(self, d):
        super().__init__()
        self.kind = torch.nn.Linear(d, 1 + len(sd.SHAPES))
        self.colour = torch.nn.Linear(d, 1 + len(sd.COLORS))
        self.cell = torch.nn.Linear(d, sd.GRID * sd.GRID)

    def loss(self, feats, examples):
        labels = [sd.patch_labels(e["scene"]) for e in examples]
        k = torch.tensor([l[0] for l in labels])
        c = torch.tensor([l[1] for l in labels])
        p = torch.tensor([l[2] for l in labels])
        return (F.cross_entropy(self.kind(feats).flatten(0, 1), k.flatten())
                + F.cross_entropy(self.colour(feats).flatten(0, 1), c.flatten())
                + F.cross_entropy(self.cell(feats).flatten(0, 1), p.flatten())) / 3


def loss_fn(model, examples, tok, with_image, q_weight=0.2, probe=None, aux_weight=0.0):
    ids, am, amask, qmask = encode_batch(examples, tok)
    px = torch.tensor(np.stack([sd.to_pixels(e["image"]) for e in examples])) if with_image else None
    img = model.vision(px) if with_image else None
    x, sam, pos, off = build_inputs(model, px, ids, am, with_image, image_embeds=img)
    h = model.lm.hidden_from_embeds(x, sam, pos)
    hp = h[:, off - 1: off - 1 + ids.shape[1]]  # position predicting each text token
    la = model.lm.logits_from_hidden(hp[amask])
    ta = ids[amask]
    ans = F.cross_entropy(la, ta)
    lq = F.cross_entropy(model.lm.logits_from_hidden(hp[qmask]), ids[qmask])
    acc = (la.argmax(-1) == ta).float().mean()
    use_probe = probe is not None and with_image and aux_weight > 0
    aux = probe.loss(img, examples) if use_probe else torch.zeros(())
    return ans + q_weight * lq + aux_weight * aux, ans, lq, acc, aux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--no-image-frac", type=float, default=0.1)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-vision", type=int, default=96)
    ap.add_argument("--aux-weight", type=float, default=1.0,
                    help="weight of the auxiliary per-patch kind/colour/cell loss on the image "
                         "embeddings the decoder receives, the projector's output (0 = answer "
                         "loss only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true",
                    help="continue from checkpoint.pt with a fresh lr schedule of --steps steps, "
                         "appending to train_log.jsonl")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--out", default=os.path.join(ASSETS, "models", "shapes-vlm"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    vocab = sd.vlm_vocab()
    hm.write_tokenizer_json(os.path.join(args.out, "tokenizer.json"), vocab, sd.VLM_SPECIALS)
    tok = hm.WordTokenizer(vocab)
    model = hm.ShapesVLM(len(vocab), d=args.d, n_layers=args.layers, d_vision=args.d_vision)
    probe = PatchProbe(args.d)
    step0, t_prev = 0, 0.0
    if args.resume:
        ck = torch.load(os.path.join(args.out, "checkpoint.pt"), map_location="cpu")
        model.load_state_dict(ck["state_dict"])
        if "probe" in ck:
            probe.load_state_dict(ck["probe"])
        step0, t_prev = ck["step"], ck["time"]
        rng = random.Random(args.seed + step0)
        with open(os.path.join(args.out, "train_log.jsonl")) as f:
            old = [json.loads(l) for l in f if l.strip()]
        with open(os.path.join(args.out, "train_log.jsonl"), "w") as f:
            for r in old:
                if r["step"] <= step0:
                    f.write(json.dumps(r) + "\n")
    print(f"shapes-vlm: {hm.count_params(model)} params, vocab {len(vocab)}", flush=True)
    params = list(model.parameters()) + list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)
    logf = None
    if not args.bench:
        targs = dict(vars(args))
        targs["out"] = os.path.relpath(args.out, os.path.dirname(ASSETS))
        targs["command"] = "OMP_NUM_THREADS=1 python3 assets/scripts/" + " ".join(
            [os.path.basename(sys.argv[0])] + sys.argv[1:])
        if args.resume:
            with open(os.path.join(args.out, "train_args.json")) as f:
                prev = json.load(f)
            prev.setdefault("resumed", []).append(
                {"from_step": step0, "steps": args.steps, "lr": args.lr, "command": targs["command"]})
            targs = prev
        with open(os.path.join(args.out, "train_args.json"), "w") as f:
            json.dump(targs, f, indent=2)
        logf = open(os.path.join(args.out, "train_log.jsonl"), "a" if args.resume else "w")
    t0 = time.time()
    steps = 5 if args.bench else args.steps
    for step in range(1, steps + 1):
        if step <= args.warmup:
            lr = args.lr * step / args.warmup
        else:
            p = (step - args.warmup) / max(1, args.steps - args.warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = lr
        with_image = rng.random() >= args.no_image_frac
        exs = [sd.sample_example(rng) for _ in range(args.batch)]
        ts = time.time()
        loss, ans, lq, acc, aux = loss_fn(model, exs, tok, with_image, probe=probe,
                                          aux_weight=args.aux_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if args.bench:
            print(f"step {time.time() - ts:.3f}s (incl. data {time.time() - t0:.3f}s)", flush=True)
            t0 = time.time()
            continue
        rec = {"step": step0 + step, "image": with_image, "lr": lr, "loss": loss.item(), "ans": ans.item(),
               "q_lm": lq.item(), "aux": aux.item(), "ans_acc": acc.item(), "time": round(t_prev + time.time() - t0, 1)}
        logf.write(json.dumps(rec) + "\n")
        if step % 50 == 0 or step == 1:
            logf.flush()
            print(f"step {step} img={int(with_image)} loss {rec['loss']:.3f} ans {rec['ans']:.3f} "
                  f"aux {rec['aux']:.3f} "
                  f"acc {rec['ans_acc']:.3f} lr {lr:.2e} t {rec['time']}s", flush=True)
        if step % 250 == 0 or step == args.steps:
            torch.save({"config": model.config, "state_dict": model.state_dict(),
                        "probe": probe.state_dict(),
                        "step": step0 + step, "time": t_prev + time.time() - t0},
                       os.path.join(args.out, "checkpoint.pt"))
    if logf:
        logf.close()
        print(f"done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
