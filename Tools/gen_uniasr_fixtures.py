#!/usr/bin/env python3
"""Makes the UniASR parity fixtures with FunASR's own classes (REFERENCE-2 §D).

    ~/.venvs/funasr/bin/python Tools/gen_uniasr_fixtures.py [--out DIR] [--models DIR]
    ~/.venvs/funasr/bin/python Tools/gen_uniasr_fixtures.py --large [--models DIR]

1. A random-weight UniASR model directory (config.yaml, model.pt, am.mvn, tokens.json) is
   built with FunASR's `UniASR` class: `tiny` (committed, D = 32, the released structure:
   two SANMEncoderChunkOpt encoders with the released chunk settings, a decoder whose
   attention_dim differs from the encoder width, concat_embeds, the stride-2 conv) or, with
   --large, the released large size (encoder 35 blocks, encoder2 20, D 320, vocab 8358;
   REFERENCE-2 §D.1) for timing only.
   Weights: torch.manual_seed(seed), FunASR's default init, then
   - every LayerNorm weight/bias set to 1 + 0.2·N(0,1) / 0.1·N(0,1);
   - each CIF predictor's cif_output bias bisected so that the chunked predictor fires
     about TOKENS_PER_SECOND tokens per second on the calibration clip;
   - both decoders' output layers scaled by LOGIT_GAIN and the </s> bias lowered by
     EOS_BIAS, so that the beam search neither stops at once nor repeats one token.
   The directory is converted with Tools/convert.py into <out>/tiny.gguf.
2. For every clip and every decoding mode (`fast`, `normal`, `offline`) a FRESH AutoModel is
   loaded from the directory (dither 0): FunASR builds its beam search on the first call
   with that call's mode and keeps it (REFERENCE-2 §D.5), so one model serves one mode.
   `generate(input=wave, decoding_model=mode, beam_size=5)` runs as is; its methods are
   wrapped (not changed) to record the features, the chunked encoder output(s), the CIF
   weights after the chunk mask, the acoustic embeddings, the SCAMA mask, and every ended
   hypothesis (yseq, score) the beam search returns.
3. A clip whose CIF weights sum below 1 crashes FunASR (the SCAMA mask has no rows); the
   error is recorded.

Writes <out>/uniasr-tiny__expected.gguf: F32 tensors `<clip>.waveform`, `<clip>.features`
[T, 560] (FunASR's, the same in every mode), `<mode>.<clip>.encoder_out` [L1, D] (encoder 1, chunked layout, with FSMN pad rows), `.encoder2_out`
[L2, D] (normal/offline), `.alphas` [L], `.acoustic_embeds` [N, D], `.scama_mask` [rows, L],
and metadata `fixture.json` (JSON): {"cases": [{"mode", "clip", "text", "token_ids",
"alpha_sum", "maxlen", "hyps": [{"yseq", "score"}], "error"}]}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

logging.disable(logging.WARNING)
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tools"))

import torch  # noqa: E402
import yaml  # noqa: E402

import funasr_oracle as fo  # noqa: E402
import make_random_model as mrm  # noqa: E402

torch.set_num_threads(1)

DEFAULT_OUT = ROOT / "Tests/ParaformerTests/Fixtures/uniasr"
DEFAULT_MODELS = Path("/work/cache/uniasr")
HELDOUT = ROOT / "Tests/ParaformerTests/Fixtures/heldout"
MODES = ["fast", "normal", "offline"]
TOKENS_PER_SECOND = 4.0
LOGIT_GAIN = 6.0
EOS_BIAS = 3.0


def enc_conf(d, heads, units, blocks, kernel, chunk, stride, pad):
    return dict(output_size=d, attention_heads=heads, linear_units=units, num_blocks=blocks,
                dropout_rate=0.1, positional_dropout_rate=0.1, attention_dropout_rate=0.1,
                input_layer="pe", pos_enc_class="SinusoidalPositionEncoder",
                normalize_before=True, kernel_size=kernel, sanm_shfit=0,
                selfattention_layer_type="sanm", chunk_size=chunk, stride=stride,
                pad_left=pad, encoder_att_look_back_factor=[0, 0],
                decoder_att_look_back_factor=[0, 0])


def dec_conf(adim, heads, units, blocks, att):
    return dict(attention_dim=adim, attention_heads=heads, linear_units=units, num_blocks=blocks,
                dropout_rate=0.1, positional_dropout_rate=0.1, self_attention_dropout_rate=0.1,
                src_attention_dropout_rate=0.1, att_layer_num=att, kernel_size=11,
                concat_embeds=True)


SIZES = {
    "tiny": dict(d=32, heads=4, units=64, enc_blocks=3, enc2_blocks=2, adim=24, adim2=32,
                 dec_units=48, dec_blocks=3, dec_att=2, vocab=48),
    # models/uniasr/template.yaml (REFERENCE-2 §D.1), vocabulary of the released models
    "large": dict(d=320, heads=4, units=1280, enc_blocks=35, enc2_blocks=20, adim=256, adim2=320,
                  dec_units=1024, dec_units2=1280, dec_blocks=12, dec_att=6, vocab=8358),
}


def make_config(name: str) -> dict:
    s = SIZES[name]
    return {
        "model": "UniASR",
        "model_conf": dict(ctc_weight=0.0, lsm_weight=0.1, length_normalized_loss=True,
                           predictor_weight=1.0, decoder_attention_chunk_type="chunk",
                           ctc_weight2=0.0, predictor_weight2=1.0,
                           decoder_attention_chunk_type2="chunk", loss_weight_model1=0.5),
        "encoder": "SANMEncoderChunkOpt",
        "encoder_conf": enc_conf(s["d"], s["heads"], s["units"], s["enc_blocks"], 11,
                                 [20, 60], [10, 40], [5, 10]),
        "decoder": "FsmnDecoderSCAMAOpt",
        "decoder_conf": dec_conf(s["adim"], s["heads"], s["dec_units"], s["dec_blocks"],
                                 s["dec_att"]),
        "predictor": "CifPredictorV2",
        "predictor_conf": dict(idim=s["d"], threshold=1.0, l_order=1, r_order=1),
        "encoder2": "SANMEncoderChunkOpt",
        "encoder2_conf": enc_conf(s["d"], s["heads"], s["units"], s["enc2_blocks"], 21,
                                  [45, 70], [35, 50], [5, 10]),
        "decoder2": "FsmnDecoderSCAMAOpt",
        "decoder2_conf": dec_conf(s["adim2"], s["heads"], s.get("dec_units2", s["dec_units"]),
                                  s["dec_blocks"], s["dec_att"]),
        "predictor2": "CifPredictorV2",
        "predictor2_conf": dict(idim=s["d"], threshold=1.0, l_order=1, r_order=1),
        "stride_conv": "stride_conv1d",
        "stride_conv_conf": dict(kernel_size=2, stride=2, pad=[0, 1]),
        "frontend": "WavFrontend",
        "frontend_conf": dict(fs=16000, window="hamming", n_mels=80, frame_length=25,
                              frame_shift=10, lfr_m=7, lfr_n=6, dither=0.0),
        "specaug": None,
        "normalize": None,
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": dict(unk_symbol="<unk>", split_with_space=True),
    }


def build_model(cfg: dict, vocab: int):
    tables = fo.import_funasr()
    import funasr.models.uniasr.model  # noqa: F401
    import funasr.models.scama.decoder  # noqa: F401
    conf = dict(cfg["model_conf"])
    for k, v in cfg.items():
        if k in ("model", "model_conf", "frontend", "frontend_conf", "tokenizer",
                 "tokenizer_conf", "specaug", "normalize"):
            continue
        conf[k] = v
    conf["input_size"] = 560
    conf["vocab_size"] = vocab
    return tables.model_classes.get("UniASR")(**conf)


# --------------------------------------------------------------------------------------
# Audio

def load_wav(path: Path) -> np.ndarray:
    import soundfile as sf
    x, sr = sf.read(str(path), dtype="float32")
    assert sr == 16000, path
    return x


def clips() -> dict:
    """Speech clips from the committed held-out set, and 0.1 s of noise (Σα < 1)."""
    a = load_wav(HELDOUT / "test_00001.wav")
    b = load_wav(HELDOUT / "test_00002.wav")
    c = load_wav(HELDOUT / "test_00003.wav")
    rng = np.random.default_rng(7)
    return {
        "short": a[: int(1.7 * 16000)],
        # > 6 s so that the offline mode's second encoder (50-frame stride at 120 ms) sees 2 chunks
        "long": np.concatenate([a, b, c[: int(1.0 * 16000)]]),
        "noise": (0.01 * rng.standard_normal(1600)).astype(np.float32),
    }


# --------------------------------------------------------------------------------------
# Weights

def perturb_norms(model, seed: int):
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))


def chunked_alpha_sum(model, feats, mode: str) -> float:
    """Σα of the predictor `mode` uses, on features [1, T, 560]."""
    ind = 1 if mode == "offline" else 0
    x = feats.clone()
    lens = torch.tensor([x.shape[1]])
    _, enc, enc_lens = model.encode(x.clone(), lens, ind=ind)
    if mode == "fast":
        out = model.calc_predictor_mask(enc, enc_lens)
    else:
        enc, enc_lens = model.encode2(enc, enc_lens, feats.clone(), lens, ind=ind)
        out = model.calc_predictor_mask2(enc, enc_lens)
    return float(out[1].sum())


def calibrate(model, feats, seconds: float, rate: float, steps: int = 40):
    """Bisect each predictor's cif_output bias so that it fires `rate` tokens per second."""
    target = rate * seconds
    for pred, mode in ((model.predictor, "fast"), (model.predictor2, "normal")):
        base = pred.cif_output.bias.detach().clone()
        lo, hi = -20.0, 20.0
        for _ in range(steps):
            mid = (lo + hi) / 2
            with torch.no_grad():
                pred.cif_output.bias.copy_(base + mid)
                s = chunked_alpha_sum(model, feats, mode)
            if s < target:
                lo = mid
            else:
                hi = mid
        with torch.no_grad():
            pred.cif_output.bias.copy_(base + (lo + hi) / 2)


