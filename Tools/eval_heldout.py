#!/usr/bin/env python3
"""CER of a bundled model on the held-out sets of Tools/corpus/synth_eval.py, by our engine
and by FunASR, with the no-speech checks (issue #17).

For each padding style (silence, noise) the engine decodes the set in data-set mode
(`paraformer-run --data-dir ... --output-dir ...`, CER from its text.cer), and FunASR decodes
the model directory with `funasr.AutoModel` (Tools/eval_funasr_cer.py's decoding, CER by
funasr.metrics.wer.compute_wer); the two hypothesis files are compared line by line.
The checks (10 s digital silence, 10 s low noise, 1 s tone) must give empty transcripts.

    eval_heldout.py --gguf Weights/paraformer-zh-small.gguf --model-dir DIR --out OUT [--streaming]
        [--eval /work/cache/eval_heldout] [--bin .build/release/paraformer-run] [--no-funasr]
Prints one JSON summary and writes OUT/summary.json.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_funasr_cer as ef  # noqa: E402


def cer_line(path):
    for line in open(path, encoding="utf-8"):
        if line.startswith("%WER"):
            return line.strip()
    return ""


def parse(line):  # "%WER 7.95 [ 161 / 2025, 24 ins, 0 del, 137 sub ]"
    t = line.replace(",", " ").split()
    return {"cer": float(t[1]), "errors": int(t[3]), "chars": int(t[5]), "ins": int(t[6]),
            "del": int(t[8]), "sub": int(t[10])}


def ours(a, sub, outdir):
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    cmd = [a.bin, "--model", a.gguf, "--data-dir", os.path.join(a.eval, sub), "--output-dir", outdir,
           "--no-progress"] + (["--streaming"] if a.streaming else [])
    subprocess.run(cmd, check=True, capture_output=True)
    return ef.read_kaldi(os.path.join(outdir, "1best_recog", "text"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--eval", default="/work/cache/eval_heldout")
    ap.add_argument("--bin", default=".build/release/paraformer-run")
    ap.add_argument("--streaming", action="store_true")
    ap.add_argument("--no-funasr", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    summary = {"gguf": a.gguf, "streaming": a.streaming}
    model = None
    if not a.no_funasr:
        from funasr import AutoModel
        import torch
        torch.set_num_threads(1)
        model = AutoModel(model=a.model_dir, disable_update=True, device="cpu", log_level="ERROR")
    for sub in ("silence", "noise"):
        hyp = ours(a, sub, os.path.join(a.out, f"ours_{sub}"))
        r = {"ours": parse(cer_line(os.path.join(a.out, f"ours_{sub}", "1best_recog", "text.cer")))}
        if model is not None:
            from funasr.metrics.wer import compute_wer
            wavs = ef.read_kaldi(os.path.join(a.eval, sub, "wav.scp"))
            refs = ef.read_kaldi(os.path.join(a.eval, sub, "text"))
            d = os.path.join(a.out, f"funasr_{sub}")
            os.makedirs(d, exist_ok=True)
            fh_hyp = {}
            with open(os.path.join(d, "hyp"), "w", encoding="utf-8") as fh, \
                    open(os.path.join(d, "ref"), "w", encoding="utf-8") as fr:
                for uid in refs:
                    h = (ef.decode_streaming(model, wavs[uid]) if a.streaming
                         else ef.decode_offline(model, wavs[uid])).replace(" ", "")
                    fh_hyp[uid] = h
                    fh.write(f"{uid} {h}\n")
                    fr.write(f"{uid} {refs[uid]}\n")
            compute_wer(os.path.join(d, "ref"), os.path.join(d, "hyp"), os.path.join(d, "cer_detail"),
                        cn_postprocess=True)
            r["funasr"] = parse(cer_line(os.path.join(d, "cer_detail")))
            diff = [u for u in refs if fh_hyp[u] != hyp.get(u, "").replace(" ", "")]
            r["hyp_mismatches"] = len(diff)
            r["mismatch_ids"] = diff[:10]
        summary[sub] = r
    chk = ours(a, "checks", os.path.join(a.out, "ours_checks"))
    summary["checks_ours"] = {k: v.replace(" ", "") for k, v in chk.items()}
    if model is not None:
        wavs = ef.read_kaldi(os.path.join(a.eval, "checks", "wav.scp"))
        summary["checks_funasr"] = {u: (ef.decode_streaming(model, p) if a.streaming
                                        else ef.decode_offline(model, p)).replace(" ", "")
                                    for u, p in wavs.items()}
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
