#!/usr/bin/env python3
"""Generate the text and timestamp fixtures for the Swift `Text` module.

Runs FunASR 1.4.16's own functions on generated cases and writes
Tests/ParaformerTests/Fixtures/text/cases.json:

- text_cases: `funasr.utils.postprocess_utils.sentence_postprocess` with and without
  timestamps (the calls `Paraformer.inference` makes in funasr/models/paraformer/model.py).
- id_cases: model.py's id filtering (drop eos/sos/blank) + `CharTokenizer.ids2tokens`.
- timestamp_cases: `funasr.utils.timestamp_tools.ts_prediction_lfr6_standard`:
  * kind "paraformer": called exactly as model.py 1.4.16 calls it, i.e.
    ts_prediction_lfr6_standard(fires, alphas, tokens, vad_offset, upsample_rate=1)
    where alphas include the tail frame (CifPredictorV2.tail_process_fn) and fires is
    cif_v1's second output. `fires` is stored so the Swift port of cif_v1's fires is
    checked too.
  * kind "intended": the order of FunASR PR #3716 (alphas, fires).
  * kind "core": arbitrary weights/peaks, force_time_shift, upsample_rate, "</s>" tails.

Float arrays are stored as base64 of little-endian float32, so they are exact.

Usage: ~/.venvs/funasr/bin/python Tools/gen_text_fixtures.py [out.json] [--seed N --scale K]
(--seed/--scale make larger stress sets outside the repo; the committed file uses the defaults.)
"""

import argparse

import base64
import copy
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch

import funasr
from funasr.models.paraformer.cif_predictor import CifPredictorV2, cif_v1, cif_wo_hidden
from funasr.tokenizer.char_tokenizer import CharTokenizer
from funasr.utils.postprocess_utils import sentence_postprocess
from funasr.utils.timestamp_tools import ts_prediction_lfr6_standard

_args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
_args.add_argument("out", nargs="?", help="output JSON (default: the committed fixture)")
_args.add_argument("--seed", type=int, default=20250917)
_args.add_argument("--scale", type=int, default=1, help="multiply the number of random cases")
ARGS = _args.parse_args()

SEED = ARGS.seed
SCALE = ARGS.scale
OUT = Path(__file__).resolve().parent.parent / "Tests/ParaformerTests/Fixtures/text/cases.json"

rng = random.Random(SEED)
nrng = np.random.default_rng(SEED)
torch.manual_seed(SEED)

# ---------------------------------------------------------------------------------------
# Token pools

CHINESE = list("你好世界我们的是在有人这中大为上个国说到和地也子时道出而要于就下得可天年生") + [
    "\u4e00", "\u9fff", "\u9ffe", "\u4e00\u9fff", "你们", "中国",
]
DIGITS = ["0", "1", "8", "9", "19", "99", "2024", "90", "09"]
WORDS = ["hello", "world", "the", "a", "i", "ok", "OK", "yes", "no", "paraformer", "speech",
         "don't", "i'm", "it's", "'", "rock'n'roll"]
BPE = ["ab@@", "com@@", "pu@@", "ter", "mo@@", "del", "@@", "@", "@@ing", "x@@y", "1@@", "你@@"]
LETTERS = list("abcdefghijklmnopqrstuvwxyz") + ["A", "B", "Z"]
SPECIAL = ["<unk>", "<s>", "</s>", "<OOV>", "<blank>", "<unk>x", "<<s>unk>", "<sil>"]
OTHER = [",", "，", "。", "?", "é", "e\u0301", "café", "の", "한", "α", "ǅ", "ʰ", "Ⅻ", "²", "٣",
         "㐀", "😀", " ", "a b", "\u3000", "ab cd", "-", "_", "ß", "İ", "\u00a0", "x\u2028"]

POOLS = {
    "chinese": CHINESE + DIGITS,
    "english": WORDS + LETTERS,
    "bpe": WORDS + BPE + LETTERS,
    "letters": LETTERS,
    "mixed": CHINESE + DIGITS + WORDS + BPE + LETTERS,
    "wild": CHINESE + DIGITS + WORDS + BPE + LETTERS + SPECIAL + OTHER,
}


