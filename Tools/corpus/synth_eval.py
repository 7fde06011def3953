#!/usr/bin/env python3
"""Held-out evaluation audio for the bundled models (issue #17), as a new user would make it.

New sentences over the corpus vocabulary (seed 20261130; every sentence of the training
corpus's pool, seed 20240808, and of the augmented corpus is excluded), spoken by espeak-ng
`cmn-latn-pinyin` with fresh random draws: voice variant +m1..+m8/+f1..+f5, rate 135..185,
pitch 30..70, amplitude 70..130, peak level -20..-3 dBFS. Each utterance is written twice:

  OUT/silence/  padded with exact digital silence (0.2 s before, 0.3 s after; all-zero samples)
  OUT/noise/    the same speech and padding, with low white noise over the whole file
                (RMS -96..-60 dBFS: from about one LSB, as dither, to a quiet recorder)

and OUT/checks/ holds the no-speech checks: 10 s of digital silence, 10 s of low noise
(-70 dBFS white), a 1 s tone (440 Hz, -12 dBFS), each of which must give an empty transcript.
Kaldi wav.scp / text / meta.tsv per set (16 kHz 16-bit mono).

    synth_eval.py --out /work/cache/eval_heldout [--count 200]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth_corpus as sc  # noqa: E402

SR = 16000
EVAL_VARIANTS = sc.VARIANTS  # the try-out: the corpus's variants, fresh draws


def espeak_speech(pys, expect, variant, rate, pitch, amp):
    """espeak-ng speech for tone-numbered pinyin, checked by its phonemes, 16 kHz float64,
    espeak's own leading/trailing silence trimmed; None when the phonemes do not match."""
    from scipy.signal import resample_poly
    with tempfile.TemporaryDirectory() as td:
        wav22 = os.path.join(td, "a.wav")
        phf = os.path.join(td, "p.txt")
        subprocess.run(["espeak-ng", "-v", f"{sc.VOICE}+{variant}", "-s", str(rate), "-p", str(pitch),
                        "-a", str(amp), "-x", f"--phonout={phf}", "-w", wav22, " ".join(pys)],
                       check=True, capture_output=True)
        ph = open(phf).read().strip()
        x, _ = sf.read(wav22, dtype="float32")
    if sc.toneless(ph) != expect:
        return None
    if x.ndim > 1:
        x = x.mean(axis=1)
    x = resample_poly(x, 320, 441).astype(np.float64)
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    if len(nz):
        x = x[max(0, nz[0] - 80): nz[-1] + 80]
    return x


def to_int16(x):
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def synth_eval_one(job):
    uid, pys, expect, seed, out = job
    rng = np.random.default_rng(seed)
    variant = EVAL_VARIANTS[rng.integers(len(EVAL_VARIANTS))]
    rate = int(rng.integers(135, 186))
    pitch = int(rng.integers(30, 71))
    amp = int(rng.integers(70, 131))
    x = espeak_speech(pys, expect, variant, rate, pitch, amp)
    if x is None:
        return uid, None
    peak_db = rng.uniform(-20, -3)
    x = x / (np.max(np.abs(x)) + 1e-9) * 10 ** (peak_db / 20)
    lead, trail = int(0.2 * SR), int(0.3 * SR)
    x = np.concatenate([np.zeros(lead), x, np.zeros(trail)])
    sil = to_int16(x)
    sil[:lead] = 0
    sil[len(sil) - trail:] = 0  # exact digital silence
    noise_db = rng.uniform(-96, -60)
    noisy = to_int16(x + rng.standard_normal(len(x)) * 10 ** (noise_db / 20))
    sf.write(os.path.join(out, "silence", "wav", f"{uid}.wav"), sil, SR, subtype="PCM_16")
    sf.write(os.path.join(out, "noise", "wav", f"{uid}.wav"), noisy, SR, subtype="PCM_16")
    return uid, f"{variant}\t{rate}\t{pitch}\t{amp}\t{peak_db:.1f}\t{noise_db:.1f}\t{len(x)/SR:.3f}"


def corpus_pool(seed, total, chars, min_len=4, max_len=16):
    """The sentence pool synth_corpus.py draws for a seed (same generator, same order)."""
    rnd = random.Random(seed)
    sents, seen = [], set()
    while len(sents) < total:
        n = rnd.randint(min_len, max_len)
        s = "".join(rnd.choice(chars) for _ in range(n))
        if s not in seen:
            seen.add(s)
            sents.append(s)
    return sents


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/cache/eval_heldout")
    ap.add_argument("--vocab", default="/work/cache/corpus/vocab.tsv")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--exclude-seed", type=int, action="append", default=None,
                    help="corpus seeds whose sentence pools are excluded (default 20240808 20261129)")
    ap.add_argument("--exclude-total", type=int, default=10600)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    vocab = [l.rstrip("\n").split("\t") for l in open(a.vocab, encoding="utf-8")]
    pyd = {ch: py for ch, py, _ in vocab}
    phon = {ch: ph for ch, _, ph in vocab}
    chars = [ch for ch, _, _ in vocab]
    excluded = set()
    for s in a.exclude_seed or [20240808, 20261129]:
        excluded.update(corpus_pool(s, a.exclude_total, chars))
    rnd = random.Random(a.seed)
    sents = []
    while len(sents) < a.count:
        n = rnd.randint(4, 16)
        s = "".join(rnd.choice(chars) for _ in range(n))
        if s not in excluded and s not in sents:
            sents.append(s)
    for sub in ("silence", "noise", "checks"):
        os.makedirs(os.path.join(a.out, sub, "wav"), exist_ok=True)
    jobs = [(f"heldout_{i:04d}", [pyd[c] for c in s], [phon[c] for c in s], a.seed * 7919 + i, a.out)
            for i, s in enumerate(sents)]
    with ProcessPoolExecutor(a.jobs) as ex:
        res = dict(ex.map(synth_eval_one, jobs, chunksize=8))
    for sub in ("silence", "noise"):
        d = os.path.join(a.out, sub)
        with open(os.path.join(d, "wav.scp"), "w") as fw, open(os.path.join(d, "text"), "w", encoding="utf-8") as ft, \
                open(os.path.join(d, "meta.tsv"), "w") as fm:
            fm.write("id\tvariant\trate\tpitch\tamp\tpeak_db\tnoise_db\tdur_s\n")
            for (uid, _, _, _, _), s in zip(jobs, sents):
                if res.get(uid) is None:
                    continue
                fw.write(f"{uid} {os.path.abspath(os.path.join(d, 'wav', uid + '.wav'))}\n")
                ft.write(f"{uid} {s}\n")
                fm.write(f"{uid}\t{res[uid]}\n")
    # no-speech checks
    rng = np.random.default_rng(a.seed)
    d = os.path.join(a.out, "checks")
    t = np.arange(SR) / SR
    checks = {
        "silence_10s": np.zeros(10 * SR, dtype=np.int16),
        "noise_10s": to_int16(rng.standard_normal(10 * SR) * 10 ** (-70 / 20)),
        "tone_1s": to_int16(np.sin(2 * np.pi * 440 * t) * 10 ** (-12 / 20)),
    }
    with open(os.path.join(d, "wav.scp"), "w") as fw:
        for uid, x in checks.items():
            p = os.path.abspath(os.path.join(d, "wav", uid + ".wav"))
            sf.write(p, x, SR, subtype="PCM_16")
            fw.write(f"{uid} {p}\n")
    bad = sum(1 for v in res.values() if v is None)
    print(f"{len(res) - bad} utterances x 2 paddings, {bad} rejected, 3 checks -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
