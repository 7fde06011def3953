#!/usr/bin/env python3
"""Train the bundled FSMN-VAD (FunASR `FsmnVADStreaming`, encoder `FSMN`) on synthetic audio.

Issue #17. FunASR ships no training loop for its VAD (its forward is the detector), so this
trains the encoder `FSMN` network itself, the one FsmnVADStreaming builds from config.yaml,
as a two-class frame classifier: output 0 = silence/noise (the detector's `sil_pdf_ids [0]`),
1 = speech; cross-entropy on the logits (the softmax is FunASR's own, at inference). After
training the output layer is scaled by --out-scale (a temperature, 0.6): FunASR's detector takes
math.log(1 - p_sil) and raises on p_sil == 1.0, which a float32 softmax gives once the
silence margin passes about 17 (trained margins reach 20 on digital silence; after scaling 12).

Data (all deterministic from --seed):
  - speech: the augmented corpus (Tools/corpus/synth_corpus.py --augment), first --utts
    training utterances; frame targets from meta.tsv's speech_spans (espeak's speech, without
    the padding, gaps, tones and clicks around it): a 10 ms frame (25 ms window starting at
    t*160) is speech when the window's centre lies in a span;
  - non-speech: --nonspeech clips of 1..8 s drawn here (nonspeech_clip): exact digital silence,
    white/pink/brown noise at -96..-30 dBFS, tones and "music-like" note sequences with
    harmonics, clicks, DC offsets, and mixtures; every frame silence.
Features exactly as the engine's VAD frontend: FunASR's WavFrontend fbank (80 mel, hamming,
25/10 ms, dither 0), LFR 5/1 (first/last frame replicated), CMVN = mean and 1/std of the
training LFR frames (written as the model's am.mvn).

Output: a FunASR model directory (config.yaml, model.pt, am.mvn) that AutoModel loads;
convert with Tools/convert.py.

    train_vad.py --corpus /work/cache/corpus_aug --out /work/cache/models/vad --steps 1500
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import funasr_oracle as fo  # noqa: E402
import gen_vad_fixtures as gv  # noqa: E402  (FunASR's released VAD options and frontend)

torch.set_flush_denormal(True)
SR = 16000
ENCODER_CONF = dict(input_dim=400, input_affine_dim=96, fsmn_layers=3, linear_dim=128, proj_dim=64,
                    lorder=20, rorder=0, lstride=1, rstride=0, output_affine_dim=64, output_dim=2)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def colored(n, kind, rng):
    import synth_corpus as sc
    return sc.colored_noise(n, kind, rng)


def nonspeech_clip(rng, lo=1.0, hi=8.0):
    """lo..hi s of audio without speech, float64 in [-1, 1], and its kind."""
    n = int(rng.uniform(lo, hi) * SR)
    kind = ["zero", "noise", "tone", "music", "clicks", "mix"][rng.integers(6)]
    x = np.zeros(n)
    t = np.arange(n) / SR
    if kind in ("noise", "mix"):
        x += colored(n, ["white", "pink", "brown"][rng.integers(3)], rng) * 10 ** (rng.uniform(-96, -30) / 20)
    if kind in ("tone", "mix"):
        f0 = rng.uniform(60, 4000)
        x += np.sin(2 * np.pi * f0 * t + rng.uniform(0, 6.3)) * 10 ** (rng.uniform(-40, -3) / 20)
    if kind == "music":  # notes with harmonics, 0.1..0.6 s each
        pos = 0
        lvl = 10 ** (rng.uniform(-40, -6) / 20)
        while pos < n:
            m = min(n - pos, int(rng.uniform(0.1, 0.6) * SR))
            f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
            tt = np.arange(m) / SR
            note = sum(np.sin(2 * np.pi * f0 * h * tt) / h for h in range(1, 5))
            x[pos:pos + m] += note * np.exp(-tt * rng.uniform(1, 8)) * lvl
            pos += m
    if kind in ("clicks", "mix"):
        lvl = 10 ** (rng.uniform(-40, -3) / 20)
        for p in rng.integers(0, max(1, n - 64), size=int(rng.integers(1, 12))):
            x[p:p + 64] += rng.standard_normal(64) * lvl * np.exp(-np.arange(64) / 10)
    if rng.random() < 0.1:
        x += rng.uniform(-0.03, 0.03)
    return np.clip(x, -1, 1), kind


def fbank80(x_int16):
    from funasr.frontends.wav_frontend import WavFrontend
    global _FE
    if "_FE" not in globals():
        _FE = WavFrontend(cmvn_file=None, fs=SR, window="hamming", n_mels=80, frame_length=25,
                          frame_shift=10, lfr_m=1, lfr_n=1, dither=0.0)
    w = torch.from_numpy(x_int16.astype(np.float32) / 32768.0)[None]
    with torch.no_grad():
        f, fl = _FE(w, torch.tensor([w.shape[1]]))
    return f[0, : fl[0]]


def lfr5(f):
    """LFR m=5 n=1 as FunASR's apply_lfr: frame t = f[t-2..t+2], edges replicated. [T, 400]"""
    T = f.shape[0]
    idx = torch.arange(T)[:, None] + torch.arange(-2, 3)[None, :]
    return f[idx.clamp(0, T - 1)].reshape(T, -1)