def random_tokens(pool, n):
    return [rng.choice(POOLS[pool]) for _ in range(n)]


def random_timestamps(n):
    t = rng.randint(-90, 500)
    out = []
    for _ in range(n):
        d = rng.randint(0, 400)
        out.append([t, t + d])
        t += d + rng.choice([0, 0, 0, 60, 1000])
    return out


# ---------------------------------------------------------------------------------------
# Text cases

def text_case(tokens, timestamps):
    text, words = sentence_postprocess(list(tokens))
    case = {"tokens": tokens, "text": text, "words": words, "timestamps_in": timestamps}
    try:
        ts_text, ts_out, ts_words = sentence_postprocess(list(tokens), copy.deepcopy(timestamps))
        case.update({"ts_text": ts_text, "ts_timestamps": ts_out, "ts_words": ts_words})
    except IndexError:
        # FunASR raises; the Swift port must only not crash.
        case["ts_raises"] = True
    return case


def make_text_cases():
    fixed = [
        [], ["<s>", "</s>"], ["<unk>"], ["你", "好"], ["hello", "world"], ["a", "b", "c"],
        ["a", "b"], ["a"], ["i", "b", "m", "的", "电", "脑"], ["你", "a", "b", "c", "好"],
        ["com@@", "pu@@", "ter", "你", "好"], ["hello", ",", "你"], ["hello", "你@@", "好"],
        ["mo@@", "你", "del"], ["@@", "a"], ["@"], ["9"], ["99"], ["19"], ["9", "9"],
        ["\u9fff"], ["\u9fff\u4e00"], ["\u9ffe\u4e00"], ["2024", "年"], ["don't", "stop"],
        ["don't", "你"], ["'", "a"], ["a", "<unk>", "b", "c"], ["你", "<unk>", "好"],
        ["hello", "<unk>", "你", "好"], [" "], ["a b"], ["你", " ", "好"], ["ab@@"],
        ["ab@@", "cd@@"], ["x", "y", "你", "z", "w"], ["é", "a", "b"], ["e\u0301", "a"],
        ["Ⅻ", "a"], ["の", "は"], ["ǅ", "ʰ"], ["😀", "你"], ["\u3000", "你"], ["a", "\u3000"],
        ["A", "b", "c"], ["ok", "a", "b", "ok"], ["a", "b", "c", "d", "e", "f"],
        ["<s>", "a", "</s>", "b"], ["<<s>unk>"], ["<unk>x", "你"], ["1@@", "a"], ["你", "1@@"],
        ["hello", "world", "a", "b", "c", "你", "好", "d", "e"], ["a", ",", "b", "c"],
        [", ", "a"], ["a", " ", "b"], ["<sil>", "你"], ["x\u2028"], ["\u00a0", "a", "\u00a0"],
        ["i", "'", "m"], ["rock'n'roll", "你"], ["ß", "İ"], ["㐀", "a"], ["٣", "a"],
    ]
    cases = []
    for tokens in fixed:
        cases.append(text_case(tokens, random_timestamps(len(tokens))))
    for pool in POOLS:
        for _ in range(SCALE * (25 if pool in ("mixed", "wild", "bpe") else 12)):
            n = rng.choice([1, 2, 3, 5, 8, 13, 20])
            tokens = random_tokens(pool, n)
            cases.append(text_case(tokens, random_timestamps(n)))
    # Timestamp lists whose length does not match the tokens (FunASR may raise).
    for _ in range(SCALE * 20):
        pool = rng.choice(list(POOLS))
        n = rng.randint(1, 8)
        tokens = random_tokens(pool, n)
        cases.append(text_case(tokens, random_timestamps(max(0, n + rng.choice([-2, -1, 1, 2])))))
    return cases


# ---------------------------------------------------------------------------------------
# Id cases (model.py: drop eos, sos, blank ids; then tokenizer.ids2tokens)

