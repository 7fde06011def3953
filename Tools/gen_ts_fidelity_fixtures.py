#!/usr/bin/env python3
"""Fixtures for `--funasr1416-timestamps` fidelity: FunASR 1.4.16's timestamp fallback, bit for bit.

    python Tools/gen_ts_fidelity_fixtures.py [--cache /tmp/ts-fidelity] [-o FILE]

Writes Tests/ParaformerTests/Fixtures/text/timestamp_fidelity.json with three kinds of case,
each checked by Tests/ParaformerTests/TimestampFidelityTests.swift:

- sum_cases: `torch.Tensor.sum()` of float32 vectors of many lengths (1 … 30 000; the
  cascade's flushes at 16, 256, 4096 rows of 4 × 8 floats), the values from a 32-bit LCG that
  the Swift test regenerates (no arrays stored), the expected sum as a bit pattern.
- model_cases: what FunASR's `Paraformer.inference(..., output_timestamp=True)` passes to
  `ts_prediction_lfr6_standard` and what it returns, on random-weight models built by
  Tools/make_random_model.py (tiny and small, several seeds and token rates) and long
  espeak-ng clips (16 to 56 s, mixed Chinese/English, 16 kHz and 8 kHz files). Stored: the
  alphas with the tail frame (`us_peaks` in 1.4.16's swapped call), the tokens and the
  per-token spans. The CIF fires (`us_alphas`) are recomputed from the alphas (cif_v1,
  checked bit for bit elsewhere); the generator asserts that recomputation equals FunASR's.
- order_cases: arrays found by a seeded search on which torch's float32 sum and a float64
  sum rounded once give different boundaries after the fallback's renormalisation
  (`alphas /= alphas.sum() / (N+1)`, then `cif_wo_hidden` at 1 − 1e-4): they fail for a
  port that does not add in torch's order. Both argument orders (1.4.16's and the intended).
  (Among the model cases, small-s12/c6_16k is one where FunASR's own alphas need torch's order.)

Run with torch's default CPU kernels (the AVX2 / portable ones: 8 float lanes). An AVX-512
build of torch rounds sums differently; the generator records torch's CPU capability.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
OUT = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "text" / "timestamp_fidelity.json"

# model name: (config, seed, tokens per second)
MODELS = {
    "tiny-s11": ("tiny", 11, 3.5),
    "tiny-s13": ("tiny", 13, 6.0),
    "small-s11": ("small", 11, 3.5),
    "small-s14": ("small", 14, 2.0),
    "small-s12": ("small", 12, 3.5),  # c6_16k: a float64 sum moves boundary 336 → 337
}
SENTENCES = [
    ("cmn-latn-pinyin", "huan1 ying2 da4 jia1 lai2 ti3 yan4 da2 mo2 yuan4 tui1 chu1 de5 yu3 yin1 shi2 bie2 mo2 xing2", 170),
    ("en-us", "Good morning everyone, the weather report says it will rain in the afternoon, so bring an umbrella.", 165),
    ("cmn-latn-pinyin", "wo3 men5 ming2 tian1 shang4 wu3 jiu3 dian3 zai4 hui4 yi4 shi4 kai1 hui4 tao3 lun4 xin1 de5 ji4 hua4", 180),
    ("en-us", "Please send the quarterly numbers to Alice before Friday, and copy Bob on the message.", 175),
    ("cmn-latn-pinyin", "zhe4 ge4 xi4 tong3 ke3 yi3 shi2 bie2 zhong1 wen2 he2 ying1 wen2 hun4 he2 de5 yu3 yin1", 160),
    ("en-us", "Seven hundred and twenty three people attended the open day at the science museum.", 150),
    ("cmn-latn-pinyin", "qing3 ba3 chuang1 hu4 guan1 shang4 wai4 mian4 feng1 hen3 da4", 190),
    ("en-us", "It was the best of times, it was the worst of times, it was the age of wisdom.", 160),
]
# clip name: (sentence indices, silence gaps in seconds, cycled: before, after 1st, ...)
CLIPS = {
    "c1": ([0, 1, 2], [0.3, 0.8, 0.1]),
    "c2": ([1, 3, 5, 7], [0.0, 0.4]),
    "c3": ([2, 4, 6, 0, 1], [1.2, 0.2, 0.6]),
    "c4": ([3, 2, 1, 0, 5, 6, 7], [0.5, 0.05]),
    "c6": ([0, 1, 2, 3, 4, 5, 6, 7, 0, 1], [0.2, 0.7]),
    "c7": ([6, 7, 6], [0.0, 3.0]),
}
SUM_LENGTHS = (list(range(1, 41)) + [63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513,
               520, 1000, 1023, 2047, 2048, 2049, 4000, 4096, 8191, 8192, 8193, 9000, 16384,
               16415, 20001, 30000])


def b64(a) -> str:
    return base64.b64encode(np.ascontiguousarray(np.asarray(a, dtype="<f4")).tobytes()).decode("ascii")


def lcg_values(n: int, seed: int, scale_exp: int, fires: bool) -> np.ndarray:
    """x ← 1664525·x + 1013904223 (mod 2^32); value = (x >> 8)·2^(scale_exp−24), exact in
    float32; plus 1 on every 7th when `fires` (like CIF fires)."""
    out = np.empty(n, np.float32)
    x = seed & 0xFFFFFFFF
    for i in range(n):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        v = np.float32((x >> 8) * 2.0 ** (scale_exp - 24))
        out[i] = v + np.float32(1) if fires and i % 7 == 3 else v
    return out


def make_sum_cases():
    import torch

    cases = []
    for i, n in enumerate(SUM_LENGTHS):
        seed, scale_exp, fires = 1000 + i, [0, 1, -10, 6][i % 4], i % 3 == 0
        x = lcg_values(n, seed, scale_exp, fires)
        s = torch.from_numpy(x).sum()
        f64 = np.float32(x.astype(np.float64).sum())
        cases.append({"count": n, "seed": seed, "scale_exp": scale_exp, "fires": fires,
                      "sum_bits": int(np.float32(s.item()).view(np.uint32)),
                      "float64_sum_differs": bool(f64 != np.float32(s.item()))})
    return cases


# --------------------------------------------------------------------------------------
# model cases


def build_models(cache: Path):
    for name, (config, seed, tps) in MODELS.items():
        d = cache / "models" / name
        if not (d / "model.pt").exists():
            subprocess.run([sys.executable, str(TOOLS / "make_random_model.py"), config, "-o", str(d),
                            "--seed", str(seed), "--tokens-per-second", str(tps)], check=True)


def build_clips(cache: Path):
    import soundfile as sf
    from make_random_model import espeak_wav

    out = cache / "clips"
    parts_dir = out / "_parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for i, (voice, text, speed) in enumerate(SENTENCES):
        p = parts_dir / f"p{i}.wav"
        if not p.exists():
            espeak_wav(voice, text, p, speed=speed)
        parts.append(sf.read(str(p), dtype="int16")[0])
    rng = np.random.default_rng(5)
    clips = []
    for name, (idx, gaps) in CLIPS.items():
        segs = [np.zeros(int(gaps[0] * 16000), np.int16)]
        for k, i in enumerate(idx):
            segs += [parts[i], np.zeros(int(gaps[(k + 1) % len(gaps)] * 16000), np.int16)]
        y = np.concatenate(segs).astype(np.int32) + rng.integers(-30, 31, sum(len(s) for s in segs))
        p16, p8 = out / f"{name}_16k.wav", out / f"{name}_8k.wav"
        sf.write(str(p16), np.clip(y, -32768, 32767).astype(np.int16), 16000, subtype="PCM_16")
        subprocess.run(["sox", "-G", "-D", str(p16), "-r", "8000", str(p8)], check=True)
        clips += [p16, p8]
    return clips


def make_model_cases(cache: Path):
    import torch
    import soundfile as sf
    import gen_model_fixtures as g
    from funasr.models.paraformer.cif_predictor import cif_v1

    build_models(cache)
    clips = build_clips(cache)
    cases = []
    for name in MODELS:
        am = g.load_automodel(cache / "models" / name)
        for k, clip in enumerate(clips):
            if (k // 2 + k + list(MODELS).index(name)) % 2:  # one rate per clip and model: small
                continue
            res, rec = g.run_offline(am, str(clip), timestamps=True)
            (ts,) = rec.of("timestamp")
            alphas, fires = ts["arg_us_peaks"], ts["arg_us_alphas"]
            again = cif_v1(torch.zeros(1, len(alphas), 1), alphas[None].clone(), 1.0)[1][0]
            assert torch.equal(again, fires), "cif_v1 fires of the alphas differ from FunASR's us_alphas"
            tokens = list(ts["char_list"])
            n = len(tokens[:-1] if tokens and tokens[-1] == "</s>" else tokens) + 1
            fallback = int((alphas >= 1.0 - 1e-4).sum()) != n
            info = sf.info(str(clip))
            expected = [list(p) for p in ts["result"]]
            assert ts_funasr(fires, alphas, tokens) == expected
            f64_differs = ts_funasr(fires, alphas, tokens, float64_sum=True) != expected
            cases.append({"name": f"{name}/{clip.stem}", "sample_rate": info.samplerate,
                          "seconds": round(info.frames / info.samplerate, 3), "fallback": fallback,
                          "float64_sum_differs": f64_differs,
                          "alphas": b64(alphas.numpy()), "tokens": tokens,
                          "expected": expected})
            print(f"{name} {clip.name}: {len(tokens)} tokens, {len(alphas)} frames, fallback {fallback}"
                  f"{', float64 sum differs' if f64_differs else ''}", flush=True)
    return cases


# --------------------------------------------------------------------------------------
# order cases


def ts_funasr(weights, peaks, tokens, float64_sum=False):
    """FunASR's `ts_prediction_lfr6_standard` (1.4.16's Paraformer call: upsample_rate 1);
    with `float64_sum`, its `alphas.sum()` is a float64 sum rounded once (the old port)."""
    import torch
    import funasr.utils.timestamp_tools as tt

    class F64(torch.Tensor):
        def sum(self, *a, **k):
            return torch.tensor(np.float32(self.detach().numpy().astype(np.float64).sum()))

    w = weights.clone()
    if float64_sum:
        w = w.as_subclass(F64)
    _, res = tt.ts_prediction_lfr6_standard(w, peaks.clone(), list(tokens), vad_offset=0, upsample_rate=1)
    return [list(map(int, p)) for p in res]


def make_order_cases(per_order: int = 6, seed: int = 1):
    import torch
    from funasr.models.paraformer.cif_predictor import cif_v1
    from funasr.utils.timestamp_tools import cif_wo_hidden

    rng = np.random.default_rng(seed)
    chars = [chr(0x4E00 + i) for i in range(0, 2000, 7)] + ["hello", "wor@@", "ld", "a", "b"]
    cases = {"funasr1416": [], "intended": []}
    batch = 500
    while min(len(v) for v in cases.values()) < per_order:
        t = int(rng.integers(20, 700))
        z = rng.normal(-2.0, 2.0, (batch, t)).astype(np.float32)
        alphas = np.concatenate([(1 / (1 + np.exp(-z))).astype(np.float32),
                                 np.full((batch, 1), 0.45, np.float32)], 1)
        at = torch.from_numpy(alphas)
        fires = cif_v1(torch.zeros(batch, t + 1, 1), at.clone(), 1.0)[1]
        n = int(np.median(np.floor(alphas.astype(np.float64).sum(1)))) + int(rng.integers(-1, 2))
        for order, w in (("funasr1416", fires), ("intended", at)):
            if len(cases[order]) >= per_order:
                continue
            torch_peaks = cif_wo_hidden(w / (w.sum(dim=1, keepdim=True) / n), 1.0 - 1e-4)
            s64 = torch.from_numpy(w.numpy().astype(np.float64).sum(1).astype(np.float32))[:, None]
            f64_peaks = cif_wo_hidden(w / (s64 / n), 1.0 - 1e-4)
            for b in torch.where(((torch_peaks >= 1 - 1e-4) != (f64_peaks >= 1 - 1e-4)).any(1))[0].tolist():
                a, f = at[b].clone(), fires[b].clone()
                tokens = [chars[int(i)] for i in rng.integers(0, len(chars), n - 1)]
                wb, pb = (f, a) if order == "funasr1416" else (a, f)
                if int((pb >= 1.0 - 1e-4).sum()) == n:
                    continue  # no fallback
                expected = ts_funasr(wb, pb, tokens)
                if ts_funasr(wb, pb, tokens, float64_sum=True) == expected:
                    continue  # the moved boundary does not show in the spans
                cases[order].append({"name": f"{order}-{len(cases[order])}", "order": order,
                                     "alphas": b64(a.numpy()), "tokens": tokens, "expected": expected})
                print(f"order case {order}: {t + 1} frames, {n - 1} tokens", flush=True)
                break
    return cases["funasr1416"] + cases["intended"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ts-fidelity"))
    ap.add_argument("-o", "--output", type=Path, default=OUT)
    a = ap.parse_args(argv)
    import torch
    import funasr

    torch.set_num_threads(1)
    data = {"generator": "Tools/gen_ts_fidelity_fixtures.py", "funasr_version": funasr.__version__,
            "torch_version": torch.__version__,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "sum_cases": make_sum_cases(), "order_cases": make_order_cases(),
            "model_cases": make_model_cases(a.cache)}
    a.output.parent.mkdir(parents=True, exist_ok=True)
    a.output.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{a.output}: {len(data['sum_cases'])} sums, {len(data['order_cases'])} order cases, "
          f"{len(data['model_cases'])} model cases, {a.output.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
