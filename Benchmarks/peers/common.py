"""Shared plumbing of the peer runners (one process per engine × threads × clip).

Each runner prints one JSON object shaped like paraformer-bench's report:
    {engine, threads, loadSeconds, importSeconds, peakRssBytes, env, clips: [{path, duration,
     runs: [{wall, ...}], median, rtf, rtfRuns, tokenIds, text, peakRssBytes, deterministic}],
     streaming: {...}}
Thread pinning is done by the parent (Benchmarks/bench.py) through the environment
(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) before this process starts, and
by the runner in the library's own API (torch.set_num_threads, intra_op_num_threads).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def base_args(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--streaming", action="store_true", help="time per chunk (streaming model dir)")
    ap.add_argument("--chunk-ms", type=int, default=600)
    ap.add_argument("-o", "--output")
    ap.add_argument("clips", nargs="+")
    return ap


def proc_status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def load_wav(path: str):
    import numpy as np
    import soundfile as sf

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1).astype(np.float32)
    if sr != 16000:
        raise SystemExit(f"{path}: {sr} Hz; the benchmark clips are 16 kHz")
    return x


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def time_offline(path: str, fn, runs: int, warmup: int, stages=None):
    """fn(wave) -> (token_ids, text, {stage: seconds}). Returns the clip report."""
    wave = load_wav(path)
    dur = len(wave) / 16000.0
    for _ in range(warmup):
        fn(wave)
    runs_out, ids_seen = [], []
    ids, text = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        ids, text, st = fn(wave)
        wall = time.perf_counter() - t0
        r = {"wall": wall}
        r.update(st or {})
        runs_out.append(r)
        ids_seen.append(list(ids))
    med = {k: median([r[k] for r in runs_out]) for k in runs_out[0]}
    return {
        "path": path,
        "duration": dur,
        "runs": runs_out,
        "median": med,
        "rtf": med["wall"] / dur,
        "rtfRuns": [r["wall"] / dur for r in runs_out],
        "tokenIds": [int(i) for i in ids],
        "text": text,
        "deterministic": all(s == ids_seen[0] for s in ids_seen),
        "peakRssBytes": proc_status("VmHWM"),
    }


def time_streaming(path: str, make_session, chunk_ms: int, runs: int, warmup: int):
    """make_session() -> push(chunk, is_final) -> (ids, text). Each push is timed."""
    wave = load_wav(path)
    step = 16000 * chunk_ms // 1000
    passes = []
    # Warm-up: a few chunks of one session (a full pass would double the cost of slow peers).
    for _ in range(warmup):
        push = make_session()
        n = min(len(wave), step * 5)
        for s in range(0, n, step):
            push(wave[s:s + step], False)
    for _ in range(runs):
        push = make_session()
        times, ids, text = [], [], ""
        for s in range(0, len(wave), step):
            chunk = wave[s:s + step]
            final = s + step >= len(wave)
            t0 = time.perf_counter()
            i, t = push(chunk, final)
            times.append(time.perf_counter() - t0)
            ids += i
            text += t
        passes.append((times, ids, text))
    means = [sum(t) / len(t) * 1000 for t, _, _ in passes]
    order = sorted(range(len(passes)), key=lambda i: means[i])
    mid = order[len(order) // 2]
    times, ids, text = passes[mid]
    st = sorted(times)
    return {
        "available": True,
        "clip": path,
        "chunkMs": chunk_ms,
        "chunks": len(times),
        "passMeanMs": means,
        "meanMs": means[mid],
        "medianMs": median(times) * 1000,
        "p90Ms": st[min(len(st) - 1, int(len(st) * 0.9))] * 1000,
        "maxMs": st[-1] * 1000,
        "realTimeRatio": means[mid] / chunk_ms,
        "tokenIds": [int(i) for i in ids],
        "text": text,
        "peakRssBytes": proc_status("VmHWM"),
    }


def env_snapshot():
    keys = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE"]
    return {k: os.environ[k] for k in keys if k in os.environ}


def emit(report: dict, output: str | None) -> None:
    s = json.dumps(report, indent=1, ensure_ascii=False)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(s)
    else:
        sys.stdout.write(s + "\n")
