#!/usr/bin/env python3
"""RTF of UniASR per decoding mode: this engine (paraformer-run, release build) against FunASR
PyTorch, in the same run, at each thread count.

    ~/.venvs/funasr/bin/python Tools/bench_uniasr.py MODEL_DIR MODEL.gguf CLIP.wav [CLIP.wav ...]
        [--threads 1,2] [--runs 3] [--bin .build/release/paraformer-run]
        [--variant LABEL=BIN[,MODEL.gguf] ...]

MODEL_DIR is a FunASR model directory (Tools/gen_uniasr_fixtures.py --large builds the released
size with random weights), MODEL.gguf its conversion. For every thread count and mode:
- FunASR: a fresh AutoModel (its beam search sticks to the first mode), torch.set_num_threads,
  one warm-up generate(), then `runs` timed generate() calls on the decoded samples (dither 0);
- ours: one paraformer-run process decoding the clip 1 + `runs` times (--timings); the first is
  the warm-up. Reported: median RTF (stage times / audio), the decoder stage's share (the
  beam search: scorer and bookkeeping), and whether both engines produced the same text.
Engines alternate per mode so that drift in a shared machine reaches both.

On a shared machine wall time inflates with the load; CPU time much less. Both are reported:
FunASR's CPU time is the process's (all threads) per generate(); ours is the CPU time of the
decodes alone (a process decoding 1 + runs times minus one decoding once: load and warm-up
cancel), per decode. `--variant` adds engine builds or model files to compare in the same run
(e.g. before=OLD_BIN, f16=.build/release/paraformer-run,MODEL-f16.gguf); the default variant
is "ours" = --bin with MODEL.gguf.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

logging.disable(logging.WARNING)


def funasr_rtf(model_dir: Path, wave, mode: str, threads: int, runs: int):
    import torch
    from funasr import AutoModel

    torch.set_num_threads(threads)
    am = AutoModel(model=str(model_dir), device="cpu", disable_update=True, disable_pbar=True,
                   disable_log=True)
    am.kwargs["frontend"].dither = 0.0
    text = am.generate(input=wave, decoding_model=mode, beam_size=5)[0]["text"]
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        am.generate(input=wave, decoding_model=mode, beam_size=5)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    seconds = len(wave) / 16000
    return statistics.median(times) / seconds, statistics.median(cpu) / seconds, text


LINE = re.compile(r"audio ([\d.]+) s, frontend ([\d.]+) ms, encoder ([\d.]+) ms, predictor ([\d.]+) ms, "
                  r"decoder ([\d.]+) ms, RTF ([\d.]+)")


def ours(binary: str, gguf: Path, clip: Path, mode: str, threads: int, runs: int, seconds: float):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")

    def run(n: int):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([binary, "--model", str(gguf), "--decoding-mode", mode, "--threads", str(threads),
                            "--timings"] + [str(clip)] * n, capture_output=True, text=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        return p, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    _, cpu_once = run(1)
    p, cpu_all = run(runs + 1)
    rows = [tuple(float(x) for x in m.groups()) for m in map(LINE.search, p.stderr.splitlines()) if m][1:]
    rtf = statistics.median(r[5] for r in rows)
    share = statistics.median(r[4] / (r[1] + r[2] + r[3] + r[4]) for r in rows)
    text = p.stdout.splitlines()[0].split("\t", 1)[-1]
    return rtf, max(cpu_all - cpu_once, 0) / runs / seconds, share, text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("gguf", type=Path)
    ap.add_argument("clips", type=Path, nargs="+")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=".build/release/paraformer-run")
    ap.add_argument("--variant", action="append", default=[],
                    help="LABEL=BIN[,MODEL.gguf]: another build or model file to time in the same run")
    a = ap.parse_args()
    import soundfile as sf

    variants = [("ours", a.bin, a.gguf)]
    if a.variant:
        variants = []
        for v in a.variant:
            label, rest = v.split("=", 1)
            binary, _, gguf = rest.partition(",")
            variants.append((label, binary, Path(gguf) if gguf else a.gguf))
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results = []
    for clip in a.clips:
        wave, sr = sf.read(str(clip), dtype="float32")
        assert sr == 16000
        seconds = len(wave) / 16000
        for threads in [int(t) for t in a.threads.split(",")]:
            for mode in ("fast", "normal", "offline"):
                mine = [(label, *ours(binary, gguf, clip, mode, threads, a.runs, seconds))
                        for label, binary, gguf in variants]
                r_torch, cpu_torch, torch_text = funasr_rtf(a.model_dir, wave, mode, threads, a.runs)
                for label, r_ours, cpu_ours, share, text in mine:
                    row = dict(clip=clip.name, seconds=round(seconds, 2), threads=threads, mode=mode,
                               variant=label, rtf_ours=round(r_ours, 4), rtf_funasr_torch=round(r_torch, 4),
                               speedup=round(r_torch / r_ours, 2), cpu_rtf_ours=round(cpu_ours, 4),
                               cpu_rtf_funasr_torch=round(cpu_torch, 4),
                               cpu_speedup=round(cpu_torch / cpu_ours, 2) if cpu_ours > 0 else None,
                               beam_search_share=round(share, 3), same_text=text == torch_text,
                               tokens=len(text), load=round(os.getloadavg()[0], 1))
                    results.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
    print("| clip | threads | mode | variant | RTF ours | RTF FunASR PyTorch | ratio | CPU-RTF ours | "
          "CPU-RTF FunASR | CPU ratio | beam-search share (ours) | same text |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['clip']} ({r['seconds']} s) | {r['threads']} | {r['mode']} | {r['variant']} | {r['rtf_ours']} | "
              f"{r['rtf_funasr_torch']} | {r['speedup']}× | {r['cpu_rtf_ours']} | {r['cpu_rtf_funasr_torch']} | "
              f"{r['cpu_speedup']}× | {100 * r['beam_search_share']:.1f} % | {r['same_text']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
