"""Which tensors of a Paraformer GGUF are stored transposed, and how (Weights/FORMAT.md);
reading GGUF metadata fields.

`paraformer.linear_layout` says how the weight matrices of the nn.Linear layers are stored:

- "out_in": as PyTorch stores them, [out, in] (also what a file without the key means);
- "in_out": transposed, [in, out]. OpenBLAS multiplies activations by an [in, out] matrix
  measurably faster when the weights come from memory rather than cache (it packs them in
  longer contiguous runs): paraformer-large offline, one thread, 4.8 % less time.

A Linear weight is every 2-D tensor whose name ends in ".weight" except the token embedding
(`decoder.embed.0.weight`, and Contextual Paraformer's hotword table `bias_embed.weight`: lookup
tables, never multiplied).
"""

from __future__ import annotations

LAYOUT_KEY = "paraformer.linear_layout"
OUT_IN = "out_in"
IN_OUT = "in_out"
LAYOUTS = (OUT_IN, IN_OUT)
NOT_LINEAR = ("decoder.embed.0.weight", "decoder2.embed.0.weight", "bias_embed.weight")


# Metadata kinds of `write_gguf`'s (key, kind, value) triples.
_SCALAR = {"u32": "add_uint32", "i32": "add_int32", "u64": "add_uint64", "f32": "add_float32"}
_ARRAY = {"f32[]": "FLOAT32", "i32[]": "INT32", "u64[]": "UINT64", "str[]": "STRING"}


def write_gguf(out, arch: str, kv, tensors) -> None:
    """Writes one model file, every converter's way: `kv` as (key, kind, value) with kind one of
    u32 i32 u64 f32 str f32[] i32[] u64[] str[], then `tensors` as (name, numpy array) in order,
    32-byte aligned; into `out`.tmp, renamed to `out` once complete (no half-written model)."""
    import gguf
    from pathlib import Path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)
    w.add_custom_alignment(32)
    GT = gguf.GGUFValueType
    for key, kind, val in kv:
        if kind in _SCALAR:
            getattr(w, _SCALAR[kind])(key, val)
        elif kind == "str":
            w.add_key_value(key, val, GT.STRING)  # add_string() silently drops ""
        elif kind in _ARRAY:
            w.add_key_value(key, val, GT.ARRAY, sub_type=getattr(GT, _ARRAY[kind]))
        else:
            raise AssertionError(kind)
    for name, t in tensors:
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(out)


def is_linear_weight(name: str, ndim: int) -> bool:
    return ndim == 2 and name.endswith(".weight") and name not in NOT_LINEAR


def read_field(field):
    """The value of a gguf.GGUFReader field: a number, a string, or a list of either."""
    import gguf

    t = field.types[0]
    if t == gguf.GGUFValueType.ARRAY:
        sub = field.types[1] if len(field.types) > 1 else None
        if sub == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    if t == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    return field.parts[field.data[0]].tolist()[0]


def default_layout(arch: str) -> str:
    """in_out for offline models; streaming models keep out_in, because their 15-row windows
    run fastest through OpenBLAS's AVX-512 small-matrix kernels on [out, in] slices."""
    return OUT_IN if arch in ("paraformer-streaming", "uniasr") else IN_OUT
