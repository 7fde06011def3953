#!/usr/bin/env python3
"""Makes the streaming (paraformer-online) parity fixtures with FunASR's own classes.

    ~/.venvs/funasr/bin/python Tools/gen_streaming_fixtures.py [--models DIR] [--out DIR]
        [--only CASE ...] [--large]

1. Random-weight streaming models (Tools/make_random_model.py `tiny-online`,
   `small-online`, seed 0) are built into --models (default /work/cache/streaming) and
   converted with Tools/convert.py into <out>/<config>.gguf.
2. Speech: one espeak-ng sentence (Mandarin + English), 16 kHz, trimmed to several lengths
   so that the last call ends mid-chunk with >= 960 samples (the frontend flushes), with
   < 960 samples (FunASR's "tail chunk": the cached lookahead features are re-encoded), or
   exactly on a chunk boundary (an empty final call, also a tail chunk).
3. For every case, FunASR's AutoModel is loaded from the model directory with the online
   frontend's dither set to 0 in config.yaml, and fed as FunASR's README does:
   `generate(input=speech[i*S:(i+1)*S], cache=cache, is_final=(i == last), chunk_size=...,
   encoder_chunk_look_back=..., decoder_chunk_look_back=...)` with S = chunk_size[1]*960 and
   last = len(speech) // S (README: total_chunk_num = int(len(speech)/S + 1)).
   The model's methods are wrapped (not changed) to record, per processed stride: the
   features entering the encoder, the encoder output over the window, the CIF weights after
   FunASR's look-ahead/left-context zeroing, the CIF carry-over, the number of tokens fired,
   the decoder logits and the token ids. Each call's returned text is recorded too.
4. FunASR's tail chunk multiplies its cached features by sqrt(D) a second time (the cache
   tensor is scaled in place by `xs_pad *= output_size**0.5` in
   SANMEncoderChunkOpt.forward_chunk). Each tail case is therefore run twice: as installed
   ("asis") and with the tail input cloned so the in-place scale cannot reach the cache
   ("fixed"). The Swift engine implements "fixed"; both are stored, and the generator
   prints whether they differ.
5. Fake streaming: the whole audio in one `generate(..., is_final=True)` call (FunASR's
   paraformer_fake_streaming); its text and tokens are stored and checked equal to the
   chunk-by-chunk run.

Writes <out>/expected.gguf: F32 tensors `<case>.<k>.features` [T, 560] (FEATURE_CASES only), `.encoder_out`
[T_window, D], `.alphas` [T_window], `.logits` [N, V] (when N > 0), `audio` [n] (the
speech; every case's audio is a prefix of it), and metadata `fixture.json`, a JSON string:
{"audio_lengths": {name: samples}, "cases": [{"name", "model", "audio", "chunk_size", "encoder_chunk_look_back",
"decoder_chunk_look_back", "call_sizes", "call_texts", "strides": [{"call", "final",
"tail", "frames", "window", "cif_carry_in", "cif_carry_out", "token_count", "token_ids",
"tokens"}], "asis": {...same for the tail stride, "call_texts"}, "fake_text",
"fake_token_ids"}]}.

--large MODEL_DIR: instead, the full-size check (never committed): converts the
`large-online` model directory (Tools/make_random_model.py large-online) into
<models>/large-online.gguf and writes <models>/large-online-expected.gguf with the cases of
LARGE_CASES; StreamParityTests picks them up when present.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

logging.disable(logging.WARNING)
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tools"))

import torch  # noqa: E402
import yaml  # noqa: E402

import gguf  # noqa: E402

torch.set_num_threads(1)

DEFAULT_OUT = ROOT / "Tests/ParaformerTests/Fixtures/streaming"
DEFAULT_MODELS = Path("/work/cache/streaming")
FS = 16000

SENTENCES = [
    ("cmn-latn-pinyin", "huan1 ying2 da4 jia1 lai2 ti3 yan4 yu3 yin1 shi2 bie2"),
    ("en-us", "today is a good day for a new model"),
]

# (case, model, audio, chunk_size, encoder_chunk_look_back, decoder_chunk_look_back)
CASES = [
    ("tiny_10_lb4_1_mid", "tiny-online", "mid", [0, 10, 5], 4, 1),
    ("tiny_10_lb4_1_tail", "tiny-online", "tail", [0, 10, 5], 4, 1),
    ("tiny_10_lb4_1_exact", "tiny-online", "exact", [0, 10, 5], 4, 1),
    ("tiny_8_lb4_1_mid", "tiny-online", "mid", [0, 8, 4], 4, 1),
    ("tiny_8_lb4_1_tail", "tiny-online", "tail8", [0, 8, 4], 4, 1),
    ("small_10_lb4_1_mid", "small-online", "mid", [0, 10, 5], 4, 1),
    ("small_8_lb4_1_tail", "small-online", "tail8", [0, 8, 4], 4, 1),
    ("small_5_10_5_lb0_0_mid", "small-online", "mid", [5, 10, 5], 0, 0),
    ("small_10_lbinf_2_tail", "small-online", "tail", [0, 10, 5], -1, 2),
    ("small_8_lb1_0_mid", "small-online", "mid", [0, 8, 4], 1, 0),
]

# Cases whose encoder input features are stored too (the online frontend's output; kept
# to a few so that the committed fixture stays small).
FEATURE_CASES = {"tiny_10_lb4_1_mid", "small_8_lb4_1_tail"}

LARGE_CASES = [
    ("large_10_lb4_1_mid", "large-online", "mid", [0, 10, 5], 4, 1),
    ("large_8_lb4_1_tail", "large-online", "tail8", [0, 8, 4], 4, 1),
]


# --------------------------------------------------------------------------------------
# Models and audio


MODEL_FIXTURES = ROOT / "Tests/ParaformerTests/Fixtures/model"


def build_models(models: Path, out: Path, names) -> dict:
    import make_random_model as mrm

    dirs = {}
    for name in names:
        d = models / name
        if not (d / "model.pt").exists():
            print(f"building {name} in {d}")
            mrm.build(name, d, seed=0)
        dirs[name] = d
        if name != "large-online":
            # The committed model files are shared with Tools/gen_model_fixtures.py (same
            # recipe and seed, so the same bytes): Tests/ParaformerTests/Fixtures/model/.
            subprocess.run(
                [sys.executable, str(ROOT / "Tools/convert.py"), str(d), "-o",
                 str(MODEL_FIXTURES / f"{name}.gguf"), "-q"], check=True)
    return dirs


def synth_speech() -> np.ndarray:
    import soundfile as sf

    parts = []
    with tempfile.TemporaryDirectory() as td:
        for i, (voice, text) in enumerate(SENTENCES):
            raw = Path(td) / f"raw{i}.wav"
            wav = Path(td) / f"s{i}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["sox", "-G", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16",
                            "-e", "signed-integer", str(wav)], check=True)
            x, sr = sf.read(str(wav), dtype="int16")
            assert sr == FS
            parts.append(x.astype(np.float32) / 32768.0)
    x = np.concatenate(parts)
    print(f"speech: {len(x)} samples ({len(x) / FS:.2f} s)")
    return x


def audios(speech: np.ndarray) -> dict:
    """Trimmed copies: the final call gets r samples (r >= 960, r < 960, r = 0)."""
    s10, s8 = 9600, 7680
    k10 = len(speech) // s10 - 1
    k8 = len(speech) // s8 - 1
    return {
        "mid": speech[: k10 * s10 + 5000],  # 600 ms chunks: last call 5000 samples
        "tail": speech[: k10 * s10 + 500],  # last call 500 < 960: tail chunk
        "exact": speech[: k10 * s10],  # last call empty: tail chunk
        "tail8": speech[: k8 * s8 + 700],  # 480 ms chunks: last call 700 samples
    }


# --------------------------------------------------------------------------------------
# FunASR with recording wrappers


def load_automodel(model_dir: Path, tmp: Path):
    """AutoModel from a copy of model_dir whose online frontend has dither 0."""
    from funasr import AutoModel

    d = tmp / model_dir.name
    if not d.exists():
        shutil.copytree(model_dir, d)
        with open(d / "config.yaml", encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        cfg.setdefault("frontend_conf", {})["dither"] = 0.0
        with open(d / "config.yaml", "w", encoding="utf-8") as f:
            yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
    am = AutoModel(model=str(d), device="cpu", disable_update=True, disable_pbar=True,
                   disable_log=True)
    assert am.kwargs["frontend"].dither == 0.0
    return am


class Recorder:
    """Wraps (does not modify) ParaformerStreaming's per-stride methods to record them."""

    def __init__(self, model, fix_tail: bool):
        self.model = model
        self.fix_tail = fix_tail
        self.strides = []
        self.call = 0
        enc_chunk = model.encode_chunk
        pred_chunk = model.predictor.forward_chunk
        dec_chunk = model.decoder.forward_chunk
        gen_chunk = model.generate_chunk
        rec = self

        def encode_chunk(speech, speech_lengths, cache=None, **kw):
            tail = bool(cache["encoder"]["tail_chunk"])
            if tail and rec.fix_tail:
                speech = speech.clone()  # keep FunASR's in-place *= sqrt(D) off the cache
            s = {"call": rec.call, "final": bool(kw.get("is_final", False)), "tail": tail,
                 "features": speech[0].detach().clone().numpy(),
                 "cif_carry_in": float(cache["encoder"]["cif_alphas"].reshape(-1)[0])}
            out, lens = enc_chunk(speech, speech_lengths, cache=cache, **kw)
            s["encoder_out"] = out[0].detach().clone().numpy()
            rec.strides.append(s)
            return out, lens

        def predictor_chunk(hidden, cache=None, **kw):
            p = model.predictor
            is_final = kw.get("is_final", False)
            with torch.no_grad():
                q = p.pad(hidden.transpose(1, 2))
                o = torch.relu(p.cif_conv1d(q)).transpose(1, 2)
                a = torch.sigmoid(p.cif_output(o))
                a = torch.nn.functional.relu(a * p.smooth_factor - p.noise_threshold)[0, :, 0]
                cs = cache["chunk_size"]
                a[: cs[0]] = 0.0
                if not is_final:
                    a[sum(cs[:2]):] = 0.0
            outs = pred_chunk(hidden, cache, **kw)
            s = rec.strides[-1]
            s["alphas"] = a.clone().numpy()
            s["token_count"] = int(outs[1].reshape(-1)[0])
            s["cif_carry_out"] = float(cache["cif_alphas"].reshape(-1)[0])
            return outs

        def decoder_chunk(memory, tgt, cache=None):
            x = dec_chunk(memory, tgt, cache)
            rec.strides[-1]["logits"] = x[0].detach().clone().numpy()
            return x

        def generate_chunk(*a, **kw):
            toks = gen_chunk(*a, **kw)
            rec.strides[-1]["tokens"] = list(toks)
            return toks

        model.encode_chunk = encode_chunk
        model.predictor.forward_chunk = predictor_chunk
        model.decoder.forward_chunk = decoder_chunk
        model.generate_chunk = generate_chunk


