#!/usr/bin/env python3
"""Expected outputs of FunASR (the oracle) for the Swift tests, one GGUF per case.

Subcommands
  audio    OUT_DIR                     espeak-ng test wavs (16 kHz mono s16)
  offline  MODEL_DIR WAV... -o DIR     one fixture per wav: <model>__<wav>.gguf
  batch    MODEL_DIR WAV... -o FILE    the wavs decoded as one batch (batch_size = #wavs)
  stream   MODEL_DIR WAV... -o DIR --chunk-size 0,10,5 --look-back 4,1
                                       chunk-by-chunk ParaformerStreaming (README loop),
                                       plus the "fake streaming" (whole file) text
  all      [--cache /work/cache] [--large] [--only tiny,small,...]
                                       regenerate the committed set under
                                       Tests/ParaformerTests/Fixtures/model/ (models are
                                       built in the cache dir, .gguf copied into the repo)

FunASR runs through AutoModel in eval mode on CPU with frontend `dither: 0.0` passed as
frontend_conf (merged into config.yaml by FunASR); funasr.utils.fbank.fbank is wrapped to
assert that every call gets dither == 0, and `offline --check-repro` runs everything twice
and compares bit for bit. Stage tensors are captured by wrapping FunASR's own methods on the
loaded model (encode, calc_predictor, decoder.forward, cal_decoder_with_predictor,
ts_prediction_lfr6_standard, encoder/predictor/decoder forward_chunk), so the values are
exactly those of FunASR's inference path. See Tools/ORACLE_NOTES.md for the semantics.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "model"

# --------------------------------------------------------------------------------------
# audio

AUDIO = [
    # name, voice, text, speed
    ("zh_short", "cmn-latn-pinyin", "ni3 hao3 shi4 jie4", 150),
    ("zh_long", "cmn-latn-pinyin", "huan1 ying2 da4 jia1 lai2 ti3 yan4 da2 mo2 yuan4 tui1 chu1 de5 yu3 yin1", 185),
    ("en", "en-us", "Yesterday was Monday, today is Tuesday.", 160),
    ("mix", None, None, None),  # zh + en, built below
]
# streaming wavs: exact lengths so that the final stride is < 960 samples (tail-chunk path)
# for one chunk setting and >= 960 (frontend flush path) for the other.
STREAM_AUDIO = [
    ("stream_a", "zh_long", 3 * 9600 + 500),   # [0,10,5]: tail 500 < 960; [0,8,4]: 29300 % 7680 = 6260
    ("stream_b", "en", 3 * 7680 + 400),        # [0,8,4]: tail 400 < 960;  [0,10,5]: 23440 % 9600 = 4240
]


def make_audio(out_dir: Path) -> None:
    import soundfile as sf
    from make_random_model import espeak_wav

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, voice, text, speed in AUDIO:
        if voice is not None:
            espeak_wav(voice, text, out_dir / f"{name}.wav", speed=speed)
    tmp = out_dir / "_mix_en.wav"
    espeak_wav("en-us", "hello world", tmp, speed=170)
    zh, _ = sf.read(str(out_dir / "zh_short.wav"), dtype="int16")
    en, _ = sf.read(str(tmp), dtype="int16")
    tmp.unlink()
    sf.write(str(out_dir / "mix.wav"), np.concatenate([zh, np.zeros(1600, np.int16), en]), 16000,
             subtype="PCM_16")
    for name, src, n in STREAM_AUDIO:
        x, _ = sf.read(str(out_dir / f"{src}.wav"), dtype="int16")
        y = np.zeros(n, np.int16)
        y[: min(n, len(x))] = x[:n]
        sf.write(str(out_dir / f"{name}.wav"), y, 16000, subtype="PCM_16")
    for p in sorted(out_dir.glob("*.wav")):
        info = sf.info(str(p))
        print(f"{p.name}: {info.frames} samples, {info.frames / 16000:.3f} s")


# --------------------------------------------------------------------------------------
# FunASR loading and capture


def load_automodel(model_dir: Path):
    import torch

    torch.set_num_threads(1)
    from funasr import AutoModel

    am = AutoModel(model=str(model_dir), frontend_conf={"dither": 0.0}, device="cpu", ncpu=1,
                   disable_update=True, disable_pbar=True, log_level="ERROR")
    for fe in (am.kwargs["frontend"], frontend_of(am)):
        assert fe.dither == 0.0, f"frontend dither is {fe.dither}"
    return am


def frontend_of(am):
    """The frontend object generate() will actually use: AutoModel deep-copies its kwargs
    (frontend included) at construction and restores that snapshot before every call."""
    base = getattr(am, "_base_kwargs_map", None)
    if base and "kwargs" in base and base["kwargs"].get("frontend") is not None:
        return base["kwargs"]["frontend"]
    return am.kwargs["frontend"]


class Recorder:
    """Installs wrappers around FunASR functions/methods; records clones of their values."""

    def __init__(self):
        self.events = []
        self._undo = []

    def patch(self, obj, name, make):
        orig = getattr(obj, name)
        had_instance_attr = name in getattr(obj, "__dict__", {})
        setattr(obj, name, make(orig))

        def undo():
            if had_instance_attr or not hasattr(type(obj), name) or isinstance(obj, type(sys)):
                setattr(obj, name, orig)
            else:
                delattr(obj, name)

        self._undo.append(undo)

    def restore(self):
        for u in reversed(self._undo):
            u()
        self._undo = []

    def add(self, kind, **values):
        self.events.append((kind, values))

    def of(self, kind):
        return [v for k, v in self.events if k == kind]


def _c(t):
    import torch

    if isinstance(t, torch.Tensor):
        return t.detach().clone()
    return copy.deepcopy(t)


def install_fbank_guard(rec: Recorder):
    import funasr.utils.fbank as fb

    def make(orig):
        def fbank(waveform, *a, **kw):
            d = kw.get("dither", None)
            if d != 0.0:
                raise AssertionError(f"FunASR computed fbank with dither={d}")
            out = orig(waveform, *a, **kw)
            rec.add("fbank", waveform=_c(waveform), out=_c(out))
            return out

        return fbank

    rec.patch(fb, "fbank", make)


def install_offline(rec: Recorder, am):
    import funasr.models.paraformer.model as pm

    model = am.model
    fe = frontend_of(am)

    rec.patch(fe, "forward", lambda orig: (lambda input, input_lengths, **kw: _rec_ret(
        rec, "frontend", orig(input, input_lengths, **kw), waveform=_c(input), lengths=_c(input_lengths))))

    def make_encode(orig):
        def encode(speech, speech_lengths, **kw):
            s, sl = _c(speech), _c(speech_lengths)
            out = orig(speech, speech_lengths, **kw)
            rec.add("encode", speech=s, speech_lengths=sl, encoder_out=_c(out[0]), encoder_out_lens=_c(out[1]))
            return out

        return encode

    rec.patch(model, "encode", make_encode)

    def make_pred(orig):
        def calc_predictor(encoder_out, encoder_out_lens):
            out = orig(encoder_out, encoder_out_lens)
            rec.add("predictor", acoustic_embeds=_c(out[0]), token_num=_c(out[1]), alphas=_c(out[2]),
                    cif_peak=_c(out[3]))
            return out

        return calc_predictor

    rec.patch(model, "calc_predictor", make_pred)

    def make_dec(orig):
        def forward(*a, **kw):
            out = orig(*a, **kw)
            rec.add("decoder", logits=_c(out[0]))
            return out

        return forward

    rec.patch(model.decoder, "forward", make_dec)

    def make_cal(orig):
        def cal(*a, **kw):
            out = orig(*a, **kw)
            rec.add("log_probs", log_probs=_c(out[0]))
            return out

        return cal

    rec.patch(model, "cal_decoder_with_predictor", make_cal)

    def make_ts(orig):
        def ts(us_alphas, us_peaks, char_list, *a, **kw):
            ins = dict(arg_us_alphas=_c(us_alphas), arg_us_peaks=_c(us_peaks), char_list=list(char_list))
            out = orig(us_alphas, us_peaks, char_list, *a, **kw)
            rec.add("timestamp", result=copy.deepcopy(out[1]), text=out[0], kwargs=dict(kw), **ins)
            return out

        return ts

    rec.patch(pm, "ts_prediction_lfr6_standard", make_ts)


def _rec_ret(rec, kind, out, **values):
    rec.add(kind, out=_c(out[0]), out_lens=_c(out[1]), **values)
    return out


# --------------------------------------------------------------------------------------
# GGUF writing


class FixtureWriter:
    def __init__(self, path: Path, kind: str):
        import gguf

        self.gguf = gguf
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.w = gguf.GGUFWriter(str(path), "paraformer-fixture")
        self.w.add_custom_alignment(32)
        self.str("fixture.kind", kind)
        import funasr

        self.str("fixture.funasr_version", funasr.__version__)
        self.skipped = []

    def tensor(self, name, a):
        a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
        if a.ndim == 0:
            a = a.reshape(1)
        if a.size == 0:
            self.skipped.append(name)  # GGUF (and our reader) cannot hold empty tensors
            return
        self.w.add_tensor(name, a)

    def str(self, key, v):
        self.w.add_key_value(key, str(v), self.gguf.GGUFValueType.STRING)

    def u32(self, key, v):
        self.w.add_uint32(key, int(v))

    def i32(self, key, v):
        self.w.add_int32(key, int(v))

    def f32(self, key, v):
        self.w.add_float32(key, float(v))

    def strs(self, key, v):
        v = [str(x) for x in v]
        if v:
            self.w.add_key_value(key, v, self.gguf.GGUFValueType.ARRAY, sub_type=self.gguf.GGUFValueType.STRING)

    def i32s(self, key, v):
        v = [int(x) for x in v]
        if v:
            self.w.add_key_value(key, v, self.gguf.GGUFValueType.ARRAY, sub_type=self.gguf.GGUFValueType.INT32)

    def close(self):
        if self.skipped:
            self.strs("fixture.empty_tensors", self.skipped)
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()


# --------------------------------------------------------------------------------------
# offline


def run_offline(am, inputs, timestamps: bool, batch_size: int = 1):
    """One AutoModel.generate call with everything recorded. Returns (results, recorder)."""
    rec = Recorder()
    install_fbank_guard(rec)
    install_offline(rec, am)
    try:
        kw = dict(batch_size=batch_size)
        if timestamps:
            kw["output_timestamp"] = True
        res = am.generate(input=inputs, **kw)
    finally:
        rec.restore()
    return res, rec


def offline_case(am, wav: str):
    """All stage values of one utterance (batch 1), as numpy, plus text/timestamps."""
    import torch
    from funasr.utils.postprocess_utils import sentence_postprocess

    res, rec = run_offline(am, wav, timestamps=False)
    res_ts, rec_ts = run_offline(am, wav, timestamps=True)
    tokenizer = am.kwargs["tokenizer"]
    model = am.model
    (fe,) = rec.of("frontend")
    (enc,) = rec.of("encode")
    (pred,) = rec.of("predictor")
    decs, lps = rec.of("decoder"), rec.of("log_probs")
    fb = rec.of("fbank")
    assert len(fb) == 1
    T = int(enc["encoder_out_lens"][0])
    out = {}
    out["waveform"] = fe["waveform"][0, : int(fe["lengths"][0])].numpy()
    out["fbank"] = fb[0]["out"].numpy()
    out["features"] = fe["out"][0, : int(fe["out_lens"][0])].numpy()
    assert np.array_equal(out["features"], enc["speech"][0, :T].numpy())
    out["encoder_out"] = enc["encoder_out"][0, :T].numpy()
    alphas_tail = pred["alphas"][0].numpy()
    out["alphas_tail"] = alphas_tail
    out["alphas"] = alphas_tail[:T]
    out["cif_peak"] = pred["cif_peak"][0].numpy()
    n = int(pred["token_num"][0].round().long())
    out["token_num"] = np.array([float(pred["token_num"][0])])
    out["acoustic_embeds"] = pred["acoustic_embeds"][0, :n].numpy()
    meta = {"num_frames": T}
    if decs:
        logits = decs[0]["logits"][0, :n]
        out["logits"] = logits.numpy()
        out["log_probs"] = lps[0]["log_probs"][0, :n].numpy()
        ids = out["log_probs"].argmax(-1)
        assert np.array_equal(ids, out["logits"].argmax(-1))
        out["token_ids"] = ids.astype(np.float32)
        srt = np.sort(out["logits"], axis=-1)
        meta["min_top2_margin"] = float((srt[:, -1] - srt[:, -2]).min())
    else:
        ids = np.zeros(0, np.int64)
    kept = [int(i) for i in ids if i not in (model.eos, model.sos, model.blank_id)]
    out["token_ids_kept"] = np.array(kept, np.float32)
    tokens = tokenizer.ids2tokens(kept)
    text = res[0]["text"] if res else ""
    assert text == sentence_postprocess(tokens)[0] if tokens else True
    meta["text"] = text
    meta["tokens"] = tokens
    meta["text_ts"] = res_ts[0]["text"] if res_ts else ""
    meta["timestamps"] = [x for pair in (res_ts[0].get("timestamp", []) if res_ts else []) for x in pair]
    tss = rec_ts.of("timestamp")
    if tss:
        meta["token_timestamps"] = [x for pair in tss[0]["result"] for x in pair]
        meta["ts_text"] = tss[0]["text"]
        # what FunASR passed: us_alphas <- cif peaks ("fires"), us_peaks <- alphas (arg swap)
        out["ts_us_alphas_arg"] = tss[0]["arg_us_alphas"].numpy()
        out["ts_us_peaks_arg"] = tss[0]["arg_us_peaks"].numpy()
        assert np.array_equal(out["ts_us_alphas_arg"], out["cif_peak"][: T + 1])
        assert np.array_equal(out["ts_us_peaks_arg"], out["alphas_tail"][: T + 1])
    # FunASR's intended argument order (us_alphas = alphas, us_peaks = cif peaks), for reference
    if tokens:
        from funasr.utils.timestamp_tools import ts_prediction_lfr6_standard

        _, ts_fixed = ts_prediction_lfr6_standard(torch.from_numpy(out["alphas_tail"].copy()),
                                                  torch.from_numpy(out["cif_peak"].copy()),
                                                  list(tokens), vad_offset=0, upsample_rate=1)
        meta["token_timestamps_fixed_order"] = [x for pair in ts_fixed for x in pair]
        text_fixed, ts_fixed_merged, _ = sentence_postprocess(list(tokens), ts_fixed)
        meta["timestamps_fixed_order"] = [x for pair in ts_fixed_merged for x in pair]
    # the timestamp run must not change any stage value
    (pred2,) = rec_ts.of("predictor")
    assert torch.equal(pred2["alphas"], pred["alphas"])
    return out, meta


def write_offline(path: Path, model_name: str, wav: str, out: dict, meta: dict, lean: bool = False) -> None:
    w = FixtureWriter(path, "offline")
    if lean:
        # waveform and fbank depend only on the wav and the (shared) frontend settings:
        # they are identical in the tiny__<wav>.gguf fixture; omitted to keep the repo small
        out = {k: v for k, v in out.items() if k not in ("waveform", "fbank")}
        w.strs("fixture.omitted", ["waveform", "fbank"])
    w.str("fixture.model", model_name)
    w.str("fixture.wav", Path(wav).name)
    w.str("fixture.text", meta["text"])
    w.str("fixture.text_with_timestamp_mode", meta["text_ts"])
    w.strs("fixture.tokens", meta["tokens"])
    w.u32("fixture.num_tokens", len(meta["tokens"]))
    w.u32("fixture.num_frames", meta["num_frames"])
    w.i32s("fixture.timestamps", meta["timestamps"])
    w.i32s("fixture.token_timestamps", meta.get("token_timestamps", []))
    w.i32s("fixture.timestamps_fixed_order", meta.get("timestamps_fixed_order", []))
    w.i32s("fixture.token_timestamps_fixed_order", meta.get("token_timestamps_fixed_order", []))
    if "min_top2_margin" in meta:
        w.f32("fixture.min_top2_margin", meta["min_top2_margin"])
    w.str("fixture.decoder_output", "logits = decoder output_layer (raw); log_probs = log_softmax(logits)")
    for k in ("waveform", "fbank", "features", "encoder_out", "alphas", "alphas_tail", "cif_peak",
              "token_num", "acoustic_embeds", "logits", "log_probs", "token_ids", "token_ids_kept",
              "ts_us_alphas_arg", "ts_us_peaks_arg"):
        if k in out:
            w.tensor(k, out[k])
    w.close()


def cmd_offline(model_dir: Path, wavs, out_dir: Path, check_repro: bool = False, am=None, lean: bool = False):
    am = am or load_automodel(model_dir)
    name = model_dir.resolve().name
    written = []
    for wav in wavs:
        out, meta = offline_case(am, str(wav))
        if check_repro:
            out2, meta2 = offline_case(am, str(wav))
            for k in out:
                assert np.array_equal(out[k], out2[k]), f"not reproducible: {k}"
            assert meta == meta2
        p = out_dir / f"{name}__{Path(wav).stem}.gguf"
        write_offline(p, name, str(wav), out, meta, lean=lean)
        written.append(p)
        print(f"{p.name}: T={meta['num_frames']} N={int(out['token_num'][0])} text={meta['text']!r} "
              f"ts_text={meta['text_ts']!r} ts={meta['timestamps']}"
              + (" (reproducible x2)" if check_repro else ""))
    return written, am


# --------------------------------------------------------------------------------------
# batch


def cmd_batch(model_dir: Path, wavs, out_path: Path, am=None, lean: bool = False):
    am = am or load_automodel(model_dir)
    model = am.model
    wavs = [str(w) for w in wavs]
    res, rec = run_offline(am, wavs, timestamps=False, batch_size=len(wavs))
    res_ts, _ = run_offline(am, wavs, timestamps=True, batch_size=len(wavs))
    (enc,) = rec.of("encode")
    (pred,) = rec.of("predictor")
    (dec,) = rec.of("decoder")
    w = FixtureWriter(out_path, "batch")
    w.str("fixture.model", model_dir.resolve().name)
    w.u32("fixture.batch_size", len(wavs))
    w.strs("fixture.wavs", [Path(x).name for x in wavs])
    if lean:
        w.str("fixture.note", "u<i>.features omitted: identical (bit-exact) to the single-utterance fixture")
    report = []
    for i, wav in enumerate(wavs):
        single, meta = offline_case(am, wav)
        T = int(enc["encoder_out_lens"][i])
        n = int(pred["token_num"][i].round().long())
        feats = enc["speech"][i, :T].numpy()
        eo = enc["encoder_out"][i, :T].numpy()
        al = pred["alphas"][i, : T + 1].numpy()
        emb = pred["acoustic_embeds"][i, :n].numpy()
        lg = dec["logits"][i, :n].numpy()
        p = f"u{i}."
        if not lean:
            w.tensor(p + "features", feats)
        w.tensor(p + "encoder_out", eo)
        w.tensor(p + "alphas_tail", al)
        w.tensor(p + "acoustic_embeds", emb)
        w.tensor(p + "logits", lg)
        w.tensor(p + "token_ids", lg.argmax(-1).astype(np.float32))
        w.str(f"fixture.{p}text", res[i]["text"])
        w.str(f"fixture.{p}text_with_timestamp_mode", res_ts[i]["text"])
        w.i32s(f"fixture.{p}timestamps", [x for pr in res_ts[i].get("timestamp", []) for x in pr])
        w.u32(f"fixture.{p}num_frames", T)

        def rel(a, b):
            if a.shape != b.shape:
                return f"shape {a.shape} vs single {b.shape}"
            return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) if b.size else 0.0

        same = dict(
            features=float(np.abs(feats - single["features"]).max()),
            encoder_out=rel(eo, single["encoder_out"]),
            alphas=rel(al, single["alphas_tail"]),
            alphas_argmax_diff=int(np.abs(al - single["alphas_tail"]).argmax()) if al.shape == single["alphas_tail"].shape else -1,
            logits=rel(lg, single.get("logits", np.zeros((0,)))) if lg.size else 0.0,
            text_equal=res[i]["text"] == meta["text"],
            ts_equal=[x for pr in res_ts[i].get("timestamp", []) for x in pr] == meta["timestamps"],
        )
        report.append(same)
        w.u32(f"fixture.{p}same_text_as_single", int(same["text_equal"]))
        print(f"batch {Path(wav).name}: T={T} N={n} text={res[i]['text']!r} vs single: {same}")
    w.close()
    return report


# --------------------------------------------------------------------------------------
# streaming


def install_stream(rec: Recorder, am):
    model = am.model
    enc = model.encoder
    pred = model.predictor
    dec = model.decoder

    def make_enc(orig):
        def forward_chunk(xs_pad, ilens, cache=None, **kw):
            ins = dict(features=_c(xs_pad), tail_chunk=bool(cache["tail_chunk"]), start_idx=int(cache["start_idx"]),
                       feats_cache_in=_c(cache["feats"]))
            out = orig(xs_pad, ilens, cache=cache, **kw)
            rec.add("enc_chunk", encoder_out=_c(out[0]), feats_cache_out=_c(cache["feats"]), **ins)
            return out

        return forward_chunk

    rec.patch(enc, "forward_chunk", make_enc)

    layer0 = enc.encoders0[0]

    def make_l0(orig):
        def forward_chunk(x, *a, **kw):
            rec.add("enc_input", x=_c(x))
            return orig(x, *a, **kw)

        return forward_chunk

    rec.patch(layer0, "forward_chunk", make_l0)

    zs = []
    h = pred.cif_output.register_forward_hook(lambda m, i, o: zs.append(o.detach().clone()))
    rec._undo.append(h.remove)

    def make_pred(orig):
        def forward_chunk(hidden, cache=None, **kw):
            is_final = kw.get("is_final", False)
            cin_a, cin_h = _c(cache["cif_alphas"]), _c(cache["cif_hidden"])
            zs.clear()
            out = orig(hidden, cache=cache, **kw)
            z = zs[-1][0, :, 0]
            import torch

            a_raw = torch.relu(torch.sigmoid(z) * pred.smooth_factor - pred.noise_threshold)
            a = a_raw.clone()
            cs = cache["chunk_size"]
            a[: cs[0]] = 0.0
            if not is_final:
                a[sum(cs[:2]):] = 0.0
            seq = torch.cat([cin_a.reshape(-1).to(a.dtype), a])
            if is_final:
                seq = torch.cat([seq, torch.tensor([pred.tail_threshold], dtype=a.dtype)])
            rec.add("pred_chunk", alphas_raw=_c(a_raw), alphas_cif=seq, is_final=is_final,
                    cif_alphas_in=cin_a, cif_hidden_in=cin_h,
                    cif_alphas_out=_c(cache["cif_alphas"]), cif_hidden_out=_c(cache["cif_hidden"]),
                    acoustic_embeds=_c(out[0]) if int(out[1].max()) > 0 else None,
                    token_length=int(out[1].max()))
            return out

        return forward_chunk

    rec.patch(pred, "forward_chunk", make_pred)

    def make_dec(orig):
        def forward_chunk(memory, tgt, cache=None):
            out = orig(memory, tgt, cache)
            rec.add("dec_chunk", logits=_c(out))
            return out

        return forward_chunk

    rec.patch(dec, "forward_chunk", make_dec)

    def make_gen(orig):
        def generate_chunk(*a, **kw):
            n_before = len(rec.of("dec_chunk"))
            out = orig(*a, **kw)
            rec.add("gen_chunk", tokens=list(out), decoded=len(rec.of("dec_chunk")) > n_before,
                    is_final=bool(kw.get("is_final", False)))
            return out

        return generate_chunk

    rec.patch(model, "generate_chunk", make_gen)


def stream_case(am, wav: str, chunk_size, enc_lb: int, dec_lb: int):
    import soundfile as sf
    import torch
    from funasr.utils.postprocess_utils import sentence_postprocess

    speech, sr = sf.read(wav, dtype="float32")
    assert sr == 16000 and speech.ndim == 1
    stride = chunk_size[1] * 960
    # the loop of FunASR's README / examples/industrial_data_pretraining/paraformer_streaming/demo.py
    # (its `int(len((speech)-1)/chunk_stride+1)` is len(speech)//stride + 1 chunks).
    total = int(len(speech - 1) / stride + 1)
    cache = {}
    rec = Recorder()
    install_fbank_guard(rec)
    install_stream(rec, am)
    call_texts, call_bounds = [], []
    try:
        for i in range(total):
            chunk = speech[i * stride : (i + 1) * stride]
            is_final = i == total - 1
            n0 = len(rec.of("enc_chunk"))
            res = am.generate(input=chunk, cache=cache, is_final=is_final, chunk_size=chunk_size,
                              encoder_chunk_look_back=enc_lb, decoder_chunk_look_back=dec_lb)
            call_texts.append(res[0]["text"] if res else "")
            call_bounds.append((n0, len(rec.of("enc_chunk")), i * stride, min(len(speech), (i + 1) * stride)))
    finally:
        rec.restore()
    # fake streaming: the whole file in one call (is_final forced true for file input)
    fake = am.generate(input=wav, cache={}, chunk_size=chunk_size, encoder_chunk_look_back=enc_lb,
                       decoder_chunk_look_back=dec_lb)
    fake_text = fake[0]["text"] if fake else ""
    return rec, call_texts, call_bounds, fake_text, len(speech)


def cmd_stream(model_dir: Path, wavs, out_dir: Path, chunk_size, enc_lb, dec_lb, am=None):
    import torch
    from funasr.utils.postprocess_utils import sentence_postprocess

    am = am or load_automodel(model_dir)
    model = am.model
    d = model.encoder.output_size()
    name = model_dir.resolve().name
    results = []
    for wav in wavs:
        rec, call_texts, bounds, fake_text, n_samples = stream_case(am, str(wav), chunk_size, enc_lb, dec_lb)
        encs, inputs, preds, gens = rec.of("enc_chunk"), rec.of("enc_input"), rec.of("pred_chunk"), rec.of("gen_chunk")
        decs = rec.of("dec_chunk")
        assert len(encs) == len(inputs) == len(preds) == len(gens)
        tag = f"cs{'-'.join(map(str, chunk_size))}_lb{enc_lb}-{dec_lb}"
        p = out_dir / f"{name}__{Path(wav).stem}__{tag}.gguf"
        w = FixtureWriter(p, "streaming")
        w.str("fixture.model", name)
        w.str("fixture.wav", Path(wav).name)
        w.u32("fixture.num_samples", n_samples)
        w.i32s("fixture.chunk_size", chunk_size)
        w.i32("fixture.encoder_chunk_look_back", enc_lb)
        w.i32("fixture.decoder_chunk_look_back", dec_lb)
        w.u32("fixture.num_calls", len(call_texts))
        w.u32("fixture.num_chunks", len(encs))
        w.strs("fixture.call_texts", call_texts)
        w.i32s("fixture.call_sample_ranges", [x for b in bounds for x in b[2:]])
        w.i32s("fixture.call_chunk_ranges", [x for b in bounds for x in b[:2]])
        all_tokens = [t for g in gens for t in g["tokens"]]
        w.str("fixture.text", "".join(call_texts))
        w.str("fixture.text_all_tokens", sentence_postprocess(all_tokens)[0] if all_tokens else "")
        w.str("fixture.fake_streaming_text", fake_text)
        w.strs("fixture.tokens", all_tokens)
        w.u32("fixture.num_tokens", len(all_tokens))
        quirk = []
        di = 0
        for j, (e, x, pr, g) in enumerate(zip(encs, inputs, preds, gens)):
            c = f"chunk{j}."
            w.u32(f"fixture.{c}is_final", int(pr["is_final"]))
            w.u32(f"fixture.{c}tail_chunk", int(e["tail_chunk"]))
            w.u32(f"fixture.{c}start_idx", e["start_idx"])
            w.u32(f"fixture.{c}num_tokens", pr["token_length"])
            w.strs(f"fixture.{c}tokens", g["tokens"])
            w.tensor(c + "features", e["features"][0])
            if e["tail_chunk"] or j == 0:
                # the window as the first layer sees it (cache rows + x*sqrt(d) + PE); kept only
                # for chunk 0 and the tail chunk to keep the files small
                w.tensor(c + "encoder_input", x["x"][0])
            w.tensor(c + "encoder_out", e["encoder_out"][0])
            w.tensor(c + "alphas", pr["alphas_raw"])
            w.tensor(c + "alphas_cif", pr["alphas_cif"])
            w.tensor(c + "cif_alphas_in", pr["cif_alphas_in"].reshape(-1))
            w.tensor(c + "cif_hidden_in", pr["cif_hidden_in"].reshape(-1))
            w.tensor(c + "cif_alphas_out", pr["cif_alphas_out"].reshape(-1))
            w.tensor(c + "cif_hidden_out", pr["cif_hidden_out"].reshape(-1))
            if pr["acoustic_embeds"] is not None:
                w.tensor(c + "acoustic_embeds", pr["acoustic_embeds"][0])
            if g["decoded"]:
                lg = decs[di]["logits"][0]
                di += 1
                w.tensor(c + "logits", lg)
                w.tensor(c + "token_ids", lg.argmax(-1).float())
            if e["tail_chunk"]:
                # REFERENCE.md 5.3: is the cached (already scaled + PE'd) window tail scaled again?
                prev = inputs[j - 1]["x"][0][-(chunk_size[0] + chunk_size[2]):]
                xin = x["x"][0]
                twice = torch.allclose(xin, prev * d ** 0.5, rtol=1e-5, atol=1e-4)
                once = torch.allclose(xin, prev, rtol=1e-5, atol=1e-4)
                quirk.append("scaled_twice" if twice else ("unchanged" if once else "other"))
        w.strs("fixture.tail_chunk_check", quirk)
        w.close()
        info = dict(file=p.name, chunks=len(encs), calls=call_texts, text="".join(call_texts),
                    all_tokens_text=sentence_postprocess(all_tokens)[0] if all_tokens else "",
                    fake=fake_text, tail=quirk)
        results.append(info)
        print(info)
    return results


# --------------------------------------------------------------------------------------
# all


def cmd_all(cache: Path, large: bool, only=None):
    import make_random_model as mrm
    import convert
    import check_convert

    audio_dir = FIXTURE_DIR / "audio"
    make_audio(audio_dir)
    offline_wavs = [audio_dir / f"{n}.wav" for n in ("zh_short", "zh_long", "en", "mix")]
    stream_wavs = [audio_dir / f"{n}.wav" for n, _, _ in STREAM_AUDIO]
    names = ["tiny", "small", "tiny-online", "small-online"] + (["large", "large-online"] if large else [])
    for name in names:
        if only and name not in only:
            continue
        mdir = cache / "models" / name
        if not (mdir / "model.pt").exists():
            mrm.build(name, mdir)
        gg = (FIXTURE_DIR if not name.startswith("large") else cache / "models") / f"{name}.gguf"
        convert.convert(mdir, gg)
        errs, *_ = check_convert.check(mdir, gg)
        assert not errs, errs
        out_dir = FIXTURE_DIR if not name.startswith("large") else cache / "fixtures"
        am = load_automodel(mdir)
        if not name.endswith("-online"):
            cmd_offline(mdir, offline_wavs, out_dir, check_repro=(name == "tiny"), am=am,
                        lean=False)  # the Swift tests read `waveform` from every offline fixture
            cmd_batch(mdir, [audio_dir / "zh_short.wav", audio_dir / "en.wav", audio_dir / "zh_long.wav"],
                      out_dir / f"{name}__batch.gguf", am=am, lean=True)
        else:
            for cs, lb in (([0, 10, 5], (4, 1)), ([0, 8, 4], (4, 1)), ([0, 10, 5], (0, 0))):
                cmd_stream(mdir, stream_wavs, out_dir, cs, lb[0], lb[1], am=am)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("audio")
    a.add_argument("out_dir", type=Path)
    o = sub.add_parser("offline")
    o.add_argument("model_dir", type=Path)
    o.add_argument("wavs", nargs="+", type=Path)
    o.add_argument("-o", "--out-dir", type=Path, required=True)
    o.add_argument("--check-repro", action="store_true")
    b = sub.add_parser("batch")
    b.add_argument("model_dir", type=Path)
    b.add_argument("wavs", nargs="+", type=Path)
    b.add_argument("-o", "--output", type=Path, required=True)
    s = sub.add_parser("stream")
    s.add_argument("model_dir", type=Path)
    s.add_argument("wavs", nargs="+", type=Path)
    s.add_argument("-o", "--out-dir", type=Path, required=True)
    s.add_argument("--chunk-size", default="0,10,5")
    s.add_argument("--look-back", default="4,1")
    al = sub.add_parser("all")
    al.add_argument("--cache", type=Path, default=Path("/work/cache"))
    al.add_argument("--large", action="store_true", help="also large / large-online (outputs in the cache dir)")
    al.add_argument("--only", default=None, help="comma-separated subset of model names")
    args = ap.parse_args(argv)
    if args.cmd == "audio":
        make_audio(args.out_dir)
    elif args.cmd == "offline":
        cmd_offline(args.model_dir, args.wavs, args.out_dir, args.check_repro)
    elif args.cmd == "batch":
        cmd_batch(args.model_dir, args.wavs, args.output)
    elif args.cmd == "stream":
        cs = [int(x) for x in args.chunk_size.split(",")]
        lb = [int(x) for x in args.look_back.split(",")]
        cmd_stream(args.model_dir, args.wavs, args.out_dir, cs, lb[0], lb[1])
    elif args.cmd == "all":
        cmd_all(args.cache, args.large, args.only.split(",") if args.only else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
