#!/usr/bin/env python3
"""Rebuild the FunASR model directory of a bundled Paraformer GGUF (the inverse of convert.py).

The bundled models' training directories are not committed; fine-tuning starts from the
weights in Weights/. This writes DIR/config.yaml (the training recipe's YAML without its
`train` section, as Tools/train.py writes it), DIR/model.pt (every GGUF tensor, back in
PyTorch's [out, in] layout), DIR/am.mvn (from paraformer.cmvn.shift/scale) and
DIR/tokens.json (tokenizer.ggml.tokens). `Tools/check_convert.py DIR MODEL.gguf` then proves
the round trip exact.

    gguf_to_funasr.py Weights/paraformer-zh-small.gguf --config Tools/train_offline.yaml -o DIR
"""
import argparse
import copy
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gguf_layout  # noqa: E402
from gguf_layout import read_field  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--config", required=True, help="Tools/train_offline.yaml or train_online.yaml")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    import gguf
    import torch
    import yaml

    r = gguf.GGUFReader(a.gguf)
    f = r.fields
    layout = read_field(f[gguf_layout.LAYOUT_KEY]) if gguf_layout.LAYOUT_KEY in f else gguf_layout.OUT_IN
    state = {}
    for t in r.tensors:
        x = np.array(t.data, dtype=np.float32)
        if layout == gguf_layout.IN_OUT and gguf_layout.is_linear_weight(t.name, x.ndim):
            x = np.ascontiguousarray(x.T)
        state[t.name] = torch.from_numpy(x.copy())
    tokens = list(read_field(f["tokenizer.ggml.tokens"]))
    shift = np.array(read_field(f["paraformer.cmvn.shift"]), dtype=np.float32)
    scale = np.array(read_field(f["paraformer.cmvn.scale"]), dtype=np.float32)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    conf = yaml.safe_load(open(a.config))
    cfg = copy.deepcopy({k: v for k, v in conf.items() if k != "train"})
    cfg["tokenizer_conf"]["token_list"] = "tokens.json"
    cfg["frontend_conf"]["cmvn_file"] = "am.mvn"
    with open(out / "config.yaml", "w") as fh:
        yaml.safe_dump(cfg, fh, allow_unicode=True, sort_keys=False)
    with open(out / "tokens.json", "w", encoding="utf-8") as fh:
        json.dump(tokens, fh, ensure_ascii=False, indent=0)

    def vec(v):  # %.9g: a float32 survives the text round trip exactly
        return "[ " + " ".join(f"{float(x):.9g}" for x in v) + " ]"
    d = len(shift)
    with open(out / "am.mvn", "w") as fh:
        fh.write(f"<Nnet>\n<Splice> {d} {d}\n[ 0 ]\n")
        fh.write(f"<AddShift> {d} {d}\n<LearnRateCoef> 0 {vec(shift)}\n")
        fh.write(f"<Rescale> {d} {d}\n<LearnRateCoef> 0 {vec(scale)}\n</Nnet>\n")
    torch.save(state, out / "model.pt")
    print(f"{out}: {len(state)} tensors, {len(tokens)} tokens, layout {layout}")


if __name__ == "__main__":
    main()
