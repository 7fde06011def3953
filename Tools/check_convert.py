#!/usr/bin/env python3
"""Check a converted GGUF against its FunASR model directory.

    python Tools/check_convert.py MODEL_DIR MODEL.gguf

Asserts: the same tensor names; every tensor's shape as PyTorch's (after the GGUF dim
reversal); every F32 tensor bit-identical to the checkpoint (F16 tensors equal to the
checkpoint rounded to F16); every metadata key of Weights/FORMAT.md equal to what
config.yaml / am.mvn / tokens.json say (floats compared as float32 bits).
Exit status 0 when all holds, 1 otherwise (the first failures are printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import convert  # noqa: E402
import funasr_oracle as fo  # noqa: E402
import gguf_layout  # noqa: E402
from gguf_layout import read_field  # noqa: E402


def check(model_dir: Path, gguf_path: Path, checkpoint: Path | None = None) -> list:
    import gguf
    import torch

    errors = []
    cfg = fo.load_config(model_dir)
    tokens = fo.tokens_for(model_dir, cfg)
    shift, scale = fo.load_cmvn(model_dir / "am.mvn")
    state = fo.load_state_dict(checkpoint or fo.find_checkpoint(model_dir))
    arch, kv = convert.build_metadata(cfg, tokens, shift, scale, model_dir.resolve().name)

    r = gguf.GGUFReader(str(gguf_path))
    fields = r.fields
    # GGUF header
    if read_field(fields["GGUF.version"]) != 3:
        errors.append("GGUF version is not 3")
    if read_field(fields["general.architecture"]) != arch:
        errors.append(f"general.architecture {read_field(fields['general.architecture'])!r} != {arch!r}")
    if "general.alignment" not in fields or read_field(fields["general.alignment"]) != 32:
        errors.append("general.alignment missing or not 32")

    type_of = {"u32": gguf.GGUFValueType.UINT32, "i32": gguf.GGUFValueType.INT32,
               "f32": gguf.GGUFValueType.FLOAT32, "str": gguf.GGUFValueType.STRING}
    for key, kind, val in kv:
        if key not in fields:
            errors.append(f"metadata {key} missing")
            continue
        f = fields[key]
        got = read_field(f)
        if kind.endswith("[]"):
            if f.types[0] != gguf.GGUFValueType.ARRAY:
                errors.append(f"metadata {key} is not an array")
                continue
            if kind == "f32[]":
                ok = (f.types[1] == gguf.GGUFValueType.FLOAT32 and len(got) == len(val)
                      and np.array_equal(np.array(got, np.float32).view(np.uint32),
                                         np.array(val, np.float32).view(np.uint32)))
            elif kind == "i32[]":
                ok = f.types[1] == gguf.GGUFValueType.INT32 and list(got) == list(val)
            else:
                ok = f.types[1] == gguf.GGUFValueType.STRING and list(got) == list(val)
        else:
            ok = f.types[0] == type_of[kind]
            if kind == "f32":
                ok = ok and np.float32(got).view(np.uint32) == np.float32(val).view(np.uint32)
            else:
                ok = ok and got == val
        if not ok:
            shown = got if not isinstance(got, list) else f"[{len(got)} items]"
            errors.append(f"metadata {key}: file has {shown!r} ({f.types}), expected {kind} {val if not isinstance(val, list) else ''}")

    # cmvn and tokens against the raw files too (not only through build_metadata)
    if "paraformer.cmvn.shift" in fields:
        if not np.array_equal(np.array(read_field(fields["paraformer.cmvn.shift"]), np.float32), shift):
            errors.append("cmvn.shift differs from am.mvn")
    if "tokenizer.ggml.tokens" in fields and read_field(fields["tokenizer.ggml.tokens"]) != tokens:
        errors.append("tokenizer.ggml.tokens differs from the token file")

    layout = read_field(fields[gguf_layout.LAYOUT_KEY]) if gguf_layout.LAYOUT_KEY in fields else gguf_layout.OUT_IN
    if layout not in gguf_layout.LAYOUTS:
        errors.append(f"{gguf_layout.LAYOUT_KEY} is {layout!r}, not one of {gguf_layout.LAYOUTS}")
    back = {t.name: t for t in r.tensors}
    if set(back) != set(state):
        missing = sorted(set(state) - set(back), key=fo.natural_key)
        extra = sorted(set(back) - set(state), key=fo.natural_key)
        errors.append(f"tensor names differ: missing {missing[:5]}, extra {extra[:5]}")
    n_exact = 0
    for name in sorted(state, key=fo.natural_key):
        if name not in back:
            continue
        t = back[name]
        ref = state[name].detach().to(torch.float32).contiguous().numpy()
        if layout == gguf_layout.IN_OUT and gguf_layout.is_linear_weight(name, ref.ndim):
            ref = np.ascontiguousarray(ref.T)  # stored [in, out]
        data = np.asarray(t.data)
        if tuple(data.shape) != tuple(ref.shape):
            errors.append(f"{name}: shape {data.shape} != {ref.shape}")
            continue
        if list(reversed([int(x) for x in t.shape])) != list(ref.shape):
            errors.append(f"{name}: GGUF ne {list(t.shape)} is not the reversed PyTorch shape {list(ref.shape)}")
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            if not np.array_equal(data.view(np.uint32), ref.view(np.uint32)):
                errors.append(f"{name}: F32 data differ from the checkpoint")
                continue
        elif t.tensor_type == gguf.GGMLQuantizationType.F16:
            if not np.array_equal(data.view(np.uint16), ref.astype(np.float16).view(np.uint16)):
                errors.append(f"{name}: F16 data differ from the checkpoint rounded to F16")
                continue
        else:
            errors.append(f"{name}: unexpected tensor type {t.tensor_type}")
            continue
        if t.data_offset % 32 != 0:
            errors.append(f"{name}: data offset {t.data_offset} not 32-aligned")
        n_exact += 1
    return errors, n_exact, len(state), len(kv)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("gguf", type=Path)
    ap.add_argument("--checkpoint", type=Path, default=None)
    a = ap.parse_args(argv)
    errors, n_exact, n, n_kv = check(a.model_dir, a.gguf, a.checkpoint)
    if errors:
        for e in errors[:20]:
            print(f"FAIL {e}")
        print(f"{a.gguf}: {len(errors)} failure(s)")
        return 1
    print(f"{a.gguf}: OK: {n_exact}/{n} tensors bit-exact, {n_kv} metadata keys equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
