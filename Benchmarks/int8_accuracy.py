#!/usr/bin/env python3
"""int8 against fp32, for funasr-onnx (FunASR's `quantize=True` export) and for ours.

    ~/.venvs/funasr/bin/python Benchmarks/int8_accuracy.py [--cache DIR] [--clips 10,60]

For each clip: the relative RMS error ‖int8 − fp32‖ / ‖fp32‖ of the encoder output and of the
decoder logits (when both fire the same number of tokens), on the same features.
- funasr-onnx: model.onnx vs model_quant.onnx from the benchmark workload, run on the features
  of funasr-onnx's own frontend (dither 0). The encoder output is not a graph output; the
  script adds the output of the encoder's last node (`/encoder/...` LayerNorm) as one.
- ours: large.gguf vs large-int8.gguf (`paraformer-quantize`), through the test
  `Int8AccuracyTests.testLargeModelInt8Error` (PARAFORMER_INT8_ACCURACY; debug build).
Writes <cache>/results/int8-accuracy.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CACHE = Path(os.environ.get("PARAFORMER_BENCH_CACHE", "/work/cache/bench"))


def rel_rms(a, b):
    import numpy as np
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(np.sqrt(((a - b) ** 2).sum() / max((b ** 2).sum(), 1e-30)))


def with_encoder_output(path: Path):
    """The ONNX model's bytes with the encoder output added as a graph output, and its name."""
    import onnx
    m = onnx.load(str(path))
    # The quantised graph adds a DynamicQuantizeLinear of the encoder output; skip such nodes.
    enc_nodes = [n for n in m.graph.node if n.name.startswith("/encoder/")
                 and n.op_type not in ("DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul")
                 or n.name.endswith("/encoder/after_norm/Add_1")]
    norms = [n for n in enc_nodes if "after_norm" in n.name]
    last = (norms or enc_nodes)[-1]
    name = last.output[0]
    m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    return m.SerializeToString(), name


def onnx_errors(model_dir: Path, clip: Path, threads: int) -> dict:
    import numpy as np
    import onnxruntime as ort
    import soundfile as sf
    from funasr_onnx import Paraformer

    base = Paraformer(str(model_dir), batch_size=1, quantize=False, intra_op_num_threads=threads)
    base.frontend.opts.frame_opts.dither = 0.0
    wav, sr = sf.read(str(clip), dtype="float32")
    feats, feats_len = base.extract_feat([wav])
    out = {}
    for tag, fname in (("fp32", "model.onnx"), ("int8", "model_quant.onnx")):
        data, enc_name = with_encoder_output(model_dir / fname)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        inputs = {i.name: v for i, v in zip(sess.get_inputs(), [feats, feats_len])}
        res = dict(zip(names, sess.run(None, inputs)))
        out[tag] = {"logits": res[names[0]], "tokens": int(res[names[1]][0]), "encoder": res[enc_name],
                    "encoderNode": enc_name}
    f, q = out["fp32"], out["int8"]
    same = f["tokens"] == q["tokens"]
    n = f["tokens"]
    centred = lambda lp: lp - lp.mean(axis=-1, keepdims=True)  # noqa: E731  (log_softmax undone up to a constant)
    return {"clip": clip.name, "encoderNode": f["encoderNode"], "tokensFp32": f["tokens"], "tokensInt8": q["tokens"],
            "encoderRelRMS": rel_rms(q["encoder"], f["encoder"]),
            # The export's "logits" are log_softmax outputs.
            "logProbsRelRMS": rel_rms(q["logits"][:, :n], f["logits"][:, :n]) if same else None,
            "centredLogitsRelRMS": rel_rms(centred(q["logits"][:, :n]), centred(f["logits"][:, :n])) if same else None,
            "tokensEqual": bool(same and (np.argmax(q["logits"][0, : f["tokens"]], -1)
                                          == np.argmax(f["logits"][0, : f["tokens"]], -1)).all())}


def ours_errors(gguf: Path, int8: Path, clip: Path, out_json: Path) -> dict:
    env = dict(os.environ, PARAFORMER_INT8_ACCURACY=f"{gguf}:{int8}:{clip}:{out_json}")
    cmd = ["swift", "test", "--skip-build", "--filter", "Int8AccuracyTests.testLargeModelInt8Error"]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0 or not out_json.exists():
        raise SystemExit(f"ours failed:\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return json.loads(out_json.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--clips", default="10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", default="onnx,ours")
    a = ap.parse_args()
    models = a.cache / "models"
    results = a.cache / "results"
    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in a.clips.split(","):
        clip = a.cache / "clips" / f"zh_{s}s.wav"
        if "onnx" in a.engines:
            r = onnx_errors(models / "large", clip, a.threads)
            rows.append({"engine": "funasr-onnx int8 vs fp32", **r})
            print(json.dumps(rows[-1]), flush=True)
        if "ours" in a.engines:
            r = ours_errors(models / "large.gguf", models / "large-int8.gguf", clip, results / f"int8-ours-{s}s.json")
            rows.append({"engine": "ours int8 vs fp32", **r})
            print(json.dumps(rows[-1]), flush=True)
    (results / "int8-accuracy.json").write_text(json.dumps(rows, indent=1))
    print("| engine | clip | encoder rel. RMS | log-probs rel. RMS | centred logits rel. RMS | tokens fp32 / int8 | same ids |")
    print("|---|---|---:|---:|---:|---|---|")
    f4 = lambda x: f"{x:.4f}" if x is not None else "– (token counts differ)"  # noqa: E731
    for r in rows:
        print(f"| {r['engine']} | {r['clip']} | {r['encoderRelRMS']:.4f} | {f4(r.get('logProbsRelRMS'))} | "
              f"{f4(r.get('centredLogitsRelRMS'))} | {r['tokensFp32']} / {r['tokensInt8']} | "
              f"{'yes' if r['tokensEqual'] else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
