#!/usr/bin/env python3
"""Peer: FunASR's ONNX runtime through funasr-onnx (onnxruntime, CPU), fp32 or int8.

    python Benchmarks/peers/funasr_onnx_runner.py --model-dir DIR [--quantize] --threads N clip.wav
    python Benchmarks/peers/funasr_onnx_runner.py --model-dir DIR-online --streaming --threads 1 clip.wav

DIR holds FunASR's own export: model.onnx (fp32) and model_quant.onnx (int8), plus
config.yaml, am.mvn, tokens.json (the streaming dir also decoder.onnx / decoder_quant.onnx).
Threads: intra_op_num_threads = N (funasr-onnx's OrtInferSession; inter-op stays sequential),
and OMP_NUM_THREADS = N from the parent.
Dither: funasr-onnx's WavFrontend defaults to dither 1.0; the runner forces 0 on the
kaldi-native-fbank options after loading (and config.yaml says 0.0 as well).
Offline timing: frontend (kaldi-native-fbank + LFR/CMVN), ONNX inference, argmax decode;
the sum is the wall time of funasr-onnx's own __call__ minus its text post-processing.
Streaming: funasr-onnx's online Paraformer (chunk_size [5, 10, 5], its default, as the C++
runtime), 600 ms pushed per call, caches in a dict per session.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def capture_ids(model):
    """Wrap converter.ids2tokens and decode_one so that each decode's token ids (as
    funasr-onnx keeps them, after its own truncation) land in the returned list."""
    captured, last, untruncated = [], [], []
    conv = model.converter
    orig_ids2tokens = conv.ids2tokens
    orig_decode_one = model.decode_one

    def ids2tokens(ids, *a, **k):
        last[:] = [int(i) for i in ids]
        return orig_ids2tokens(ids, *a, **k)

    def decode_one(*a, **k):
        toks = orig_decode_one(*a, **k)
        captured.extend(last[: len(toks)])
        # funasr-onnx's offline decode keeps token[: valid_token_num - predictor_bias], i.e. it
        # drops the last token that FunASR PyTorch keeps; record what the model itself gives too.
        untruncated.extend(last[: int(a[1]) if len(a) > 1 else len(toks)])
        return toks

    conv.ids2tokens = ids2tokens
    model.decode_one = decode_one
    return captured, untruncated


def main() -> int:
    ap = common.base_args(__doc__)
    ap.add_argument("--quantize", action="store_true", help="model_quant.onnx (int8)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    import numpy as np
    import onnxruntime
    if a.streaming:
        from funasr_onnx.paraformer_online_bin import Paraformer
    else:
        from funasr_onnx import Paraformer
    from funasr_onnx.utils.postprocess_utils import sentence_postprocess
    t_import = time.perf_counter() - t0

    t0 = time.perf_counter()
    kw = {"chunk_size": [5, a.chunk_ms // 60, 5]} if a.streaming else {}
    model = Paraformer(a.model_dir, batch_size=1, quantize=a.quantize, intra_op_num_threads=a.threads, **kw)
    load = time.perf_counter() - t0
    model.frontend.opts.frame_opts.dither = 0.0
    captured, untruncated = capture_ids(model)

    engine = "funasr-onnx-" + ("int8" if a.quantize else "fp32")
    report = {"engine": engine, "threads": a.threads, "importSeconds": t_import, "loadSeconds": load,
              "env": common.env_snapshot(), "onnxruntime": onnxruntime.__version__,
              "dither": float(model.frontend.opts.frame_opts.dither), "clips": []}

    if a.streaming:
        def make_session():
            cache = {}

            def push(chunk, final):
                captured.clear()
                res = model(audio_in=chunk, param_dict={"cache": cache, "is_final": final})
                text = "".join(r["preds"][0] if isinstance(r["preds"], (list, tuple)) else r["preds"]
                               for r in res) if res else ""
                return list(captured), text

            return push

        report["streaming"] = common.time_streaming(a.clips[0], make_session, a.chunk_ms, a.runs, a.warmup)
        report["streaming"]["chunkSize"] = kw["chunk_size"]
    else:
        def run(wave):
            captured.clear()
            untruncated.clear()
            t0 = time.perf_counter()
            feats, feats_len = model.extract_feat([wave])
            t1 = time.perf_counter()
            outputs = model.infer(feats, feats_len)
            t2 = time.perf_counter()
            preds = model.decode(outputs[0], outputs[1])
            t3 = time.perf_counter()
            text = sentence_postprocess(preds[0])
            text = text[0] if isinstance(text, (list, tuple)) else text
            run.untruncated = list(untruncated)
            return list(captured), text, {"frontend": t1 - t0, "inference": t2 - t1, "decode": t3 - t2}

        for clip in a.clips:
            c = common.time_offline(clip, run, a.runs, a.warmup)
            c["tokenIdsUntruncated"] = run.untruncated
            report["clips"].append(c)
    report["peakRssBytes"] = common.proc_status("VmHWM")
    common.emit(report, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
