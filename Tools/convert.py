#!/usr/bin/env python3
"""Convert a FunASR model directory (Paraformer, Paraformer-online, UniASR) to one GGUF v3
file (Weights/FORMAT.md); config.yaml's `model` picks the architecture and its metadata.

    python Tools/convert.py MODEL_DIR -o MODEL.gguf [--dtype f32|f16] [--checkpoint FILE]

MODEL_DIR is laid out as ModelScope ships it: config.yaml, model.pt (or model.pb, or one
finetuned *.pt / *.pb), am.mvn, tokens.json (or tokens.txt). config.yaml's `model` picks the
architecture: Paraformer, ParaformerStreaming, SeacoParaformer (`seaco-paraformer`) or
ContextualParaformer (`contextual-paraformer`); for the two hotword models the directory's
`seg_dict` (beside am.mvn, where FunASR looks for it) is carried into the file, since hotword
tokenisation needs it.

An MFCCA model (`model: mfcca`) comes in FunASR 0.x's layout (config.yaml with the token list
inline, model.pb, am.mvn as ESPnet np.load stats, decoding.yaml, configuration.json) and is
converted by Tools/convert_mfcca.py (metadata under `mfcca.*`).

The checkpoint is validated against the tensor names and shapes that FunASR's own model
class builds from config.yaml (instantiated on the meta device); the first mismatch is
reported and the exit status is 1. Tensors are written under their state-dict names with
PyTorch shapes (reading back with gguf.GGUFReader gives `tensor.data.shape` == PyTorch
shape; the header lists dims innermost first, as ggml does).

--dtype f16 stores tensors with 2+ dims as F16 and keeps 1-D tensors (biases, norms) F32.

--linear-layout in_out stores the weight matrices of the Linear layers transposed, [in, out]
(metadata `paraformer.linear_layout`; Tools/gguf_layout.py): the default for offline models,
which it makes faster; streaming models default to PyTorch's [out, in] (out_in).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402
import gguf_layout  # noqa: E402
import convert_punc  # noqa: E402


class ConvertError(Exception):
    pass


def _req(d: dict, key: str, section: str):
    if d is None or key not in d or d[key] is None:
        raise ConvertError(f"config.yaml: missing {section}.{key}")
    return d[key]


def _ints(v, n: int, what: str):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    if len(v) < n:
        v = v + [v[0]] * (n - len(v))  # FunASR's overlap_chunk.check_chunk_size_args
    return [int(x) for x in v]


def build_uniasr_metadata(cfg: dict, tokens, shift, scale, name: str):
    """UniASR's keys under `uniasr.*` (Weights/FORMAT.md, REFERENCE-2 §D)."""
    fe = cfg.get("frontend_conf") or {}
    mc = cfg.get("model_conf") or {}
    n_mels = int(fe.get("n_mels", 80))
    lfr_m = int(fe.get("lfr_m", 1))
    input_size = n_mels * lfr_m
    if len(shift) != input_size or len(scale) != input_size:
        raise ConvertError(
            f"am.mvn has {len(shift)}/{len(scale)} values, expected n_mels*lfr_m = {input_size}")
    if not np.all(np.isfinite(shift)) or not np.all(np.isfinite(scale)):
        raise ConvertError("am.mvn contains non-finite values")
    for key, want in (("encoder", "SANMEncoderChunkOpt"), ("encoder2", "SANMEncoderChunkOpt"),
                      ("decoder", "FsmnDecoderSCAMAOpt"), ("decoder2", "FsmnDecoderSCAMAOpt"),
                      ("predictor", "CifPredictorV2"), ("predictor2", "CifPredictorV2")):
        if cfg.get(key) != want:
            raise ConvertError(f"config.yaml: {key} is {cfg.get(key)!r}, only {want} is supported")
    for key in ("decoder_attention_chunk_type", "decoder_attention_chunk_type2"):
        if mc.get(key, "chunk") != "chunk":
            raise ConvertError(f"config.yaml: model_conf.{key} {mc.get(key)!r} is not supported")
    kv = [("general.name", "str", name)]
    enc_out = None
    for sec, in_size in (("encoder", input_size), ("encoder2", None)):
        c = cfg.get(f"{sec}_conf") or {}
        d = int(_req(c, "output_size", f"{sec}_conf"))
        if sec == "encoder":
            enc_out = d
        else:
            in_size = input_size + enc_out
        if c.get("input_layer", "conv2d") != "pe":
            raise ConvertError(f"config.yaml: {sec}_conf.input_layer must be pe")
        chunk = _ints(_req(c, "chunk_size", f"{sec}_conf"), 1, "chunk_size")
        n = len(chunk)
        p = f"uniasr.{sec}"
        kv += [
            (f"{p}.input_size", "u32", in_size),
            (f"{p}.output_size", "u32", d),
            (f"{p}.attention_heads", "u32", int(c.get("attention_heads", 4))),
            (f"{p}.linear_units", "u32", int(c.get("linear_units", 2048))),
            (f"{p}.num_blocks", "u32", int(c.get("num_blocks", 6))),
            (f"{p}.kernel_size", "u32", int(c.get("kernel_size", 11))),
            (f"{p}.sanm_shift", "i32", int(c.get("sanm_shfit", 0))),
            (f"{p}.chunk_size", "i32[]", chunk),
            (f"{p}.stride", "i32[]", _ints(_req(c, "stride", f"{sec}_conf"), n, "stride")),
            (f"{p}.pad_left", "i32[]", _ints(c.get("pad_left", [0]), n, "pad_left")),
            (f"{p}.encoder_att_look_back_factor", "i32[]",
             _ints(c.get("encoder_att_look_back_factor", [1]), n, "")),
            (f"{p}.decoder_att_look_back_factor", "i32[]",
             _ints(c.get("decoder_att_look_back_factor", [1]), n, "")),
        ]
    enc2_out = int((cfg.get("encoder2_conf") or {})["output_size"])
    for sec, mem in (("decoder", enc_out), ("decoder2", enc2_out)):
        c = cfg.get(f"{sec}_conf") or {}
        k = int(c.get("kernel_size", 21))
        shift_ = c.get("sanm_shfit")
        p = f"uniasr.{sec}"
        if c.get("input_layer", "embed") != "embed":
            raise ConvertError(f"config.yaml: {sec}_conf.input_layer must be embed")
        kv += [
            (f"{p}.attention_dim", "u32", int(c.get("attention_dim") or mem)),
            (f"{p}.encoder_output_size", "u32", mem),
            (f"{p}.attention_heads", "u32", int(c.get("attention_heads", 4))),
            (f"{p}.linear_units", "u32", int(c.get("linear_units", 2048))),
            (f"{p}.num_blocks", "u32", int(c.get("num_blocks", 6))),
            (f"{p}.att_layer_num", "u32", int(c.get("att_layer_num", 6))),
            (f"{p}.kernel_size", "u32", k),
            (f"{p}.sanm_shift", "i32", int(shift_) if shift_ is not None else (k - 1) // 2),
            (f"{p}.concat_embeds", "u32", 1 if c.get("concat_embeds", False) else 0),
        ]
    for sec in ("predictor", "predictor2"):
        c = cfg.get(f"{sec}_conf") or {}
        p = f"uniasr.{sec}"
        kv += [
            (f"{p}.threshold", "f32", float(c.get("threshold", 1.0))),
            (f"{p}.l_order", "u32", int(_req(c, "l_order", f"{sec}_conf"))),
            (f"{p}.r_order", "u32", int(_req(c, "r_order", f"{sec}_conf"))),
            (f"{p}.tail_threshold", "f32", float(c.get("tail_threshold", 0.0))),
            (f"{p}.smooth_factor", "f32", float(c.get("smooth_factor", 1.0))),
            (f"{p}.noise_threshold", "f32", float(c.get("noise_threshold", 0.0))),
        ]
    sc = cfg.get("stride_conv_conf") or {}
    kv += [
        ("uniasr.stride_conv.kernel_size", "u32", int(_req(sc, "kernel_size", "stride_conv_conf"))),
        ("uniasr.stride_conv.stride", "u32", int(_req(sc, "stride", "stride_conv_conf"))),
        ("uniasr.stride_conv.pad", "i32[]", _ints(sc.get("pad", [0, 0]), 2, "pad")),
        ("uniasr.frontend.sample_rate", "u32", int(fe.get("fs", 16000))),
        ("uniasr.frontend.n_mels", "u32", n_mels),
        ("uniasr.frontend.frame_length_ms", "u32", int(fe.get("frame_length", 25))),
        ("uniasr.frontend.frame_shift_ms", "u32", int(fe.get("frame_shift", 10))),
        ("uniasr.frontend.lfr_m", "u32", lfr_m),
        ("uniasr.frontend.lfr_n", "u32", int(fe.get("lfr_n", 1))),
        ("uniasr.frontend.window", "str", str(fe.get("window", "hamming"))),
        ("uniasr.vocab_size", "u32", len(tokens)),
        ("uniasr.blank_id", "u32", int(mc.get("blank_id", 0))),
        ("uniasr.sos_id", "u32", int(mc["sos"]) if mc.get("sos") is not None else 1),
        ("uniasr.eos_id", "u32", int(mc["eos"]) if mc.get("eos") is not None else 2),
        # FunASR's inference defaults (UniASR.inference, init_beam_search)
        ("uniasr.decoding.mode", "str", "normal"),
        ("uniasr.decoding.beam_size", "u32", 5),
        ("uniasr.decoding.token_num_relax", "u32", 5),
        ("uniasr.cmvn.shift", "f32[]", [float(x) for x in shift]),
        ("uniasr.cmvn.scale", "f32[]", [float(x) for x in scale]),
        ("tokenizer.ggml.tokens", "str[]", list(tokens)),
    ]
    return "uniasr", kv


def build_metadata(cfg: dict, tokens, shift, scale, name: str):
    """Return (architecture, [(key, kind, value)]) per Weights/FORMAT.md."""
    model = cfg["model"]
    if model not in fo.ARCHITECTURES:
        raise ConvertError(f"config.yaml: model {model!r} is not one of {sorted(fo.ARCHITECTURES)}")
    arch = fo.ARCHITECTURES[model]
    if arch == "uniasr":
        return build_uniasr_metadata(cfg, tokens, shift, scale, name)
    enc = cfg.get("encoder_conf") or {}
    dec = cfg.get("decoder_conf") or {}
    pre = cfg.get("predictor_conf") or {}
    fe = cfg.get("frontend_conf") or {}
    mc = cfg.get("model_conf") or {}

    n_mels = int(fe.get("n_mels", 80))
    lfr_m = int(fe.get("lfr_m", 1))
    input_size = n_mels * lfr_m
    if len(shift) != input_size or len(scale) != input_size:
        raise ConvertError(
            f"am.mvn has {len(shift)}/{len(scale)} values, expected n_mels*lfr_m = {input_size}"
        )
    if not np.all(np.isfinite(shift)) or not np.all(np.isfinite(scale)):
        raise ConvertError("am.mvn contains non-finite values")

    dec_blocks = int(dec.get("num_blocks", 6))
    kv = [
        ("general.name", "str", name),
        ("paraformer.encoder.input_size", "u32", input_size),
        ("paraformer.encoder.output_size", "u32", int(_req(enc, "output_size", "encoder_conf"))),
        ("paraformer.encoder.attention_heads", "u32", int(enc.get("attention_heads", 4))),
        ("paraformer.encoder.linear_units", "u32", int(enc.get("linear_units", 2048))),
        ("paraformer.encoder.num_blocks", "u32", int(enc.get("num_blocks", 6))),
        ("paraformer.encoder.kernel_size", "u32", int(enc.get("kernel_size", 11))),
        ("paraformer.encoder.sanm_shift", "i32", int(enc.get("sanm_shfit", 0))),
        ("paraformer.decoder.attention_heads", "u32", int(dec.get("attention_heads", 4))),
        ("paraformer.decoder.linear_units", "u32", int(dec.get("linear_units", 2048))),
        ("paraformer.decoder.num_blocks", "u32", dec_blocks),
        ("paraformer.decoder.att_layer_num", "u32", int(dec.get("att_layer_num", 6))),
        ("paraformer.decoder.kernel_size", "u32", int(dec.get("kernel_size", 21))),
        ("paraformer.decoder.sanm_shift", "i32", int(dec.get("sanm_shfit", 0))),
        ("paraformer.predictor.threshold", "f32", float(pre.get("threshold", 1.0))),
        ("paraformer.predictor.l_order", "u32", int(_req(pre, "l_order", "predictor_conf"))),
        ("paraformer.predictor.r_order", "u32", int(_req(pre, "r_order", "predictor_conf"))),
        ("paraformer.predictor.tail_threshold", "f32", float(pre.get("tail_threshold", 0.0))),
        ("paraformer.predictor.smooth_factor", "f32", float(pre.get("smooth_factor", 1.0))),
        ("paraformer.predictor.noise_threshold", "f32", float(pre.get("noise_threshold", 0.0))),
        ("paraformer.frontend.sample_rate", "u32", int(fe.get("fs", 16000))),
        ("paraformer.frontend.n_mels", "u32", n_mels),
        ("paraformer.frontend.frame_length_ms", "u32", int(fe.get("frame_length", 25))),
        ("paraformer.frontend.frame_shift_ms", "u32", int(fe.get("frame_shift", 10))),
        ("paraformer.frontend.lfr_m", "u32", lfr_m),
        ("paraformer.frontend.lfr_n", "u32", int(fe.get("lfr_n", 1))),
        ("paraformer.frontend.window", "str", str(fe.get("window", "hamming"))),
        ("paraformer.vocab_size", "u32", len(tokens)),
        ("paraformer.blank_id", "u32", int(mc.get("blank_id", 0))),
        ("paraformer.sos_id", "u32", int(mc["sos"]) if mc.get("sos") is not None else 1),
        ("paraformer.eos_id", "u32", int(mc["eos"]) if mc.get("eos") is not None else 2),
        ("paraformer.cmvn.shift", "f32[]", [float(x) for x in shift]),
        ("paraformer.cmvn.scale", "f32[]", [float(x) for x in scale]),
        ("tokenizer.ggml.tokens", "str[]", list(tokens)),
    ]
    if arch == "paraformer-streaming":
        for key in ("chunk_size", "stride", "pad_left", "encoder_att_look_back_factor",
                    "decoder_att_look_back_factor"):
            if key in enc and enc[key] is not None:
                v = enc[key]
                v = list(v) if isinstance(v, (list, tuple)) else [v]
                kv.append((f"paraformer.encoder.{key}", "i32[]", [int(x) for x in v]))
    if arch == "seaco-paraformer":
        kv += seaco_metadata(cfg, mc, pre, int(_req(enc, "output_size", "encoder_conf")))
    elif arch == "contextual-paraformer":
        d = int(_req(enc, "output_size", "encoder_conf"))
        inner = int(mc.get("inner_dim", 256))
        if inner != d:
            raise ConvertError(f"model_conf.inner_dim {inner} must equal encoder_conf.output_size {d}")
        if mc.get("bias_encoder_type", "lstm") != "lstm":
            raise ConvertError("model_conf.bias_encoder_type must be lstm")
        kv += [
            ("contextual.inner_dim", "u32", inner),
            ("contextual.use_decoder_embedding", "u32", int(bool(mc.get("use_decoder_embedding", False)))),
        ]
    return arch, kv


def seaco_metadata(cfg: dict, mc: dict, pre: dict, d: int):
    """SeACo's own keys (Weights/FORMAT.md): the seaco decoder, NO_BIAS, the BiCif head."""
    sd = cfg.get("seaco_decoder_conf") or {}
    if cfg.get("seaco_decoder", "ParaformerSANMDecoder") != "ParaformerSANMDecoder":
        raise ConvertError("seaco_decoder must be ParaformerSANMDecoder")
    if sd.get("use_output_layer", True) or not sd.get("wo_input_layer", False):
        raise ConvertError("seaco_decoder_conf must have use_output_layer false, wo_input_layer true")
    inner = int(mc.get("inner_dim", 256))
    if inner != d:
        raise ConvertError(f"model_conf.inner_dim {inner} must equal encoder_conf.output_size {d}")
    if mc.get("bias_encoder_type", "lstm") != "lstm" or mc.get("bias_encoder_bid", False):
        raise ConvertError("only a unidirectional LSTM bias encoder is supported")
    if cfg.get("predictor") != "CifPredictorV3":
        raise ConvertError("SeacoParaformer: predictor must be CifPredictorV3")
    if pre.get("upsample_type", "cnn") != "cnn_blstm" or pre.get("use_cif1_cnn", True):
        raise ConvertError("CifPredictorV3: only upsample_type cnn_blstm with use_cif1_cnn false")
    # ParaformerSANMDecoder builds att_layer_num (default 6) full layers whatever num_blocks
    # says, and max(num_blocks - att_layer_num, 0) FSMN-only ones.
    att = int(sd.get("att_layer_num", 6))
    blocks = int(sd.get("num_blocks", 6))
    return [
        ("seaco.no_bias_id", "u32", int(mc.get("NO_BIAS", 8377))),
        ("seaco.bias_encoder.num_layers", "u32", 2),
        ("seaco.decoder.attention_heads", "u32", int(sd.get("attention_heads", 4))),
        ("seaco.decoder.linear_units", "u32", int(sd.get("linear_units", 2048))),
        ("seaco.decoder.num_blocks", "u32", max(blocks, att)),
        ("seaco.decoder.att_layer_num", "u32", att),
        ("seaco.decoder.kernel_size", "u32", int(sd.get("kernel_size", 21))),
        ("seaco.decoder.sanm_shift", "i32", int(sd.get("sanm_shfit", 0))),
        ("seaco.asf_filter", "u32", 50),
        ("seaco.predictor.upsample_times", "u32", int(pre.get("upsample_times", 5))),
        ("seaco.predictor.smooth_factor2", "f32", float(pre.get("smooth_factor2", 1.0))),
        ("seaco.predictor.noise_threshold2", "f32", float(pre.get("noise_threshold2", 0.0))),
    ]


def load_seg_dict(path: Path):
    """seg_dict as FunASR's load_seg_dict reads it: `key value...` per line, key -> values
    joined by one space (a later line with the same key wins)."""
    out = {}
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            s = line.strip().split()
            if not s:
                continue
            out[s[0]] = " ".join(s[1:])
    return list(out.keys()), list(out.values())


def validate(cfg: dict, state: dict, vocab_size: int) -> None:
    try:
        expected = fo.expected_shapes(cfg, vocab_size)
    except Exception as e:  # a config FunASR itself cannot build
        raise ConvertError(f"FunASR cannot build {cfg.get('model')} from config.yaml: {e}") from e
    for name in sorted(expected, key=fo.natural_key):
        if name not in state:
            raise ConvertError(f"checkpoint lacks tensor {name} (expected shape {list(expected[name])})")
        got = tuple(state[name].shape)
        if got != expected[name]:
            raise ConvertError(
                f"tensor {name} has shape {list(got)}, config.yaml (vocab {vocab_size}) expects "
                f"{list(expected[name])}"
            )
    for name in sorted(state, key=fo.natural_key):
        if name not in expected:
            raise ConvertError(f"checkpoint has tensor {name} {list(state[name].shape)} that "
                               f"{cfg['model']} built from config.yaml does not have")
    for name, t in state.items():
        if not t.is_floating_point():
            raise ConvertError(f"tensor {name} has non-float dtype {t.dtype}")


def convert(model_dir: Path, out: Path, dtype: str = "f32", checkpoint: Path | None = None,
            quiet: bool = False, linear_layout: str = "auto", jieba_dict: Path | None = None) -> None:
    import gguf
    import torch

    if not (model_dir / "config.yaml").exists():
        raise ConvertError(f"{model_dir}: no config.yaml")
    cfg = fo.load_config(model_dir)
    if cfg["model"] == "FsmnVADStreaming":  # FSMN-VAD: its own converter (Weights/FORMAT.md)
        import convert_fsmn_vad
        try:
            return convert_fsmn_vad.convert(model_dir, out, dtype, checkpoint, quiet)
        except convert_fsmn_vad.ConvertError as e:
            raise ConvertError(str(e)) from e
    if cfg["model"] in convert_punc.PUNC_ARCHITECTURES:  # punctuation: Tools/convert_punc.py
        if linear_layout not in ("auto", gguf_layout.OUT_IN):
            raise ConvertError("punctuation models are always written with PyTorch's [out, in] layout")
        try:
            return convert_punc.convert_punc(model_dir, out, dtype, checkpoint, quiet, jieba_dict)
        except convert_punc.ConvertError as e:
            raise ConvertError(str(e)) from e
    if cfg.get("model") == "mfcca":  # FunASR 0.x layout (Tools/convert_mfcca.py)
        import convert_mfcca
        if dtype != "f32" or linear_layout not in ("auto", "out_in"):
            raise ConvertError("MFCCA models are written as F32 with PyTorch's [out, in] Linear layout only")
        try:
            return convert_mfcca.convert(model_dir, out, quiet)
        except convert_mfcca.ConvertError as e:
            raise ConvertError(str(e)) from e
    tokens = fo.tokens_for(model_dir, cfg)
    if not (model_dir / "am.mvn").exists():
        raise ConvertError(f"{model_dir}: no am.mvn")
    shift, scale = fo.load_cmvn(model_dir / "am.mvn")
    ckpt = checkpoint or fo.find_checkpoint(model_dir)
    state = fo.load_state_dict(ckpt)
    validate(cfg, state, len(tokens))
    arch, kv = build_metadata(cfg, tokens, shift, scale, model_dir.resolve().name)
    layout = gguf_layout.default_layout(arch) if linear_layout == "auto" else linear_layout
    if layout not in gguf_layout.LAYOUTS:
        raise ConvertError(f"linear layout {layout!r} is not one of {gguf_layout.LAYOUTS}")
    kv.append((gguf_layout.LAYOUT_KEY if arch != "uniasr" else "uniasr.linear_layout", "str", layout))
    if arch in ("seaco-paraformer", "contextual-paraformer"):
        # Hotword tokenisation (generate_hotwords_list) needs seg_dict, which FunASR finds
        # beside am.mvn; without it every multi-char or OOV hotword becomes one <unk>.
        seg = model_dir / "seg_dict"
        if seg.exists():
            keys, values = load_seg_dict(seg)
            if keys:
                kv.append(("tokenizer.seg_dict.keys", "str[]", keys))
                kv.append(("tokenizer.seg_dict.values", "str[]", values))
        elif not quiet:
            print(f"convert.py: warning: {model_dir} has no seg_dict; hotwords will be split on "
                  "spaces only, as FunASR does without one", file=sys.stderr)

    def tensors():
        for name in state:  # checkpoint order
            t = state[name].detach().to(torch.float32).contiguous().numpy()
            if layout == gguf_layout.IN_OUT and gguf_layout.is_linear_weight(name, t.ndim):
                t = np.ascontiguousarray(t.T)
            if dtype == "f16" and t.ndim >= 2:
                t = t.astype(np.float16)
            yield name, t

    gguf_layout.write_gguf(out, arch, kv, tensors())

    # Read back: every shape as PyTorch's, every name present.
    r = gguf.GGUFReader(str(out))
    back = {t.name: t for t in r.tensors}
    if len(back) != len(state):
        raise ConvertError(f"read back {len(back)} tensors, wrote {len(state)}")
    for name, t in state.items():
        shape = tuple(t.shape)
        if layout == gguf_layout.IN_OUT and gguf_layout.is_linear_weight(name, len(shape)):
            shape = shape[::-1]
        if tuple(back[name].data.shape) != shape:
            raise ConvertError(f"read back {name} with shape {back[name].data.shape}, wrote {shape}")
    if not quiet:
        n = sum(int(np.prod(t.shape)) for t in state.values())
        print(f"{out}: {arch}, {len(state)} tensors, {n} parameters, vocab {len(tokens)}, {dtype}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="checkpoint file when the directory holds several")
    ap.add_argument("--linear-layout", choices=["auto", *gguf_layout.LAYOUTS], default="auto",
                    help="how Linear weight matrices are stored: in_out (transposed, faster offline), "
                         "out_in (PyTorch's); auto: in_out for offline models, out_in for streaming")
    ap.add_argument("--jieba-dict", type=Path, default=None,
                    help="punctuation models with jieba: the main jieba dictionary (default: jieba's own)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        convert(a.model_dir, a.output, a.dtype, a.checkpoint, a.quiet, a.linear_layout, a.jieba_dict)
    except (ConvertError, FileNotFoundError, ValueError) as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
