#!/usr/bin/env python3
"""Synthesise a reproducible Mandarin speech corpus with espeak-ng.

Why: pretrained FunASR weights cannot be downloaded here, so we train our own small
Paraformer models (Tools/train.py) on synthetic speech.

Recipe (fixed seed, so a rerun gives the same corpus):
  1. Vocabulary: common characters (by jieba's dictionary frequency) that have a single
     reading in pypinyin with a full tone (1-4), keeping only the most frequent character
     of each *toneless* syllable. Random sentences give no context to tell homophones
     apart, and espeak-ng applies tone sandhi (3-3 -> 2-3), so the toneless syllable alone
     must identify the character. Each syllable is checked in isolation against
     espeak-ng's phoneme output (-x): it must be read as exactly one Mandarin syllable.
  2. Sentences: random sequences of 4..16 vocabulary characters; train, valid and test
     draw from one pool of distinct sentences, so splits never share a sentence.
  3. Audio: espeak-ng voice cmn-latn-pinyin (Debian's `cmn` voice spells most characters
     as English pinyin) reading the tone-numbered pinyin, with a random voice variant
     (+m1..+m8, +f1..+f5), rate, pitch, pitch range and amplitude; resampled to 16 kHz;
     leading/trailing silence 0.02..0.8 s; random gain; added white/pink/brown noise at
     several SNRs (or none). Each utterance's -x phoneme output is checked against the
     expected syllables (tones may differ through sandhi).
  Output (Kaldi style) per split in OUT/<split>/: wav/*.wav (16 kHz 16-bit mono),
  wav.scp, text (characters separated by nothing), pinyin, meta.tsv; OUT/vocab.tsv.

Usage: synth_corpus.py --out /work/cache/corpus [--train 10000 --valid 300 --test 300]

--augment (issue #17, the fine-tuning corpus: seed 20261129, sentences disjoint from the
seed-20240808 pool): what inference sees and the first corpus did not. Per utterance:
  - voices: +m1..+m8, +f1..+f5 and 34 more espeak-ng variants (AUG_VARIANTS), rate 110..240,
    pitch 15..85, amplitude 50..150;
  - 30 %: the sentence spoken in two parts with a 0.1..0.8 s gap between them;
  - padding 0..1.2 s before and after; 45 % of utterances keep it (and the gap) exact digital
    zero (no noise, no noise floor), the rest get a noise floor of -96..-60 dBFS;
  - 50 % of those with a floor: white/pink/brown noise at 30, 20, 15, 10 or 5 dB SNR;
  - peak level -40..-1 dBFS; 12 % DC offset (+-0.002..0.03); 10 % clipped (driven 1.5..4x past
    full scale); 15 % band-limited to 8 kHz sampling (down and up again);
  - 15 %: a tone (100..3000 Hz) or clicks in the leading or trailing padding (non-speech the
    model must not transcribe).
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import soundfile as sf

VOICE = "cmn-latn-pinyin"
VARIANTS = [f"m{i}" for i in range(1, 9)] + [f"f{i}" for i in range(1, 6)]
SR = 16000


def espeak_phonemes(text, voice=VOICE):
    out = subprocess.run(["espeak-ng", "-v", voice, "-q", "-x", text],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def toneless(ph):
    """Phoneme string of one utterance -> list of toneless syllables."""
    sylls = [s for s in re.split(r"_\|\s*|\s+", ph) if s]
    return [re.sub(r"[0-9]", "", s) for s in sylls]


def build_vocab(max_chars, max_rank):
    import jieba
    from pypinyin import pinyin, Style
    dict_path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    freq = {}
    with open(dict_path, encoding="utf-8") as f:
        for line in f:
            w, c = line.split()[:2]
            c = int(c)
            for ch in w:  # character frequency summed over words containing it
                if "\u4e00" <= ch <= "\u9fff":
                    freq[ch] = freq.get(ch, 0) + c
    ranked = sorted(freq, key=lambda ch: (-freq[ch], ch))[:max_rank]
    seen, seen_ph, vocab = set(), set(), []
    for ch in ranked:
        readings = set(pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0])
        if len(readings) != 1:
            continue
        py = readings.pop()
        if not re.fullmatch(r"[a-z]+[1-4]", py):
            continue
        base = py[:-1]
        if base in seen:
            continue
        ph = espeak_phonemes(py)
        if "(" in ph or len(toneless(ph)) != 1:
            continue  # not read as one Mandarin syllable
        if toneless(ph)[0] in seen_ph:
            continue  # two pinyin spellings that espeak pronounces alike
        seen_ph.add(toneless(ph)[0])
        seen.add(base)
        vocab.append((ch, py, toneless(ph)[0]))
        if len(vocab) >= max_chars:
            break
    return vocab


def colored_noise(n, kind, rng):
    w = rng.standard_normal(n)
    if kind == "white":
        return w
    spec = np.fft.rfft(w)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec = spec / (np.sqrt(f) if kind == "pink" else f)
    x = np.fft.irfft(spec, n)
    return x / (np.std(x) + 1e-12)


def synth_one(job):
    (uid, chars, pys, expect, seed, outdir) = job
    rng = np.random.default_rng(seed)
    variant = VARIANTS[rng.integers(len(VARIANTS))]
    rate = int(rng.integers(120, 221))      # words per minute (espeak -s)
    pitch = int(rng.integers(25, 76))       # espeak -p 0..99
    amp = int(rng.integers(60, 141))        # espeak -a
    text = " ".join(pys)
    with tempfile.TemporaryDirectory() as td:
        wav22 = os.path.join(td, "a.wav")
        phf = os.path.join(td, "p.txt")
        subprocess.run(["espeak-ng", "-v", f"{VOICE}+{variant}", "-s", str(rate), "-p", str(pitch),
                        "-a", str(amp), "-x", f"--phonout={phf}", "-w", wav22, text],
                       check=True, capture_output=True)
        ph = open(phf).read().strip()
        x, sr = sf.read(wav22, dtype="float32")
    got = toneless(ph)
    if got != expect:
        return uid, None, f"phoneme mismatch: {got} vs {expect}"
    if x.ndim > 1:
        x = x.mean(axis=1)
    # resample 22050 -> 16000 (polyphase, torchaudio-free)
    from scipy.signal import resample_poly
    x = resample_poly(x, 320, 441).astype(np.float64)
    # trim espeak's own leading/trailing silence, then add random padding
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    if len(nz):
        x = x[max(0, nz[0] - 80): nz[-1] + 80]
    lead = int(rng.uniform(0.02, 0.8) * SR)
    trail = int(rng.uniform(0.02, 0.8) * SR)
    x = np.concatenate([np.zeros(lead), x, np.zeros(trail)])
    # gain: peak between -30 and -1 dBFS
    peak_db = rng.uniform(-30, -1)
    x = x / (np.max(np.abs(x)) + 1e-9) * 10 ** (peak_db / 20)
    snr = [None, 30, 20, 15, 10][rng.integers(5)]
    kind = "none"
    if snr is not None:
        kind = ["white", "pink", "brown"][rng.integers(3)]
        sp = x[lead:len(x) - trail]
        p_sig = np.mean(sp ** 2) + 1e-12
        nse = colored_noise(len(x), kind, rng)
        x = x + nse * np.sqrt(p_sig / 10 ** (snr / 10))
    # always a tiny noise floor so silence is not exact zero after int16
    x = x + rng.standard_normal(len(x)) * 10 ** (-75 / 20)
    x = np.clip(x, -1, 1)
    path = os.path.join(outdir, "wav", f"{uid}.wav")
    sf.write(path, (x * 32767).astype(np.int16), SR, subtype="PCM_16")
    meta = f"{variant}\t{rate}\t{pitch}\t{amp}\t{peak_db:.1f}\t{snr}\t{kind}\t{lead/SR:.3f}\t{trail/SR:.3f}\t{len(x)/SR:.3f}"
    return uid, path, meta


AUG_VARIANTS = VARIANTS + ["Andy", "Annie", "Alicia", "Denis", "Gene", "Jacky", "Lee", "Michael",
                           "Mike", "adam", "anika", "aunty", "belinda", "benjamin", "boris", "caleb",
                           "david", "edward", "john", "linda", "max", "paul", "quincy", "rob", "robert",
                           "steph", "travis", "victor", "zac", "klatt", "klatt2", "klatt3", "norbert",
                           "Alex"]


def espeak_16k(text, expect, variant, rate, pitch, amp):
    """espeak-ng speech, phonemes checked, 16 kHz float64, espeak's silence trimmed (or None)."""
    from scipy.signal import resample_poly
    with tempfile.TemporaryDirectory() as td:
        wav22 = os.path.join(td, "a.wav")
        phf = os.path.join(td, "p.txt")
        subprocess.run(["espeak-ng", "-v", f"{VOICE}+{variant}", "-s", str(rate), "-p", str(pitch),
                        "-a", str(amp), "-x", f"--phonout={phf}", "-w", wav22, text],
                       check=True, capture_output=True)
        ph = open(phf).read().strip()
        x, sr = sf.read(wav22, dtype="float32")
    if toneless(ph) != expect:
        return None
    if x.ndim > 1:
        x = x.mean(axis=1)
    x = resample_poly(x, 320, 441).astype(np.float64)
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    if len(nz):
        x = x[max(0, nz[0] - 80): nz[-1] + 80]
    return x


