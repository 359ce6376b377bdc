"""Text corpus, vocabulary and needle-in-a-haystack episodes for the needle models.

Text source: Debian package `fortunes` (fortune-mod data files, BSD licence), a
subset of its files (see CORPUS_FILES). Every 10th fortune (by a fixed hash-free
index rule) is held out as evaluation haystack text and never used in training.

Episode layout (token level, all lower case, word-level tokens):
    <bos> {haystack with the needle inserted at a sentence boundary} question : {question} answer : {answer} <eos>
"""
import json
import os
import random
import re

from headscope_models import SPECIALS, pre_tokenize, write_tokenizer_json, BOS, EOS

FORTUNE_DIR = "/usr/share/games/fortunes"
CORPUS_FILES = ["fortunes", "wisdom", "science", "literature", "work", "computers", "education",
                "food", "people", "platitudes", "humorists", "miscellaneous", "pets", "kids",
                "love", "magic", "medicine", "law"]
HELDOUT_EVERY = 10
SENT_END = {".", "?"}
PROMPT_Q = ["question", ":"]
PROMPT_A = ["answer", ":"]
TEMPLATE = "{haystack} question : {question} answer :"

# ---- needle vocabulary ----------------------------------------------------------------
ADJS = ("blue red green yellow purple orange silver golden black white quiet hidden ancient "
        "frozen broken silent hollow bright dark northern southern eastern western little great "
        "lost sleeping wooden iron stone crystal copper velvet secret rusty misty sunny").split()
PLACES = ("harbor castle garden tower river forest bridge mountain village island temple library "
          "market valley desert lake station palace cave meadow lighthouse chapel kingdom canyon "
          "farm mill orchard school theater museum fortress cottage swamp volcano glacier "
          "prison monastery bakery factory").split()
NUMS = ("two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty").split()
OBJS = ("lions tigers apples candles ravens keys stars rivers drums lanterns foxes wolves bells "
        "ships horses owls coins roses pearls clocks feathers mirrors spoons kites bears goats "
        "swans frogs hammers violins").split()
WORDS = ("pineapple thunder marble velvet copper falcon mango cobalt saffron jasmine orbit cactus "
         "glacier ember walnut violet harp comet tulip anchor lemon nickel quartz breeze pepper "
         "lantern compass meteor walrus banjo pretzel tornado penguin avocado biscuit dragon "
         "galaxy igloo jaguar kettle llama noodle oyster parrot rocket squirrel tractor umbrella "
         "volcano waffle zebra bamboo cinnamon dolphin eclipse flamingo gondola hazelnut").split()

# (needle, question, answer) templates; slots: a=adj, p=place, n=number, o=objects, w=word
NEEDLE_TEMPLATES = [
    ("the secret code of the {a} {p} is {n} {o} .", "what is the secret code of the {a} {p} ?", "{n} {o}"),
    ("the magic word of the {a} {p} is {w} .", "what is the magic word of the {a} {p} ?", "{w}"),
    ("the {a} {p} was built by {n} {o} .", "who built the {a} {p} ?", "{n} {o}"),
    ("the best thing to bring to the {a} {p} is a {w} .", "what should you bring to the {a} {p} ?", "a {w}"),
    ("the password for the {a} {p} is {w} {n} .", "what is the password for the {a} {p} ?", "{w} {n}"),
]


def needle_words():
    ws = set(ADJS + PLACES + NUMS + OBJS + WORDS + PROMPT_Q + PROMPT_A + [".", "?", ","])
    for t in NEEDLE_TEMPLATES:
        for s in t:
            ws.update(w for w in pre_tokenize(s.replace("{", " ").replace("}", " ")))
    return ws


def make_needle(rng, template_idx=None):
    ti = rng.randrange(len(NEEDLE_TEMPLATES)) if template_idx is None else template_idx
    slots = dict(a=rng.choice(ADJS), p=rng.choice(PLACES), n=rng.choice(NUMS),
                 o=rng.choice(OBJS), w=rng.choice(WORDS))
    n, q, a = (s.format(**slots) for s in NEEDLE_TEMPLATES[ti])
    return {"needle": n, "question": q, "answer": a, "key": (slots["a"], slots["p"])}


def heldout_needles(count=60, seed=1234):
    """Held-out needles: fixed seed; their (adjective, place) keys are excluded from training."""
    rng = random.Random(seed)
    out, keys = [], set()
    while len(out) < count:
        nd = make_needle(rng, template_idx=len(out) % len(NEEDLE_TEMPLATES))
        if nd["key"] in keys:
            continue
        keys.add(nd["key"])
        out.append(nd)
    return out


# ---- corpus ---------------------------------------------------------------------------
def clean_fortune(text):
    lines = [l for l in text.split("\n") if not l.strip().startswith("--")]
    t = " ".join(lines).lower()
    t = t.replace("'", "").replace("`", "")
    t = re.sub(r"[!;]", ".", t)
    t = re.sub(r"[^a-z0-9.,? ]", " ", t)
    t = re.sub(r"\.(\s*\.)+", ".", t)
    t = re.sub(r"\s+", " ", t).strip()
    return t


