#!/usr/bin/env python3
"""Hotword biasing cost: SeACo-Paraformer at the released size (random weights), without
hotwords and with 10 and 100, ours (release paraformer-run) against FunASR PyTorch in the
same run, one thread each, same audio.

    python Tools/gen_hotword_fixtures.py --only "" --large        # builds the model (cache)
    swift build -c release --product paraformer-run
    python Benchmarks/bench_hotwords.py [--cache /work/cache/hotword] [--rounds 3]

RTF = CPU seconds per second of audio (CPU time, not wall time: the machine this was written
on is shared, and CPU time is what one thread spends whatever the contention). Ours: the CPU
time of `paraformer-run` on 5 copies minus 1 copy, divided by 4 (loading and the hotword list,
prepared once per run, cancel out); FunASR: process CPU time of
`generate(input, hotword=...)` (which rebuilds the hotword list on every call, as FunASR does).
Medians over rounds, rounds alternating between the engines.
"""

from __future__ import annotations

import argparse
import random
import resource
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def check_parity(cache: Path) -> None:
    """Ours (release CLI, --json) against FunASR's outputs recorded by
    `Tools/gen_hotword_fixtures.py --large` (seaco-large__expected.gguf): text and timestamps of
    every clip and hotword case, exact."""
    import json

    import gguf

    sys.path.insert(0, str(REPO / "Tools"))
    import gguf_layout

    r = gguf.GGUFReader(str(cache / "seaco-large__expected.gguf"))
    meta = {f.name: gguf_layout.read_field(f) for f in r.fields.values() if f.name.startswith("fixture.")}
    binary = REPO / ".build" / "release" / "paraformer-run"
    audio = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "model" / "audio"
    checked = 0
    for case in meta["fixture.cases"]:
        hw = meta[f"fixture.{case}.hotword"]
        args = [str(binary), "-m", str(cache / "seaco-large.gguf"), "--json"]
        if hw != "<None>":
            args += ["--hotword", str(cache / hw) if hw.endswith(".txt") else hw]
        args += [str(audio / f"{c}.wav") for c in meta["fixture.clips"]]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()
        for clip, line in zip(meta["fixture.clips"], out):
            got = json.loads(line)
            want_text = meta[f"fixture.{clip}.{case}.text"]
            want_ts = meta.get(f"fixture.{clip}.{case}.timestamps", [])
            ts = [x for pair in got["timestamp"] for x in pair]
            assert got["text"] == want_text, (case, clip, got["text"], want_text)
            assert ts == want_ts, (case, clip, ts, want_ts)
            checked += 1
    print(f"parity: {checked} clip/case pairs identical to FunASR (text and timestamps)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/hotword"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--copies", type=int, default=4, help="sample.wav copies in the clip")
    a = ap.parse_args()
    import soundfile as sf
    import torch

    torch.set_num_threads(1)
    model_dir = a.cache / "seaco-large"
    gguf = a.cache / "seaco-large.gguf"
    x, sr = sf.read(REPO / "Weights" / "sample.wav", dtype="float32")
    gap = np.zeros(sr // 4, np.float32)
    clip = np.concatenate([np.concatenate([x, gap]) for _ in range(a.copies)])
    wav = a.cache / "bench_clip.wav"
    sf.write(wav, clip, sr, subtype="PCM_16")
    dur = len(clip) / sr
    tokens = __import__("json").load(open(model_dir / "tokens.json", encoding="utf-8"))
    chars = tokens[3:-1]
    rng = random.Random(0)
    files = {}
    for n in (10, 100):
        words = ["".join(rng.choice(chars) for _ in range(rng.randint(2, 4))) for _ in range(n)]
        p = a.cache / f"bench_hotwords_{n}.txt"
        p.write_text("".join(w + "\n" for w in words), encoding="utf-8")
        files[n] = str(p)

    check_parity(a.cache)
    from funasr import AutoModel

    am = AutoModel(model=str(model_dir), frontend_conf={"dither": 0.0}, device="cpu", ncpu=1,
                   disable_update=True, disable_pbar=True, log_level="ERROR")
    binary = REPO / ".build" / "release" / "paraformer-run"
    cases = [("none", None), ("10", files[10]), ("100", files[100])]
    ours = {c: [] for c, _ in cases}
    theirs = {c: [] for c, _ in cases}
    am.generate(input=str(wav))  # warm-up
    def child_cpu():
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def ours_cpu(hw, copies):
        args = [str(binary), "-m", str(gguf), "--threads", "1"] + (["--hotword", hw] if hw else [])
        t0 = child_cpu()
        subprocess.run(args + [str(wav)] * copies, capture_output=True, text=True, check=True)
        return child_cpu() - t0

    for r in range(a.rounds):
        for c, hw in cases:
            kw = {} if hw is None else {"hotword": hw}
            t0 = time.process_time()
            am.generate(input=str(wav), **kw)
            theirs[c].append((time.process_time() - t0) / dur)
            # CPU seconds per file: (5 files − 1 file) / 4, so loading and the hotword list
            # (prepared once per run) cancel out.
            ours[c].append((ours_cpu(hw, 5) - ours_cpu(hw, 1)) / 4 / dur)
    print(f"audio {dur:.2f} s, SeACo released size (random weights), 1 thread, CPU-time RTF, median of {a.rounds}")
    print("| hotwords | ours RTF | FunASR PyTorch RTF | ours vs plain | FunASR vs plain |")
    print("|---|---|---|---|---|")
    base_o, base_t = statistics.median(ours["none"]), statistics.median(theirs["none"])
    for c, _ in cases:
        o, t = statistics.median(ours[c]), statistics.median(theirs[c])
        print(f"| {c} | {o:.4f} | {t:.4f} | {100 * (o / base_o - 1):+.1f} % | {100 * (t / base_t - 1):+.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
