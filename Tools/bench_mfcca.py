#!/usr/bin/env python3
"""RTF of MFCCA at the released size (random weights, ~45 M parameters) on 8-channel audio:
the engine (paraformer-run, release build) against FunASR 0.8.8's Speech2TextMFCCA on the same
torch, in the same run, same audio, one thread each.

    PYTHONPATH=~/.cache/funasr088 ~/.venvs/funasr/bin/python Tools/bench_mfcca.py \
        --work /tmp/mfcca-bench [--seconds 10] [--runs 2]

Builds the model with Tools/gen_mfcca_fixtures.py (--size released --model-only) when
WORK/model is missing, writes an 8-channel clip, then times both. Prints per-stage times and
the beam search's share of each.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_mfcca_fixtures as g  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--binary", type=Path, default=ROOT / ".build/release/paraformer-run")
    a = ap.parse_args()
    torch.set_num_threads(1)
    work = a.work
    model_dir = work / "model"
    gguf = work / "mfcca-released.gguf"
    if not gguf.exists():
        subprocess.run([sys.executable, str(ROOT / "Tools/gen_mfcca_fixtures.py"), "--out", str(work),
                        "--size", "released", "--model-dir", str(model_dir), "--model-only"], check=True)
    wav = work / "bench8.wav"
    x = g.make_audio(8, a.seconds, 2024).astype(np.float32)
    sf.write(str(wav), x, g.SR, subtype="PCM_16")
    x = g.read_wav(wav)

    s2t = g.speech2text(model_dir, 10, 0.5)
    model = s2t.asr_model
    params = sum(p.numel() for p in model.parameters())
    # FunASR: encode, then the search (the same calls Speech2TextMFCCA makes).
    best = None
    for _ in range(a.runs):
        t0 = time.perf_counter()
        _, enc = g.encode(model, x)
        t1 = time.perf_counter()
        nbest, ids, text = g.decode_from_encoder(model, s2t.beam_search, enc)
        t2 = time.perf_counter()
        if best is None or t2 - t0 < best[0]:
            best = (t2 - t0, t1 - t0, t2 - t1, len(ids))
    total, enc_s, search_s, ntok = best
    print(f"model: {params / 1e6:.1f} M parameters; audio {a.seconds:.1f} s x 8 channels; T' = {enc.shape[0]}")
    print(f"FunASR 0.8.8: total {total:.2f} s (encode {enc_s:.2f} s, search {search_s:.2f} s, "
          f"{ntok} tokens) RTF {total / a.seconds:.3f}, search share {search_s / total:.0%}")

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    best_e = None
    for _ in range(a.runs):
        r = subprocess.run([str(a.binary), "--model", str(gguf), "--threads", "1", "--timings", str(wav)],
                           capture_output=True, text=True, env=env, check=True)
        m = re.search(r"features ([\d.]+) ms, encoder ([\d.]+) ms, search ([\d.]+) ms", r.stderr)
        if not m:
            print(r.stderr, file=sys.stderr)
            return 1
        f, e, s = (float(v) / 1000 for v in m.groups())
        if best_e is None or f + e + s < sum(best_e):
            best_e = (f, e, s)
    f, e, s = best_e
    t = f + e + s
    print(f"engine: total {t:.2f} s (features {f:.2f} s, encoder {e:.2f} s, search {s:.2f} s) "
          f"RTF {t / a.seconds:.3f}, search share {s / t:.0%}")
    print(f"ratio engine / FunASR: {t / total:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