def make_id_cases():
    vocab = ["<blank>", "<s>", "</s>", "and@@", "筑", "hello", "a", "你", "<unk>"]
    tok = CharTokenizer(token_list=vocab)
    blank, sos, eos = 0, 1, 2
    cases = []
    for _ in range(12):
        ids = [rng.randrange(len(vocab)) for _ in range(rng.randint(0, 10))]
        kept = [i for i in ids if i != eos and i != sos and i != blank]
        tokens = tok.ids2tokens(kept)
        cases.append({"vocab": vocab, "ids": ids, "blank": blank, "sos": sos, "eos": eos,
                      "tokens": tokens, "text": sentence_postprocess(tokens)[0]})
    return cases


# ---------------------------------------------------------------------------------------
# Timestamp cases

def b64(a):
    a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    return base64.b64encode(a.tobytes()).decode("ascii")


def realistic_alphas(num_tokens, lead, trail, long_gaps=0, saturate=False):
    """CIF-like weights: each token spreads about 1 over 2–6 frames, silence ~0."""
    frames = [float(x) for x in nrng.uniform(0, 0.03, lead)]
    gap_at = set(rng.sample(range(max(num_tokens, 1)), min(long_gaps, max(num_tokens, 1))))
    for k in range(num_tokens):
        if saturate:
            frames += [0.0] * rng.randint(1, 4) + [1.0]
        else:
            w = rng.randint(2, 6)
            parts = nrng.dirichlet(np.ones(w) * 2.0) * nrng.uniform(0.85, 1.15)
            frames += [float(min(p, 0.999)) for p in parts]
        if k in gap_at:
            frames += [float(x) for x in nrng.uniform(0, 0.02, rng.randint(14, 40))]
    frames += [float(x) for x in nrng.uniform(0, 0.03, trail)]
    return np.asarray(frames, dtype=np.float32)


def with_tail(alphas_t, tail_threshold=0.45):
    """CifPredictorV2.tail_process_fn with a full mask: append one frame, add the tail."""
    pred = CifPredictorV2(idim=4, l_order=1, r_order=1, tail_threshold=tail_threshold)
    a = torch.tensor(alphas_t)[None, :]
    hidden = torch.zeros(1, a.shape[1], 4)
    mask = torch.ones(1, a.shape[1])
    _, alphas, token_num = pred.tail_process_fn(hidden, a, None, mask=mask)
    return alphas[0], int(token_num.item())


def cif_fires(alphas):
    hidden = torch.zeros(1, alphas.shape[0], 4)
    return cif_v1(hidden, alphas[None, :].clone(), 1.0)[1][0]


def run_ts(weights, peaks, tokens, vad_offset=0, force_time_shift=-1.5, upsample_rate=1):
    w = weights.clone()
    p = peaks.clone()
    fallback_count = len(torch.where(p >= 1.0 - 1e-4)[0])
    chars = tokens[:-1] if tokens and tokens[-1] == "</s>" else tokens
    _, res = ts_prediction_lfr6_standard(
        w, p, copy.copy(tokens), vad_offset=vad_offset, force_time_shift=force_time_shift,
        upsample_rate=upsample_rate)
    return res, bool(tokens) and fallback_count != len(chars) + 1


def ts_tokens(n):
    return random_tokens(rng.choice(["chinese", "mixed", "bpe"]), n)