def load_fortunes():
    out = []
    for name in CORPUS_FILES:
        with open(os.path.join(FORTUNE_DIR, name), encoding="latin-1") as f:
            raw = f.read()
        for chunk in raw.split("\n%\n"):
            t = clean_fortune(chunk)
            words = pre_tokenize(t)
            if len(words) < 4:
                continue
            if words[-1] not in SENT_END:
                words.append(".")
            out.append(words)
    return out


def split_corpus():
    fs = load_fortunes()
    train = [f for i, f in enumerate(fs) if i % HELDOUT_EVERY != 0]
    held = [f for i, f in enumerate(fs) if i % HELDOUT_EVERY == 0]
    return train, held


def build_vocab(train_fortunes, max_words=5000, min_count=2):
    from collections import Counter
    c = Counter(w for f in train_fortunes for w in f)
    nw = needle_words()
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for w in sorted(nw):
        vocab.setdefault(w, len(vocab))
    for w, n in c.most_common():
        if len(vocab) >= max_words:
            break
        if n >= min_count and w not in vocab:
            vocab[w] = len(vocab)
    return vocab


class TokenStream:
    """Concatenated fortunes as token ids, with sentence start positions."""

    def __init__(self, fortunes, tok, seed=0):
        fs = list(fortunes)
        random.Random(seed).shuffle(fs)
        ids = []
        for f in fs:
            ids.extend(tok.encode_words(f))
        self.ids = ids
        end_ids = {tok.vocab[w] for w in SENT_END}
        self.end_ids = end_ids
        self.starts = [0] + [i + 1 for i, t in enumerate(ids[:-1]) if t in end_ids]

    def window(self, rng, n):
        while True:
            s = rng.choice(self.starts)
            if s + n <= len(self.ids):
                return self.ids[s:s + n]


def question_answer_ids(tok, needle):
    """(`question : {question} answer :`, answer + <eos>) as token ids."""
    q = tok.encode_words(PROMPT_Q) + tok.encode(needle["question"]) + tok.encode_words(PROMPT_A)
    return q, tok.encode(needle["answer"]) + [EOS]


def haystack_window(rng, stream, tok, budget):
    """A haystack of `budget` tokens ending a sentence, and its sentence starts (needle slots)."""
    if budget < 4:
        raise ValueError("context too short")
    hay = stream.window(rng, budget)
    if hay[-1] not in stream.end_ids:
        hay[-1] = tok.vocab["."]
    return hay, [0] + [i + 1 for i, t in enumerate(hay) if t in stream.end_ids]


def make_episode(rng, stream, tok, needle, T, depth):
    """Token ids of a full episode of exactly T tokens; returns (ids, a0, q0, needle_pos):
    answer tokens + <eos> are ids[a0:T], the question prompt starts at q0, the needle
    starts at needle_pos."""
    nid = tok.encode(needle["needle"])
    qid, aid = question_answer_ids(tok, needle)
    hay, bounds = haystack_window(rng, stream, tok, T - 1 - len(nid) - len(qid) - len(aid))
    target = depth * len(hay)
    pos = min(bounds, key=lambda b: abs(b - target))
    ids = [BOS] + hay[:pos] + nid + hay[pos:] + qid + aid
    assert len(ids) == T, (len(ids), T)
    return ids, T - len(aid), T - len(aid) - len(qid), 1 + pos


def make_multi_episode(rng, stream, tok, needles, T):
    """Several needles in one haystack, each asked about once after it (in random order):
        <bos> {haystack with the needles inserted} question : q answer : a <eos> question : ...
    Exactly T tokens. Returns (ids, answer spans [(a0, a1)], question starts): the tokens
    ids[a0:a1] are one answer and its <eos>. With one needle this is make_episode's layout."""
    nids = [tok.encode(n["needle"]) for n in needles]
    order = list(range(len(needles)))
    rng.shuffle(order)
    qas = [question_answer_ids(tok, needles[i]) for i in order]
    hay, bounds = haystack_window(
        rng, stream, tok, T - 1 - sum(map(len, nids)) - sum(len(q) + len(a) for q, a in qas))
    at = {}
    for nid in nids:
        target = rng.random() * len(hay)
        at.setdefault(min(bounds, key=lambda b: abs(b - target)), []).append(nid)
    ids = [BOS]
    for i in range(len(hay) + 1):
        for nid in at.get(i, []):
            ids.extend(nid)
        if i < len(hay):
            ids.append(hay[i])
    spans, q_starts = [], []
    for q, a in qas:
        q_starts.append(len(ids))
        ids.extend(q)
        spans.append((len(ids), len(ids) + len(a)))
        ids.extend(a)
    assert len(ids) == T, (len(ids), T)
    return ids, spans, q_starts


def write_tokenizer(path, vocab):
    write_tokenizer_json(path, vocab, SPECIALS)


def write_needle_assets(folder, held_fortunes, needles, max_words=8000):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "needles.jsonl"), "w") as f:
        for nd in needles:
            f.write(json.dumps({"needle": nd["needle"], "question": nd["question"],
                                "answer": nd["answer"]}) + "\n")
    with open(os.path.join(folder, "haystack.txt"), "w") as f:
        n = 0
        for fw in held_fortunes:
            if n >= max_words:
                break
            f.write(" ".join(fw) + "\n")
            n += len(fw)
