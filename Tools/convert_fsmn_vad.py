"""FSMN-VAD (FunASR `FsmnVADStreaming`) model directory -> one GGUF v3 file.

Called by Tools/convert.py when config.yaml's `model` is `FsmnVADStreaming`; the keys and
tensor names are documented in Weights/FORMAT.md ("FSMN-VAD").

The directory is laid out as ModelScope ships `speech_fsmn_vad_zh-cn-16k-common-pytorch`:
config.yaml, model.pt (or model.pb), am.mvn (400-dim). The checkpoint is validated against the
state dict FunASR's own class builds from config.yaml; every detector option is written
resolved through FunASR's `VADXOptions` (its defaults fill what config.yaml leaves out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402
import gguf_layout  # noqa: E402

MODEL_CLASS = "FsmnVADStreaming"
ARCHITECTURE = "fsmn-vad"

ENCODER_KEYS = ("input_dim", "input_affine_dim", "fsmn_layers", "linear_dim", "proj_dim", "lorder",
                "rorder", "lstride", "rstride", "output_affine_dim", "output_dim")
# VADXOptions fields the engine reads (integers unless listed in FLOAT_OPTIONS).
OPTION_KEYS = ("sample_rate", "detect_mode", "max_end_silence_time", "max_start_silence_time",
               "window_size_ms", "sil_to_speech_time_thres", "speech_to_sil_time_thres",
               "speech_2_noise_ratio", "do_extend", "lookback_time_start_point",
               "lookahead_time_end_point", "max_single_segment_time", "snr_thres",
               "noise_frame_num_used_for_snr", "decibel_thres", "speech_noise_thres", "frame_in_ms",
               "frame_length_ms")
FLOAT_OPTIONS = {"speech_2_noise_ratio", "snr_thres", "decibel_thres", "speech_noise_thres"}


class ConvertError(Exception):
    pass


def _import():
    import funasr  # noqa: F401
    import funasr.models.fsmn_vad_streaming.model as vad_model  # noqa: F401  (registers the classes)
    import funasr.models.fsmn_vad_streaming.encoder  # noqa: F401
    return vad_model


def build_model(cfg: dict, device: str = "cpu"):
    """FunASR's FsmnVADStreaming built from a config dict, as AutoModel.build_model does."""
    import torch
    from funasr.register import tables

    _import()
    conf = dict(cfg.get("model_conf") or {})
    conf["encoder"] = cfg.get("encoder", "FSMN")
    conf["encoder_conf"] = cfg.get("encoder_conf") or {}
    with torch.device(device):
        return tables.model_classes.get(MODEL_CLASS)(**conf)


def build_metadata(cfg: dict, shift, scale, name: str):
    vad_model = _import()
    enc = cfg.get("encoder_conf") or {}
    fe = cfg.get("frontend_conf") or {}
    if cfg.get("encoder", "FSMN") != "FSMN":
        raise ConvertError(f"config.yaml: encoder {cfg.get('encoder')!r} is not FSMN")
    if cfg.get("frontend", "WavFrontendOnline") != "WavFrontendOnline":
        raise ConvertError(f"config.yaml: frontend {cfg.get('frontend')!r} is not WavFrontendOnline")
    for k in ENCODER_KEYS:
        if k not in enc:
            raise ConvertError(f"config.yaml: missing encoder_conf.{k}")
    if not enc.get("use_softmax", True):
        raise ConvertError("config.yaml: encoder_conf.use_softmax false is not supported (FunASR needs probabilities)")
    opts = vars(vad_model.VADXOptions(**(cfg.get("model_conf") or {})))
    n_mels = int(fe.get("n_mels", 80))
    lfr_m = int(fe.get("lfr_m", 1))
    if int(enc["input_dim"]) != n_mels * lfr_m:
        raise ConvertError(f"encoder_conf.input_dim {enc['input_dim']} != n_mels*lfr_m = {n_mels * lfr_m}")
    if len(shift) != n_mels * lfr_m or len(scale) != n_mels * lfr_m:
        raise ConvertError(f"am.mvn has {len(shift)}/{len(scale)} values, expected {n_mels * lfr_m}")
    if not np.all(np.isfinite(shift)) or not np.all(np.isfinite(scale)):
        raise ConvertError("am.mvn contains non-finite values")
    sil = [int(x) for x in opts["sil_pdf_ids"]]
    if len(sil) != int(opts["silence_pdf_num"]):
        raise ConvertError(f"model_conf: sil_pdf_ids {sil} has not silence_pdf_num {opts['silence_pdf_num']} entries")
    kv = [("general.name", "str", name)]
    kv += [(f"fsmn_vad.encoder.{k}", "u32", int(enc[k])) for k in ENCODER_KEYS]
    kv += [
        ("fsmn_vad.frontend.sample_rate", "u32", int(fe.get("fs", 16000))),
        ("fsmn_vad.frontend.n_mels", "u32", n_mels),
        ("fsmn_vad.frontend.frame_length_ms", "u32", int(fe.get("frame_length", 25))),
        ("fsmn_vad.frontend.frame_shift_ms", "u32", int(fe.get("frame_shift", 10))),
        ("fsmn_vad.frontend.lfr_m", "u32", lfr_m),
        ("fsmn_vad.frontend.lfr_n", "u32", int(fe.get("lfr_n", 1))),
        ("fsmn_vad.frontend.window", "str", str(fe.get("window", "hamming"))),
        ("fsmn_vad.cmvn.shift", "f32[]", [float(x) for x in shift]),
        ("fsmn_vad.cmvn.scale", "f32[]", [float(x) for x in scale]),
    ]
    for k in OPTION_KEYS:
        v = opts[k]
        if k in FLOAT_OPTIONS:
            kv.append((f"fsmn_vad.{k}", "f32", float(v)))
        else:
            if float(v) != int(v):
                raise ConvertError(f"model_conf.{k} = {v} is not an integer")
            kv.append((f"fsmn_vad.{k}", "i32", int(v)))
    kv.append(("fsmn_vad.sil_pdf_ids", "i32[]", sil))
    return kv


