#!/usr/bin/env python3
"""Train a small FunASR Paraformer (offline or streaming) on the synthetic corpus.

Uses FunASR's own model classes and losses (Paraformer / ParaformerStreaming forward:
CE with label smoothing + CIF quantity (MAE) loss, with the glancing sampler), so the
output is a true FunASR model directory that `funasr.AutoModel(model=DIR)` loads:
    DIR/config.yaml  DIR/model.pt (flat state dict)  DIR/am.mvn  DIR/tokens.json

Steps:
  1. features: FunASR's WavFrontend (fbank 80, hamming, 25/10 ms, LFR 7/6, dither 0, no
     CMVN) over every corpus split, cached in --cache/feats_<split>.pt (fp16);
  2. am.mvn: mean and 1/std over all training LFR frames (Kaldi nnet text, as FunASR ships);
  3. tokens.json: ["<blank>", "<s>", "</s>", vocabulary characters..., "<unk>"];
  4. training: Adam, linear warm-up then inverse-sqrt decay (optionally a cosine anneal over
     the last part of the budget), length-bucketed batches, a budget of optimizer steps
     (`max_steps`; seeded batch order and torch RNG, one thread: a rerun gives the same
     model); the model directory is written every `save_every_steps` steps (so a usable
     model always exists) with greedy CER on the validation split logged.

Fine-tuning (issue #17): --init a model.pt and --cmvn its am.mvn (the normalisation the
weights were trained with is kept, not recomputed from the new corpus).

Usage:
  train.py --config Tools/train_offline.yaml --corpus /work/cache/corpus --out /work/cache/models/offline
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import soundfile as sf
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

torch.set_flush_denormal(True)  # measured up to 9x faster steps on this CPU


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def read_kaldi(path):
    d = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 1)
            if len(parts) == 2:
                d[parts[0]] = parts[1]
    return d


def extract_features(corpus, split, cache):
    out = os.path.join(cache, f"feats_{split}.pt")
    if os.path.exists(out):
        return torch.load(out)
    from funasr.frontends.wav_frontend import WavFrontend
    fe = WavFrontend(cmvn_file=None, fs=16000, window="hamming", n_mels=80, frame_length=25,
                     frame_shift=10, lfr_m=7, lfr_n=6, dither=0.0)
    wavs = read_kaldi(os.path.join(corpus, split, "wav.scp"))
    texts = read_kaldi(os.path.join(corpus, split, "text"))
    ids, feats, txt = [], [], []
    t0 = time.time()
    with torch.no_grad():
        for i, (uid, path) in enumerate(wavs.items()):
            x, sr = sf.read(path, dtype="float32")
            assert sr == 16000
            w = torch.from_numpy(x)[None]
            f, flen = fe(w, torch.tensor([w.shape[1]]))
            ids.append(uid)
            feats.append(f[0, : flen[0]].to(torch.float16).clone())
            txt.append(texts[uid])
            if i % 2000 == 0:
                log(f"features {split}: {i}/{len(wavs)} ({time.time()-t0:.0f}s)")
    data = {"ids": ids, "feats": feats, "text": txt}
    torch.save(data, out)
    return data


def write_am_mvn(path, mean, istd):
    def vec(v):
        return "[ " + " ".join(f"{x:.9g}" for x in v) + " ]"  # float32 round trip
    d = len(mean)
    with open(path, "w") as f:
        f.write("<Nnet>\n")
        f.write(f"<Splice> {d} {d}\n[ 0 ]\n")
        f.write(f"<AddShift> {d} {d}\n<LearnRateCoef> 0 {vec(-mean)}\n")
        f.write(f"<Rescale> {d} {d}\n<LearnRateCoef> 0 {vec(istd)}\n")
        f.write("</Nnet>\n")


def build_model(conf, vocab_size):
    from funasr.register import tables
    import funasr.models  # noqa: F401  (registers model classes)
    from funasr.auto.auto_model import AutoModel  # noqa: F401  (imports the registry fully)
    model_class = tables.model_classes.get(conf["model"])
    kw = copy.deepcopy({k: v for k, v in conf.items() if k not in ("train",)})
    model_conf = kw.pop("model_conf", {})
    kw.update(model_conf)
    kw["input_size"] = conf["frontend_conf"]["n_mels"] * conf["frontend_conf"]["lfr_m"]
    kw["vocab_size"] = vocab_size
    kw.pop("frontend", None)
    kw.pop("frontend_conf", None)
    kw.pop("tokenizer", None)
    kw.pop("tokenizer_conf", None)
    return model_class(**kw)


def make_batches(lengths, batch_frames, rng, empty=()):
    """Length-bucketed batches of <= batch_frames padded frames. Utterances with an empty
    transcript (non-speech clips) are bucketed with the rest by length and put first in their
    batch (FunASR's cif_v1 fails when the last item of a batch has no CIF fire); a batch
    without any text is dropped."""
    empty = set(empty)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i] + rng.random())
    batches, cur, cur_max = [], [], 0
    for i in order:
        m = max(cur_max, lengths[i])
        if cur and m * (len(cur) + 1) > batch_frames:
            batches.append(cur)
            cur, m = [], lengths[i]
        cur.append(i)
        cur_max = m
    if cur:
        batches.append(cur)
    batches = [[i for i in b if i in empty] + [i for i in b if i not in empty] for b in batches]
    batches = [b for b in batches if any(i not in empty for i in b)]
    rng.shuffle(batches)
    return batches


def collate(data, idx, mvn, tok2id):
    feats = [data["feats"][i].float() for i in idx]
    lens = torch.tensor([f.shape[0] for f in feats])
    x = torch.zeros(len(idx), int(lens.max()), feats[0].shape[1])
    for j, f in enumerate(feats):
        x[j, : f.shape[0]] = (f + mvn[0]) * mvn[1]
    ys = [[tok2id[c] for c in data["text"][i]] for i in idx]
    ylens = torch.tensor([len(y) for y in ys])
    y = torch.full((len(idx), int(ylens.max())), -1, dtype=torch.long)
    for j, t in enumerate(ys):
        y[j, : len(t)] = torch.tensor(t)
    return x, lens, y, ylens


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[len(b)]


@torch.no_grad()
def greedy_cer(model, data, mvn, tok2id, id2tok, limit=300):
    model.eval()
    n = min(limit, len(data["ids"]))
    errs = tot = 0
    for s in range(0, n, 32):
        idx = list(range(s, min(n, s + 32)))
        x, lens, _, _ = collate(data, idx, mvn, tok2id)
        enc, enc_lens = model.encode(x, lens)
        emb, tl, _, _ = model.calc_predictor(enc, enc_lens)
        tl = tl.round().long().clamp(min=1)
        dec, _ = model.cal_decoder_with_predictor(enc, enc_lens, emb, tl)
        for j, i in enumerate(idx):
            ids = dec[j, : tl[j]].argmax(-1).tolist()
            hyp = "".join(id2tok[t] for t in ids if t > 2 and t < len(id2tok) - 1)
            ref = data["text"][i]
            errs += edit_distance(ref, hyp)
            tot += len(ref)
    model.train()
    return 100.0 * errs / max(tot, 1)


def save_model_dir(out, conf, model, tokens, mean, istd):
    os.makedirs(out, exist_ok=True)
    cfg = copy.deepcopy({k: v for k, v in conf.items() if k != "train"})
    cfg["tokenizer_conf"]["token_list"] = "tokens.json"
    cfg["frontend_conf"]["cmvn_file"] = "am.mvn"
    with open(os.path.join(out, "config.yaml.tmp"), "w") as f:
        yaml.safe_dump(cfg, f, allow_unicode=True, sort_keys=False)
    with open(os.path.join(out, "tokens.json.tmp"), "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=0)
    write_am_mvn(os.path.join(out, "am.mvn.tmp"), mean, istd)
    sd = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(out, "model.pt.tmp"))
    for name in ("config.yaml", "tokens.json", "am.mvn", "model.pt"):
        os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--corpus", default="/work/cache/corpus")
    ap.add_argument("--cache", default="/work/cache/feats")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=None, help="optimizer steps (the budget)")
    ap.add_argument("--stop-step", type=int, default=None,
                    help="stop (and save) after this many steps; the LR schedule still spans max_steps")
    ap.add_argument("--cmvn", default=None, help="am.mvn to keep (fine-tuning) instead of computing one")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--peak-lr", type=float, default=None)
    ap.add_argument("--warmup-steps", type=int, default=None)
    ap.add_argument("--anneal-start", type=float, default=None,
                    help="fraction of the step budget after which the LR follows a cosine "
                         "down to 2%% at the end (1.0: never)")
    ap.add_argument("--features-only", action="store_true")
    ap.add_argument("--init", default=None,
                    help="model.pt to start from (e.g. the offline model for the streaming one: "
                         "same tensor names and shapes)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    conf = yaml.safe_load(open(args.config))
    tc = conf["train"]
    if args.max_steps is not None:
        tc["max_steps"] = args.max_steps
    if args.seed is not None:
        tc["seed"] = args.seed
    if args.peak_lr is not None:
        tc["peak_lr"] = args.peak_lr
    if args.warmup_steps is not None:
        tc["warmup_steps"] = args.warmup_steps
    if args.anneal_start is not None:
        tc["anneal_start"] = args.anneal_start
    os.makedirs(args.cache, exist_ok=True)

    train = extract_features(args.corpus, "train", args.cache)
    valid = extract_features(args.corpus, "valid", args.cache)
    log(f"train {len(train['ids'])} utts, valid {len(valid['ids'])} utts")

    # vocabulary from the corpus' vocab.tsv (fixed order: jieba frequency rank)
    vocab = [line.split("\t")[0] for line in open(os.path.join(args.corpus, "vocab.tsv"), encoding="utf-8")]
    tokens = ["<blank>", "<s>", "</s>"] + vocab + ["<unk>"]
    tok2id = {t: i for i, t in enumerate(tokens)}

    # CMVN over all training LFR frames
    mvn_path = os.path.join(args.cache, "mvn.npy")
    if args.cmvn:
        import funasr_oracle as fo
        shift, scale = fo.load_cmvn(args.cmvn)
        mean, istd = -np.asarray(shift, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    elif os.path.exists(mvn_path):
        mean, istd = np.load(mvn_path)
    else:
        s = torch.zeros(560, dtype=torch.float64)
        s2 = torch.zeros(560, dtype=torch.float64)
        n = 0
        for f in train["feats"]:
            f = f.double()
            s += f.sum(0)
            s2 += (f * f).sum(0)
            n += f.shape[0]
        mean = (s / n).numpy()
        var = (s2 / n).numpy() - mean ** 2
        istd = 1.0 / np.sqrt(np.maximum(var, 1e-10))
        np.save(mvn_path, np.stack([mean, istd]))
    if args.features_only:
        return
    mvn = torch.tensor(np.stack([-mean, istd]), dtype=torch.float32)

    torch.manual_seed(tc.get("seed", 1))
    rng = random.Random(tc.get("seed", 1))
    model = build_model(conf, len(tokens))
    if args.init:
        missing, unexpected = model.load_state_dict(torch.load(args.init, map_location="cpu"), strict=True)
        log(f"initialised from {args.init}")
    nparams = sum(p.numel() for p in model.parameters())
    log(f"model {conf['model']}: {nparams/1e6:.3f} M parameters, vocab {len(tokens)}")
    opt = torch.optim.Adam(model.parameters(), lr=tc["peak_lr"], betas=(0.9, 0.98), eps=1e-9)
    warm = tc["warmup_steps"]

    anneal_start = tc.get("anneal_start", 1.0)

    def lr_at(step):
        lr = tc["peak_lr"] * min(step / warm, math.sqrt(warm / step))
        if anneal_start < 1.0:
            frac = step / tc["max_steps"]
            p = min(max((frac - anneal_start) / (1.0 - anneal_start), 0.0), 1.0)
            lr *= 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p))
        return lr

    lengths = [f.shape[0] for f in train["feats"]]
    empty = [i for i, t in enumerate(train["text"]) if not t.strip()]
    log(f"{len(empty)} training utterances with an empty transcript (non-speech)")
    t0 = time.time()
    step = 0
    model.train()
    done = False
    info = {"params": nparams, "vocab": len(tokens), "log": []}
    for epoch in range(1, tc["max_epochs"] + 1):
        batches = make_batches(lengths, tc["batch_frames"], rng, empty)
        run = {"loss": 0.0, "att": 0.0, "pre": 0.0, "acc": 0.0, "n": 0}
        for b in batches:
            step += 1
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            x, xl, y, yl = collate(train, b, mvn, tok2id)
            loss, stats, _ = model(x, xl, y, yl)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            run["loss"] += float(stats["loss"])
            run["att"] += float(stats["loss_att"])
            run["pre"] += float(stats["loss_pre"])
            run["acc"] += float(stats["acc"]) if stats["acc"] is not None else 0.0
            run["n"] += 1
            if step % 50 == 0:
                n = run["n"]
                log(f"ep {epoch} step {step} lr {lr_at(step):.2e} loss {run['loss']/n:.3f} "
                    f"att {run['att']/n:.3f} pre {run['pre']/n:.3f} acc {run['acc']/n:.3f} "
                    f"({(time.time()-t0)/60:.1f} min)")
                run = {k: 0.0 if k != "n" else 0 for k in run}
            elapsed = (time.time() - t0) / 60
            if step >= min(tc["max_steps"], args.stop_step or tc["max_steps"]):
                done = True
                break
            if step % tc["save_every_steps"] == 0:
                cer = greedy_cer(model, valid, mvn, tok2id, tokens)
                save_model_dir(args.out, conf, model, tokens, mean, istd)
                info["log"].append({"step": step, "epoch": epoch, "minutes": round(elapsed, 2), "valid_cer": round(cer, 3)})
                log(f"saved {args.out} at step {step}, valid greedy CER {cer:.2f}%")
        if done:
            break
    cer = greedy_cer(model, valid, mvn, tok2id, tokens)
    save_model_dir(args.out, conf, model, tokens, mean, istd)
    elapsed = (time.time() - t0) / 60
    info["log"].append({"step": step, "epoch": epoch, "minutes": round(elapsed, 2), "valid_cer": round(cer, 3)})
    info.update({"steps": step, "epochs": epoch, "train_minutes": round(elapsed, 2), "final_valid_cer": round(cer, 3)})
    with open(os.path.join(args.out, "train_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    log(f"done: {step} steps, {epoch} epochs, {elapsed:.1f} min, valid greedy CER {cer:.2f}%")


if __name__ == "__main__":
    main()
