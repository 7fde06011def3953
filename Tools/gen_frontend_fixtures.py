#!/usr/bin/env python3
"""Makes the frontend parity fixtures: audio files and FunASR's features for them.

Runs FunASR 1.4.x's own code with dither 0.0:
- audio loading: funasr.utils.load_utils.load_audio_text_image_video (libsndfile through
  soundfile, channel mean, torchaudio Resample to 16 kHz);
- offline features: funasr.frontends.wav_frontend.WavFrontend (fbank alone with lfr 1/1 and
  no CMVN; LFR 7/6 + CMVN from a synthetic am.mvn);
- streaming features: WavFrontendOnline, fed chunk by chunk.

Writes into Tests/ParaformerTests/Fixtures/frontend/:
- the audio files (inputs of the Swift tests),
- am.mvn (the synthetic CMVN, in Kaldi nnet1 text as FunASR parses it),
- expected.gguf: named F32 tensors
    cmvn.shift, cmvn.scale                   [560]
    <case>.audio                             [N] 16 kHz mono samples FunASR's loader returns
                                             (only for cases that are resampled)
    <case>.fbank                             [T, 80]
    <case>.feats                             [T_lfr, 560] after LFR and CMVN
    <case>.online.<cfg>.sizes                [C] chunk sizes in samples (last call is final)
    <case>.online.<cfg>.counts               [C] LFR frames returned by each call
    <case>.online.<cfg>.feats                [sum(counts), 560]
  and metadata frontend.cases (string array).

Rerunning rewrites every file: the float WAV (libsndfile's PEAK chunk has a timestamp) and
the OGG (random stream serial) change bytes, so commit them together with expected.gguf.

Usage: ~/.venvs/funasr/bin/python Tools/gen_frontend_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

logging.disable(logging.WARNING)

from funasr.frontends.wav_frontend import WavFrontend, WavFrontendOnline  # noqa: E402
from funasr.utils.load_utils import extract_fbank, load_audio_text_image_video  # noqa: E402

import gguf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "Tests/ParaformerTests/Fixtures/frontend"
FS = 16000
SENTENCE = "Hello world, this is a test of the speech recognizer."


def make_am_mvn(path: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic am.mvn shaped like paraformer-large's (80-dim pattern tiled 7 times)."""
    shift80 = -(8.0 + 6.0 * rng.random(80)).astype(np.float32)
    scale80 = (1.0 / (2.0 + 3.0 * rng.random(80))).astype(np.float32)
    shift = np.tile(shift80, 7)
    scale = np.tile(scale80, 7)

    def row(v: np.ndarray) -> str:
        return "<LearnRateCoef> 0 [ " + " ".join(f"{x:.8g}" for x in v) + " ]\n"

    with open(path, "w", encoding="utf-8") as f:
        f.write("<Nnet>\n<Splice> 560 560\n[ 0 ]\n")
        f.write("<AddShift> 560 560\n" + row(shift))
        f.write("<Rescale> 560 560\n" + row(scale))
        f.write("</Nnet>\n")
    # Re-read through the text so the fixture holds exactly what FunASR parses.
    from funasr.frontends.wav_frontend import load_cmvn

    cmvn = load_cmvn(str(path)).numpy()
    return cmvn[0].astype(np.float32), cmvn[1].astype(np.float32)


