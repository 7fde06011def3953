#!/usr/bin/env python3
"""Non-speech clips with empty transcripts for the ASR fine-tuning (issue #17): 1..12 s of
digital silence, noise (-96..-30 dBFS), tones, note sequences, clicks and mixtures, drawn by
Tools/train_vad.py's nonspeech_clip. Paraformer's losses take an empty target (the CIF
quantity loss then asks for zero total weight: no token in non-speech); train.py spreads these
clips over the batches of speech, so that no batch is without text.

    synth_nonspeech.py --out /work/cache/nonspeech --count 800
Writes OUT/train/{wav/*.wav, wav.scp, text (`id ` lines: empty text), meta.tsv}.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import train_vad as tv  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="/work/cache/nonspeech")
ap.add_argument("--count", type=int, default=800)
ap.add_argument("--seed", type=int, default=20261203)
a = ap.parse_args()
d = os.path.join(a.out, "train")
os.makedirs(os.path.join(d, "wav"), exist_ok=True)
rng = np.random.default_rng(a.seed)
with open(os.path.join(d, "wav.scp"), "w") as fw, open(os.path.join(d, "text"), "w") as ft, \
        open(os.path.join(d, "meta.tsv"), "w") as fm:
    fm.write("id\tkind\tdur_s\n")
    for i in range(a.count):
        x, kind = tv.nonspeech_clip(rng, 1.0, 12.0)
        uid = f"nonspeech_{i:05d}"
        p = os.path.abspath(os.path.join(d, "wav", uid + ".wav"))
        sf.write(p, np.round(x * 32767).astype(np.int16), 16000, subtype="PCM_16")
        fw.write(f"{uid} {p}\n")
        ft.write(f"{uid} \n")
        fm.write(f"{uid}\t{kind}\t{len(x) / 16000:.3f}\n")
print(f"{a.count} non-speech clips -> {d}")
