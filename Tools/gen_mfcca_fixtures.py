#!/usr/bin/env python3
"""MFCCA fixtures: random-weight models built with FunASR 0.8.8's classes, multi-channel
audio, and 0.8.8's outputs at every stage (../shared/MFCCA-ORACLE.md).

    PYTHONPATH=~/.cache/funasr088 ~/.venvs/funasr/bin/python Tools/gen_mfcca_fixtures.py \
        --out Tests/ParaformerTests/Fixtures/mfcca [--size tiny|released] [--model-dir DIR]

For each model it writes, under --out:
  - the 0.x model directory (config.yaml with the token list inline, model.pb, am.mvn as an
    np.load-able ESPnet stats file, decoding.yaml, configuration.json) at --model-dir
    (default OUT/<model>; the committed fixtures keep only the converted GGUF);
  - <model>.gguf : the converted model (Tools/convert.py);
  - audio/<clip>.wav : 16 kHz int16 clips of 1, 2, 4, 6 and 8 channels;
  - <model>__<clip>.gguf : expected tensors `features` [C, T, 80] (after GlobalMVN),
    `encoder_out` [T', D], `ctc_logp` [T', V], and metadata `expected.*`: the n-best (token
    ids, total score, decoder and CTC scores), the final token ids and the text, for the
    file's search defaults and for one override (beam 4, ctc_weight 0.3).
  - <model>__text.gguf : sentence_postprocess cases (token lists → 0.8.8's text).

The oracle is 0.8.8's `Speech2TextMFCCA` driven as `inference_mfcca` drives it, on audio read
with soundfile (0.8.8's own loader is broken on torchaudio 2.11: MFCCA-ORACLE.md §1).

Random weights are arranged so each stage matters (MFCCA-ORACLE.md §0): weights drawn with
unit-variance-preserving scales, BatchNorm statistics and LayerNorm affines randomised, the
four fusion Conv2d scaled ×√3 (biases ×0.1) so the signal survives them, and the CTC blank
bias calibrated so that blank wins on about 70 % of frames; the CTC layer's weights are
scaled ×12 so its per-frame distributions are confident, and the decoder's <eos> bias raised
by 3, so that the search ends by end detection with a few tokens (a random CTC and decoder
never end: every hypothesis runs to T' tokens). The generator checks that the
texts are non-empty, differ between clips, and stay the same in float64 and under 1e-5
weight perturbations (so parity does not hang on a near tie).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

SR = 16000

# Tokens: <blank>, <unk>, `src` (speaker change, treated as an alphabetic word by
# sentence_postprocess), a few English words and Chinese characters, and <sos/eos> last.
TOKENS = (["<blank>", "<unk>", "src", "hello", "world", "ok", "yes", "no", "the"]
          + list("我们你好的是在不了有这个中国人大一会说要上来时到和就为")
          + ["<sos/eos>"])

SIZES = {
    # small: quick parity fixtures (committed)
    "tiny": dict(d=32, heads=4, enc_units=64, enc_blocks=2, dec_units=64, dec_blocks=2,
                 kernel=15, macaron=False, tokens=TOKENS),
    # the same with macaron_style (a second, half-step FFN before the attention)
    "tiny-macaron": dict(d=32, heads=4, enc_units=64, enc_blocks=2, dec_units=64, dec_blocks=2,
                         kernel=15, macaron=True, tokens=TOKENS),
    # the released model's size (about 45 M parameters, vocab 4950): speed only
    "released": dict(d=256, heads=4, enc_units=2048, enc_blocks=12, dec_units=2048,
                     dec_blocks=6, kernel=31, macaron=False, tokens=None),
}


def make_config(size: str) -> dict:
    s = SIZES[size]
    tokens = s["tokens"] or (["<blank>", "<unk>", "src"] + [f"t{i}" for i in range(4946)] + ["<sos/eos>"])
    return {
        "model": "mfcca",
        "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.1, "length_normalized_loss": False,
                       "mask_ratio": 0.0},
        "input_size": None,
        "frontend": "multichannelfrontend",
        "frontend_conf": {"fs": SR, "window": "hann", "n_fft": 512, "frame_length": 25,
                          "frame_shift": 10, "n_mels": 80},
        "specaug": None,
        "normalize": "global_mvn",
        "normalize_conf": {},
        "preencoder": None,
        "encoder": "mfcca_enc",
        "encoder_conf": {"output_size": s["d"], "attention_heads": s["heads"],
                         "linear_units": s["enc_units"], "num_blocks": s["enc_blocks"],
                         "dropout_rate": 0.1, "positional_dropout_rate": 0.1,
                         "attention_dropout_rate": 0.0, "input_layer": "conv2d",
                         "normalize_before": True, "rel_pos_type": "legacy",
                         "pos_enc_layer_type": "rel_pos",
                         "selfattention_layer_type": "rel_selfattn",
                         "activation_type": "swish", "macaron_style": s["macaron"],
                         "use_cnn_module": True, "cnn_module_kernel": s["kernel"]},
        "decoder": "transformer",
        "decoder_conf": {"attention_heads": s["heads"], "linear_units": s["dec_units"],
                         "num_blocks": s["dec_blocks"], "dropout_rate": 0.1,
                         "positional_dropout_rate": 0.1, "self_attention_dropout_rate": 0.0,
                         "src_attention_dropout_rate": 0.0},
        "ctc_conf": {"dropout_rate": 0.0, "ctc_type": "builtin", "reduce": True,
                     "ignore_nan_grad": True},
        "init": None,
        "token_type": "char",
        "bpemodel": None,
        "token_list": tokens,
    }


DECODING = {"beam_size": 10, "ctc_weight": 0.5, "penalty": 0.0, "maxlenratio": 0.0,
            "minlenratio": 0.0, "lm_weight": 0.0, "nbest": 1}


def write_stats(path: Path, n_mels: int, rng) -> None:
    """An ESPnet feats_stats.npz (count / sum / sum_square), saved under the name am.mvn."""
    count = 1000.0
    mean = rng.normal(-8.0, 2.0, n_mels)
    std = rng.uniform(1.5, 4.0, n_mels)
    with open(path, "wb") as f:
        np.savez(f, count=np.array(count), sum=mean * count,
                 sum_square=(std ** 2 + mean ** 2) * count)


def build(model_dir: Path):
    from funasr.build_utils.build_model_from_file import build_model_from_file
    return build_model_from_file(model_dir / "config.yaml", model_dir / "model.pb",
                                 model_dir / "am.mvn", "cpu")[0].eval()


def randomise(model, rng_seed: int) -> None:
    g = torch.Generator().manual_seed(rng_seed)

    def normal(shape, std):
        return torch.randn(shape, generator=g) * std

    sd = model.state_dict()
    new = {}
    for name, t in sd.items():
        if not t.is_floating_point() or name.startswith("normalize.") or name.endswith("melmat"):
            new[name] = t
            continue
        if name.endswith("running_mean"):
            new[name] = normal(t.shape, 0.3)
        elif name.endswith("running_var"):
            new[name] = torch.rand(t.shape, generator=g) * 1.5 + 0.5
        elif "norm" in name and name.endswith(".weight") and t.dim() == 1:
            new[name] = 1.0 + normal(t.shape, 0.2)
        elif name.endswith(".bias") or "pos_bias" in name:
            new[name] = normal(t.shape, 0.1)
        elif t.dim() >= 2:
            fan_in = int(np.prod(t.shape[1:]))
            new[name] = normal(t.shape, 1.0 / math.sqrt(fan_in))
        else:
            new[name] = normal(t.shape, 0.1)
    for i in range(1, 5):
        new[f"encoder.conv{i}.weight"] = new[f"encoder.conv{i}.weight"] * math.sqrt(3.0)
        new[f"encoder.conv{i}.bias"] = new[f"encoder.conv{i}.bias"] * 0.1
    # A confident CTC (peaked per-frame distributions), so that its prefix score drives the
    # search to <eos> once the prefix explains the frames (a random one never ends early).
    new["ctc.ctc_lo.weight"] = new["ctc.ctc_lo.weight"] * 12.0
    # <eos> among the decoder's likelier tokens (a trained decoder knows when to stop).
    eos = sd["decoder.output_layer.bias"].shape[0] - 1
    new["decoder.output_layer.bias"][eos] += 3.0
    # The decoder's token embedding: unit scale (it is multiplied by √D before the PE).
    new["decoder.embed.0.weight"] = normal(sd["decoder.embed.0.weight"].shape, 1.0 / math.sqrt(sd["decoder.embed.0.weight"].shape[1]))
    model.load_state_dict(new)


def make_model(model_dir: Path, size: str, seed: int) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    cfg = make_config(size)
    with open(model_dir / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, allow_unicode=True, sort_keys=False)
    with open(model_dir / "decoding.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(DECODING, f, sort_keys=False)
    with open(model_dir / "configuration.json", "w", encoding="utf-8") as f:
        json.dump({"framework": "pytorch", "task": "auto-speech-recognition",
                   "model": {"type": "generic-asr", "model_config": {"mode": "mfcca"}},
                   "pipeline": {"type": "asr-inference"}}, f, indent=2)
    rng = np.random.default_rng(seed)
    write_stats(model_dir / "am.mvn", 80, rng)
    from funasr.build_utils.build_model import build_model
    args = copy.deepcopy(cfg)
    args["cmvn_file"] = str(model_dir / "am.mvn")
    ns = argparse.Namespace(**args)
    ns.task_name = "asr"
    model = build_model(ns).eval()
    randomise(model, seed)
    torch.save(model.state_dict(), model_dir / "model.pb")


def calibrate_blank(model_dir: Path, clips, target: float = 0.7) -> None:
    """Set ctc.ctc_lo.bias[blank] so that blank is the argmax on `target` of the frames."""
    model = build(model_dir)
    margins = []
    with torch.no_grad():
        for x in clips:
            enc = encode(model, x)[1]
            lo = model.ctc.ctc_lo(enc)
            other = lo[:, 1:].max(-1).values
            margins.append((other - lo[:, 0]).numpy())
    m = np.concatenate(margins)
    shift = float(np.quantile(m, target))
    sd = torch.load(model_dir / "model.pb")
    sd["ctc.ctc_lo.bias"][0] += shift
    torch.save(sd, model_dir / "model.pb")


def make_audio(n_channels: int, seconds: float, seed: int) -> np.ndarray:
    """[T, C] float in [-1, 1]: one source of tone sweeps and noise bursts, reaching each
    microphone with its own delay, gain and noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n + 400) / SR
    src = np.zeros(n + 400)
    pos = 0
    while pos < n:
        seg = int(rng.uniform(0.08, 0.25) * SR)
        tt = t[: min(seg, n + 400 - pos)]
        kind = rng.integers(3)
        if kind == 0:
            f0 = rng.uniform(100, 300)
            sig = sum(np.sin(2 * np.pi * f0 * k * tt + rng.uniform(0, 6)) / k for k in range(1, 6))
        elif kind == 1:
            f1, f2 = rng.uniform(300, 3000, 2)
            sig = np.sin(2 * np.pi * (f1 * tt + (f2 - f1) * tt ** 2 / (2 * tt[-1] + 1e-9)))
        else:
            sig = rng.normal(0, 0.5, len(tt))
        env = np.hanning(len(tt)) * rng.uniform(0.1, 1.0)
        src[pos: pos + len(tt)] += sig * env
        pos += len(tt) + int(rng.uniform(0.0, 0.1) * SR)
    out = np.zeros((n, n_channels))
    for c in range(n_channels):
        delay = int(rng.integers(0, 200))
        out[:, c] = src[delay: delay + n] * rng.uniform(0.3, 0.6) + rng.normal(0, 0.01, n)
    return np.clip(out, -0.99, 0.99)


