#!/usr/bin/env python3
"""Held-out evaluation of a VAD model (issue #17): frame accuracy and segment boundary error.

Audio: --files long files, each 3..6 held-out utterances of Tools/corpus/synth_eval.py's
`silence` set (sentences, voices and draws never trained on; their speech spans are known:
0.2 s of padding before, 0.3 s after) separated by 1.2..3 s of non-speech drawn by
train_vad.nonspeech_clip with a seed of its own (digital silence, noise, tones, note sequences,
clicks, mixtures), 1 s of it before the first and after the last utterance; half the files get
a low noise floor (-96..-60 dBFS) over everything. Written to OUT/audio with truth.json.

Measured:
- frame accuracy of the network (FunASR's FSMN on the file's LFR frames, p_sil = softmax
  column 0; speech when p_sil < 0.5), against the truth frame labels (train_vad.frame_labels);
- segments by our engine (`paraformer-run --model VAD.gguf --json --max-end-silence-time 800`)
  and by FunASR (AutoModel(VAD dir).generate(max_end_silence_time=800)), compared exactly;
- per true utterance: the detected segment overlapping it most; start and end errors
  (detected - true, ms), utterances missed, merged (two truths in one segment) and false
  segments (no overlap with speech).

    eval_vad.py --model-dir DIR --gguf VAD.gguf --out OUT [--bin paraformer-run]
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_vad as tv  # noqa: E402

SR = 16000


def make_audio(eval_dir, out, files, seed):
    rng = np.random.default_rng(seed)
    scp = [l.split() for l in open(os.path.join(eval_dir, "silence", "wav.scp"))]
    os.makedirs(out, exist_ok=True)
    truth, k = {}, 0
    for i in range(files):
        parts, spans, pos = [], [], 0
        def gap(lo, hi):
            x, kind = tv.nonspeech_clip(rng)
            n = int(rng.uniform(lo, hi) * SR)
            x = np.resize(x, n) if len(x) < n else x[:n]
            return x, kind
        g, kind = gap(1.0, 1.0)
        parts.append(g); pos += len(g)
        for _ in range(int(rng.integers(3, 7))):
            uid, path = scp[k % len(scp)]
            k += 1
            x, _ = sf.read(path, dtype="float64")
            spans.append(((pos + int(0.2 * SR)) / SR, (pos + len(x) - int(0.3 * SR)) / SR))
            parts.append(x); pos += len(x)
            g, kind = gap(1.2, 3.0)
            parts.append(g); pos += len(g)
        x = np.concatenate(parts)
        if i % 2 == 1:
            x = x + rng.standard_normal(len(x)) * 10 ** (rng.uniform(-96, -60) / 20)
        name = f"vad_{i:02d}"
        p = os.path.join(out, name + ".wav")
        sf.write(p, np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16), SR, subtype="PCM_16")
        truth[name] = {"path": p, "spans_s": spans, "dur_s": len(x) / SR}
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    return truth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--eval", default="/work/cache/eval_heldout")
    ap.add_argument("--bin", default=".build/release/paraformer-run")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--seed", type=int, default=20261202)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from funasr import AutoModel
    import funasr_oracle as fo

    truth = make_audio(a.eval, os.path.join(a.out, "audio"), a.files, a.seed)
    am = AutoModel(model=a.model_dir, device="cpu", ncpu=1, disable_update=True, disable_pbar=True,
                   log_level="ERROR")
    net = tv.build(tv.config() | {"encoder_conf": __import__("yaml").safe_load(
        open(os.path.join(a.model_dir, "config.yaml")))["encoder_conf"]})
    net.load_state_dict(torch.load(os.path.join(a.model_dir, "model.pt")))
    net.eval()
    shift, scale = fo.load_cmvn(Path(a.model_dir) / "am.mvn")
    ok = tot = 0
    s_err, e_err, missed, merged, false_segs, identical = [], [], 0, 0, 0, 0
    per = {}
    for name, t in truth.items():
        x, _ = sf.read(t["path"], dtype="int16")
        f = tv.lfr5(tv.fbank80(x))
        f = (f + torch.from_numpy(shift)) * torch.from_numpy(scale)
        with torch.no_grad():
            p = net.encoder(f[None], None)[0]
        y = tv.frame_labels(f.shape[0], t["spans_s"])
        ok += int(((p[:, 0] < 0.5).numpy().astype(int) == y).sum())
        tot += len(y)
        out = subprocess.run([a.bin, "--model", a.gguf, "--json", "--max-end-silence-time", "800", t["path"]],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])["value"]
        theirs = am.generate(input=t["path"], max_end_silence_time=800)[0]["value"]
        identical += int([list(s) for s in ours] == [list(s) for s in theirs])
        segs = [(s / 1000, e / 1000) for s, e in ours]
        hits = [0] * len(segs)
        for (ts, te) in t["spans_s"]:
            ov = [max(0.0, min(te, e) - max(ts, s)) for s, e in segs]
            if not ov or max(ov) <= 0:
                missed += 1
                continue
            j = int(np.argmax(ov))
            hits[j] += 1
            s_err.append((segs[j][0] - ts) * 1000)
            e_err.append((segs[j][1] - te) * 1000)
        merged += sum(h - 1 for h in hits if h > 1)
        false_segs += sum(1 for h in hits if h == 0)
        per[name] = {"truth_ms": [[round(s * 1000), round(e * 1000)] for s, e in t["spans_s"]], "ours": ours,
                     "funasr": theirs}
    s_err, e_err = np.array(s_err), np.array(e_err)
    n_true = sum(len(t["spans_s"]) for t in truth.values())
    summary = {
        "files": len(truth), "audio_s": round(sum(t["dur_s"] for t in truth.values()), 1),
        "utterances": n_true, "frame_accuracy": round(100.0 * ok / tot, 2), "frames": tot,
        "segments_identical_to_funasr": f"{identical}/{len(truth)}",
        "missed": missed, "merged": merged, "false_segments": false_segs,
        "start_error_ms": {"mean": round(float(s_err.mean()), 1), "mean_abs": round(float(np.abs(s_err).mean()), 1),
                           "max_abs": round(float(np.abs(s_err).max()), 1)} if len(s_err) else None,
        "end_error_ms": {"mean": round(float(e_err.mean()), 1), "mean_abs": round(float(np.abs(e_err).mean()), 1),
                         "max_abs": round(float(np.abs(e_err).max()), 1)} if len(e_err) else None,
    }
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"summary": summary, "files": per}, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
