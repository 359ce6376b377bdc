"""Measure shapes-vlm question accuracy with and without the image (torch checkpoint),
and write held-out sample images.

    OMP_NUM_THREADS=1 python3 assets/scripts/eval_vlm.py

Held-out set: fresh scenes from seed 999 (training uses seed 0 streams), 200 questions per
question type. Greedy answer; exact match = the answer word followed by <eos>.
Writes assets/models/shapes-vlm/eval.json and samples/ (PNG + samples.json).
"""
import argparse
import json
import os
import random
import sys
from collections import Counter, defaultdict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import headscope_models as hm  # noqa: E402
import shapes_data as sd  # noqa: E402
from train_vlm import build_inputs  # noqa: E402

ASSETS = os.path.dirname(HERE)
FOLDER = os.path.join(ASSETS, "models", "shapes-vlm")


@torch.no_grad()
def answer(model, tok, examples, with_image):
    """Greedy two-token generation (answer word, then <eos>) for same-length questions."""
    ids = torch.tensor([tok.encode(e["question"]) for e in examples])
    px = torch.tensor(np.stack([sd.to_pixels(e["image"]) for e in examples]))
    am_txt = torch.ones_like(ids)
    x, am, pos, _ = build_inputs(model, px, ids, am_txt, with_image)
    out = []
    for _ in range(2):
        h = model.lm.hidden_from_embeds(x, am, pos)
        nxt = model.lm.logits_from_hidden(h[:, -1]).argmax(-1)
        out.append(nxt)
        x = torch.cat([x, model.embed(nxt[:, None])], 1)
        am = torch.cat([am, torch.ones(len(examples), 1, dtype=torch.long)], 1)
        pos = torch.arange(x.shape[1]).unsqueeze(0).expand(len(examples), -1)
    return torch.stack(out, 1).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-type", type=int, default=200)
    ap.add_argument("--seed", type=int, default=999)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model-dir", default=FOLDER)
    args = ap.parse_args()
    folder = args.model_dir
    torch.set_num_threads(args.threads)
    ck = torch.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu")
    model = hm.ShapesVLM(**ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    tok = hm.WordTokenizer.load(os.path.join(folder, "tokenizer.json"))

    # answer prior per exact question text, estimated from the training distribution
    prior_rng = random.Random(0)
    counts = defaultdict(Counter)
    for _ in range(30000):
        e = sd.sample_example(prior_rng)
        counts[e["question"]][e["answer"]] += 1
    majority = {q: c.most_common(1)[0][0] for q, c in counts.items()}

    rng = random.Random(args.seed)
    exs = [sd.sample_example(rng, qt) for qt in sd.QTYPES for _ in range(args.per_type)]
    res = {}
    for with_image in (True, False):
        ok = []
        by_len = defaultdict(list)
        for i, e in enumerate(exs):
            by_len[len(tok.encode(e["question"]))].append(i)
        correct = [False] * len(exs)
        for _, idx in by_len.items():
            gen = answer(model, tok, [exs[i] for i in idx], with_image)
            for i, g in zip(idx, gen):
                correct[i] = g == [tok.vocab[exs[i]["answer"]], hm.EOS]
        res[with_image] = correct
    by_type = {}
    for qt in sd.QTYPES + ["all"]:
        idx = [i for i, e in enumerate(exs) if qt == "all" or e["qtype"] == qt]
        by_type[qt] = {
            "n": len(idx),
            "with_image": sum(res[True][i] for i in idx) / len(idx),
            "without_image": sum(res[False][i] for i in idx) / len(idx),
            "chance_uniform": sum(1 / len(sd.ANSWERS[exs[i]["qtype"]]) for i in idx) / len(idx),
            "prior": sum(majority.get(exs[i]["question"]) == exs[i]["answer"] for i in idx) / len(idx),
        }
        print(qt, by_type[qt], flush=True)
    summary = {"model": "shapes-vlm", "metric": "exact_match", "seed": args.seed, "n": len(exs),
               "with_image": by_type["all"]["with_image"],
               "without_image": by_type["all"]["without_image"],
               "chance_uniform": by_type["all"]["chance_uniform"],
               "prior": by_type["all"]["prior"], "by_type": by_type,
               "checkpoint_step": ck.get("step"),
               "command": "OMP_NUM_THREADS=1 python3 assets/scripts/eval_vlm.py"}
    with open(os.path.join(folder, "eval.json"), "w") as f:
        json.dump(summary, f, indent=2)

    # held-out samples for the Java side
    from PIL import Image
    sdir = os.path.join(folder, "samples")
    os.makedirs(sdir, exist_ok=True)
    srng = random.Random(4242)
    samples = []
    for i in range(9):
        e = sd.sample_example(srng, sd.QTYPES[i % 3])
        fn = f"sample_{i}.png"
        Image.fromarray(e["image"]).save(os.path.join(sdir, fn))
        samples.append({"image": fn, "question": e["question"], "answer": e["answer"],
                        "objects": e["scene"]["objects"]})
    preds = {}
    for j, s in enumerate(samples):
        e = {"image": np.array(Image.open(os.path.join(sdir, s["image"])).convert("RGB")),
             "question": s["question"]}
        g = answer(model, tok, [e], True)[0]
        s["model_answer"] = tok.decode(g[:1])
        preds[j] = s["model_answer"]
    with open(os.path.join(sdir, "samples.json"), "w") as f:
        json.dump({"imageSize": sd.SIZE,
                   "note": f"{sd.SIZE}x{sd.SIZE} RGB PNG, held-out (not seen in training); "
                   f"objects[].cell is the {sd.GRID}x{sd.GRID} cell index, row-major from the top left",
                   "samples": samples}, f, indent=2)
    print("samples:", preds)


if __name__ == "__main__":
    main()
