#!/usr/bin/env python3
"""FSMN-VAD fixtures: a random-weight FsmnVADStreaming model built with FunASR's classes, test
audio synthesised from a recipe the Swift tests replay, and FunASR's outputs (the oracle).

    python Tools/gen_vad_fixtures.py model OUT_DIR [--seed 0]   # the model directory only
    python Tools/gen_vad_fixtures.py all [--cache /tmp/vad-cache]
        # regenerates Tests/ParaformerTests/Fixtures/vad/: vad-tiny.gguf (converted with
        # Tools/convert.py) and one expected-output GGUF per case

The model. Random weights make FSMN-VAD call everything speech (p_sil ≈ 1/classes), so the
weights are arranged as a loudness detector (REFERENCE-2 B.10, extended):
  - unit 0 of in_linear1 reads mean(fbank) back through the model's CMVN:
    u = Σ_d y_d / (D·scale_d) − mean(shift) − θ  = mean of the raw log-mel − θ;
  - in_linear2 / every FSMN block pass relu(u) along unit 0, and every block's memory adds
    0.08 × each of the five previous frames of unit 0 (a hang-over through the FSMN cache);
  - out_linear2: z₀ = 4 − h, z₁ = h, so p_sil = e^{4−h} / (e^{4−h} + e^h + Σ e^{z_other}).
  - Every other weight (rows ≥ 1, other logits, other channels' memory taps) is N(0, 0.05²)
    from torch.manual_seed(seed), so the whole network is exercised; row 0 of each matrix
    reads only the detector path. am.mvn: shift −U(8, 12), scale U(0.15, 0.35) per dim.
Config: input 400 (80 mels × LFR 5), affine 16, linear 24, proj 12, 4 layers, lorder 20,
output 8; model_conf = VADXOptions defaults (the released values).

The audio (all integer arithmetic, so Swift rebuilds it bit for bit; the CRC-32 of the int16
samples is stored and checked): parts of kind
  0 noise  (ms)                      1 tone (ms, Hz, peak in int16 units)
  2 clip   (index into fixture.clips: a committed heldout wav, copied)
plus everywhere a low noise: an LCG s ← s·1664525 + 1013904223 (mod 2³²), sample
((s >> 16) mod (2A + 1)) − A, A = fixture.noise_amplitude, clamped to int16; a tone sample is
floor(peak·sin(2π·f·n/16000) + 0.5) (Python's math.sin: the C library's sin, as Swift's).

Cases (each a GGUF of metadata; FunASR 1.4.16, AutoModel on the model directory, CPU):
  offline_dynamic    generate(input=x): the default dynamic silence schedule
  offline_fixed800   generate(input=x, max_end_silence_time=800)
  offline_fixed500   generate(input=x, max_end_silence_time=555)  (a value that is not 10·k)
  stream_fixed800    chunk_size=200, calls of irregular sizes, max_end_silence_time=800
  stream_dynamic     chunk_size=200, calls of irregular sizes, the dynamic schedule
  frames             per-frame p_sil and frame level (dB) of the offline run (network parity)
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "vad"
HELDOUT = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "heldout"

ENCODER_CONF = dict(input_dim=400, input_affine_dim=16, fsmn_layers=4, linear_dim=24, proj_dim=12,
                    lorder=20, rorder=0, lstride=1, rstride=0, output_affine_dim=16, output_dim=8)
FRONTEND_CONF = dict(fs=16000, window="hamming", n_mels=80, frame_length=25, frame_shift=10,
                     dither=0.0, lfr_m=5, lfr_n=1)
MODEL_CONF = dict(sample_rate=16000, detect_mode=1, snr_mode=0, max_end_silence_time=800,
                  max_start_silence_time=3000, do_start_point_detection=True,
                  do_end_point_detection=True, window_size_ms=200, sil_to_speech_time_thres=150,
                  speech_to_sil_time_thres=150, speech_2_noise_ratio=1.0, do_extend=1,
                  lookback_time_start_point=200, lookahead_time_end_point=100,
                  max_single_segment_time=60000, snr_thres=-100.0, noise_frame_num_used_for_snr=100,
                  decibel_thres=-100.0, speech_noise_thres=0.6, fe_prior_thres=1e-4,
                  silence_pdf_num=1, sil_pdf_ids=[0], speech_noise_thresh_low=-0.1,
                  speech_noise_thresh_high=0.3, output_frame_probs=False, frame_in_ms=10,
                  frame_length_ms=25)

# --------------------------------------------------------------------------------------
# model


RELEASED_ENCODER_CONF = dict(input_dim=400, input_affine_dim=140, fsmn_layers=4, linear_dim=250, proj_dim=128,
                             lorder=20, rorder=0, lstride=1, rstride=0, output_affine_dim=140, output_dim=248)


def build_model_dir(out_dir: Path, seed: int = 0, theta: float = 9.0, encoder_conf=None) -> Path:
    import torch
    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import convert_fsmn_vad as cv

    out_dir.mkdir(parents=True, exist_ok=True)
    encoder_conf = encoder_conf or ENCODER_CONF
    cfg = dict(model="FsmnVADStreaming", model_conf=MODEL_CONF, encoder="FSMN",
               encoder_conf=encoder_conf, frontend="WavFrontendOnline", frontend_conf=FRONTEND_CONF)
    with open(out_dir / "config.yaml", "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
    rs = np.random.RandomState(seed)
    D = encoder_conf["input_dim"]
    shift = (-rs.uniform(8, 12, D)).astype(np.float32)
    scale = rs.uniform(0.15, 0.35, D).astype(np.float32)
    fo.write_cmvn(out_dir / "am.mvn", shift, scale)
    shift, scale = fo.load_cmvn(out_dir / "am.mvn")  # exactly what FunASR reads back

    torch.manual_seed(seed)
    model = cv.build_model(cfg)
    e = model.encoder
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.05 * torch.randn_like(p))

        def only_row0(lin, values=None, bias=0.0):
            lin.weight[0, :] = 0
            if values is not None:
                lin.weight[0, :] = values
            if lin.bias is not None:
                lin.bias[0] = bias

        s64, c64 = shift.astype(np.float64), scale.astype(np.float64)
        only_row0(e.in_linear1.linear, torch.from_numpy((1.0 / (D * c64)).astype(np.float32)),
                  float(-s64.mean() - theta))
        only_row0(e.in_linear2.linear)
        e.in_linear2.linear.weight[0, 0] = 1
        for b in e.fsmn:
            only_row0(b.linear.linear)
            b.linear.linear.weight[0, 0] = 1
            taps = b.fsmn_block.conv_left.weight  # [P, 1, lorder, 1]
            taps[0, 0, :, 0] = 0
            taps[0, 0, 14:19, 0] = 0.08
            only_row0(b.affine.linear)
            b.affine.linear.weight[0, 0] = 1
        only_row0(e.out_linear1.linear)
        e.out_linear1.linear.weight[0, 0] = 1
        o2 = e.out_linear2.linear
        o2.weight[0, :] = 0
        o2.weight[1, :] = 0
        o2.weight[0, 0] = -1
        # 4 for the fixtures' 8 classes; with more classes the others' mass grows, so the
        # silence logit is raised by log(V / 8) (the released size: 248 classes).
        o2.bias[0] = 4 + max(0.0, math.log(encoder_conf["output_dim"] / 8))
        o2.weight[1, 0] = 1
        o2.bias[1] = 0
    torch.save(model.state_dict(), out_dir / "model.pt")
    return out_dir


def load_vad(model_dir: Path):
    import torch

    torch.set_num_threads(1)
    from funasr import AutoModel

    am = AutoModel(model=str(model_dir), device="cpu", ncpu=1, disable_update=True, disable_pbar=True,
                   log_level="ERROR")
    return am


# --------------------------------------------------------------------------------------
# audio


def read_clip(name: str) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(str(HELDOUT / name), dtype="int16")
    assert sr == 16000 and x.ndim == 1, name
    return x


def synth(parts, clips, noise_amplitude: int, seed: int = 12345) -> np.ndarray:
    """int16 samples of a recipe (see the module docstring)."""
    out = []
    s = seed & 0xFFFFFFFF
    A = noise_amplitude
    for kind, a, b, c in parts:
        if kind == 2:
            base = [int(v) for v in clips[a]]
        else:
            n = a * 16
            if kind == 0:
                base = [0] * n
            else:
                base = [math.floor(c * math.sin(2 * math.pi * b * i / 16000) + 0.5) for i in range(n)]
        for v in base:
            s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
            v += ((s >> 16) % (2 * A + 1)) - A
            out.append(min(32767, max(-32768, v)))
    return np.array(out, dtype=np.int16)


def crc32(x: np.ndarray) -> int:
    return zlib.crc32(x.astype("<i2").tobytes()) & 0xFFFFFFFF


def vad_recipe():
    """~128 s: tones with pauses of many lengths, a 75 s stretch across the 60 s chunk edge
    with short pauses, a 61.5 s unbroken tone (the max-length cut), speech to the very end."""
    T = 1
    parts = [(0, 1000, 0, 0)]
    pauses = [120, 200, 300, 450, 600, 800, 1000, 1300, 1700, 2200, 2800, 3500]
    tones = [1500, 400, 900, 2000, 700, 1200, 600, 1800, 1000, 500, 1400, 800]
    freqs = [300, 440, 250, 520, 330, 610, 280, 400, 350, 470, 390, 300]
    for p, t, f in zip(pauses, tones, freqs):
        parts.append((T, t, f, 9000))
        parts.append((0, p, 0, 0))
    # a long stretch with brief pauses, crossing 60 s
    for k, p in enumerate([150, 250, 350, 500, 150, 250, 350, 500, 250, 350, 150, 500, 250, 350]):
        parts.append((T, 4000 + 300 * (k % 4), 300 + 20 * k, 7000 + 500 * (k % 3)))
        parts.append((0, p, 0, 0))
    parts.append((T, 2000, 360, 8000))
    parts.append((0, 2500, 0, 0))
    parts.append((T, 61500, 330, 6000))       # longer than max_single_segment_time
    parts.append((0, 1500, 0, 0))
    parts.append((T, 1200, 420, 9000))         # ends in speech
    return parts


def pipeline_recipe(clip_names):
    """~150 s of heldout speech clips with pauses of many lengths (indexes into clip_names)."""
    pauses = [800, 150, 2500, 300, 1200, 450, 3000, 200, 900, 600, 1800, 350, 2200, 250, 1500, 700]
    parts = [(0, 600, 0, 0)]
    k = 0
    for rep in range(4):
        for i in range(len(clip_names)):
            parts.append((2, (i * 3 + rep) % len(clip_names), 0, 0))
            parts.append((0, pauses[k % len(pauses)], 0, 0))
            k += 1
    return parts


# --------------------------------------------------------------------------------------
# FunASR runs


def restore_opts(am, saved):
    # FunASR's init_cache writes a given max_end_silence_time into model.vad_opts for good
    # (REFERENCE-2 B.7); undo it so that each case sees the configured value.
    am.model.vad_opts.max_end_silence_time = saved


def run_offline(am, x, **kw):
    saved = am.model.vad_opts.max_end_silence_time
    try:
        r = am.generate(input=x, **kw)
    finally:
        restore_opts(am, saved)
    return [[int(a), int(b)] for a, b in r[0]["value"]]


def call_sizes(n: int, seed: int):
    """Irregular call sizes in samples: 100…9000, some exact 3200 (200 ms) multiples."""
    rs = np.random.RandomState(seed)
    sizes, total = [], 0
    while total < n:
        k = int(rs.choice([3200, 6400, 1600, 100, 4000, 9000, 2500, 3333]))
        k = min(k, n - total)
        sizes.append(k)
        total += k
    return sizes


def run_stream(am, x, sizes, **kw):
    saved = am.model.vad_opts.max_end_silence_time
    cache, events, pos = {}, [], 0
    try:
        for i, k in enumerate(sizes):
            chunk = x[pos:pos + k]
            pos += k
            r = am.generate(input=chunk, cache=cache, is_final=(i == len(sizes) - 1), chunk_size=200, **kw)
            for e in r[0]["value"]:
                events.append((i, int(e[0]), int(e[1])))
    finally:
        restore_opts(am, saved)
    return events


def record_frames(am, x):
    """Per-frame p_sil (column 0 of the scores) and frame dB of an offline run."""
    m = am.model
    scores, dbs = [], []
    orig_scores, orig_db = m.ComputeScores, m.ComputeDecibel

    def cs(feats, cache=None):
        n0 = 0 if cache["stats"].scores is None else cache["stats"].scores.shape[1]
        orig_scores(feats, cache=cache)
        scores.append(cache["stats"].scores[0, n0:, :].detach().clone().numpy())

    def cd(cache=None, frame_count=None):
        n0 = len(cache["stats"].decibel)
        orig_db(cache=cache, frame_count=frame_count)
        dbs.extend(cache["stats"].decibel[n0:])

    m.ComputeScores, m.ComputeDecibel = cs, cd
    try:
        run_offline(am, x, max_end_silence_time=800)
    finally:
        del m.ComputeScores, m.ComputeDecibel
    s = np.concatenate(scores, 0)
    return s, np.array(dbs, np.float64)


# --------------------------------------------------------------------------------------
# writing


class Writer:
    def __init__(self, path: Path, kind: str):
        import funasr
        import gguf

        self.g = gguf
        self.w = gguf.GGUFWriter(str(path), "paraformer-fixture")
        self.w.add_custom_alignment(32)
        self.str("fixture.kind", kind)
        self.str("fixture.funasr_version", funasr.__version__)

    def str(self, k, v):
        self.w.add_key_value(k, str(v), self.g.GGUFValueType.STRING)

    def strs(self, k, v):
        self.w.add_key_value(k, [str(x) for x in v], self.g.GGUFValueType.ARRAY, sub_type=self.g.GGUFValueType.STRING)

    def i32(self, k, v):
        self.w.add_int32(k, int(v))

    def u32(self, k, v):
        self.w.add_uint32(k, int(v))

    def i32s(self, k, v):
        v = [int(x) for x in v]
        self.w.add_key_value(k, v if v else [0], self.g.GGUFValueType.ARRAY, sub_type=self.g.GGUFValueType.INT32)
        if not v:
            self.i32(k + "_empty", 1)

    def tensor(self, name, a):
        self.w.add_tensor(name, np.ascontiguousarray(np.asarray(a, np.float32)))

    def close(self):
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()


def write_recipe(w: Writer, parts, clip_names, noise_amplitude, x):
    w.i32s("fixture.parts.kind", [p[0] for p in parts])
    w.i32s("fixture.parts.a", [p[1] for p in parts])
    w.i32s("fixture.parts.b", [p[2] for p in parts])
    w.i32s("fixture.parts.c", [p[3] for p in parts])
    w.strs("fixture.clips", clip_names if clip_names else ["-"])
    w.i32("fixture.noise_amplitude", noise_amplitude)
    w.u32("fixture.num_samples", len(x))
    w.u32("fixture.crc32", crc32(x))


def flat(segs):
    return [v for s in segs for v in s]


def cmd_all(cache: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import convert_fsmn_vad

    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    model_dir = build_model_dir(cache / "vad-tiny")
    convert_fsmn_vad.convert(model_dir, FIXTURE_DIR / "vad-tiny.gguf")
    am = load_vad(model_dir)

    parts, noise = vad_recipe(), 8
    xi = synth(parts, [], noise)
    x = (xi.astype(np.float32) / 32768.0).astype(np.float32)
    print(f"vad audio: {len(x) / 16000:.2f} s")
    w = Writer(FIXTURE_DIR / "vad-cases.gguf", "vad")
    write_recipe(w, parts, [], noise, xi)
    for name, kw in [("offline_dynamic", {}), ("offline_fixed800", dict(max_end_silence_time=800)),
                     ("offline_fixed555", dict(max_end_silence_time=555))]:
        segs = run_offline(am, x, **kw)
        print(name, len(segs), segs[:6], "...")
        w.i32s(f"{name}.segments", flat(segs))
    assert run_offline(am, x) == run_offline(am, x), "not repeatable"
    for name, kw, seed in [("stream_fixed800", dict(max_end_silence_time=800), 1), ("stream_dynamic", {}, 2)]:
        sizes = call_sizes(len(x), seed)
        ev = run_stream(am, x, sizes, **kw)
        print(name, len(sizes), "calls", len(ev), "events", ev[:5])
        w.i32s(f"{name}.call_sizes", sizes)
        w.i32s(f"{name}.event_call", [e[0] for e in ev])
        w.i32s(f"{name}.event_start", [e[1] for e in ev])
        w.i32s(f"{name}.event_end", [e[2] for e in ev])
    s, db = record_frames(am, x)
    p0 = s[:, 0]
    print(f"frames {len(p0)}, p_sil min {p0.min():.4f} max {p0.max():.4f}; "
          f"closest to 0.2: {np.abs(p0 - 0.2).min():.2e}, to 0.25: {np.abs(p0 - 0.25).min():.2e}")
    w.tensor("frames.scores_head", s[:400])     # every class of the first 4 s
    w.tensor("frames.p_sil", p0)
    w.tensor("frames.decibel", db)
    w.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("out_dir", type=Path)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--released-size", action="store_true",
                   help="the released model's sizes (140/250/128/248: 0.43 M parameters), for speed")
    m.add_argument("--theta", type=float, default=9.0, help="loudness threshold (mean log-mel)")
    a = sub.add_parser("all")
    a.add_argument("--cache", type=Path, default=Path("/tmp/vad-cache"))
    pp = sub.add_parser("pipeline")
    pp.add_argument("--cache", type=Path, default=Path("/tmp/vad-cache"))
    ss = sub.add_parser("synth", help="write a fixture's audio as a wav")
    ss.add_argument("which", choices=["vad", "pipeline"])
    ss.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "model":
        build_model_dir(args.out_dir, args.seed, args.theta,
                        RELEASED_ENCODER_CONF if args.released_size else None)
    elif args.cmd == "pipeline":
        cmd_pipeline(args.cache)
    elif args.cmd == "synth":
        import soundfile as sf
        if args.which == "vad":
            xi = synth(vad_recipe(), [], 8)
        else:
            names = sorted(p.name for p in HELDOUT.glob("*.wav"))
            xi = synth(pipeline_recipe(names), [read_clip(n) for n in names], 6, seed=777)
        sf.write(str(args.out), xi, 16000, subtype="PCM_16")
    else:
        cmd_all(args.cache)
    return 0



# --------------------------------------------------------------------------------------
# pipeline (VAD -> ASR [-> punctuation]) with the bundled ASR model


def asr_dir_from_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Rebuild the FunASR model directory of a converted offline Paraformer GGUF (the bundled
    Weights/paraformer-zh-small.gguf, made from Tools/train_offline.yaml): config.yaml (that
    file's sections with the sizes from the GGUF), model.pt, am.mvn, tokens.json."""
    import json

    import gguf
    import torch
    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gguf_layout import read_field

    r = gguf.GGUFReader(str(gguf_path))
    f = r.fields
    g = lambda k: read_field(f[k])  # noqa: E731
    layout = g("paraformer.linear_layout") if "paraformer.linear_layout" in f else "out_in"
    assert layout == "out_in", layout
    with open(Path(__file__).resolve().parent / "train_offline.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg.pop("train", None)
    tokens = [str(t) for t in g("tokenizer.ggml.tokens")]
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg["frontend_conf"]["cmvn_file"] = str(out_dir / "am.mvn")
    cfg["tokenizer_conf"]["token_list"] = str(out_dir / "tokens.json")
    with open(out_dir / "config.yaml", "w") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False, allow_unicode=True)
    with open(out_dir / "tokens.json", "w") as fh:
        json.dump(tokens, fh, ensure_ascii=False)
    fo.write_cmvn(out_dir / "am.mvn", np.array(g("paraformer.cmvn.shift"), np.float32),
                  np.array(g("paraformer.cmvn.scale"), np.float32))
    state = {t.name: torch.from_numpy(np.array(t.data, dtype=np.float32).reshape(
        [int(x) for x in reversed(t.shape)])) for t in r.tensors}
    torch.save(state, out_dir / "model.pt")
    return out_dir


