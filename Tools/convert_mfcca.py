"""Convert a FunASR 0.x MFCCA model directory to one GGUF file (Weights/FORMAT.md, "MFCCA").

Called by Tools/convert.py when config.yaml says `model: mfcca`. Needs no FunASR: the 0.x
directory holds
  - config.yaml: the token list inline (`token_list`), `frontend: multichannelfrontend`,
    `encoder: mfcca_enc`, `decoder: transformer`, `normalize: global_mvn` (or none);
  - model.pb: the state dict (with the `normalize.mean/std` float64 buffers, the librosa mel
    matrix `frontend.logmel.melmat` [257, 80] and the BatchNorm running statistics);
  - am.mvn: ESPnet stats (np.load: count / sum / sum_square, or the 2-row matrix), used only
    when the checkpoint lacks the normalize buffers (the buffers override it, as in 0.8.8);
  - decoding.yaml: the search settings, which become the model's defaults
    (`mfcca.search.*`); absent → Speech2TextMFCCA's ModelScope settings (beam 10, CTC 0.5);
  - configuration.json (its model name is kept as general.name when present).
The checkpoint is checked against the tensor names and shapes that the 0.8.8 classes build
from config.yaml (listed here, so that no FunASR is needed); integer buffers
(`num_batches_tracked`) are dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import sys

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gguf_layout  # noqa: E402

ARCH = "mfcca"
SEARCH_DEFAULTS = {"beam_size": 10, "ctc_weight": 0.5, "penalty": 0.0, "maxlenratio": 0.0,
                   "minlenratio": 0.0, "nbest": 1}


class ConvertError(Exception):
    pass


def expected_shapes(cfg: dict, vocab: int) -> dict:
    enc = cfg.get("encoder_conf") or {}
    dec = cfg.get("decoder_conf") or {}
    fe = cfg.get("frontend_conf") or {}
    d = int(enc.get("output_size", 256))
    h = int(enc.get("attention_heads", 4))
    units = int(enc.get("linear_units", 2048))
    blocks = int(enc.get("num_blocks", 6))
    k = int(enc.get("cnn_module_kernel", 31))
    n_mels = int(fe.get("n_mels", 80))
    n_fft = int(fe.get("n_fft", 512))
    if enc.get("input_layer", "conv2d") != "conv2d":
        raise ConvertError(f"encoder_conf.input_layer {enc.get('input_layer')!r}: only conv2d is supported")
    if enc.get("rel_pos_type", "legacy") != "legacy":
        raise ConvertError("encoder_conf.rel_pos_type: only legacy is supported")
    if not enc.get("use_cnn_module", True):
        raise ConvertError("encoder_conf.use_cnn_module false is not supported")
    if enc.get("positionwise_layer_type", "linear") != "linear":
        raise ConvertError("encoder_conf.positionwise_layer_type: only linear is supported")
    if enc.get("concat_after", False) or dec.get("concat_after", False):
        raise ConvertError("concat_after is not supported")
    if not enc.get("normalize_before", True) or not dec.get("normalize_before", True):
        raise ConvertError("normalize_before false is not supported")
    if enc.get("activation_type", "swish") != "swish":
        raise ConvertError("encoder_conf.activation_type: only swish is supported")
    s = {}
    f2 = ((n_mels - 1) // 2 - 1) // 2
    s["frontend.logmel.melmat"] = (n_fft // 2 + 1, n_mels)
    if cfg.get("normalize"):
        if cfg["normalize"] != "global_mvn":
            raise ConvertError(f"normalize {cfg['normalize']!r}: only global_mvn is supported")
        s["normalize.mean"] = (n_mels,)
        s["normalize.std"] = (n_mels,)
    s["encoder.embed.conv.0.weight"] = (d, 1, 3, 3)
    s["encoder.embed.conv.0.bias"] = (d,)
    s["encoder.embed.conv.2.weight"] = (d, d, 3, 3)
    s["encoder.embed.conv.2.bias"] = (d,)
    s["encoder.embed.out.0.weight"] = (d, d * f2)
    s["encoder.embed.out.0.bias"] = (d,)

    def linear(p, i, o, bias=True):
        s[f"{p}.weight"] = (o, i)
        if bias:
            s[f"{p}.bias"] = (o,)

    def norm(p, n=d):
        s[f"{p}.weight"] = (n,)
        s[f"{p}.bias"] = (n,)

    for b in range(blocks):
        p = f"encoder.encoders.{b}"
        for n in ("linear_q", "linear_k", "linear_v", "linear_out"):
            linear(f"{p}.encoder_cros_channel_atten.{n}", d, d)
        norm(f"{p}.norm_mha")
        c = f"{p}.encoder_csa"
        for n in ("linear_q", "linear_k", "linear_v", "linear_out"):
            linear(f"{c}.self_attn.{n}", d, d)
        linear(f"{c}.self_attn.linear_pos", d, d, bias=False)
        s[f"{c}.self_attn.pos_bias_u"] = (h, d // h)
        s[f"{c}.self_attn.pos_bias_v"] = (h, d // h)
        linear(f"{c}.feed_forward.w_1", d, units)
        linear(f"{c}.feed_forward.w_2", units, d)
        if enc.get("macaron_style", False):
            linear(f"{c}.feed_forward_macaron.w_1", d, units)
            linear(f"{c}.feed_forward_macaron.w_2", units, d)
            norm(f"{c}.norm_ff_macaron")
        cm = f"{c}.conv_module"
        s[f"{cm}.pointwise_conv1.weight"] = (2 * d, d, 1)
        s[f"{cm}.pointwise_conv1.bias"] = (2 * d,)
        s[f"{cm}.depthwise_conv.weight"] = (d, 1, k)
        s[f"{cm}.depthwise_conv.bias"] = (d,)
        norm(f"{cm}.norm")
        s[f"{cm}.norm.running_mean"] = (d,)
        s[f"{cm}.norm.running_var"] = (d,)
        s[f"{cm}.pointwise_conv2.weight"] = (d, d, 1)
        s[f"{cm}.pointwise_conv2.bias"] = (d,)
        for n in ("norm_ff", "norm_mha", "norm_conv", "norm_final"):
            norm(f"{c}.{n}")
    norm("encoder.after_norm")
    widths = [8, 16, 32, 16, 1]
    for i in range(4):
        s[f"encoder.conv{i + 1}.weight"] = (widths[i + 1], widths[i], 5, 7)
        s[f"encoder.conv{i + 1}.bias"] = (widths[i + 1],)
    dh = int(dec.get("attention_heads", 4))
    if d % dh:
        raise ConvertError("decoder_conf.attention_heads must divide the model dimension")
    du = int(dec.get("linear_units", 2048))
    s["decoder.embed.0.weight"] = (vocab, d)
    norm("decoder.after_norm")
    linear("decoder.output_layer", d, vocab)
    for b in range(int(dec.get("num_blocks", 6))):
        p = f"decoder.decoders.{b}"
        for a in ("self_attn", "src_attn"):
            for n in ("linear_q", "linear_k", "linear_v", "linear_out"):
                linear(f"{p}.{a}.{n}", d, d)
        linear(f"{p}.feed_forward.w_1", d, du)
        linear(f"{p}.feed_forward.w_2", du, d)
        for n in ("norm1", "norm2", "norm3"):
            norm(f"{p}.{n}")
    linear("ctc.ctc_lo", d, vocab)
    return s


def stats_from_file(path: Path):
    """GlobalMVN's mean and std from an ESPnet stats file (0.8.8 layers/global_mvn.py)."""
    stats = np.load(path, allow_pickle=False)
    if isinstance(stats, np.ndarray):
        count = stats[0].flatten()[-1]
        mean = stats[0, :-1] / count
        var = stats[1, :-1] / count - mean * mean
    else:
        count = stats["count"]
        mean = stats["sum"] / count
        var = stats["sum_square"] / count - mean * mean
    return mean, np.sqrt(np.maximum(var, 1e-20))