def read_wav(path: Path) -> np.ndarray:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    assert sr == SR
    return x


def encode(model, x: np.ndarray):
    """What Speech2TextMFCCA.__call__ and MFCCA.encode do, with the stages kept."""
    speech = torch.from_numpy(x).unsqueeze(0)
    if speech.dim() == 3:
        speech = torch.squeeze(speech, 2)  # 0.8.8: [1, T, 1] → [1, T]
    lengths = speech.new_full([1], dtype=torch.long, fill_value=speech.size(1))
    with torch.no_grad():
        feats, flens, ch = model._extract_feats(speech, lengths)
        feats = feats.clone()
        if model.normalize is not None:
            feats, flens = model.normalize(feats, flens)
        enc, _ = model.encode(speech, lengths)
    return feats.clone(), enc[0]


def speech2text(model_dir: Path, beam: int, ctc_weight: float):
    from funasr.bin.asr_infer import Speech2TextMFCCA
    return Speech2TextMFCCA(asr_train_config=str(model_dir / "config.yaml"),
                            asr_model_file=str(model_dir / "model.pb"),
                            cmvn_file=str(model_dir / "am.mvn"), device="cpu", beam_size=beam,
                            ctc_weight=ctc_weight, penalty=0.0, maxlenratio=0.0,
                            minlenratio=0.0, lm_weight=0.0, nbest=1)