def make_timestamp_cases():
    cases = []

    def add(kind, name, weights, peaks, tokens, vad=0, shift=-1.5, up=1, extra=None):
        expected, fallback = run_ts(weights, peaks, tokens, vad, shift, up)
        case = {"kind": kind, "name": name, "tokens": tokens, "vad_offset_ms": vad,
                "force_time_shift": shift, "upsample_rate": up, "expected": expected,
                "fallback": fallback}
        if kind == "core":
            case["weights"] = b64(weights.numpy())
            case["peaks"] = b64(peaks.numpy())
        else:
            case.update(extra)
        cases.append(case)

    # Paraformer as called by model.py 1.4.16 (swapped), and in the intended order.
    for i in range(SCALE * 110):
        n_tok = rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 30])
        lead = rng.choice([0, 1, 3, 6, 10, 25])
        trail = rng.choice([0, 1, 4, 6, 12, 30])
        gaps = rng.choice([0, 0, 1, 2])
        sat = i % 11 == 5
        raw = realistic_alphas(n_tok, lead, trail, gaps, saturate=sat)
        if raw.size == 0:
            raw = np.asarray([0.01], dtype=np.float32)
        alphas, token_num = with_tail(raw)
        fires = cif_fires(alphas)
        n = token_num - rng.choice([0, 0, 0, 1]) if token_num > 0 else 0
        if sat:
            n = max(token_num - 1, 0)  # N+1 saturated alphas ≥ 0.9999: no fallback
        tokens = ts_tokens(max(n, 0))
        vad = rng.choice([0, 0, 0, 1230, 77])
        extra = {"alphas": b64(alphas.numpy()), "fires": b64(fires.numpy())}
        if i % 4 == 3:
            add("intended", f"intended-{i}", alphas, fires, tokens, vad, extra=extra)
        else:
            add("paraformer", f"paraformer-{i}", fires, alphas, tokens, vad, extra=extra)

    # Core: peaks with exactly N+1 boundaries (no fallback), from the loop CIF.
    for i in range(SCALE * 40):
        n_tok = rng.choice([1, 2, 4, 7, 15])
        raw = realistic_alphas(n_tok + 1, rng.choice([0, 2, 8, 20]), rng.choice([0, 3, 7, 20]),
                               rng.choice([0, 1, 3]))
        w = torch.tensor(raw)
        w = w / (w.sum() / (n_tok + 1))
        peaks = cif_wo_hidden(w[None, :].clone(), 1.0 - 1e-4)[0]
        tokens = ts_tokens(n_tok)
        if i % 5 == 0:
            tokens = tokens + ["</s>"]
        if i % 7 == 0:
            tokens[rng.randrange(len(tokens))] = "<sil>"
        up = 3 if i % 6 == 0 else 1
        shift = rng.choice([-1.5, -1.5, 0.0, -3.0, 2.25])
        add("core", f"core-match-{i}", w, peaks, tokens, rng.choice([0, 0, 500]), shift, up)

    # Core: random arrays, counts do not match (fallback), plus edge values.
    for i in range(SCALE * 25):
        t = rng.randint(1, 60)
        w = torch.tensor(nrng.uniform(0, 1, t).astype(np.float32))
        p = torch.tensor(nrng.uniform(0, 1.2, t).astype(np.float32))
        if i % 3 == 0:
            p[rng.randrange(t)] = float(np.float32(1.0 - 1e-4))  # exactly the float32 threshold
        tokens = ts_tokens(rng.randint(1, 10))
        add("core", f"core-random-{i}", w, p, tokens, rng.choice([0, 10]),
            rng.choice([-1.5, 0.0]), rng.choice([1, 1, 3]))
    add("core", "core-empty-tokens", torch.ones(5), torch.ones(5), [])
    add("core", "core-only-eos", torch.ones(5), torch.ones(5), ["</s>"])
    return cases


def main():
    out = Path(ARGS.out) if ARGS.out else OUT
    data = {
        "generator": "Tools/gen_text_fixtures.py",
        "funasr_version": funasr.__version__,
        "torch_version": torch.__version__,
        "seed": SEED,
        "text_cases": make_text_cases(),
        "id_cases": make_id_cases(),
        "timestamp_cases": make_timestamp_cases(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                   encoding="utf-8")
    n_fb = sum(c["fallback"] for c in data["timestamp_cases"])
    print(f"wrote {out} ({out.stat().st_size} bytes): {len(data['text_cases'])} text, "
          f"{len(data['id_cases'])} id, {len(data['timestamp_cases'])} timestamp cases "
          f"({n_fb} with fallback)")


if __name__ == "__main__":
    main()