def metadata(cfg: dict, decoding: dict, tokens: list, name: str):
    enc = cfg.get("encoder_conf") or {}
    dec = cfg.get("decoder_conf") or {}
    fe = cfg.get("frontend_conf") or {}
    if cfg.get("frontend") != "multichannelfrontend":
        raise ConvertError(f"frontend {cfg.get('frontend')!r}: MFCCA needs multichannelfrontend")
    if fe.get("win_length") is not None or fe.get("hop_length") is not None:
        raise ConvertError("frontend_conf: 0.8.8 reads frame_length/frame_shift (ms), not win/hop lengths")
    if fe.get("window", "hann") != "hann" or not fe.get("center", True) or fe.get("normalized", False):
        raise ConvertError("frontend_conf: only a centred, unnormalised hann STFT is supported")
    if int(fe.get("lfr_m", 1)) != 1 or int(fe.get("lfr_n", 1)) != 1:
        raise ConvertError("frontend_conf: LFR is not supported for MFCCA")
    fs = fe.get("fs", 16000)
    if isinstance(fs, str):
        fs = int(fs.lower().replace("k", "000"))
    v = len(tokens)
    search = dict(SEARCH_DEFAULTS)
    search.update({k: decoding[k] for k in SEARCH_DEFAULTS if decoding.get(k) is not None})
    if float(decoding.get("lm_weight", 0.0) or 0.0) != 0.0 and decoding.get("lm_train_config"):
        raise ConvertError("decoding.yaml uses a language model, which is not supported")
    return [
        ("general.name", "str", name),
        ("mfcca.frontend.sample_rate", "u32", int(fs)),
        ("mfcca.frontend.n_fft", "u32", int(fe.get("n_fft", 512))),
        ("mfcca.frontend.win_length", "u32", int(fe.get("frame_length", 25)) * 16),
        ("mfcca.frontend.hop_length", "u32", int(fe.get("frame_shift", 10)) * 16),
        ("mfcca.frontend.n_mels", "u32", int(fe.get("n_mels", 80))),
        ("mfcca.encoder.output_size", "u32", int(enc.get("output_size", 256))),
        ("mfcca.encoder.attention_heads", "u32", int(enc.get("attention_heads", 4))),
        ("mfcca.encoder.linear_units", "u32", int(enc.get("linear_units", 2048))),
        ("mfcca.encoder.num_blocks", "u32", int(enc.get("num_blocks", 6))),
        ("mfcca.encoder.cnn_module_kernel", "u32", int(enc.get("cnn_module_kernel", 31))),
        ("mfcca.encoder.fusion_channels", "u32", 8),
        ("mfcca.decoder.attention_heads", "u32", int(dec.get("attention_heads", 4))),
        ("mfcca.decoder.linear_units", "u32", int(dec.get("linear_units", 2048))),
        ("mfcca.decoder.num_blocks", "u32", int(dec.get("num_blocks", 6))),
        ("mfcca.vocab_size", "u32", v),
        ("mfcca.blank_id", "u32", 0),
        ("mfcca.sos_id", "u32", v - 1),
        ("mfcca.eos_id", "u32", v - 1),
        ("mfcca.search.beam_size", "u32", int(search["beam_size"])),
        ("mfcca.search.ctc_weight", "f32", float(search["ctc_weight"])),
        ("mfcca.search.penalty", "f32", float(search["penalty"])),
        ("mfcca.search.maxlenratio", "f32", float(search["maxlenratio"])),
        ("mfcca.search.minlenratio", "f32", float(search["minlenratio"])),
        ("mfcca.search.nbest", "u32", int(search["nbest"])),
        ("tokenizer.ggml.tokens", "str[]", list(tokens)),
    ]


