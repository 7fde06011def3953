#!/usr/bin/env python3
"""Peer: FunASR PyTorch (funasr.AutoModel on CPU), offline or streaming.

    python Benchmarks/peers/funasr_torch.py --model-dir DIR --threads N [--runs 3] [--warmup 1] clip.wav
    python Benchmarks/peers/funasr_torch.py --model-dir DIR-online --streaming --threads 1 clip.wav

Dither: the model's config.yaml must say frontend_conf.dither 0.0 (Benchmarks/make_workload.py
writes it); the runner checks the loaded frontend and refuses to run with dither != 0.
Token ids are captured from the tokenizer's ids2tokens (after FunASR removed blank/<s>/</s>).
Streaming follows FunASR's demo: chunk_size [0, 10, 5], encoder_chunk_look_back 4,
decoder_chunk_look_back 1, 600 ms of audio per generate() call.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main() -> int:
    ap = common.base_args(__doc__)
    a = ap.parse_args()
    t0 = time.perf_counter()
    import torch
    from funasr import AutoModel

    torch.set_num_threads(a.threads)
    t_import = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = AutoModel(model=a.model_dir, device="cpu", ncpu=a.threads, disable_update=True,
                  disable_pbar=True, log_level="ERROR")
    load = time.perf_counter() - t0
    torch.set_num_threads(a.threads)
    fe = m.kwargs.get("frontend")
    dither = getattr(fe, "dither", None)
    if dither not in (0, 0.0):
        raise SystemExit(f"FunASR frontend dither is {dither!r}; set frontend_conf.dither: 0.0 in config.yaml")

    # AutoModel restores its kwargs from a deep copy before each generate(), so the tokenizer
    # instance seen here is not the one used: patch the class instead.
    captured = []
    cls = type(m.kwargs["tokenizer"])
    orig = cls.ids2tokens

    def ids2tokens(self, ids, *args, **kw):
        captured.extend(int(i) for i in ids)
        return orig(self, ids, *args, **kw)

    cls.ids2tokens = ids2tokens

    report = {"engine": "funasr-torch", "threads": a.threads, "importSeconds": t_import,
              "loadSeconds": load, "env": common.env_snapshot(), "torch": torch.__version__,
              "dither": dither, "clips": []}

    if a.streaming:
        chunk_size = [0, a.chunk_ms // 60, a.chunk_ms // 120]

        def make_session():
            cache = {}

            def push(chunk, final):
                captured.clear()
                res = m.generate(input=chunk, cache=cache, is_final=final, chunk_size=chunk_size,
                                 encoder_chunk_look_back=4, decoder_chunk_look_back=1)
                text = res[0]["text"] if res else ""
                return list(captured), text

            return push

        with torch.inference_mode():
            report["streaming"] = common.time_streaming(a.clips[0], make_session, a.chunk_ms, a.runs, a.warmup)
        report["streaming"]["chunkSize"] = chunk_size
    else:
        def run(wave):
            captured.clear()
            res = m.generate(input=wave)
            text = res[0]["text"] if res else ""
            return list(captured), text, {}

        with torch.inference_mode():
            for clip in a.clips:
                report["clips"].append(common.time_offline(clip, run, a.runs, a.warmup))
    report["torchThreadsAfter"] = torch.get_num_threads()
    report["peakRssBytes"] = common.proc_status("VmHWM")
    common.emit(report, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