def beam_search(model, beam: int, ctc_weight: float):
    """The BeamSearch that Speech2TextMFCCA.__init__ builds (asr_infer.py), for any settings."""
    from funasr.modules.beam_search.beam_search import BeamSearch
    from funasr.modules.scorers.ctc import CTCPrefixScorer
    from funasr.modules.scorers.length_bonus import LengthBonus
    scorers = {"decoder": model.decoder, "ctc": CTCPrefixScorer(ctc=model.ctc, eos=model.eos),
               "length_bonus": LengthBonus(len(model.token_list))}
    weights = {"decoder": 1.0 - ctc_weight, "ctc": ctc_weight, "lm": 0.0, "ngram": 0.0,
               "length_bonus": 0.0}
    return BeamSearch(beam_size=beam, weights=weights, scorers=scorers, sos=model.sos, eos=model.eos,
                      vocab_size=len(model.token_list), token_list=model.token_list,
                      pre_beam_score_key=None if ctc_weight == 1.0 else "full").eval()


def decode(model, search, x: np.ndarray):
    """All ended hypotheses of the search, and the text as Speech2TextMFCCA.__call__ and
    inference_mfcca make it (yseq[1:-1], id 0 removed, sentence_postprocess(tokens)[0])."""
    _, enc = encode(model, x)
    return decode_from_encoder(model, search, enc)