def convert(model_dir: Path, out: Path, quiet: bool = False) -> None:
    import gguf
    import torch

    with open(model_dir / "config.yaml", encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    tokens = cfg.get("token_list")
    if isinstance(tokens, str):
        with open(model_dir / tokens if not Path(tokens).is_absolute() else tokens, encoding="utf-8") as f:
            tokens = [line.rstrip() for line in f]
    if not isinstance(tokens, list) or len(tokens) < 2:
        raise ConvertError("config.yaml: token_list is missing or too short")
    for key, want in (("encoder", "mfcca_enc"), ("decoder", "transformer")):
        if cfg.get(key) != want:
            raise ConvertError(f"config.yaml: {key} is {cfg.get(key)!r}, MFCCA needs {want}")
    decoding = {}
    if (model_dir / "decoding.yaml").exists():
        with open(model_dir / "decoding.yaml", encoding="utf-8") as f:
            decoding = yaml.safe_load(f) or {}
    name = model_dir.resolve().name
    if (model_dir / "configuration.json").exists():
        with open(model_dir / "configuration.json", encoding="utf-8") as f:
            conf = json.load(f)
        name = str((conf.get("model") or {}).get("model_name") or name)
    ckpt = model_dir / "model.pb"
    if not ckpt.exists():
        raise ConvertError(f"{model_dir}: no model.pb")
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    state = {k: v for k, v in state.items() if v.is_floating_point()}  # drop num_batches_tracked
    if cfg.get("normalize") and "normalize.mean" not in state:
        if not (model_dir / "am.mvn").exists():
            raise ConvertError("normalize is global_mvn but neither model.pb nor am.mvn holds its statistics")
        mean, std = stats_from_file(model_dir / "am.mvn")
        state["normalize.mean"] = torch.from_numpy(np.asarray(mean))
        state["normalize.std"] = torch.from_numpy(np.asarray(std))
    expected = expected_shapes(cfg, len(tokens))
    for n, shape in expected.items():
        if n not in state:
            raise ConvertError(f"checkpoint lacks tensor {n} (expected shape {list(shape)})")
        if tuple(state[n].shape) != shape:
            raise ConvertError(f"tensor {n} has shape {list(state[n].shape)}, config.yaml expects {list(shape)}")
    extra = sorted(set(state) - set(expected))
    if extra:
        raise ConvertError(f"checkpoint has tensors the MFCCA config does not build: {extra[:5]}")
    kv = metadata(cfg, decoding, tokens, name)

    gguf_layout.write_gguf(
        out, ARCH, kv,
        ((n, state[n].detach().to(torch.float32).contiguous().numpy()) for n in expected))
    r = gguf.GGUFReader(str(out))
    back = {t.name: tuple(t.data.shape) for t in r.tensors}
    for n, shape in expected.items():
        if back.get(n) != shape:
            raise ConvertError(f"read back {n} with shape {back.get(n)}, wrote {shape}")
    if not quiet:
        params = sum(int(np.prod(s)) for s in expected.values())
        print(f"{out}: {ARCH}, {len(expected)} tensors, {params} parameters, vocab {len(tokens)}")