def validate(cfg: dict, state: dict) -> None:
    try:
        expected = {k: tuple(v.shape) for k, v in build_model(cfg, device="meta").state_dict().items()}
    except Exception as e:  # a config FunASR itself cannot build
        raise ConvertError(f"FunASR cannot build {MODEL_CLASS} from config.yaml: {e}") from e
    for name in sorted(expected, key=fo.natural_key):
        if name not in state:
            raise ConvertError(f"checkpoint lacks tensor {name} (expected shape {list(expected[name])})")
        if tuple(state[name].shape) != expected[name]:
            raise ConvertError(f"tensor {name} has shape {list(state[name].shape)}, config.yaml expects "
                               f"{list(expected[name])}")
    for name in sorted(state, key=fo.natural_key):
        if name not in expected:
            raise ConvertError(f"checkpoint has tensor {name} {list(state[name].shape)} that "
                               f"{MODEL_CLASS} built from config.yaml does not have")
        if not state[name].is_floating_point():
            raise ConvertError(f"tensor {name} has non-float dtype {state[name].dtype}")


def convert(model_dir: Path, out: Path, dtype: str = "f32", checkpoint: Path | None = None,
            quiet: bool = False) -> None:
    import gguf
    import torch

    cfg = fo.load_config(model_dir)
    if cfg["model"] != MODEL_CLASS:
        raise ConvertError(f"config.yaml: model {cfg['model']!r} is not {MODEL_CLASS}")
    mvn = model_dir / "am.mvn"
    if not mvn.exists():
        raise ConvertError(f"{model_dir}: no am.mvn")
    shift, scale = fo.load_cmvn(mvn)
    state = fo.load_state_dict(checkpoint or fo.find_checkpoint(model_dir))
    validate(cfg, state)
    kv = build_metadata(cfg, shift, scale, model_dir.resolve().name)

    def tensors():
        for name in state:
            t = state[name].detach().to(torch.float32).contiguous().numpy()
            yield name, (t.astype(np.float16) if dtype == "f16" and t.ndim >= 2 else t)

    gguf_layout.write_gguf(out, ARCHITECTURE, kv, tensors())

    back = {t.name: t for t in gguf.GGUFReader(str(out)).tensors}
    if len(back) != len(state):
        raise ConvertError(f"read back {len(back)} tensors, wrote {len(state)}")
    for name, t in state.items():
        if tuple(back[name].data.shape) != tuple(t.shape):
            raise ConvertError(f"read back {name} with shape {back[name].data.shape}, wrote {tuple(t.shape)}")
    if not quiet:
        n = sum(int(np.prod(t.shape)) for t in state.values())
        print(f"{out}: {ARCHITECTURE}, {len(state)} tensors, {n} parameters, {dtype}")