def decode_from_encoder(model, search, enc):
    from funasr.utils.postprocess_utils import sentence_postprocess
    with torch.no_grad():
        hyps = search(x=enc, maxlenratio=0.0, minlenratio=0.0)
    nbest = []
    for h in hyps:
        nbest.append({"yseq": [int(v) for v in h.yseq.tolist()], "score": float(h.score),
                      "decoder": float(h.scores.get("decoder", 0.0)),
                      "ctc": float(h.scores.get("ctc", 0.0))})
    if not nbest:
        return nbest, [], ""
    token_int = [v for v in nbest[0]["yseq"][1:-1] if v != 0]
    tokens = [model.token_list[v] for v in token_int]
    return nbest, token_int, sentence_postprocess(tokens)[0]


def official_text(s2t, x: np.ndarray) -> str:
    """The text through Speech2TextMFCCA.__call__ itself (a cross-check of `decode`)."""
    from funasr.utils.postprocess_utils import sentence_postprocess
    res = s2t(torch.from_numpy(x).unsqueeze(0))
    return sentence_postprocess(res[0][1])[0] if res else ""


def postprocess_cases():
    from funasr.utils.postprocess_utils import sentence_postprocess
    cases = [["我", "们", "好"], ["hello", "src", "world"], ["你", "src", "好"],
             ["hello", "<unk>", "world"], ["我", "<unk>", "src", "hello", "好"],
             ["src", "src"], ["ok", "我", "yes"], ["src", "的", "src", "the", "no"]]
    return [(c, sentence_postprocess(c)[0]) for c in cases]


class Writer:
    def __init__(self, path: Path):
        import gguf
        self.gguf = gguf
        self.w = gguf.GGUFWriter(str(path), "mfcca-fixture")
        self.w.add_custom_alignment(32)

    def tensor(self, name, a):
        self.w.add_tensor(name, np.ascontiguousarray(np.asarray(a, dtype=np.float32)))

    def str(self, key, v):
        self.w.add_key_value(key, str(v), self.gguf.GGUFValueType.STRING)

    def i32(self, key, v):
        self.w.add_int32(key, int(v))

    def f32(self, key, v):
        self.w.add_float32(key, float(v))

    def i32s(self, key, v):
        v = [int(x) for x in v]
        if not v:
            v = [-1]  # gguf cannot write an empty array; -1 marks "none"
        self.w.add_key_value(key, v, self.gguf.GGUFValueType.ARRAY, sub_type=self.gguf.GGUFValueType.INT32)

    def strs(self, key, v):
        self.w.add_key_value(key, list(v), self.gguf.GGUFValueType.ARRAY, sub_type=self.gguf.GGUFValueType.STRING)

    def close(self):
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()


CLIPS = [("ch1", 1, 1.6, 11), ("ch2", 2, 1.4, 12), ("ch4", 4, 1.8, 13), ("ch6", 6, 1.3, 14),
         ("ch8", 8, 1.5, 15)]
OVERRIDE = (4, 0.3)  # beam, ctc_weight


