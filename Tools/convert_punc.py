"""Convert a FunASR CT-Transformer punctuation model directory to one GGUF v3 file.

Called by Tools/convert.py when config.yaml's `model` is `CTTransformer` or
`CTTransformerStreaming` (Weights/FORMAT.md, "Punctuation models").

MODEL_DIR as ModelScope ships it: config.yaml, model.pt (or model.pb / one *.pt), tokens.json
(or tokens.txt, or `tokenizer_conf.token_list` inside config.yaml). The checkpoint is checked
against the state dict FunASR's own class builds from config.yaml (on the meta device).

Tensors keep their state-dict names and PyTorch shapes (Linear weights [out, in]). Metadata
lives under `ct_punc.*`; the vocabulary under `tokenizer.ggml.tokens`.

The large released model (`punc_ct-transformer_cn-en-common-vocab471067-large`, "ct-punc")
segments its input with jieba (`jieba_usr_dict` in the directory, or named by config.yaml).
For it the converter loads jieba's main dictionary (the one bundled with jieba, or
`--jieba-dict`) and the user dictionary exactly as FunASR does (`jieba.load_userdict`), and
stores jieba's resulting prefix dictionary (`FREQ`: words and prefixes with their counts) and
`total` under `ct_punc.jieba.*`, so the engine segments as jieba does without jieba.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402
import gguf_layout  # noqa: E402

PUNC_ARCHITECTURES = {
    "CTTransformer": ("ct-transformer", "SANMEncoder"),
    "CTTransformerStreaming": ("ct-transformer-streaming", "SANMVadEncoder"),
}


class ConvertError(Exception):
    pass


def _need(ok: bool, msg: str) -> None:
    if not ok:
        raise ConvertError(msg)


def build_metadata(cfg: dict, tokens: list, name: str):
    """Return (architecture, [(key, kind, value)]) for a punctuation model."""
    model = cfg["model"]
    arch, encoder = PUNC_ARCHITECTURES[model]
    mc = cfg.get("model_conf") or {}
    enc = cfg.get("encoder_conf") or {}
    tc = cfg.get("tokenizer_conf") or {}
    _need(cfg.get("encoder") == encoder,
          f"config.yaml: {model} needs encoder {encoder}, found {cfg.get('encoder')!r}")
    _need(enc.get("input_layer", "conv2d") == "pe",
          f"encoder_conf.input_layer must be 'pe', found {enc.get('input_layer')!r}")
    _need(enc.get("selfattention_layer_type", "sanm") == "sanm",
          "encoder_conf.selfattention_layer_type must be 'sanm'")
    _need(enc.get("normalize_before", True) is True, "encoder_conf.normalize_before must be true")
    _need(not enc.get("concat_after", False), "encoder_conf.concat_after must be false")
    _need(enc.get("positionwise_layer_type", "linear") == "linear",
          "encoder_conf.positionwise_layer_type must be 'linear'")
    _need(not tc.get("non_linguistic_symbols") and not tc.get("seg_dict") and not tc.get("seg_dict_file"),
          "tokenizer_conf with non_linguistic_symbols or seg_dict is not supported")
    _need(cfg.get("tokenizer", "CharTokenizer") == "CharTokenizer",
          f"tokenizer {cfg.get('tokenizer')!r} is not supported (CharTokenizer is)")

    punc_list = mc.get("punc_list")
    _need(isinstance(punc_list, list) and len(punc_list) >= 2 and all(isinstance(p, str) for p in punc_list),
          "config.yaml: model_conf.punc_list must be a list of strings")
    embed_unit = int(mc.get("embed_unit", 128))
    att_unit = int(mc.get("att_unit", 256))
    input_size = int(enc.get("input_size", embed_unit))
    output_size = int(enc.get("output_size", 256))
    _need(input_size == embed_unit,
          f"encoder_conf.input_size {input_size} differs from model_conf.embed_unit {embed_unit}")
    _need(output_size == att_unit,
          f"encoder_conf.output_size {output_size} differs from model_conf.att_unit {att_unit}")
    sentence_end_id = int(mc.get("sentence_end_id", 3))
    _need(0 <= sentence_end_id < len(punc_list), f"sentence_end_id {sentence_end_id} is not a class")
    unk = str(tc.get("unk_symbol", "<unk>"))
    _need(unk in tokens, f"unk_symbol {unk!r} is not in the token list")
    _need(len(set(tokens)) == len(tokens), "the token list has duplicates (FunASR refuses it)")

    kv = [
        ("general.name", "str", name),
        ("ct_punc.vocab_size", "u32", len(tokens)),
        ("ct_punc.embed_unit", "u32", embed_unit),
        ("ct_punc.encoder.input_size", "u32", input_size),
        ("ct_punc.encoder.output_size", "u32", output_size),
        ("ct_punc.encoder.attention_heads", "u32", int(enc.get("attention_heads", 4))),
        ("ct_punc.encoder.linear_units", "u32", int(enc.get("linear_units", 2048))),
        ("ct_punc.encoder.num_blocks", "u32", int(enc.get("num_blocks", 6))),
        ("ct_punc.encoder.kernel_size", "u32", int(enc.get("kernel_size", 11))),
        ("ct_punc.encoder.sanm_shift", "i32", int(enc.get("sanm_shfit", 0))),
        ("ct_punc.punc_list", "str[]", list(punc_list)),
        ("ct_punc.sentence_end_id", "u32", sentence_end_id),
        ("ct_punc.unk_symbol", "str", unk),
        ("tokenizer.ggml.tokens", "str[]", list(tokens)),
    ]
    return arch, kv


def find_jieba_user_dict(model_dir: Path, cfg: dict):
    """The jieba user dictionary FunASR would load for this model, or None."""
    mc = cfg.get("model_conf") or {}
    for name in (cfg.get("jieba_usr_dict"), mc.get("jieba_usr_dict")):
        if name:
            p = Path(name)
            p = p if p.is_absolute() else model_dir / p
            _need(p.exists(), f"config.yaml names jieba_usr_dict {name}, which does not exist")
            return p
    p = model_dir / "jieba_usr_dict"
    return p if p.exists() else None


def jieba_metadata(user_dict: Path, main_dict: Path | None):
    """jieba's prefix dictionary after load_userdict(user_dict), as FunASR leaves it."""
    import jieba

    jieba.setLogLevel(60)
    tk = jieba.Tokenizer(str(main_dict)) if main_dict else jieba.Tokenizer()
    tk.initialize()
    tk.load_userdict(str(user_dict))
    words = list(tk.FREQ.keys())
    counts = [int(tk.FREQ[w]) for w in words]
    _need(all(c >= 0 for c in counts), "jieba has negative word counts")
    return [
        ("ct_punc.jieba.words", "str[]", words),
        ("ct_punc.jieba.counts", "u64[]", counts),
        ("ct_punc.jieba.total", "u64", int(tk.total)),
    ]