def frame_labels(n_frames, spans):
    centre = (np.arange(n_frames) * 160 + 200) / SR
    y = np.zeros(n_frames, dtype=np.int64)
    for a, b in spans:
        y[(centre >= a) & (centre < b)] = 1
    return y


def load_data(corpus, split, utts, nonspeech, seed):
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(corpus, split, "meta.tsv"))]
    head = rows[0]
    si = head.index("speech_spans")
    wavs = dict(l.split() for l in open(os.path.join(corpus, split, "wav.scp")))
    feats, labels = [], []
    for r in rows[1: 1 + utts]:
        x, _ = sf.read(wavs[r[0]], dtype="int16")
        f = fbank80(x)
        spans = [tuple(float(v) for v in s.split("-")) for s in r[si].split(",")]
        feats.append(f.to(torch.float16))
        labels.append(torch.from_numpy(frame_labels(f.shape[0], spans)))
    rng = np.random.default_rng(seed)
    kinds = {}
    for _ in range(nonspeech):
        x, kind = nonspeech_clip(rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        f = fbank80(np.round(x * 32767).astype(np.int16))
        feats.append(f.to(torch.float16))
        labels.append(torch.zeros(f.shape[0], dtype=torch.long))
    return feats, labels, kinds


def build(out_conf):
    import convert_fsmn_vad as cv
    return cv.build_model(out_conf)


def config():
    return dict(model="FsmnVADStreaming", model_conf=gv.MODEL_CONF, encoder="FSMN",
                encoder_conf=ENCODER_CONF, frontend="WavFrontendOnline", frontend_conf=gv.FRONTEND_CONF)


def batch(feats, labels, idx, mvn):
    xs = [lfr5(feats[i].float()) for i in idx]
    T = max(x.shape[0] for x in xs)
    x = torch.zeros(len(idx), T, 400)
    y = torch.full((len(idx), T), -1, dtype=torch.long)
    for j, i in enumerate(idx):
        x[j, : xs[j].shape[0]] = (xs[j] + mvn[0]) * mvn[1]
        y[j, : xs[j].shape[0]] = labels[i]
    return x, y


@torch.no_grad()
def accuracy(model, feats, labels, mvn):
    model.eval()
    ok = tot = 0
    for s in range(0, len(feats), 32):
        idx = list(range(s, min(len(feats), s + 32)))
        x, y = batch(feats, labels, idx, mvn)
        z = model.encoder(x, None)
        m = y >= 0
        ok += int(((z.argmax(-1) == y) & m).sum())
        tot += int(m.sum())
    model.train()
    return 100.0 * ok / max(tot, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/work/cache/corpus_aug")
    ap.add_argument("--out", required=True)
    ap.add_argument("--utts", type=int, default=3000)
    ap.add_argument("--nonspeech", type=int, default=600)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--out-scale", type=float, default=0.6,
                    help="temperature: out_linear2's weight and bias are multiplied by this after training, "
                         "so that the silence margin stays far below 17 (FunASR takes math.log(1 - p_sil) "
                         "in float64 of a float32 p_sil and fails when p_sil rounds to 1.0)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    t0 = time.time()
    feats, labels, kinds = load_data(a.corpus, "train", a.utts, a.nonspeech, a.seed)
    vfeats, vlabels, _ = load_data(a.corpus, "valid", 200, 60, a.seed + 1)
    log(f"data: {len(feats)} clips ({kinds}), {sum(len(l) for l in labels)} frames, "
        f"{100.0 * sum(int(l.sum()) for l in labels) / sum(len(l) for l in labels):.1f}% speech "
        f"({time.time() - t0:.0f} s)")
    s = torch.zeros(400, dtype=torch.float64)
    s2 = torch.zeros(400, dtype=torch.float64)
    n = 0
    for f in feats:
        x = lfr5(f.double())
        s += x.sum(0)
        s2 += (x * x).sum(0)
        n += x.shape[0]
    mean = s / n
    istd = 1.0 / torch.sqrt(torch.clamp(s2 / n - mean ** 2, min=1e-10))
    os.makedirs(a.out, exist_ok=True)
    fo.write_cmvn(Path(a.out) / "am.mvn", (-mean).numpy().astype(np.float32), istd.numpy().astype(np.float32))
    shift, scale = fo.load_cmvn(Path(a.out) / "am.mvn")  # exactly what FunASR reads back
    mvn = torch.tensor(np.stack([shift, scale]), dtype=torch.float32)

    model = build(config())
    model.encoder.use_softmax = False  # logits for the loss; FunASR's softmax at inference
    nparams = sum(p.numel() for p in model.parameters())
    log(f"FsmnVADStreaming / FSMN {ENCODER_CONF}: {nparams} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    rng = np.random.default_rng(a.seed)
    w = torch.tensor([1.0, 1.0])
    model.train()
    info = {"params": nparams, "encoder_conf": ENCODER_CONF, "log": []}
    order = []
    for step in range(1, a.steps + 1):
        if len(order) < a.batch:
            order = list(rng.permutation(len(feats)))
        idx, order = order[: a.batch], order[a.batch:]
        lr = a.lr * min(1.0, step / 100) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch(feats, labels, idx, mvn)
        z = model.encoder(x, None)
        loss = torch.nn.functional.cross_entropy(z.reshape(-1, 2), y.reshape(-1), weight=w, ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if step % 100 == 0 or step == a.steps:
            acc = accuracy(model, vfeats, vlabels, mvn)
            info["log"].append({"step": step, "loss": round(float(loss), 4), "valid_frame_acc": round(acc, 3)})
            log(f"step {step} lr {lr:.2e} loss {float(loss):.4f} valid frame acc {acc:.2f}% "
                f"({(time.time() - t0) / 60:.1f} min)")
    model.encoder.use_softmax = True
    with torch.no_grad():
        model.encoder.out_linear2.linear.weight.mul_(a.out_scale)
        model.encoder.out_linear2.linear.bias.mul_(a.out_scale)
    info["out_scale"] = a.out_scale
    import yaml
    with open(os.path.join(a.out, "config.yaml"), "w") as f:
        yaml.safe_dump(config(), f, sort_keys=False, allow_unicode=True)
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(a.out, "model.pt"))
    info["minutes"] = round((time.time() - t0) / 60, 2)
    with open(os.path.join(a.out, "train_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    log(f"done: {a.steps} steps, {info['minutes']} min")


if __name__ == "__main__":
    main()
