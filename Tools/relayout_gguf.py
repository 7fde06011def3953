#!/usr/bin/env python3
"""Rewrite a Paraformer GGUF with its Linear weight matrices in another layout.

    python Tools/relayout_gguf.py IN.gguf -o OUT.gguf [--linear-layout in_out|out_in]

For files converted before `paraformer.linear_layout` existed (all PyTorch's [out, in]), or to
switch a streaming model's layout: no FunASR checkpoint needed. Every other tensor and every
metadata key is copied unchanged (Tools/gguf_layout.py says which tensors are Linear weights;
Weights/FORMAT.md documents the key). The result is read back and checked tensor by tensor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gguf_layout  # noqa: E402
from gguf_layout import read_field  # noqa: E402


def relayout(src: Path, out: Path, layout: str) -> int:
    import gguf

    if layout not in gguf_layout.LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {gguf_layout.LAYOUTS}")
    r = gguf.GGUFReader(str(src))
    fields = r.fields
    arch = read_field(fields["general.architecture"])
    old = read_field(fields[gguf_layout.LAYOUT_KEY]) if gguf_layout.LAYOUT_KEY in fields else gguf_layout.OUT_IN
    if old not in gguf_layout.LAYOUTS:
        raise ValueError(f"{src}: {gguf_layout.LAYOUT_KEY} is {old!r}")
    flip = old != layout

    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)
    w.add_custom_alignment(int(read_field(fields["general.alignment"])) if "general.alignment" in fields else 32)
    T = gguf.GGUFValueType
    for key, f in fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.alignment", gguf_layout.LAYOUT_KEY):
            continue
        value = read_field(f)
        if f.types[0] == T.ARRAY:
            w.add_key_value(key, value, T.ARRAY, sub_type=f.types[1])
        else:
            w.add_key_value(key, value, f.types[0])
    w.add_key_value(gguf_layout.LAYOUT_KEY, layout, T.STRING)

    expected = {}
    for t in r.tensors:
        data = np.asarray(t.data)
        if flip and gguf_layout.is_linear_weight(t.name, data.ndim):
            data = np.ascontiguousarray(data.T)
        expected[t.name] = data
        w.add_tensor(t.name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(out)

    back = gguf.GGUFReader(str(out))
    if len(back.tensors) != len(expected):
        raise ValueError(f"read back {len(back.tensors)} tensors, wrote {len(expected)}")
    for t in back.tensors:
        data = np.asarray(t.data)
        ref = expected[t.name]
        if data.shape != ref.shape or data.dtype != ref.dtype or not np.array_equal(
                data.view(np.uint8), ref.view(np.uint8)):
            raise ValueError(f"read back {t.name} differs")
    return sum(1 for t in r.tensors if flip and gguf_layout.is_linear_weight(t.name, len(t.shape)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--linear-layout", choices=gguf_layout.LAYOUTS, default=gguf_layout.IN_OUT)
    a = ap.parse_args(argv)
    if a.input.resolve() == a.output.resolve():
        print("relayout_gguf.py: error: write to another file", file=sys.stderr)
        return 1
    try:
        n = relayout(a.input, a.output, a.linear_layout)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"relayout_gguf.py: error: {e}", file=sys.stderr)
        return 1
    print(f"{a.output}: {a.linear_layout}, {n} Linear weight(s) transposed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