def run_case(am, audio: np.ndarray, chunk_size, enc_lb: int, dec_lb: int, fix_tail: bool):
    """FunASR README streaming loop; returns (call sizes, call texts, strides)."""
    model = am.model
    rec = Recorder(model, fix_tail)
    stride = chunk_size[1] * 960
    total = int(len(audio) / stride + 1)
    cache = {}
    sizes, texts = [], []
    try:
        for i in range(total):
            chunk = audio[i * stride: (i + 1) * stride]
            rec.call = i
            res = am.generate(input=chunk, cache=cache, is_final=(i == total - 1),
                              chunk_size=chunk_size, encoder_chunk_look_back=enc_lb,
                              decoder_chunk_look_back=dec_lb)
            sizes.append(len(chunk))
            texts.append(res[0]["text"] if res else "")
        fake = am.generate(input=audio, cache={}, is_final=True, chunk_size=chunk_size,
                           encoder_chunk_look_back=enc_lb, decoder_chunk_look_back=dec_lb)
    finally:
        for name in ("encode_chunk", "generate_chunk"):
            del model.__dict__[name]
        del model.predictor.__dict__["forward_chunk"]
        del model.decoder.__dict__["forward_chunk"]
    return sizes, texts, rec.strides, fake[0]["text"]


def ids_of(s, vocab_filter=(0, 1, 2)):
    if "logits" not in s:
        return []
    ids = s["logits"].argmax(-1).tolist()[: s["token_count"]]
    return [i for i in ids if i not in vocab_filter]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--large", type=Path, default=None, metavar="MODEL_DIR",
                    help="full-size check with this large-online model directory")
    a = ap.parse_args()
    a.models.mkdir(parents=True, exist_ok=True)
    cases = CASES
    if a.large:
        cases = LARGE_CASES
        a.out = a.models
        subprocess.run([sys.executable, str(ROOT / "Tools/convert.py"), str(a.large), "-o",
                        str(a.models / "large-online.gguf"), "-q"], check=True)
        dirs = {"large-online": a.large}
        names = ["large-online"]
    else:
        a.out.mkdir(parents=True, exist_ok=True)
        names = sorted({c[1] for c in CASES})
        dirs = build_models(a.models, a.out, names)
    speech = synth_speech()
    auds = audios(speech)

    expected = a.out / ("large-online-expected.gguf" if a.large else "expected.gguf")
    w = gguf.GGUFWriter(str(expected), "paraformer-streaming-fixtures")
    # every audio is a prefix of the speech: store it once, with the prefix lengths
    w.add_tensor("audio", speech.astype(np.float32))
    meta = {"audio_lengths": {k: len(x) for k, x in auds.items()}, "cases": []}
    with tempfile.TemporaryDirectory() as td:
        ams = {n: load_automodel(dirs[n], Path(td)) for n in names}
        for (case, mname, aname, cs, elb, dlb) in cases:
            if a.only and case not in a.only:
                continue
            am = ams[mname]
            audio = auds[aname]
            sizes, texts, strides, fake_text = run_case(am, audio, cs, elb, dlb, fix_tail=True)
            n = len(strides) // 2  # the fake-streaming run recorded the same strides again
            loop, fake = strides[:n], strides[n:]
            assert len(loop) == len(fake)
            fake_ids = [i for s in fake for i in ids_of(s)]
            loop_ids = [i for s in loop for i in ids_of(s)]
            assert fake_ids == loop_ids, (case, fake_ids, loop_ids)
            entry = {"name": case, "model": mname, "audio": aname, "chunk_size": cs,
                     "encoder_chunk_look_back": elb, "decoder_chunk_look_back": dlb,
                     "call_sizes": sizes, "call_texts": texts, "fake_text": fake_text,
                     "fake_token_ids": fake_ids, "strides": []}
            for k, s in enumerate(loop):
                ids = ids_of(s)
                entry["strides"].append({
                    "call": s["call"], "final": s["final"], "tail": s["tail"],
                    "frames": int(s["features"].shape[0]),
                    "window": int(s["encoder_out"].shape[0]),
                    "cif_carry_in": s["cif_carry_in"], "cif_carry_out": s["cif_carry_out"],
                    "token_count": s["token_count"], "token_ids": ids,
                    "tokens": s.get("tokens", [])})
                if case in FEATURE_CASES and not a.large:
                    w.add_tensor(f"{case}.{k}.features", s["features"].astype(np.float32))
                w.add_tensor(f"{case}.{k}.encoder_out", s["encoder_out"].astype(np.float32))
                w.add_tensor(f"{case}.{k}.alphas", s["alphas"].astype(np.float32))
                if "logits" in s:
                    w.add_tensor(f"{case}.{k}.logits", s["logits"].astype(np.float32))
            if loop[-1]["tail"]:
                sizes2, texts2, strides2, _ = run_case(am, audio, cs, elb, dlb, fix_tail=False)
                t = strides2[len(strides2) // 2 - 1]
                rel = float(np.abs(t["encoder_out"] - loop[-1]["encoder_out"]).max()
                            / max(np.abs(loop[-1]["encoder_out"]).max(), 1e-12))
                entry["asis"] = {"call_texts": texts2, "token_ids": ids_of(t),
                                 "token_count": t["token_count"],
                                 "encoder_out_rel_diff": rel}
                w.add_tensor(f"{case}.asis.encoder_out", t["encoder_out"].astype(np.float32))
                print(f"  {case}: tail chunk as installed vs fixed: encoder rel diff {rel:.3g}, "
                      f"ids {ids_of(t)} vs {ids_of(loop[-1])}")
            meta["cases"].append(entry)
            print(f"{case}: {len(loop)} strides, calls {sizes}, texts {texts}, "
                  f"tokens/stride {[s['token_count'] for s in entry['strides']]}")
    w.add_string("fixture.json", json.dumps(meta, ensure_ascii=False))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
