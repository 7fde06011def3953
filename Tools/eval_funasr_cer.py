#!/usr/bin/env python3
"""FunASR's own CER of a model directory on a Kaldi-style test set.

Decodes every utterance of WAV_SCP with funasr.AutoModel (the oracle), writes the
hypotheses as Kaldi `id text` lines, and scores them against TEXT at character level
with FunASR's funasr/metrics/wer.py compute_wer (cn_postprocess=True: spaces removed,
one token per character). Every id of the reference gets a hypothesis line (empty text
when nothing was recognised), so deletions of whole utterances are counted.

Offline:   eval_funasr_cer.py --model /work/cache/models/offline \
               --wav-scp /work/cache/corpus/test/wav.scp --text /work/cache/corpus/test/text --out DIR
Streaming: add --streaming: FunASR's chunked streaming inference as in its README
           (chunk_size [0,10,5] = 600 ms chunks, encoder_chunk_look_back 4,
           decoder_chunk_look_back 1, is_final on the last chunk; texts concatenated).

Writes OUT/hyp (id text), OUT/ref, OUT/cer_detail, OUT/summary.json; prints the CER.

--fixtures DIR --tag NAME: also copy N (--fixture-count) held-out clips of 2..4 s that
FunASR decodes correctly, one voice variant each (from meta.tsv beside wav.scp), to DIR and
record them in DIR/transcripts.tsv (columns: file, model tag, reference, FunASR's text);
lines of other tags are kept.
The model's config.yaml must set frontend_conf.dither 0.0 for deterministic output.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import soundfile as sf


def read_kaldi(path):
    d = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 1)
            if parts and parts[0]:
                d[parts[0]] = parts[1] if len(parts) > 1 else ""
    return d


def decode_offline(model, path):
    res = model.generate(input=path, disable_pbar=True)
    return res[0]["text"] if res else ""


def decode_streaming(model, path, chunk_size=(0, 10, 5), enc_lb=4, dec_lb=1):
    speech, sr = sf.read(path, dtype="float32")
    assert sr == 16000, path
    chunk_stride = chunk_size[1] * 960  # 600 ms
    cache = {}
    total = int((len(speech) - 1) / chunk_stride + 1)
    text = ""
    for i in range(total):
        chunk = speech[i * chunk_stride:(i + 1) * chunk_stride]
        res = model.generate(input=chunk, cache=cache, is_final=(i == total - 1),
                             chunk_size=list(chunk_size), encoder_chunk_look_back=enc_lb,
                             decoder_chunk_look_back=dec_lb, disable_pbar=True)
        if res:
            text += res[0]["text"]
    return text


def export_fixtures(args, ids, wavs, refs, hyp):
    import shutil
    tag = args.tag or ("online" if args.streaming else "offline")
    meta = {}
    mpath = os.path.join(os.path.dirname(args.wav_scp), "meta.tsv")
    if os.path.exists(mpath):
        rows = [l.rstrip("\n").split("\t") for l in open(mpath)]
        head = rows[0]
        meta = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    os.makedirs(args.fixtures, exist_ok=True)
    tpath = os.path.join(args.fixtures, "transcripts.tsv")
    keep = []
    if os.path.exists(tpath):
        keep = [l.rstrip("\n").split("\t") for l in open(tpath, encoding="utf-8")][1:]
        keep = [r for r in keep if r[1] != tag]
    taken = {r[0] for r in keep} | set(x for x in args.fixture_skip.split(",") if x)
    picked, variants = [], set()
    for uid in ids:
        if len(picked) >= args.fixture_count:
            break
        m = meta.get(uid, {})
        dur = sf.info(wavs[uid]).duration
        v = m.get("variant", uid)
        if f"{uid}.wav" in taken or v in variants or not (2.0 <= dur <= 4.0):
            continue
        if hyp.get(uid, "") != refs[uid].replace(" ", ""):
            continue
        variants.add(v)
        picked.append(uid)
        shutil.copyfile(wavs[uid], os.path.join(args.fixtures, f"{uid}.wav"))
        keep.append([f"{uid}.wav", tag, refs[uid].replace(" ", ""), hyp.get(uid, "")])
    with open(tpath, "w", encoding="utf-8") as f:
        f.write("file\tmodel\treference\tfunasr\n")
        for r in sorted(keep, key=lambda r: (r[1], r[0])):
            f.write("\t".join(r) + "\n")
    print(f"fixtures: {picked} -> {args.fixtures}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--wav-scp", default="/work/cache/corpus/test/wav.scp")
    ap.add_argument("--text", default="/work/cache/corpus/test/text")
    ap.add_argument("--out", required=True)
    ap.add_argument("--streaming", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fixtures", default=None)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--fixture-count", type=int, default=5)
    ap.add_argument("--fixture-skip", default="", help="comma-separated ids not to pick")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from funasr import AutoModel
    from funasr.metrics.wer import compute_wer

    model = AutoModel(model=args.model, disable_update=True, device="cpu", log_level="ERROR")
    wavs = read_kaldi(args.wav_scp)
    refs = read_kaldi(args.text)
    ids = [k for k in wavs if k in refs]
    if args.limit:
        ids = ids[:args.limit]
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    audio_s = 0.0
    with open(os.path.join(args.out, "hyp"), "w", encoding="utf-8") as fh, \
            open(os.path.join(args.out, "ref"), "w", encoding="utf-8") as fr:
        for uid in ids:
            audio_s += sf.info(wavs[uid]).duration
            hyp = decode_streaming(model, wavs[uid]) if args.streaming else decode_offline(model, wavs[uid])
            hyp = hyp.replace(" ", "")
            fh.write(f"{uid} {hyp}\n")
            fr.write(f"{uid} {refs[uid].replace(' ', '')}\n")
    elapsed = time.time() - t0
    compute_wer(os.path.join(args.out, "ref"), os.path.join(args.out, "hyp"),
                os.path.join(args.out, "cer_detail"), cn_postprocess=True)
    # summary from the detail file's tail written by compute_wer
    tail = open(os.path.join(args.out, "cer_detail"), encoding="utf-8").read().strip().splitlines()[-6:]
    errs = tot = wrong_sent = 0
    import funasr.metrics.wer as W
    hyp = read_kaldi(os.path.join(args.out, "hyp"))
    for uid in ids:
        r = list(refs[uid].replace(" ", ""))
        h = list(hyp.get(uid, "").replace(" ", ""))
        o = W.compute_wer_by_line(h, r)
        errs += int(o["wrong"])
        tot += int(o["nwords"])
        wrong_sent += int(o["wrong"] > 0)
    cer = 100.0 * errs / max(tot, 1)
    summary = {"model": os.path.abspath(args.model), "streaming": args.streaming,
               "utterances": len(ids), "ref_chars": tot, "errors": errs, "cer_percent": round(cer, 3),
               "sentence_error_percent": round(100.0 * wrong_sent / max(len(ids), 1), 2),
               "audio_seconds": round(audio_s, 1), "decode_seconds": round(elapsed, 1)}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if args.fixtures:
        export_fixtures(args, ids, wavs, refs, hyp)
    print("\n".join(tail), file=sys.stderr)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
