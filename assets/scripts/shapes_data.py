"""Synthetic shapes images and questions for the shapes-vlm model.

Images: 32x32 RGB, dark plain background, 1-3 shapes of distinct kinds (circle, square,
triangle) in distinct cells of a 3x3 layout, each in one of 6 colours.
Questions (one-word answers):
    what color is the {shape} ?        -> red|green|blue|yellow|purple|orange
    what shape is at the {position} ?  -> circle|square|triangle|nothing
    how many shapes are there ?        -> one|two|three
Decoder sequence: <bos> <image>x64 {question} {answer} <eos>
(without the image: <bos> {question} {answer} <eos>, positions contiguous).
"""
import random

import numpy as np

from headscope_models import SPECIALS, pre_tokenize

IMAGE_TOKEN = "<image>"
VLM_SPECIALS = SPECIALS + [IMAGE_TOKEN]
IMAGE_TOKEN_ID = 4
SIZE = 32
GRID = 3
SHAPES = ["circle", "square", "triangle"]
COLORS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 90, 235),
          "yellow": (230, 220, 40), "purple": (150, 60, 210), "orange": (245, 140, 30)}
POSITIONS = ["top left", "top", "top right", "left", "center", "right",
             "bottom left", "bottom", "bottom right"]  # row-major 3x3 cells
COUNTS = ["one", "two", "three"]
MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]
QTYPES = ["color", "shape_at", "count"]
ANSWERS = {"color": list(COLORS), "shape_at": SHAPES + ["nothing"], "count": COUNTS}


def vlm_vocab():
    words = set()
    for s in SHAPES + list(COLORS) + POSITIONS + COUNTS + ["nothing"]:
        words.update(pre_tokenize(s))
    for q in ["what color is the", "what shape is at the", "how many shapes are there ?"]:
        words.update(pre_tokenize(q))
    vocab = {s: i for i, s in enumerate(VLM_SPECIALS)}
    for w in sorted(words):
        vocab[w] = len(vocab)
    return vocab


def sample_scene(rng):
    n = rng.randint(1, 3)
    kinds = rng.sample(SHAPES, n)
    cells = rng.sample(range(GRID * GRID), n)
    objs = [{"shape": k, "color": rng.choice(list(COLORS)), "cell": c} for k, c in zip(kinds, cells)]
    bg = rng.randint(0, 50)
    return {"objects": objs, "bg": bg}


def render(scene, rng):
    img = np.full((SIZE, SIZE, 3), scene["bg"], dtype=np.float32)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    cell = SIZE / GRID
    for o in scene["objects"]:
        r_, c_ = divmod(o["cell"], GRID)
        cx = (c_ + 0.5) * cell + rng.uniform(-1.0, 1.0)
        cy = (r_ + 0.5) * cell + rng.uniform(-1.0, 1.0)
        r = rng.uniform(3.3, 4.6)
        if o["shape"] == "circle":
            m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        elif o["shape"] == "square":
            s = r * 0.85
            m = (np.abs(xx - cx) <= s) & (np.abs(yy - cy) <= s)
        else:
            top, bot = cy - r, cy + r * 0.8
            t = (yy - top) / (bot - top)
            m = (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= t * r * 1.05)
        col = np.array(COLORS[o["color"]], dtype=np.float32) + np.array(
            [rng.uniform(-15, 15) for _ in range(3)], dtype=np.float32)
        img[m] = np.clip(col, 0, 255)
    return img.astype(np.uint8)


def to_pixels(img_u8):
    """HWC uint8 -> CHW float normalised with MEAN/STD (what vision.onnx expects)."""
    x = img_u8.astype(np.float32) / 255.0
    x = (x - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return x.transpose(2, 0, 1)


def sample_question(scene, rng, qtype=None):
    qtype = qtype or rng.choice(QTYPES)
    objs = scene["objects"]
    if qtype == "color":
        o = rng.choice(objs)
        return qtype, f"what color is the {o['shape']} ?", o["color"]
    if qtype == "shape_at":
        occupied = {o["cell"]: o["shape"] for o in objs}
        if rng.random() < 0.7:
            cell = rng.choice(list(occupied))
        else:
            cell = rng.choice([c for c in range(GRID * GRID) if c not in occupied])
        return qtype, f"what shape is at the {POSITIONS[cell]} ?", occupied.get(cell, "nothing")
    return qtype, "how many shapes are there ?", COUNTS[len(objs) - 1]


def sample_example(rng, qtype=None):
    scene = sample_scene(rng)
    img = render(scene, rng)
    qt, q, a = sample_question(scene, rng, qtype)
    return {"scene": scene, "image": img, "qtype": qt, "question": q, "answer": a}
