#!/usr/bin/env python3
"""The fine-tuning mix of the augmented corpus (issue #17): every utterance spoken by one of the
first corpus's voice variants (+m1..+m8, +f1..+f5), and one in --named-every of the others (the
34 extra espeak-ng variants), plus --extra sets (the non-speech clips, empty text), so that the new voices add variety without outnumbering the
voices the models already know. Writes OUT/train/{wav.scp,text} and links OUT/valid and
OUT/vocab.tsv to the source corpus.

    select_mix.py --corpus /work/cache/corpus_aug --out /work/cache/corpus_mix --named-every 2
"""
import argparse
import os

ap = argparse.ArgumentParser()
ap.add_argument("--corpus", default="/work/cache/corpus_aug")
ap.add_argument("--out", default="/work/cache/corpus_mix")
ap.add_argument("--named-every", type=int, default=2)
ap.add_argument("--extra", action="append", default=[],
                help="Kaldi dirs appended as they are (e.g. the non-speech clips' train/)")
a = ap.parse_args()
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(a.corpus, "train", "meta.tsv"))]
wav = dict(l.rstrip("\n").split(" ", 1) for l in open(os.path.join(a.corpus, "train", "wav.scp")))
txt = dict(l.rstrip("\n").split(" ", 1) for l in open(os.path.join(a.corpus, "train", "text"), encoding="utf-8"))
keep, named = [], 0
for r in rows[1:]:
    v = r[1]
    if v[0] in "mf" and v[1:].isdigit():
        keep.append(r[0])
    else:
        if named % a.named_every == 0:
            keep.append(r[0])
        named += 1
os.makedirs(os.path.join(a.out, "train"), exist_ok=True)
with open(os.path.join(a.out, "train", "wav.scp"), "w") as fw, \
        open(os.path.join(a.out, "train", "text"), "w", encoding="utf-8") as ft:
    for u in keep:
        fw.write(f"{u} {wav[u]}\n")
        ft.write(f"{u} {txt[u]}\n")
    for e in a.extra:
        ew = open(os.path.join(e, "wav.scp")).read()
        fw.write(ew)
        ft.write(open(os.path.join(e, "text"), encoding="utf-8").read())
        keep += ew.splitlines()
for name in ("valid", "vocab.tsv"):
    dst = os.path.join(a.out, name)
    if not os.path.exists(dst):
        os.symlink(os.path.join(os.path.abspath(a.corpus), name), dst)
print(f"{len(keep)} of {len(rows) - 1} training utterances -> {a.out}")