def expected_shapes(cfg: dict, vocab_size: int):
    import torch
    import funasr  # noqa: F401
    import funasr.models.ct_transformer.model  # noqa: F401
    import funasr.models.ct_transformer_streaming.model  # noqa: F401
    import funasr.models.ct_transformer_streaming.encoder  # noqa: F401
    import funasr.models.sanm.encoder  # noqa: F401
    from funasr.register import tables

    cls = tables.model_classes.get(cfg["model"])
    conf = dict(cfg.get("model_conf") or {})
    conf.pop("jieba_usr_dict", None)
    conf.update(encoder=cfg["encoder"], encoder_conf=cfg.get("encoder_conf") or {}, vocab_size=vocab_size)
    with torch.device("meta"):
        model = cls(**conf)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def validate(cfg: dict, state: dict, vocab_size: int) -> None:
    try:
        expected = expected_shapes(cfg, vocab_size)
    except Exception as e:  # a config FunASR itself cannot build
        raise ConvertError(f"FunASR cannot build {cfg.get('model')} from config.yaml: {e}") from e
    for name in sorted(expected, key=fo.natural_key):
        _need(name in state, f"checkpoint lacks tensor {name} (expected shape {list(expected[name])})")
        got = tuple(state[name].shape)
        _need(got == expected[name], f"tensor {name} has shape {list(got)}, config.yaml (vocab "
                                     f"{vocab_size}) expects {list(expected[name])}")
    for name in sorted(state, key=fo.natural_key):
        _need(name in expected, f"checkpoint has tensor {name} {list(state[name].shape)} that "
                                f"{cfg['model']} built from config.yaml does not have")
        _need(state[name].is_floating_point(), f"tensor {name} has non-float dtype {state[name].dtype}")


def convert_punc(model_dir: Path, out: Path, dtype: str = "f32", checkpoint: Path | None = None,
                 quiet: bool = False, jieba_dict: Path | None = None) -> None:
    import gguf
    import torch

    cfg = fo.load_config(model_dir)
    tokens = fo.tokens_for(model_dir, cfg)
    arch, kv = build_metadata(cfg, tokens, model_dir.resolve().name)
    user_dict = find_jieba_user_dict(model_dir, cfg)
    if user_dict is not None:
        _need(cfg["model"] == "CTTransformer", "jieba is used only by the offline CTTransformer")
        kv += jieba_metadata(user_dict, jieba_dict)
    state = fo.load_state_dict(checkpoint or fo.find_checkpoint(model_dir))
    validate(cfg, state, len(tokens))

    def tensors():
        for name in state:
            t = state[name].detach().to(torch.float32).contiguous().numpy()
            yield name, (t.astype(np.float16) if dtype == "f16" and t.ndim >= 2 else t)

    gguf_layout.write_gguf(out, arch, kv, tensors())

    r = gguf.GGUFReader(str(out))
    back = {t.name: t for t in r.tensors}
    _need(len(back) == len(state), f"read back {len(back)} tensors, wrote {len(state)}")
    for name, t in state.items():
        _need(tuple(back[name].data.shape) == tuple(t.shape), f"read back {name} with a different shape")
    if not quiet:
        n = sum(int(np.prod(t.shape)) for t in state.values())
        extra = f", jieba dictionary of {len(kv[-3][2])} entries" if user_dict is not None else ""
        print(f"{out}: {arch}, {len(state)} tensors, {n} parameters, vocab {len(tokens)}, {dtype}{extra}")
