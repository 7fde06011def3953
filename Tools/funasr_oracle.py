"""Shared helpers for the FunASR oracle tools (convert, random models, fixtures).

Everything here mirrors what FunASR 1.4.x itself does when it loads a model
directory (funasr/download/download_model_from_hub.py, funasr/frontends/wav_frontend.py
load_cmvn, funasr/tokenizer/abs_tokenizer.py, funasr/train_utils/load_pretrained_model.py).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import yaml

# Names of the model classes we know, and their GGUF architecture string.
ARCHITECTURES = {
    "Paraformer": "paraformer",
    "ParaformerStreaming": "paraformer-streaming",
    "UniASR": "uniasr",
    "SeacoParaformer": "seaco-paraformer",
    "ContextualParaformer": "contextual-paraformer",
}

CHECKPOINT_NAMES = ("model.pt", "model.pb")


def load_config(model_dir: Path) -> dict:
    with open(model_dir / "config.yaml", "r", encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise ValueError(f"{model_dir}/config.yaml has no 'model' key")
    return cfg


def load_cmvn(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Parse am.mvn exactly like funasr.frontends.wav_frontend.load_cmvn.

    The line after `<AddShift>` / `<Rescale>` must start with `<LearnRateCoef>`; its
    tokens [3:-1] are the values (the tokens are `<LearnRateCoef> 0 [ v0 ... vN ]`).
    Returns (shift, scale) as float32 arrays.
    """
    with open(path, "r", encoding="utf-8") as f:
        lines = f.readlines()
    means: List[str] = []
    scales: List[str] = []
    for i in range(len(lines)):
        item = lines[i].split()
        if not item:
            continue
        if item[0] == "<AddShift>" and i + 1 < len(lines):
            nxt = lines[i + 1].split()
            if nxt and nxt[0] == "<LearnRateCoef>":
                means = nxt[3 : len(nxt) - 1]
        elif item[0] == "<Rescale>" and i + 1 < len(lines):
            nxt = lines[i + 1].split()
            if nxt and nxt[0] == "<LearnRateCoef>":
                scales = nxt[3 : len(nxt) - 1]
    if not means or not scales:
        raise ValueError(f"{path}: no <AddShift>/<Rescale> vectors found")
    return np.array(means).astype(np.float32), np.array(scales).astype(np.float32)


def write_cmvn(path: Path, shift: np.ndarray, scale: np.ndarray) -> None:
    """Write a Kaldi nnet1 text am.mvn in the exact layout ModelScope ships."""
    dim = len(shift)

    def vec(v):
        return " ".join(repr(float(np.float32(x))) for x in v)

    with open(path, "w", encoding="utf-8") as f:
        f.write("<Nnet>\n")
        f.write(f"<Splice> {dim} {dim}\n")
        f.write("[ 0 ]\n")
        f.write(f"<AddShift> {dim} {dim}\n")
        f.write(f"<LearnRateCoef> 0 [ {vec(shift)} ]\n")
        f.write(f"<Rescale> {dim} {dim}\n")
        f.write(f"<LearnRateCoef> 0 [ {vec(scale)} ]\n")
        f.write("</Nnet>\n")


def find_tokens_file(model_dir: Path) -> Path:
    # FunASR's download_from_ms checks tokens.txt, then tokens.json (json wins).
    for name in ("tokens.json", "tokens.txt"):
        p = model_dir / name
        if p.exists():
            return p
    raise FileNotFoundError(f"{model_dir}: neither tokens.json nor tokens.txt")


def tokens_for(model_dir: Path, cfg: dict) -> List[str]:
    """tokens.json / tokens.txt in the directory, else a token_list embedded in config.yaml
    (old-format releases: top-level `token_list:` or `tokenizer_conf.token_list`)."""
    try:
        return load_tokens(find_tokens_file(model_dir))
    except FileNotFoundError:
        for tl in (cfg.get("token_list"), (cfg.get("tokenizer_conf") or {}).get("token_list")):
            if isinstance(tl, list) and tl:
                return [str(t) for t in tl]
        raise