def synth_one_aug(job):
    (uid, chars, pys, expect, seed, outdir) = job
    from scipy.signal import resample_poly
    rng = np.random.default_rng(seed)
    variant = AUG_VARIANTS[rng.integers(len(AUG_VARIANTS))]
    rate = int(rng.integers(110, 241))
    pitch = int(rng.integers(15, 86))
    amp = int(rng.integers(50, 151))
    n = len(pys)
    parts = [(0, n)]
    if n >= 4 and rng.random() < 0.3:
        cut = int(rng.integers(2, n - 1))
        parts = [(0, cut), (cut, n)]
    pieces = []
    for a, b in parts:
        x = espeak_16k(" ".join(pys[a:b]), expect[a:b], variant, rate, pitch, amp)
        if x is None:
            return uid, None, "phoneme mismatch"
        pieces.append(x)
    gap = int(rng.uniform(0.1, 0.8) * SR)
    speech = pieces[0] if len(pieces) == 1 else np.concatenate([pieces[0], np.zeros(gap), pieces[1]])
    lead = int(rng.uniform(0.0, 1.2) * SR)
    trail = int(rng.uniform(0.0, 1.2) * SR)
    x = np.concatenate([np.zeros(lead), speech, np.zeros(trail)])
    is_speech = np.zeros(len(x), dtype=bool)
    is_speech[lead:lead + len(speech)] = True
    spans = [(lead, lead + len(speech))]
    if len(pieces) == 2:
        is_speech[lead + len(pieces[0]):lead + len(pieces[0]) + gap] = False
        spans = [(lead, lead + len(pieces[0])), (lead + len(pieces[0]) + gap, lead + len(speech))]
    peak_db = rng.uniform(-40, -1)
    x = x / (np.max(np.abs(x)) + 1e-9) * 10 ** (peak_db / 20)
    extra = "none"
    if rng.random() < 0.15:  # non-speech in the padding: a tone or clicks
        side = (0, lead) if (rng.random() < 0.5 and lead > 1600) else (len(x) - trail, len(x))
        m = side[1] - side[0]
        if m > 1600:
            lvl = 10 ** (rng.uniform(-40, -6) / 20)
            if rng.random() < 0.5:
                f0 = rng.uniform(100, 3000)
                seg = np.sin(2 * np.pi * f0 * np.arange(m) / SR) * lvl * np.hanning(m) ** 0.1
                extra = f"tone{f0:.0f}"
            else:
                seg = np.zeros(m)
                for p in rng.integers(0, m - 40, size=int(rng.integers(1, 6))):
                    seg[p:p + 40] += rng.standard_normal(40) * lvl * np.exp(-np.arange(40) / 8)
                extra = "clicks"
            x[side[0]:side[1]] += seg
    exact_zero = rng.random() < 0.45
    snr, kind = None, "none"
    if not exact_zero:
        if rng.random() < 0.5:
            snr = [30, 20, 15, 10, 5][rng.integers(5)]
            kind = ["white", "pink", "brown"][rng.integers(3)]
            p_sig = np.mean(x[is_speech] ** 2) + 1e-12
            x = x + colored_noise(len(x), kind, rng) * np.sqrt(p_sig / 10 ** (snr / 10))
        x = x + rng.standard_normal(len(x)) * 10 ** (rng.uniform(-96, -60) / 20)
    fx = []
    if rng.random() < 0.12:
        dc = rng.uniform(0.002, 0.03) * (1 if rng.random() < 0.5 else -1)
        x = x + dc
        fx.append(f"dc{dc:+.3f}")
    if rng.random() < 0.10:
        drive = rng.uniform(1.5, 4.0)
        x = x / (np.max(np.abs(x)) + 1e-9) * drive
        fx.append(f"clip{drive:.1f}")
    if rng.random() < 0.15:
        x = resample_poly(resample_poly(x, 1, 2), 2, 1)[:len(x)]
        fx.append("8k")
    x = np.clip(x, -1, 1)
    q = np.round(x * 32767).astype(np.int16)
    if exact_zero and not fx:
        q[~is_speech & (np.abs(x) < 1e-12)] = 0
    path = os.path.join(outdir, "wav", f"{uid}.wav")
    sf.write(path, q, SR, subtype="PCM_16")
    meta = (f"{variant}\t{rate}\t{pitch}\t{amp}\t{peak_db:.1f}\t{snr}\t{kind}\t{lead/SR:.3f}\t{trail/SR:.3f}"
            f"\t{len(parts) - 1}\t{int(exact_zero)}\t{extra}\t{','.join(fx) or 'none'}"
            f"\t{','.join(f'{a / SR:.4f}-{b / SR:.4f}' for a, b in spans)}\t{len(x)/SR:.3f}")
    return uid, path, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/cache/corpus")
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--valid", type=int, default=300)
    ap.add_argument("--test", type=int, default=300)
    ap.add_argument("--vocab-size", type=int, default=400)
    ap.add_argument("--max-rank", type=int, default=2500, help="only the N most frequent chars")
    ap.add_argument("--min-len", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=16)
    ap.add_argument("--seed", type=int, default=20240808)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--augment", action="store_true", help="the augmented fine-tuning corpus (see above)")
    ap.add_argument("--vocab", default=None, help="vocab.tsv to reuse instead of rebuilding it")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    if args.vocab:
        vocab = [tuple(l.rstrip("\n").split("\t")) for l in open(args.vocab, encoding="utf-8")]
    else:
        vocab = build_vocab(args.vocab_size, args.max_rank)
    print(f"vocabulary: {len(vocab)} characters", file=sys.stderr)
    with open(os.path.join(args.out, "vocab.tsv"), "w", encoding="utf-8") as f:
        for ch, py, ph in vocab:
            f.write(f"{ch}\t{py}\t{ph}\n")
    phon = {ch: ph for ch, _, ph in vocab}
    pyd = {ch: py for ch, py, _ in vocab}
    chars = [ch for ch, _, _ in vocab]

    rnd = random.Random(args.seed)
    total = args.train + args.valid + args.test
    sents, seen = [], set()
    if args.augment:  # never a sentence of the first corpus (seed 20240808, 10,600 sentences)
        r0, first = random.Random(20240808), set()
        while len(first) < 10600:
            s0 = "".join(r0.choice(chars) for _ in range(r0.randint(args.min_len, args.max_len)))
            first.add(s0)
        seen |= first
    while len(sents) < total:
        n = rnd.randint(args.min_len, args.max_len)
        s = "".join(rnd.choice(chars) for _ in range(n))
        if s not in seen:
            seen.add(s)
            sents.append(s)
    splits = [("test", sents[:args.test]), ("valid", sents[args.test:args.test + args.valid]),
              ("train", sents[args.test + args.valid:])]
    for name, ss in splits:
        d = os.path.join(args.out, name)
        os.makedirs(os.path.join(d, "wav"), exist_ok=True)
        jobs = []
        for i, s in enumerate(ss):
            uid = f"{name}_{i:05d}"
            jobs.append((uid, s, [pyd[c] for c in s], [phon[c] for c in s],
                         args.seed * 1000003 + hash_name(name) * 100000 + i, d))
        results = {}
        bad = 0
        with ProcessPoolExecutor(args.jobs) as ex:
            for uid, path, meta in ex.map(synth_one_aug if args.augment else synth_one, jobs, chunksize=32):
                if path is None:
                    bad += 1
                    print(f"{uid}: {meta}", file=sys.stderr)
                    continue
                results[uid] = (path, meta)
        with open(os.path.join(d, "wav.scp"), "w") as fw, \
                open(os.path.join(d, "text"), "w", encoding="utf-8") as ft, \
                open(os.path.join(d, "pinyin"), "w") as fp, open(os.path.join(d, "meta.tsv"), "w") as fm:
            fm.write("id\tvariant\trate\tpitch\tamp\tpeak_db\tsnr\tnoise\tlead_s\ttrail_s\t"
                     + ("gaps\texact_zero\tnonspeech\teffects\tspeech_spans\t" if args.augment else "") + "dur_s\n")
            for (uid, s, pys, _, _, _) in jobs:
                if uid not in results:
                    continue
                path, meta = results[uid]
                fw.write(f"{uid} {os.path.abspath(path)}\n")
                ft.write(f"{uid} {s}\n")
                fp.write(f"{uid} {' '.join(pys)}\n")
                fm.write(f"{uid}\t{meta}\n")
        dur = sum(float(m.split("\t")[-1]) for _, m in results.values())
        print(f"{name}: {len(results)} utterances, {dur/3600:.2f} h, {bad} rejected", file=sys.stderr)


def hash_name(name):
    return {"test": 1, "valid": 2, "train": 3}[name]


if __name__ == "__main__":
    main()
