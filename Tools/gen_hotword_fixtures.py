#!/usr/bin/env python3
"""Hotword fixtures: tiny random-weight SeacoParaformer and ContextualParaformer models built
with FunASR's own classes, converted to GGUF, and FunASR's outputs for a set of hotword cases.

    python Tools/gen_hotword_fixtures.py [--cache /work/cache/hotword] [--large]

Writes into Tests/ParaformerTests/Fixtures/hotword/:
  seaco-tiny.gguf, contextual-tiny.gguf          the converted models (Tools/convert.py)
  seaco-tiny__expected.gguf, contextual-tiny__expected.gguf
                                                 FunASR's outputs, per clip and hotword case
  hotwords_several.txt, hotwords_many.txt, hotwords_blank_line.txt
                                                 the hotword files the cases pass

Each model directory (in the cache) is laid out as a ModelScope release: config.yaml,
model.pt, am.mvn, tokens.json and seg_dict beside am.mvn (FunASR looks the seg_dict up in
dirname(frontend.cmvn_file)). FunASR runs through AutoModel (frontend dither 0.0, one
thread, CPU) with `hotword=` exactly as a user passes it. Intermediates are captured by
wrapping FunASR's own methods (`_hotword_representation`, `seaco_decoder.forward_asf6`,
`hotword_output_layer`, `_seaco_decode_with_ASF`, the Contextual `bias_encoder`,
`cal_decoder_with_predictor`), so they are the values of FunASR's inference path.

Weights are arranged so that biasing changes the output: `hotword_output_layer.bias[NO_BIAS]`
is raised so that both branches of the NO_BIAS merge occur, and the generator asserts that the
hotword cases give different token sequences on some clip (a no-op would pass nothing).

`--large` also builds the released SeACo size (512 × 50 encoder, 16-layer decoder, vocab
8404) with random weights into the cache, for timing (nothing of it is committed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import funasr_oracle as fo  # noqa: E402
import gen_model_fixtures as gm  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "hotword"
AUDIO = REPO / "Tests" / "ParaformerTests" / "Fixtures" / "model" / "audio"
CLIPS = ["zh_short", "zh_long", "en", "mix"]

CHARS = list("达摩院魔搭欢迎大家来体验推出的语音你好世界天下北京上海阿里巴云计算中心人工智能")
ENGLISH = ["he@@", "llo", "wor@@", "ld", "today", "is", "a", "b"]
TOKENS = ["<blank>", "<s>", "</s>"] + CHARS + ENGLISH + ["<unk>"]


def seg_dict_lines():
    """seg_dict as the released one: every char maps to itself, English words to pieces."""
    lines = [f"{c} {c}" for c in CHARS]
    lines += ["hello he@@ llo", "world wor@@ ld", "today today", "is is", "a a", "b b"]
    return lines


# Hotword cases: name -> the `hotword` value (files are relative to OUT).
MANY = [c1 + c2 for c1 in CHARS[:8] for c2 in CHARS[8:16]][:60]  # 60 > the ASF filter's 50
CASES = [
    ("none", None),
    ("empty", ""),
    ("one", "达摩院"),
    ("several_str", "达摩院 hello 魔搭 北京"),
    ("several_file", "hotwords_several.txt"),
    ("oov", "达摩院ai 5g 你好吗 xyz Hello"),
    ("dup", "达摩院 达摩院 hello hello"),
    ("many", "hotwords_many.txt"),
]
HOTWORD_FILES = {
    "hotwords_several.txt": "达摩院\nhello world\n魔搭\n北京\n",
    "hotwords_many.txt": "".join(w + "\n" for w in MANY),
    # FunASR crashes on this file (an empty id list reaches pack_padded_sequence); we skip the
    # empty line. Not run through FunASR; the Swift test checks it equals hotwords_several.txt.
    "hotwords_blank_line.txt": "达摩院\n\nhello world\n魔搭\n北京\n",
}

# Released-size SeACo (random weights, vocab of CJK U+4E00.., seg_dict char -> char): checked
# on demand (HOTWORD_LARGE_FIXTURES=cache dir), never committed.
LARGE_CASES = [
    ("none", None),
    ("empty", ""),
    ("one", "一丁七"),
    ("many", "hotwords_large_100.txt"),
]

D = 32


def common_conf():
    return dict(
        encoder="SANMEncoder",
        encoder_conf=dict(output_size=D, attention_heads=4, linear_units=64, num_blocks=2,
                          input_layer="pe", pos_enc_class="SinusoidalPositionEncoder",
                          normalize_before=True, kernel_size=11, sanm_shfit=0,
                          selfattention_layer_type="sanm"),
        frontend="WavFrontend",
        frontend_conf=dict(fs=16000, window="hamming", n_mels=80, frame_length=25,
                           frame_shift=10, lfr_m=7, lfr_n=6, dither=0.0),
        tokenizer="CharTokenizer",
        tokenizer_conf=dict(unk_symbol="<unk>", split_with_space=True),
    )


def seaco_config(vocab: int, large: bool = False):
    d = 512 if large else D
    cfg = dict(model="SeacoParaformer",
               model_conf=dict(ctc_weight=0.0, lsm_weight=0.1, length_normalized_loss=True,
                               predictor_weight=1.0, predictor_bias=1, sampling_ratio=0.75,
                               inner_dim=d, bias_encoder_type="lstm", bias_encoder_bid=False,
                               seaco_lsm_weight=0.1, seaco_length_normal=True,
                               train_decoder=False, NO_BIAS=8377 if large else vocab - 2))
    cfg.update(common_conf())
    if large:
        cfg["encoder_conf"].update(output_size=512, linear_units=2048, num_blocks=50)
    cfg.update(
        decoder="ParaformerSANMDecoder",
        decoder_conf=dict(attention_heads=4, linear_units=2048 if large else 64,
                          num_blocks=16 if large else 2, att_layer_num=16 if large else 2,
                          kernel_size=11, sanm_shfit=0),
        predictor="CifPredictorV3",
        predictor_conf=dict(idim=d, threshold=1.0, l_order=1, r_order=1, tail_threshold=0.45,
                            smooth_factor2=0.25, noise_threshold2=0.01, upsample_times=3,
                            use_cif1_cnn=False, upsample_type="cnn_blstm"),
        seaco_decoder="ParaformerSANMDecoder",
        seaco_decoder_conf=dict(attention_heads=4, linear_units=1024 if large else 64,
                                num_blocks=4, kernel_size=21, sanm_shfit=0,
                                use_output_layer=False, wo_input_layer=True),
    )
    return cfg


def contextual_config(vocab: int):
    cfg = dict(model="ContextualParaformer",
               model_conf=dict(ctc_weight=0.0, lsm_weight=0.1, length_normalized_loss=True,
                               predictor_weight=1.0, predictor_bias=1, sampling_ratio=0.75,
                               inner_dim=D))
    cfg.update(common_conf())
    cfg.update(
        decoder="ContextualParaformerDecoder",
        decoder_conf=dict(attention_heads=4, linear_units=64, num_blocks=3, att_layer_num=3,
                          kernel_size=11, sanm_shfit=0),
        predictor="CifPredictorV2",
        predictor_conf=dict(idim=D, threshold=1.0, l_order=1, r_order=1, tail_threshold=0.45),
    )
    return cfg


def build_dir(model_dir: Path, cfg: dict, tokens, arrange, seed: int, large: bool = False):
    import torch

    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    torch.manual_seed(seed)
    model = fo.build_model(cfg, len(tokens)).eval()
    arrange(model)
    torch.save(model.state_dict(), model_dir / "model.pt")
    with open(model_dir / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, allow_unicode=True, sort_keys=False)
    with open(model_dir / "tokens.json", "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False)
    n = 560
    fo.write_cmvn(model_dir / "am.mvn", np.full(n, -8.0, np.float32), np.full(n, 0.25, np.float32))
    with open(model_dir / "seg_dict", "w", encoding="utf-8") as f:
        lines = seg_dict_lines() if not large else [f"{t} {t}" for t in tokens[3:-1]]
        f.write("".join(ln + "\n" for ln in lines))


def arrange_seaco(model):
    import torch

    with torch.no_grad():
        # 3-6 tokens per second of speech: scale the CIF logit
        model.predictor.cif_output.weight.mul_(3.0)
        model.predictor.cif_output.bias.fill_(-0.5)
        # both merge branches: NO_BIAS wins at some positions, not all
        v = model.hotword_output_layer.bias.shape[0]
        model.hotword_output_layer.weight.mul_(3.0)
        model.hotword_output_layer.bias[v - 2] += 1.0
        # hotword vectors that differ visibly between lists
        for name, p in model.bias_encoder.named_parameters():
            if "weight" in name:
                p.mul_(3.0)


def arrange_contextual(model):
    import torch

    with torch.no_grad():
        model.predictor.cif_output.weight.mul_(3.0)
        model.predictor.cif_output.bias.fill_(-0.5)
        for name, p in model.bias_encoder.named_parameters():
            if "weight" in name:
                p.mul_(3.0)
        model.decoder.bias_output.weight.mul_(4.0)


def convert(model_dir: Path, out: Path):
    subprocess.run([sys.executable, str(REPO / "Tools" / "convert.py"), str(model_dir), "-o", str(out)],
                   check=True)


def load(model_dir: Path):
    am = gm.load_automodel(model_dir)
    fe = gm.frontend_of(am)
    assert fe.cmvn_file is not None and Path(fe.cmvn_file).parent == model_dir.resolve() or \
        Path(fe.cmvn_file).parent == model_dir, fe.cmvn_file
    return am


def run_case(am, wav: str, hotword, family: str):
    """One generate() call with its intermediates."""
    rec = gm.Recorder()
    gm.install_fbank_guard(rec)
    m = am.model

    def wrap(name, obj, attr):
        def make(orig):
            def f(*a, **k):
                out = orig(*a, **k)
                rec.add(name, args=[gm._c(x) for x in a], out=gm._c(out))
                return out
            return f
        rec.patch(obj, attr, make)

    if family == "seaco":
        wrap("hotword_vectors", m, "_hotword_representation")
        wrap("asf", m.seaco_decoder, "forward_asf6")
        wrap("dha_logits", m.hotword_output_layer, "forward")
        wrap("merged", m, "_seaco_decode_with_ASF")
        wrap("predictor", m, "calc_predictor")
        wrap("timestamp", m, "calc_predictor_timestamp")
        wrap("seaco_dec", m.seaco_decoder, "forward")
    else:
        wrap("bias_encoder", m.bias_encoder, "forward")
        wrap("decoder", m, "cal_decoder_with_predictor")
        wrap("predictor", m, "calc_predictor")
    try:
        kw = {} if hotword is None else {"hotword": hotword}
        res = am.generate(input=wav, **kw)
    finally:
        rec.restore()
    return res, rec


def gen_family(family: str, cache: Path, large: bool = False):
    name = f"{family}-large" if large else f"{family}-tiny"
    model_dir = cache / name
    out_dir, cases = (cache, LARGE_CASES) if large else (OUT, CASES)
    if large:
        pass  # built by main()
    elif family == "seaco":
        build_dir(model_dir, seaco_config(len(TOKENS)), TOKENS, arrange_seaco, seed=7)
    else:
        build_dir(model_dir, contextual_config(len(TOKENS)), TOKENS, arrange_contextual, seed=11)
    if not large:
        convert(model_dir, OUT / f"{name}.gguf")
    am = load(model_dir)
    tok = am.kwargs["tokenizer"]
    w = gm.FixtureWriter(out_dir / f"{name}__expected.gguf", f"{family}-hotwords")
    w.strs("fixture.clips", CLIPS)
    w.strs("fixture.cases", [c for c, _ in cases])
    outputs = {}
    for case, hw in cases:
        arg = None if hw is None else (str(out_dir / hw) if hw.endswith(".txt") else hw)
        w.str(f"fixture.{case}.hotword", "<None>" if hw is None else hw)
        ids_lists = am.model.generate_hotwords_list(arg, tokenizer=tok, frontend=gm.frontend_of(am))
        if ids_lists is not None:
            w.i32s(f"fixture.{case}.hotword_lengths", [len(x) for x in ids_lists])
            w.i32s(f"fixture.{case}.hotword_ids", [i for x in ids_lists for i in x])
        for clip in CLIPS:
            wav = str(AUDIO / f"{clip}.wav")
            res, rec = run_case(am, wav, arg, family)
            key = f"{clip}.{case}"
            r = res[0] if res else {}
            text = r.get("text", "")
            w.str(f"fixture.{key}.text", text)
            ts = [x for pair in r.get("timestamp", []) for x in pair]
            w.i32s(f"fixture.{key}.timestamps", ts)
            w.u32(f"fixture.{key}.num_timestamps", len(ts) // 2)
            (pred,) = rec.of("predictor")
            n = int(pred["out"][1][0].round().long())
            w.u32(f"fixture.{key}.num_tokens", n)
            if family == "seaco":
                merged = rec.of("merged")
                if merged:
                    lp = merged[0]["out"][0, :n].numpy()
                    w.tensor(f"{key}.merged", lp)
                    ids = lp.argmax(-1)
                    w.i32s(f"fixture.{key}.token_ids", ids.tolist())
                    srt = np.sort(lp, axis=-1)
                    w.f32(f"fixture.{key}.min_top2_margin", float((srt[:, -1] - srt[:, -2]).min()))
                hv = rec.of("hotword_vectors")
                if hv and clip == CLIPS[0]:
                    w.tensor(f"{case}.hotword_vectors", hv[0]["out"].numpy())
                dha = rec.of("dha_logits")
                if dha:
                    w.tensor(f"{key}.dha_logits", dha[0]["out"][0, :n].numpy())
                asf = rec.of("asf")
                if asf:
                    w.tensor(f"{key}.asf_scores", asf[0]["out"][0].sum(0).sum(0).numpy())
                tsr = rec.of("timestamp")
                if tsr:
                    T = int(rec.of("predictor")[0]["args"][1][0])
                    w.tensor(f"{key}.us_alphas", tsr[0]["out"][2][0, : 3 * T].numpy())
                if case == "none" and merged:
                    w.tensor(f"{clip}.encoder_alphas", pred["out"][2][0].numpy())
            else:
                dec = rec.of("decoder")
                if dec:
                    lp = dec[0]["out"][0][0, :n].numpy()
                    w.tensor(f"{key}.log_probs", lp)
                    ids = lp.argmax(-1)
                    w.i32s(f"fixture.{key}.token_ids", ids.tolist())
                    srt = np.sort(lp, axis=-1)
                    w.f32(f"fixture.{key}.min_top2_margin", float((srt[:, -1] - srt[:, -2]).min()))
                be = rec.of("bias_encoder")
                if be and clip == CLIPS[0]:
                    h_n = be[0]["out"][1][0]  # [layers, N, D]
                    w.tensor(f"{case}.hotword_vectors", h_n[-1].numpy())
            outputs[key] = text
            print(f"{name} {key}: {text!r}")
    # biasing must visibly change outputs
    for clip in CLIPS:
        texts = {c: outputs[f"{clip}.{c}"] for c, _ in cases}
        print(clip, "distinct outputs:", len(set(texts.values())))
    distinct = max(len({outputs[f"{clip}.{c}"] for c, _ in cases}) for clip in CLIPS)
    assert large or distinct >= 3, "hotwords change nothing: rearrange the weights"
    w.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/hotword"))
    ap.add_argument("--only", default="seaco,contextual")
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the large model even if cached")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for fname, content in HOTWORD_FILES.items():
        (OUT / fname).write_text(content, encoding="utf-8")
    for fam in filter(None, a.only.split(",")):
        gen_family(fam, a.cache)
    if a.large:
        import torch
        toks = ["<blank>", "<s>", "</s>"] + [chr(0x4E00 + i) for i in range(8400)] + ["<unk>"]
        def arrange_large(m):
            with torch.no_grad():  # about 4 tokens per second of speech
                m.predictor.cif_output.bias.fill_(-1.0)
        if a.rebuild or not (a.cache / "seaco-large.gguf").exists():
            build_dir(a.cache / "seaco-large", seaco_config(len(toks), large=True), toks,
                      arrange_large, seed=3, large=True)
            convert(a.cache / "seaco-large", a.cache / "seaco-large.gguf")
        rng = np.random.default_rng(0)
        words = ["".join(toks[3 + int(i)] for i in rng.integers(0, 8400, size=int(k)))
                 for k in rng.integers(2, 5, size=100)]
        (a.cache / "hotwords_large_100.txt").write_text("".join(x + "\n" for x in words), encoding="utf-8")
        gen_family("seaco", a.cache, large=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