def cmd_pipeline(cache: Path, punc_gguf_dir: Path | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    from funasr import AutoModel

    asr_dir = asr_dir_from_gguf(REPO / "Weights" / "paraformer-zh-small.gguf", cache / "asr-small")
    vad_dir = build_model_dir(cache / "vad-speech", seed=1, theta=PIPELINE_THETA)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import convert_fsmn_vad

    convert_fsmn_vad.convert(vad_dir, FIXTURE_DIR / "vad-speech.gguf")
    clip_names = sorted(p.name for p in HELDOUT.glob("*.wav"))
    clips = [read_clip(n) for n in clip_names]
    parts, noise = pipeline_recipe(clip_names), 6
    xi = synth(parts, clips, noise, seed=777)
    x = (xi.astype(np.float32) / 32768.0).astype(np.float32)
    print(f"pipeline audio: {len(x) / 16000:.2f} s")
    kw = dict(device="cpu", ncpu=1, disable_update=True, disable_pbar=True, log_level="ERROR")
    import funasr.utils.fbank  # noqa: F401

    am = AutoModel(model=str(asr_dir), frontend_conf={"dither": 0.0}, vad_model=str(vad_dir), **kw)
    w = Writer(FIXTURE_DIR / "pipeline-cases.gguf", "pipeline")
    write_recipe(w, parts, clip_names, noise, xi)
    w.u32("fixture.synth_seed", 777)
    saved = am.vad_model.vad_opts.max_end_silence_time
    for name, extra in [("pipeline_dynamic", {}), ("pipeline_fixed800", dict(max_end_silence_time=800))]:
        vad_segs = am.vad_model.inference  # noqa: F841  (kept for clarity)
        res = am.generate(input=x, output_timestamp=True, **extra)
        am.vad_model.vad_opts.max_end_silence_time = saved
        segs = run_offline(AutoModel(model=str(vad_dir), **kw), x, **extra)
        assert len(res) == 1, res
        r = res[0]
        print(name, len(segs), "segments;", r["text"][:80], "...", len(r["timestamp"]), "timestamps")
        w.i32s(f"{name}.segments", flat(segs))
        w.str(f"{name}.text", r["text"])
        w.i32s(f"{name}.timestamp", flat(r["timestamp"]))
        texts = r["text"]

    # With punctuation: a random CT-Transformer (Tools/gen_punc_fixtures.py's recipe) over the
    # ASR vocabulary, its head fitted on the pipeline's own segment texts.
    import gen_punc_fixtures as gp

    torch.manual_seed(3)
    vocab = ["<blank>", "<s>", "</s>"] + [t for t in read_tokens(asr_dir) if len(t) == 1] + ["<unk>"]
    cfg = gp.model_conf(False, dict(d=32, heads=4, ffn=64, blocks=2), gp.PUNC_LIST)
    pam = gp.build(cfg, vocab)
    gp.perturb_norms(pam.model)
    words = texts.split()
    calib = [" ".join(words[i:i + 40]) for i in range(0, len(words), 40)]
    freq = gp.fit_head(pam, calib, streaming=False)
    print("punc class rates:", np.round(freq, 3))
    gp.save_model_dir(pam, cfg, vocab, cache / "punc-pipeline")
    gp.convert(cache / "punc-pipeline", FIXTURE_DIR / "punc-pipeline.gguf")
    pk = dict(cfg)
    pk.pop("model")
    pk["tokenizer_conf"] = dict(cfg["tokenizer_conf"], token_list=vocab)
    amp = AutoModel(model=str(asr_dir), frontend_conf={"dither": 0.0}, vad_model=str(vad_dir),
                    punc_model=cfg["model"], punc_kwargs=pk, **kw)
    amp.punc_model.load_state_dict(pam.model.state_dict())
    saved = amp.vad_model.vad_opts.max_end_silence_time
    for name, extra in [("punc_dynamic", {}), ("punc_fixed800", dict(max_end_silence_time=800))]:
        res = amp.generate(input=x, output_timestamp=True, sentence_timestamp=True, **extra)
        amp.vad_model.vad_opts.max_end_silence_time = saved
        r = res[0]
        sents = r.get("sentence_info", [])
        print(name, r["text"][:80], "...", len(r["timestamp"]), "timestamps,", len(sents), "sentences")
        w.str(f"{name}.text", r["text"])
        w.i32s(f"{name}.timestamp", flat(r["timestamp"]))
        w.strs(f"{name}.sentence_text", [x["text"] for x in sents] or ["-"])
        w.i32s(f"{name}.sentence_start", [x["start"] for x in sents])
        w.i32s(f"{name}.sentence_end", [x["end"] for x in sents])
        w.i32s(f"{name}.sentence_words", [len(x["timestamp"]) for x in sents])
    w.close()


def read_tokens(model_dir: Path):
    return fo.load_tokens(model_dir / "tokens.json")


PIPELINE_THETA = 9.0


if __name__ == "__main__":
    sys.exit(main())
