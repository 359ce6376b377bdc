"""Synthetic shapes images and questions for the shapes-vlm model.

Images: 32x32 RGB, dark plain background, 1-3 shapes of distinct kinds (circle, square,
triangle) in distinct quadrants (a 2x2 layout, each quadrant 16x16 pixels = 4x4 patches of
4 pixels), each in one of 6 colours. A first design with a 3x3 layout (shapes of 7-9 pixels,
cells not aligned with the patch grid) left the model at 21.5% on position questions and
68.5% on colours after 1300 steps: at that size the 2-layer patch encoder barely told the
shapes apart.
Questions (one-word answers):
    what color is the {shape}         -> red|green|blue|yellow|purple|orange
    what shape is in the {position}   -> circle|square|triangle|nothing
    how many shapes are there         -> one|two|three
Each question ends with the word that decides what to look at (the shape, the quadrant as
one compass word), and the answer is predicted right after it. With a trailing "?" (and
two-word positions) a from-scratch decoder first has to move the question's content onto
the last token before it can look for it, with 64 image tokens drawing its attention away:
a run like that stayed at uniform attention over the image (mean pooling) for 1300 steps,
answering counts (99%) but neither colours of a named shape (65%) nor positions (28%).
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
GRID = 2
SHAPES = ["circle", "square", "triangle"]
COLORS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 90, 235),
          "yellow": (230, 220, 40), "purple": (150, 60, 210), "orange": (245, 140, 30)}
# row-major 2x2 cells: top left, top right, bottom left, bottom right
POSITIONS = ["northwest", "northeast", "southwest", "southeast"]
COUNTS = ["one", "two", "three"]
MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]
QTYPES = ["color", "shape_at", "count"]
ANSWERS = {"color": list(COLORS), "shape_at": SHAPES + ["nothing"], "count": COUNTS}


def vlm_vocab():
    words = set()
    for s in SHAPES + list(COLORS) + POSITIONS + COUNTS + ["nothing"]:
        words.update(pre_tokenize(s))
    for q in ["what color is the", "what shape is in the", "how many shapes are there"]:
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
        cx = (c_ + 0.5) * cell + rng.uniform(-1.5, 1.5)
        cy = (r_ + 0.5) * cell + rng.uniform(-1.5, 1.5)
        r = rng.uniform(4.5, 6.0)
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


def patch_labels(scene, patch=4):
    """Per patch (row-major, SIZE/patch squared): index of the shape kind (0 = none, 1.. =
    SHAPES) and of the colour (0 = none, 1.. = COLORS) of the object in the layout cell the
    patch lies in, and that cell's index. Targets of the auxiliary vision objective in
    train_vlm.py."""
    g = SIZE // patch
    cell_of = {o["cell"]: o for o in scene["objects"]}
    colors = list(COLORS)
    kind, colour, cell = [], [], []
    for pr in range(g):
        for pc in range(g):
            c = (int((pr + 0.5) * patch // (SIZE / GRID)) * GRID
                 + int((pc + 0.5) * patch // (SIZE / GRID)))
            o = cell_of.get(c)
            kind.append(0 if o is None else 1 + SHAPES.index(o["shape"]))
            colour.append(0 if o is None else 1 + colors.index(o["color"]))
            cell.append(c)
    return kind, colour, cell


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
        return qtype, f"what color is the {o['shape']}", o["color"]
    if qtype == "shape_at":
        occupied = {o["cell"]: o["shape"] for o in objs}
        if rng.random() < 0.7:
            cell = rng.choice(list(occupied))
        else:
            cell = rng.choice([c for c in range(GRID * GRID) if c not in occupied])
        return qtype, f"what shape is in the {POSITIONS[cell]}", occupied.get(cell, "nothing")
    return qtype, "how many shapes are there", COUNTS[len(objs) - 1]


def sample_example(rng, qtype=None):
    scene = sample_scene(rng)
    img = render(scene, rng)
    qt, q, a = sample_question(scene, rng, qtype)
    return {"scene": scene, "image": img, "qtype": qt, "question": q, "answer": a}