def load_tokens(path: Path) -> List[str]:
    """tokens.json (JSON array) or tokens.txt.

    FunASR's tokens.txt is one token per line (line.rstrip()). sherpa-onnx's tokens.txt is
    "token id" per line; that form is recognised when every line is "<tok> <index>".
    """
    if path.suffix == ".json":
        with open(path, "r", encoding="utf-8") as f:
            toks = json.load(f)
        if not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
            raise ValueError(f"{path}: expected a JSON array of strings")
        return toks
    with open(path, "r", encoding="utf-8") as f:
        lines = [ln.rstrip("\r\n").rstrip() for ln in f]
    while lines and lines[-1] == "":
        lines.pop()
    pairs = [ln.rsplit(None, 1) for ln in lines]
    if lines and all(len(p) == 2 and p[1].isdigit() and int(p[1]) == i for i, p in enumerate(pairs)):
        return [p[0] for p in pairs]
    return lines


def find_checkpoint(model_dir: Path) -> Path:
    for name in CHECKPOINT_NAMES:
        p = model_dir / name
        if p.exists():
            return p
    cands = sorted(list(model_dir.glob("*.pt")) + list(model_dir.glob("*.pb")))
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise FileNotFoundError(f"{model_dir}: no model.pt / model.pb / *.pt / *.pb checkpoint")
    raise FileNotFoundError(
        f"{model_dir}: several checkpoints ({', '.join(c.name for c in cands)}); pass --checkpoint"
    )


def load_state_dict(path: Path) -> Dict[str, "torch.Tensor"]:
    """Load a FunASR checkpoint the way load_pretrained_model does: unwrap
    state_dict / model_state_dict / model, strip a 'module.' prefix."""
    import torch

    obj = torch.load(str(path), map_location="cpu", weights_only=False)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a state dict")
    out = {}
    for k, v in obj.items():
        if not hasattr(v, "shape"):
            continue  # e.g. bookkeeping scalars stored by a trainer
        name = k[len("module.") :] if k.startswith("module.") else k
        out[name] = v
    return out


def import_funasr():
    """Import funasr with all model classes registered."""
    import funasr  # noqa: F401
    from funasr.register import tables

    # Make sure the classes we need are registered (funasr imports lazily in 1.4).
    import funasr.models.paraformer.model  # noqa: F401
    import funasr.models.paraformer_streaming.model  # noqa: F401
    import funasr.models.sanm.encoder  # noqa: F401
    import funasr.models.scama.encoder  # noqa: F401
    import funasr.models.paraformer.decoder  # noqa: F401
    import funasr.models.paraformer.cif_predictor  # noqa: F401
    import funasr.models.uniasr.model  # noqa: F401
    import funasr.models.scama.decoder  # noqa: F401
    import funasr.frontends.wav_frontend  # noqa: F401
    import funasr.models.seaco_paraformer.model  # noqa: F401
    import funasr.models.contextual_paraformer.model  # noqa: F401
    import funasr.models.contextual_paraformer.decoder  # noqa: F401
    import funasr.models.bicif_paraformer.cif_predictor  # noqa: F401

    return tables


def build_model(cfg: dict, vocab_size: int, device: str = "cpu"):
    """Instantiate FunASR's model class from a config dict, as AutoModel.build_model does
    (model_conf + the top-level sections, input_size = frontend output size)."""
    import torch

    tables = import_funasr()
    fconf = cfg.get("frontend_conf") or {}
    input_size = int(fconf.get("n_mels", 80)) * int(fconf.get("lfr_m", 1))
    model_class = tables.model_classes.get(cfg["model"])
    if model_class is None:
        raise ValueError(f"unknown model class {cfg['model']!r}")
    conf = dict(cfg.get("model_conf") or {})
    for key in ("encoder", "encoder_conf", "decoder", "decoder_conf", "predictor",
                "predictor_conf", "seaco_decoder", "seaco_decoder_conf", "ctc_conf", "specaug", "specaug_conf", "normalize",
                "normalize_conf",
                # UniASR's second pass (REFERENCE-2 §D.1)
                "encoder2", "encoder2_conf", "decoder2", "decoder2_conf", "predictor2",
                "predictor2_conf", "stride_conv", "stride_conv_conf"):
        if key in cfg:
            conf[key] = cfg[key]
    conf["input_size"] = input_size
    conf["vocab_size"] = vocab_size
    with torch.device(device):
        model = model_class(**conf)
    return model


def expected_shapes(cfg: dict, vocab_size: int) -> Dict[str, Tuple[int, ...]]:
    """Tensor name -> shape of the state dict FunASR's class builds for this config
    (built on the meta device: no memory, no init cost)."""
    model = build_model(cfg, vocab_size, device="meta")
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