def build_dir(name: str, out_dir: Path, seed: int) -> None:
    cfg = make_config(name)
    vocab = SIZES[name]["vocab"]
    tokens = mrm.make_tokens(vocab, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    cl = clips()
    feats_raw = mrm.lfr_features([cl["short"], cl["long"]])
    allf = torch.cat(feats_raw).double()
    fo.write_cmvn(out_dir / "am.mvn", (-allf.mean(0)).float().numpy(),
                  (1.0 / allf.std(0).clamp_min(1e-3)).float().numpy())
    # The released size calibrates on the short clip with fewer steps (each step runs the model).
    calib = cl["short"] if name == "large" else cl["long"]
    feats = mrm.lfr_features([calib], cmvn_file=str(out_dir / "am.mvn"))[0][None]

    torch.manual_seed(seed)
    np.random.seed(seed)
    model = build_model(cfg, vocab)
    model.eval()
    perturb_norms(model, seed)
    with torch.no_grad():
        for dec in (model.decoder, model.decoder2):
            dec.output_layer.weight.mul_(LOGIT_GAIN)
            dec.output_layer.bias[2] -= EOS_BIAS
        calibrate(model, feats, len(calib) / 16000, TOKENS_PER_SECOND, steps=14 if name == "large" else 40)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
             if not k.startswith("beam_search.")}
    torch.save(state, str(out_dir / "model.pt"))
    cfg["tokenizer_conf"]["token_list"] = "tokens.json"
    with open(out_dir / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
    with open(out_dir / "tokens.json", "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=0)
    configuration = {
        "framework": "pytorch", "task": "auto-speech-recognition",
        "model": {"type": "funasr"}, "pipeline": {"type": "funasr-pipeline"},
        "file_path_metas": {"init_param": "model.pt", "config": "config.yaml",
                            "tokenizer_conf": {"token_list": "tokens.json"},
                            "frontend_conf": {"cmvn_file": "am.mvn"}},
        "random_model": {"config": name, "seed": seed, "tokens_per_second": TOKENS_PER_SECOND,
                         "logit_gain": LOGIT_GAIN, "eos_bias": EOS_BIAS},
    }
    with open(out_dir / "configuration.json", "w", encoding="utf-8") as f:
        json.dump(configuration, f, indent=2)


# --------------------------------------------------------------------------------------
# Oracle runs

def load_automodel(model_dir: Path):
    from funasr import AutoModel
    am = AutoModel(model=str(model_dir), device="cpu", disable_update=True, disable_pbar=True,
                   disable_log=True)
    assert am.kwargs["frontend"].dither == 0.0
    return am


class Recorder:
    """Wraps (does not change) UniASR's methods to record what one generate() call computes."""

    def __init__(self, model):
        self.rec = {}
        m = model
        enc, enc2 = m.encode, m.encode2
        p1, p2 = m.predictor.forward, m.predictor2.forward
        init_bs = m.init_beam_search
        cpm, cpm2 = m.calc_predictor_mask, m.calc_predictor_mask2

        def encode(speech, lens, **kw):
            self.rec["features"] = speech[0].detach().clone().numpy()
            out = enc(speech, lens, **kw)
            self.rec["encoder_out"] = out[1][0].detach().clone().numpy()
            return out

        def encode2(*a, **kw):
            out = enc2(*a, **kw)
            self.rec["encoder2_out"] = out[0][0].detach().clone().numpy()
            return out

        def predictor(fwd):
            def f(*a, **kw):
                out = fwd(*a, **kw)
                self.rec["acoustic_embeds"] = out[0][0].detach().clone().numpy()
                self.rec["alpha_sum"] = float(out[1].sum())
                self.rec["alphas"] = out[2][0].detach().clone().numpy()
                return out
            return f

        def mask(fn):
            def f(*a, **kw):
                out = fn(*a, **kw)
                self.rec["scama_mask"] = out[4][0].detach().clone().numpy().astype(np.float32)
                return out
            return f

        def init_beam_search(**kw):
            init_bs(**kw)
            bs = m.beam_search
            fwd = bs.forward

            def forward(*a, **kw2):
                self.rec["maxlen"] = kw2.get("maxlen")
                hyps = fwd(*a, **kw2)
                self.rec["hyps"] = [{"yseq": [int(t) for t in h.yseq], "score": float(h.score)}
                                    for h in hyps]
                return hyps
            bs.forward = forward

        m.encode, m.encode2 = encode, encode2
        m.predictor.forward, m.predictor2.forward = predictor(p1), predictor(p2)
        m.calc_predictor_mask, m.calc_predictor_mask2 = mask(cpm), mask(cpm2)
        m.init_beam_search = init_beam_search


def run_case(model_dir: Path, wave: np.ndarray, mode: str) -> dict:
    am = load_automodel(model_dir)
    r = Recorder(am.model)
    try:
        res = am.generate(input=wave, key="utt", decoding_model=mode, beam_size=5)
        r.rec["text"] = res[0]["text"]
    except Exception as e:  # FunASR fails below Σα = 1 (REFERENCE-2 §D.8)
        r.rec["error"] = f"{type(e).__name__}: {e}"
    return r.rec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--large", action="store_true", help="build and convert the released size only")
    a = ap.parse_args()
    import gguf

    name = "large" if a.large else "tiny"
    model_dir = a.models / name
    build_dir(name, model_dir, a.seed)
    out = a.models if a.large else a.out
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "Tools/convert.py"), str(model_dir), "-o",
                    str(out / f"uniasr-{name}.gguf")], check=True)
    if a.large:
        return 0

    w = gguf.GGUFWriter(str(out / f"uniasr-{name}__expected.gguf"), "uniasr-fixtures")
    cases = []
    for clip, wave in clips().items():
        w.add_tensor(f"{clip}.waveform", wave.astype(np.float32))
        for mode in MODES:
            rec = run_case(model_dir, wave, mode)
            case = {"mode": mode, "clip": clip}
            for k in ("text", "alpha_sum", "maxlen", "hyps", "error"):
                if k in rec:
                    case[k] = rec[k]
            if "hyps" in rec and rec["hyps"]:
                case["token_ids"] = [t for t in rec["hyps"][0]["yseq"][1:-1] if t != 0]
            if mode == MODES[0] and "features" in rec:  # the same in every mode
                w.add_tensor(f"{clip}.features", np.ascontiguousarray(rec["features"], dtype=np.float32))
            for k in ("encoder_out", "encoder2_out", "alphas", "acoustic_embeds", "scama_mask"):
                if k in rec and rec[k].size > 0:
                    w.add_tensor(f"{mode}.{clip}.{k}", np.ascontiguousarray(rec[k], dtype=np.float32))
            cases.append(case)
            print(f"{mode:8s} {clip:6s} Σα={rec.get('alpha_sum', float('nan')):.3f} "
                  f"text={rec.get('text')!r} hyps={len(rec.get('hyps', []))} "
                  f"best={rec['hyps'][0] if rec.get('hyps') else None} err={rec.get('error')}")
    w.add_string("fixture.json", json.dumps({"cases": cases}, ensure_ascii=False))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
