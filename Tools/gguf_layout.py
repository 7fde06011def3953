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