def make_audio(out: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Writes every input file; returns case name -> path."""
    files: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-s", "170", "-w", str(raw), SENTENCE], check=True)
        speech, sr = sf.read(raw, dtype="float32")
        speech16 = Path(tmp) / "speech16k_full.wav"
        # sox only prepares inputs; -D: no dither, so the files are reproducible.
        subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-b", "16", str(speech16)], check=True)
        s16, _ = sf.read(speech16, dtype="int16")
        s16 = s16[: int(2.0 * FS)]  # 2 s keeps the fixtures small

        def write(name: str, data, rate: int, subtype: str) -> None:
            p = out / name
            sf.write(p, data, rate, subtype=subtype)
            files[p.stem] = p

        write("speech16k.wav", s16, FS, "PCM_16")
        noise = np.clip(rng.normal(0, 0.1, FS), -1, 1).astype(np.float32)
        write("noise16k.wav", noise, FS, "PCM_16")
        write("silence16k.wav", np.zeros(FS, np.int16), FS, "PCM_16")
        write("clip300ms.wav", s16[4000:8800], FS, "PCM_16")
        write("clip20ms.wav", s16[6000:6320], FS, "PCM_16")  # 320 samples < one frame
        # Other rates: sox (no dither) from the espeak original; FunASR resamples them.
        for rate in (8000, 22050, 44100, 48000):
            p = out / f"speech{rate}.wav"
            subprocess.run(
                ["sox", "-D", str(raw), "-r", str(rate), "-b", "16", str(p), "trim", "0", "1.2"],
                check=True)
            files[p.stem] = p
        stereo = np.stack([s16[:FS], (noise * 3000).astype(np.int16)], axis=1)
        write("stereo16k.wav", stereo, FS, "PCM_16")
        f32 = s16[:FS].astype(np.float32) / 32768
        write("speech24bit.wav", f32 * 0.9, FS, "PCM_24")
        write("speechfloat.wav", f32 * 0.7 + 0.01, FS, "FLOAT")
        write("speech8bit.wav", f32, FS, "PCM_U8")
        p = out / "speech16k.flac"
        sf.write(p, s16[:FS], FS, subtype="PCM_16", format="FLAC")
        files["speech16k_flac"] = p
        p = out / "speech16k.ogg"
        sf.write(p, f32, FS, subtype="VORBIS", format="OGG")
        files["speech16k_ogg"] = p
    return files


def offline(path: Path, am_mvn: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    audio = load_audio_text_image_video(str(path), fs=FS)
    fb = WavFrontend(n_mels=80, frame_length=25, frame_shift=10, lfr_m=1, lfr_n=1, dither=0.0)
    ft = WavFrontend(cmvn_file=str(am_mvn), n_mels=80, frame_length=25, frame_shift=10,
                     lfr_m=7, lfr_n=6, dither=0.0)
    fbank, _ = extract_fbank([audio], frontend=fb)
    feats, _ = extract_fbank([audio], frontend=ft)
    return audio.numpy().astype(np.float32), fbank[0].numpy(), feats[0].numpy()


def online(audio: np.ndarray, sizes: list[int], am_mvn: Path) -> tuple[np.ndarray, np.ndarray]:
    fe = WavFrontendOnline(cmvn_file=str(am_mvn), n_mels=80, frame_length=25, frame_shift=10,
                           lfr_m=7, lfr_n=6, dither=0.0)
    cache: dict = {}
    pos, counts, outs = 0, [], []
    for i, n in enumerate(sizes):
        chunk = torch.from_numpy(audio[pos : pos + n].copy())[None, :]
        pos += n
        feats, _ = fe(chunk, torch.tensor([chunk.shape[1]]), cache=cache,
                      is_final=(i == len(sizes) - 1))
        if feats.ndim == 3 and feats.shape[1] > 0:
            counts.append(feats.shape[1])
            outs.append(feats[0].numpy())
        else:
            counts.append(0)
    assert pos == len(audio)
    out = np.concatenate(outs) if outs else np.zeros((0, 560), np.float32)
    return np.array(counts, np.float32), out


def chunk_sizes(total: int, size: int) -> list[int]:
    sizes = [size] * (total // size)
    if total % size or not sizes:
        sizes.append(total % size)
    return sizes


def random_sizes(total: int, rng: np.random.Generator, empty_final: bool) -> list[int]:
    sizes: list[int] = []
    left = total
    while left > 0:
        n = int(min(left, rng.choice([0, 1, 159, 161, 399, 400, 401]) if rng.random() < 0.3
                    else rng.integers(1, 4000)))
        sizes.append(n)
        left -= n
    if empty_final:
        sizes.append(0)
    return sizes


def check_lfr_rule() -> None:
    """FunASR's LFR (offline and online-final) equals the clamp rule for every length."""
    from funasr.frontends.wav_frontend import apply_lfr

    for t in range(1, 400):
        x = torch.arange(t, dtype=torch.float32)[:, None].repeat(1, 2)
        got = apply_lfr(x, 7, 6)[:, ::2].numpy()
        want = np.array([[min(max(6 * i + j - 3, 0), t - 1) for j in range(7)]
                         for i in range((t + 5) // 6)], np.float32)
        assert np.array_equal(got, want), f"offline LFR rule differs at T={t}"
        if t >= 4:
            got, cache, _ = WavFrontendOnline.apply_lfr(x, 7, 6, is_final=True)
            want = np.array([[min(6 * i + j, t - 1) for j in range(7)]
                             for i in range(-(-(t - 3) // 6))], np.float32)
            assert np.array_equal(got[:, ::2].numpy(), want), f"online LFR rule differs at T={t}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20260)
    check_lfr_rule()

    am_mvn = out / "am.mvn"
    shift, scale = make_am_mvn(am_mvn, rng)
    files = make_audio(out, rng)

    w = gguf.GGUFWriter(str(out / "expected.gguf"), "paraformer-frontend-fixtures")
    w.add_tensor("cmvn.shift", shift)
    w.add_tensor("cmvn.scale", scale)
    cases = []
    for case, path in files.items():
        audio, fbank, feats = offline(path, am_mvn)
        # Deterministic: a second run must give the same bits (dither really is off).
        assert np.array_equal(offline(path, am_mvn)[2], feats), f"{case} not reproducible"
        if sf.info(str(path)).samplerate != FS:
            w.add_tensor(f"{case}.audio", audio)
        w.add_tensor(f"{case}.fbank", fbank.astype(np.float32))
        w.add_tensor(f"{case}.feats", feats.astype(np.float32))
        print(f"{case:16s} samples {len(audio):6d} fbank {fbank.shape} feats {feats.shape}")
        cases.append(case)
        if case in ("speech16k", "clip300ms", "noise16k"):
            configs = {
                "600ms": chunk_sizes(len(audio), 9600),
                "480ms": chunk_sizes(len(audio), 7680),
                "100ms": chunk_sizes(len(audio), 1600),
                "random": random_sizes(len(audio), rng, empty_final=False),
                "random_empty_final": random_sizes(len(audio), rng, empty_final=True),
            }
            for name, sizes in configs.items():
                counts, ofeats = online(audio, sizes, am_mvn)
                w.add_tensor(f"{case}.online.{name}.sizes", np.array(sizes, np.float32))
                w.add_tensor(f"{case}.online.{name}.counts", counts)
                # FunASR's online output equals its offline output up to float rounding
                # (torch batches the FFT and matmul differently); the tests compare the
                # other cases' online output with <case>.feats, so only speech16k keeps
                # its own copy (fixture size).
                diff = float(np.abs(ofeats - feats).max())
                assert ofeats.shape == feats.shape and diff < 1e-5, f"{case} {name}: {diff}"
                if case == "speech16k":
                    w.add_tensor(f"{case}.online.{name}.feats", ofeats.astype(np.float32))
                print(f"  online {name:18s} calls {len(sizes):3d} frames {ofeats.shape[0]}"
                      f" max |online - offline| {diff:.2g}")
    w.add_array("frontend.cases", cases)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    sys.exit(main())
