#!/usr/bin/env python3
"""Long audio in bounded memory: peak RSS and speed of `paraformer-run --vad-model` on a
generated 3-hour file against a 5-minute one, plus the VAD's own speed (one thread) and
FunASR's pipeline on the 5-minute file for comparison.

    python Tools/measure_long_audio.py [--work /tmp/long-audio] [--hours 3] [--skip-funasr]

Needs a release build (`swift build -c release --product paraformer-run`). The audio is the
pipeline fixture's 173 s of held-out clips with pauses (Tools/gen_vad_fixtures.py), repeated;
the VAD is a loudness-detector FSMN-VAD of the released size (0.43 M parameters, 248 classes).
Prints one table; nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_vad_fixtures as gv  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".build" / "release" / "paraformer-run"
ASR = REPO / "Weights" / "paraformer-zh-small.gguf"


def timed(cmd, out_path: Path):
    """Runs cmd under /usr/bin/time -v; returns (peak RSS MiB, CPU seconds (user + system),
    stderr). CPU time rather than wall time: the machine may be shared."""
    with open(out_path, "w") as out:
        p = subprocess.run(["/usr/bin/time", "-v"] + [str(c) for c in cmd], stdout=out, stderr=subprocess.PIPE,
                           text=True)
    if p.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", p.stderr).group(1)) + float(
        re.search(r"System time \(seconds\): ([\d.]+)", p.stderr).group(1))
    return rss, cpu, p.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/long-audio"))
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--skip-funasr", action="store_true")
    a = ap.parse_args()
    import soundfile as sf

    a.work.mkdir(parents=True, exist_ok=True)
    if not BIN.exists():
        raise SystemExit(f"{BIN} missing: swift build -c release --product paraformer-run")
    vad_dir = gv.build_model_dir(a.work / "vad-released-size", seed=1, theta=gv.PIPELINE_THETA,
                                 encoder_conf=gv.RELEASED_ENCODER_CONF)
    import convert_fsmn_vad

    vad = a.work / "vad-released-size.gguf"
    convert_fsmn_vad.convert(vad_dir, vad, quiet=True)
    names = sorted(p.name for p in gv.HELDOUT.glob("*.wav"))
    unit = gv.synth(gv.pipeline_recipe(names), [gv.read_clip(n) for n in names], 6, seed=777)
    files = {}
    for label, seconds in [("5min", 300), (f"{a.hours:g}h", int(a.hours * 3600))]:
        path = a.work / f"long_{label}.wav"
        n = seconds * 16000
        if not path.exists() or sf.info(str(path)).frames != n:
            reps = -(-n // len(unit))
            with sf.SoundFile(str(path), "w", 16000, 1, "PCM_16") as f:
                left = n
                for _ in range(reps):
                    k = min(left, len(unit))
                    f.write(unit[:k])
                    left -= k
        files[label] = (path, seconds)

    rows = []
    # VAD alone, one thread.
    rss, wall, err = timed([BIN, "--model", vad, "--threads", "1", "--timings", files["5min"][0]], a.work / "vad.json")
    rows.append(("VAD alone (incl. load + file read), 5 min, 1 thread", f"{300 / wall:.0f}x real time (CPU {wall:.2f} s)", f"{rss:.0f} MiB"))
    print(rows[-1], [l for l in err.splitlines() if "real time" in l], flush=True)
    results = {}
    for label, (path, seconds) in files.items():
        rss, wall, err = timed([BIN, "--model", ASR, "--vad-model", vad, "--threads", "1", "--json", "--timings", path],
                               a.work / f"pipeline_{label}.json")
        results[label] = (rss, wall, seconds)
        rows.append((f"pipeline (VAD+ASR), {label}, 1 thread", f"RTF {wall / seconds:.4f} (CPU {wall:.1f} s)", f"{rss:.0f} MiB"))
        print(rows[-1], err.strip().splitlines()[0] if err.strip() else "", flush=True)
    ratio = results[list(results)[1]][0] / results["5min"][0]
    if not a.skip_funasr:
        import torch

        torch.set_num_threads(1)
        from funasr import AutoModel

        asr_dir = gv.asr_dir_from_gguf(ASR, a.work / "asr-small")
        am = AutoModel(model=str(asr_dir), frontend_conf={"dither": 0.0}, vad_model=str(vad_dir), device="cpu",
                       ncpu=1, disable_update=True, disable_pbar=True, log_level="ERROR")
        x, _ = sf.read(str(files["5min"][0]), dtype="float32")
        t0 = time.process_time()
        am.generate(input=x, output_timestamp=True)
        t = time.process_time() - t0
        rows.append(("FunASR 1.4.16 pipeline (PyTorch), 5 min, 1 thread", f"RTF {t / 300:.4f} (CPU {t:.1f} s)", "-"))
    print()
    for r in rows:
        print(f"{r[0]:55s} {r[1]:28s} peak RSS {r[2]}")
    print(f"peak RSS ratio {list(results)[1]} / 5min: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