def robustness(model_dir: Path, wavs, texts) -> None:
    """Texts must not change in float64 or under 1e-5 weight perturbations."""
    s2t = speech2text(model_dir, DECODING["beam_size"], DECODING["ctc_weight"])
    model = s2t.asr_model
    base = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(99)
    sd = {k: (v + torch.randn(v.shape, generator=g) * 1e-5 * (v.abs().mean() + 1e-12)
              if v.is_floating_point() and not k.startswith("normalize") else v)
          for k, v in base.items()}
    model.load_state_dict(sd)
    for (name, x), want in zip(wavs, texts):
        got = decode(model, s2t.beam_search, x)[2]
        if got != want:
            raise SystemExit(f"{name}: text changes under 1e-5 perturbation: {want!r} vs {got!r}")
    model.load_state_dict(base)
    model.double()
    for (name, x), want in zip(wavs, texts):
        got = decode(model, s2t.beam_search, x.astype(np.float64))[2]
        if got != want:
            raise SystemExit(f"{name}: text changes in float64: {want!r} vs {got!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--model-dir", type=Path, help="where to build the 0.x model directory")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model-only", action="store_true", help="build and convert the model only")
    ap.add_argument("--skip-robustness", action="store_true")
    ap.add_argument("--clips", default=",".join(c[0] for c in CLIPS),
                    help="comma-separated clip names to record (default: all)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    out = a.out
    (out / "audio").mkdir(parents=True, exist_ok=True)
    name = f"mfcca-{a.size}"
    model_dir = a.model_dir or (out / name)
    make_model(model_dir, a.size, a.seed)
    wavs = []
    for clip, ch, sec, seed in [c for c in CLIPS if c[0] in a.clips.split(",")]:
        x = make_audio(ch, sec, seed)
        path = out / "audio" / f"{clip}.wav"
        sf.write(str(path), x, SR, subtype="PCM_16")
        wavs.append((clip, read_wav(path)))
    calibrate_blank(model_dir, [x for _, x in wavs])
    import convert
    convert.convert(model_dir, out / f"{name}.gguf")
    if a.model_only:
        return 0

    s2t = speech2text(model_dir, DECODING["beam_size"], DECODING["ctc_weight"])
    model = s2t.asr_model
    search_alt = beam_search(model, *OVERRIDE)
    texts = []
    for n, (clip, x) in enumerate(wavs):
        feats, enc = encode(model, x)
        with torch.no_grad():
            ctc = model.ctc.log_softmax(enc.unsqueeze(0))[0]
        nbest, ids, text = decode(model, s2t.beam_search, x)
        if n == 0:
            official = official_text(s2t, x)
            assert official == text, f"Speech2TextMFCCA gives {official!r}, the driver {text!r}"
        nbest_alt, ids_alt, text_alt = decode(model, search_alt, x)
        texts.append(text)
        blank_share = float((ctc.argmax(-1) == 0).float().mean())
        print(f"{clip}: C={x.shape[1]} T={feats.shape[1]} T'={enc.shape[0]} blank={blank_share:.2f} "
              f"n-best={len(nbest)} ids={ids} text={text!r} | override: {text_alt!r}")
        w = Writer(out / f"{name}__{clip}.gguf")
        w.tensor("features", feats.numpy())
        w.tensor("encoder_out", enc.numpy())
        w.tensor("ctc_logp", ctc.numpy())
        for prefix, nb, tid, tx, (beam, cw) in (("expected", nbest, ids, text, (10, 0.5)),
                                                 ("expected.override", nbest_alt, ids_alt, text_alt, OVERRIDE)):
            w.i32(f"{prefix}.beam_size", beam)
            w.f32(f"{prefix}.ctc_weight", cw)
            w.str(f"{prefix}.text", tx)
            w.i32s(f"{prefix}.token_ids", tid)
            w.i32(f"{prefix}.nbest.count", len(nb))
            for i, h in enumerate(nb):
                w.i32s(f"{prefix}.nbest.{i}.yseq", h["yseq"])
                w.f32(f"{prefix}.nbest.{i}.score", h["score"])
                w.f32(f"{prefix}.nbest.{i}.decoder", h["decoder"])
                w.f32(f"{prefix}.nbest.{i}.ctc", h["ctc"])
        w.i32("expected.channels", x.shape[1])
        w.close()
    if len(set(texts)) < len(texts) - 1 or not all(texts):  # noqa: SIM102
        print("warning: texts are empty or repeat across clips", file=sys.stderr)
    w = Writer(out / f"{name}__text.gguf")
    cases = postprocess_cases()
    w.i32("text.count", len(cases))
    for i, (tokens, text) in enumerate(cases):
        w.strs(f"text.{i}.tokens", tokens)
        w.str(f"text.{i}.text", text)
    w.tensor("unused", np.zeros(1))
    w.close()
    if not a.skip_robustness:
        robustness(model_dir, wavs, texts)
        print("robustness: texts unchanged in float64 and under 1e-5 perturbations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
