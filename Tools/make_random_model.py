#!/usr/bin/env python3
"""Build a random-weight FunASR Paraformer model directory with FunASR's own classes.

    python Tools/make_random_model.py CONFIG -o OUT_DIR [--seed 0]

CONFIG: tiny, small, large (exact paraformer-large architecture, vocab 8404, ~880 MB),
        tiny-online, small-online, large-online (ParaformerStreaming / SANMEncoderChunkOpt /
        decoder sanm_shfit 5 / WavFrontendOnline).

OUT_DIR gets the layout of a ModelScope release: config.yaml, configuration.json,
model.pt (flat state dict), am.mvn (Kaldi nnet text), tokens.json.

Recipe (deterministic for a given --seed, torch version and espeak-ng build):
 1. Token list: <blank>, <s>, </s> at 0, 1, 2; <unk> last; in between a seeded shuffle of
    Chinese characters, English words, `@@` BPE pieces, single letters (and a few digits /
    apostrophe tokens), as in FunASR's char vocabularies.
 2. Calibration speech: a fixed list of sentences spoken by espeak-ng (Mandarin
    `cmn-latn-pinyin` and English), 16 kHz mono 16-bit (sox).
 3. am.mvn: FunASR WavFrontend (dither 0, LFR 7/6, no CMVN) features of the calibration
    speech; shift = -mean, scale = 1/std per each of the 560 dims.
 4. torch.manual_seed(seed), then FunASR's model class built from config.yaml (its default
    init). Every LayerNorm weight/bias is then set to 1 + 0.2·N(0,1) / 0.1·N(0,1) so that a
    port that ignores the affine part of a norm fails the fixtures.
 5. Decoder output layer: weight scaled by --logit-gain (default 4) so the per-position
    argmax follows the acoustic embedding instead of the output bias (non-degenerate).
 6. CIF calibration: z = cif_output(relu(cif_conv1d(pad(H)))) over the calibration
    frames, with H the encoder output (offline forward; for streaming models one
    forward_chunk over the whole utterance). Scale cif_output.weight and .bias (after
    subtracting the mean) so that std(z) = 2.0, then bisect a bias b so that
    mean(sigmoid(z + b)) = rate / 16.667 (LFR frames per second), rate = --tokens-per-second
    (default 3.5). A per-config check then runs the model and prints the token rate and the
    number of distinct tokens.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402

# --------------------------------------------------------------------------------------
# Configs

SIZES = {
    # d, heads, ffn, enc blocks, enc shift, dec blocks, att_layer_num, vocab
    "tiny": dict(d=64, heads=2, ffn=128, enc_blocks=3, enc_shift=0, dec_blocks=2, att_layers=2, vocab=60),
    "small": dict(d=80, heads=4, ffn=160, enc_blocks=4, enc_shift=2, dec_blocks=4, att_layers=2, vocab=300),
    "large": dict(d=512, heads=4, ffn=2048, enc_blocks=50, enc_shift=0, dec_blocks=16, att_layers=16, vocab=8404),
}
ONLINE_ENC_SHIFT = 0  # the released streaming model has encoder sanm_shfit 0


def make_config(name: str) -> dict:
    online = name.endswith("-online")
    base = name[: -len("-online")] if online else name
    s = SIZES[base]
    d = s["d"]
    enc_conf = {
        "output_size": d,
        "attention_heads": s["heads"],
        "linear_units": s["ffn"],
        "num_blocks": s["enc_blocks"],
        "dropout_rate": 0.1,
        "positional_dropout_rate": 0.1,
        "attention_dropout_rate": 0.1,
        "input_layer": "pe_online" if online else "pe",
        "pos_enc_class": "SinusoidalPositionEncoder",
        "normalize_before": True,
        "kernel_size": 11,
        "sanm_shfit": ONLINE_ENC_SHIFT if online else s["enc_shift"],
        "selfattention_layer_type": "sanm",
    }
    if online:
        enc_conf.update({
            "chunk_size": [12, 15],
            "stride": [8, 10],
            "pad_left": [0, 0],
            "encoder_att_look_back_factor": [4, 4],
            "decoder_att_look_back_factor": [1, 1],
        })
    cfg = {
        "model": "ParaformerStreaming" if online else "Paraformer",
        "model_conf": {
            "ctc_weight": 0.0,
            "lsm_weight": 0.1,
            "length_normalized_loss": True,
            "predictor_weight": 1.0,
            "predictor_bias": 1,
            "sampling_ratio": 0.75,
        },
        "encoder": "SANMEncoderChunkOpt" if online else "SANMEncoder",
        "encoder_conf": enc_conf,
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": {
            "attention_heads": s["heads"],
            "linear_units": s["ffn"],
            "num_blocks": s["dec_blocks"],
            "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1,
            "self_attention_dropout_rate": 0.1,
            "src_attention_dropout_rate": 0.1,
            "att_layer_num": s["att_layers"],
            "kernel_size": 11,
            "sanm_shfit": 5 if online else 0,
        },
        "predictor": "CifPredictorV2",
        "predictor_conf": {"idim": d, "threshold": 1.0, "l_order": 1, "r_order": 1, "tail_threshold": 0.45},
        "frontend": "WavFrontendOnline" if online else "WavFrontend",
        "frontend_conf": {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25,
                          "frame_shift": 10, "lfr_m": 7, "lfr_n": 6},
        "specaug": "SpecAugLFR",
        "specaug_conf": {"apply_time_warp": False, "time_warp_window": 5, "time_warp_mode": "bicubic",
                         "apply_freq_mask": True, "freq_mask_width_range": [0, 30], "lfr_rate": 6,
                         "num_freq_mask": 1, "apply_time_mask": True, "time_mask_width_range": [0, 12],
                         "num_time_mask": 1},
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
        "ctc_conf": {"dropout_rate": 0.0, "ctc_type": "builtin", "reduce": True, "ignore_nan_grad": True},
        "normalize": None,
    }
    return cfg


# --------------------------------------------------------------------------------------
# Tokens

CHINESE = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家"
    "学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见"
    "经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明社长欢迎大家体验"
    "达摩院推出语音识别模型今星期today"
)
ENGLISH_WORDS = [
    "the", "and", "was", "is", "today", "monday", "hello", "world", "model", "speech", "you",
    "we", "are", "this", "that", "with", "for", "good", "time", "day", "year", "new", "one",
    "two", "three", "can", "will", "not", "have", "from", "what", "about", "people", "work",
]
BPE_PIECES = [
    "ye@@", "ster@@", "tu@@", "es@@", "re@@", "con@@", "in@@", "de@@", "ex@@", "pro@@",
    "un@@", "dis@@", "com@@", "ab@@", "al@@", "an@@", "ar@@", "be@@", "ca@@", "ma@@",
]
LETTERS = list("abcdefghijklmnopqrstuvwxyz")
MISC = ["2", "0", "'s", "it's"]


def _syllables():
    cons = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
            "st", "tr", "pl", "sh", "ch", "th"]
    vows = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
    tails = ["", "n", "r", "s", "t", "l", "m", "ng"]
    for c in cons:
        for v in vows:
            for t in tails:
                yield c + v + t


def make_tokens(vocab: int, seed: int) -> list:
    rng = random.Random(seed)
    n_body = vocab - 4
    seen = set()
    chinese = [c for c in dict.fromkeys(CHINESE) if "\u4e00" <= c <= "\u9fff"]
    # fill with CJK code points (the real 8404 vocabulary is mostly characters)
    extra = [chr(c) for c in range(0x4E00, 0x9FA6)]
    chinese = list(dict.fromkeys(chinese + extra))
    words = list(ENGLISH_WORDS)
    pieces = list(BPE_PIECES)
    if vocab > 2000:
        syl = list(_syllables())
        words = list(dict.fromkeys(words + [s for s in syl if len(s) >= 3]))[:580]
        pieces = list(dict.fromkeys(pieces + [s + "@@" for s in syl]))[:477]
    # proportions: ~55% chinese, ~15% words, ~12% pieces, letters, misc
    n_letters = min(len(LETTERS), max(6, n_body // 10))
    n_misc = len(MISC) if n_body >= 40 else 2
    n_words = min(len(words), max(8, int(n_body * 0.15)))
    n_pieces = min(len(pieces), max(8, int(n_body * 0.12)))
    n_chinese = n_body - n_letters - n_misc - n_words - n_pieces
    if n_chinese > len(chinese):
        raise ValueError("not enough Chinese characters for this vocabulary")
    body = (chinese[:n_chinese] + words[:n_words] + pieces[:n_pieces] + LETTERS[:n_letters]
            + MISC[:n_misc])
    body = [t for t in body if not (t in seen or seen.add(t))]
    assert len(body) == n_body, (len(body), n_body)
    rng.shuffle(body)
    return ["<blank>", "<s>", "</s>"] + body + ["<unk>"]


# --------------------------------------------------------------------------------------
# Calibration audio

CALIB_SENTENCES = [
    ("cmn-latn-pinyin", "huan1 ying2 da4 jia1 lai2 ti3 yan4 da2 mo2 yuan4 tui1 chu1 de5 yu3 yin1 shi2 bie2 mo2 xing2"),
    ("cmn-latn-pinyin", "jin1 tian1 shi4 xing1 qi1 yi1 ming2 tian1 shi4 xing1 qi1 san1"),
    ("en-us", "Yesterday was Monday, today is Tuesday. We are testing a speech model."),
    ("en-us", "The quick brown fox jumps over the lazy dog near the river bank."),
    ("cmn-latn-pinyin", "wo3 men5 zai4 ce4 shi4 yi2 ge4 xin1 de5 mo2 xing2"),
]


def espeak_wav(voice: str, text: str, out: Path, speed: int = 150, pitch: int = 50) -> None:
    """espeak-ng -> 16 kHz mono 16-bit wav via sox."""
    with tempfile.TemporaryDirectory() as td:
        raw = Path(td) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["sox", "-G", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer",
                        str(out)], check=True)


def calibration_waveforms(tmpdir: Path):
    import soundfile as sf

    out = []
    for i, (voice, text) in enumerate(CALIB_SENTENCES):
        p = tmpdir / f"calib{i}.wav"
        espeak_wav(voice, text, p)
        x, sr = sf.read(str(p), dtype="float32")
        assert sr == 16000
        out.append(x)
    return out


def lfr_features(waveforms, cmvn_file=None):
    """FunASR WavFrontend (dither 0) features, list of [T, 560] tensors."""
    import torch
    from funasr.frontends.wav_frontend import WavFrontend

    fe = WavFrontend(cmvn_file=cmvn_file, fs=16000, window="hamming", n_mels=80, frame_length=25,
                     frame_shift=10, lfr_m=7, lfr_n=6, dither=0.0)
    feats = []
    for x in waveforms:
        t = torch.from_numpy(x)[None, :]
        f, _ = fe(t, torch.tensor([t.shape[1]]))
        feats.append(f[0])
    return feats


# --------------------------------------------------------------------------------------


def encoder_outputs(model, feats, online: bool):
    import torch

    outs = []
    with torch.no_grad():
        for f in feats:
            x = f[None].clone()
            if online:
                d = model.encoder.output_size()
                cache = {"start_idx": 0, "feats": torch.zeros((1, 0, x.shape[-1])), "tail_chunk": False,
                         "chunk_size": [0, x.shape[1], 0], "encoder_chunk_look_back": 0, "opt": None}
                h, _, _ = model.encoder.forward_chunk(x, torch.tensor([x.shape[1]]), cache=cache)
            else:
                h, _ = model.encode(x, torch.tensor([x.shape[1]]))
            outs.append(h[0])
    return outs


def cif_logits(model, h):
    import torch

    p = model.predictor
    with torch.no_grad():
        q = p.pad(h.t()[None])
        o = torch.relu(p.cif_conv1d(q)).transpose(1, 2)
        return p.cif_output(o)[0, :, 0]


def calibrate_cif(model, hs, tokens_per_second: float, target_std: float = 2.0):
    import torch

    p = model.predictor
    z = torch.cat([cif_logits(model, h) for h in hs])
    with torch.no_grad():
        mean, std = z.mean().item(), z.std().item()
        gain = target_std / max(std, 1e-6)
        p.cif_output.weight.mul_(gain)
        p.cif_output.bias.copy_((p.cif_output.bias - mean) * gain)
        z = torch.cat([cif_logits(model, h) for h in hs]).double()
        target = tokens_per_second * 0.06  # alphas per 60 ms LFR frame
        lo, hi = -20.0, 20.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if torch.sigmoid(z + mid).mean().item() < target:
                lo = mid
            else:
                hi = mid
        p.cif_output.bias.add_(0.5 * (lo + hi))
    return gain, 0.5 * (lo + hi)


def perturb_norms(model, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))


def quick_decode(model, feats, hs, tokens):
    """Offline-style decode of the calibration audio: (tokens/s, distinct ids, ids)."""
    import torch

    from funasr.models.paraformer.model import Paraformer

    n_tok, secs, ids_all = 0, 0.0, []
    with torch.no_grad():
        for f, h in zip(feats, hs):
            enc = h[None]
            lens = torch.tensor([enc.shape[1]])
            # base-class (offline) predictor: ParaformerStreaming.calc_predictor needs
            # training-time chunk masks
            emb, tn, alphas, peaks = Paraformer.calc_predictor(model, enc, lens)
            n = int(tn.round().long().max())
            secs += f.shape[0] * 0.06
            if n < 1:
                continue
            out = model.decoder(enc, lens, emb[:, :n], torch.tensor([n]))[0]
            ids = out[0].argmax(-1).tolist()
            ids_all += ids
            n_tok += n
    return n_tok / secs, len(set(ids_all)), ids_all


def build(name: str, out_dir: Path, seed: int = 0, tokens_per_second: float = 3.5,
          logit_gain: float = 4.0, verbose: bool = True) -> None:
    import torch

    fo.import_funasr()
    online = name.endswith("-online")
    cfg = make_config(name)
    vocab = SIZES[name.replace("-online", "")]["vocab"]
    tokens = make_tokens(vocab, seed)
    out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as td:
        waves = calibration_waveforms(Path(td))
    feats_raw = lfr_features(waves)
    allf = torch.cat(feats_raw).double()
    mean = allf.mean(0)
    std = allf.std(0).clamp_min(1e-3)
    shift = (-mean).float().numpy()
    scale = (1.0 / std).float().numpy()
    fo.write_cmvn(out_dir / "am.mvn", shift, scale)
    feats = lfr_features(waves, cmvn_file=str(out_dir / "am.mvn"))

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = fo.build_model(cfg, len(tokens))
    model.eval()
    perturb_norms(model, seed)
    with torch.no_grad():
        model.decoder.output_layer.weight.mul_(logit_gain)
    hs = encoder_outputs(model, feats, online)
    gain, bias = calibrate_cif(model, hs, tokens_per_second)
    rate, distinct, ids = quick_decode(model, feats, hs, tokens)
    if verbose:
        print(f"{name}: cif gain {gain:.3f} bias shift {bias:.3f}; calibration decode: "
              f"{rate:.2f} tokens/s, {distinct} distinct ids of {len(ids)}")

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, str(out_dir / "model.pt"))
    with open(out_dir / "config.yaml", "w", encoding="utf-8") as f:
        import yaml

        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
    with open(out_dir / "tokens.json", "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=0)
    configuration = {
        "framework": "pytorch",
        "task": "auto-speech-recognition",
        "model": {"type": "funasr"},
        "pipeline": {"type": "funasr-pipeline"},
        "model_name_in_hub": {"ms": "", "hf": ""},
        "file_path_metas": {
            "init_param": "model.pt",
            "config": "config.yaml",
            "tokenizer_conf": {"token_list": "tokens.json"},
            "frontend_conf": {"cmvn_file": "am.mvn"},
        },
        "random_model": {"config": name, "seed": seed, "tokens_per_second": tokens_per_second,
                         "logit_gain": logit_gain},
    }
    with open(out_dir / "configuration.json", "w", encoding="utf-8") as f:
        json.dump(configuration, f, indent=2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", choices=["tiny", "small", "large", "tiny-online", "small-online", "large-online"])
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokens-per-second", type=float, default=3.5)
    ap.add_argument("--logit-gain", type=float, default=4.0)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    build(a.config, a.output, a.seed, a.tokens_per_second, a.logit_gain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
