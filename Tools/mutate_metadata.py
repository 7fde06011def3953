#!/usr/bin/env python3
"""Metadata mutation test (issue #16): no model file may crash or hang the engine.

For every scalar metadata value of each model given, in turn, a copy of the model is written
with that one value replaced by 0, -1, a huge value, NaN / +inf / 1e30 (where the type
allows), and the release `paraformer-run` decodes an audio file with it in a subprocess under
a timeout. Each run is one of:

  crash   the process died on a signal (trap, abort, segfault) -- a bug
  hang    it ran past the timeout -- a bug
  error   it exited non-zero with a message (a clean, named error)
  ok      it decoded (the value was harmless)

The table printed at the end is the evidence; the exit status is 1 when any crash or hang
was seen.

    ~/.venvs/funasr/bin/python Tools/mutate_metadata.py \
        Tests/ParaformerTests/Fixtures/model/tiny.gguf Weights/paraformer-zh-small.gguf

Options: --binary (default .build/release/paraformer-run), --audio (default
Tests/ParaformerTests/Fixtures/model/audio/zh_short.wav), --timeout seconds per run (60),
--jobs parallel runs (2), --keys substring filter, -v to print every run.
Streaming models (general.architecture paraformer-streaming) are run with --streaming,
SeACo / Contextual models with --hotword, FSMN-VAD models on the audio alone (segments),
punctuation models (ct-transformer*) on --text instead of audio; with --pipeline, VAD and
punctuation models run inside the VAD -> ASR -> punctuation pipeline instead (--vad-model,
--punc-model; the ASR and VAD models of --pipeline-asr / --pipeline-vad).

The copy is patched in place (same value type, same size), so every other byte of the file
stays as it was: only the value under test changes.
"""
import argparse
import concurrent.futures as cf
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter

import numpy as np
from gguf import GGUFReader, GGUFValueType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INT_TYPES = {
    GGUFValueType.UINT8: np.uint8, GGUFValueType.INT8: np.int8,
    GGUFValueType.UINT16: np.uint16, GGUFValueType.INT16: np.int16,
    GGUFValueType.UINT32: np.uint32, GGUFValueType.INT32: np.int32,
    GGUFValueType.UINT64: np.uint64, GGUFValueType.INT64: np.int64,
}
FLOAT_TYPES = {GGUFValueType.FLOAT32: np.float32, GGUFValueType.FLOAT64: np.float64}


def mutations(vtype):
    """(label, raw value) pairs for one scalar type."""
    if vtype in INT_TYPES:
        t = INT_TYPES[vtype]
        info = np.iinfo(t)
        out = [("0", t(0)), ("-1", np.array(-1).astype(t))]  # -1 wraps to the max for unsigned
        out.append(("huge", t(info.max if info.min < 0 else info.max // 2 + 1)))
        if info.min < 0:
            out.append(("min", t(info.min)))
        return out
    if vtype in FLOAT_TYPES:
        t = FLOAT_TYPES[vtype]
        return [("0", t(0)), ("-1", t(-1)), ("1e30", t(1e30)), ("-1e30", t(-1e30)),
                ("nan", t(np.nan)), ("inf", t(np.inf))]
    if vtype == GGUFValueType.BOOL:
        return [("flip", None)]
    return []


def scalar_fields(path):
    reader = GGUFReader(path, "r")
    out = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue  # header fields (version, counts) are the parser's business, not values
        if len(field.types) != 1:
            continue  # arrays and strings
        for label, value in mutations(field.types[0]):
            out.append((name, field.types[0], label, value))
    arch = reader.fields.get("general.architecture")
    arch = bytes(arch.parts[arch.data[0]]).decode() if arch else ""
    return out, arch


def patch(src, dst, key, value):
    shutil.copyfile(src, dst)
    reader = GGUFReader(dst, "r+")
    field = reader.fields[key]
    part = field.parts[field.data[0]]
    if value is None:  # bool flip
        part[0] = 0 if part[0] else 1
    else:
        part[0] = value
    part.flush() if hasattr(part, "flush") else None
    del reader


def first_reason(stderr):
    """The line of a crash report that says why (Swift's `Fatal error: ...`, an allocator message)."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for l in lines:
        if "error" in l.lower() or "fail" in l.lower():
            return l[:200]
    return lines[0][:200] if lines else ""


def run_one(args, model, arch, key, vtype, label, value, tmpdir):
    dst = os.path.join(tmpdir, f"{abs(hash((model, key, label)))}.gguf")
    patch(model, dst, key, value)
    cmd = [args.binary, "--model", dst]
    if args.pipeline and arch == "fsmn-vad":  # the VAD cutting audio for an ASR model
        cmd = [args.binary, "--model", args.pipeline_asr, "--vad-model", dst, "--sentence-info", "--json", args.audio]
    elif args.pipeline and arch.startswith("ct-transformer"):  # punctuating the pipeline's text
        cmd = [args.binary, "--model", args.pipeline_asr, "--vad-model", args.pipeline_vad,
               "--punc-model", dst, "--output-format", "srt", args.audio]
    elif arch.startswith("ct-transformer"):  # punctuation models read text, not audio
        cmd += ["--text", args.text]
    else:
        if arch == "paraformer-streaming":
            cmd.append("--streaming")
        if arch in ("seaco-paraformer", "contextual-paraformer"):
            cmd += ["--hotword", args.hotword]
        cmd.append(args.audio)
    try:
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        p = subprocess.run(cmd, capture_output=True, timeout=args.timeout, text=True, errors="replace", env=env)
        if p.returncode < 0:
            outcome = "crash"
            detail = f"signal {signal.Signals(-p.returncode).name}: " + first_reason(p.stderr)
        elif p.returncode == 0:
            outcome, detail = "ok", p.stdout.strip()[:80]
        elif p.returncode >= 128:  # a shell-style signal exit
            outcome, detail = "crash", f"exit {p.returncode}: " + first_reason(p.stderr)
        else:
            outcome, detail = "error", p.stderr.strip().splitlines()[-1][:200] if p.stderr.strip() else ""
    except subprocess.TimeoutExpired:
        outcome, detail = "hang", f"no exit within {args.timeout} s"
    finally:
        os.unlink(dst)
    return model, key, label, outcome, detail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/paraformer-run"))
    ap.add_argument("--audio", default=os.path.join(ROOT, "Tests/ParaformerTests/Fixtures/model/audio/zh_short.wav"))
    ap.add_argument("--text", default="跨境河流是养育沿岸人民的生命之源 the river feeds the people 长期以来为帮助下游地区防灾减灾")
    ap.add_argument("--hotword", default="养育 生命之源 河流")
    ap.add_argument("--pipeline", action="store_true",
                    help="run VAD and punctuation models inside the VAD -> ASR (-> punctuation) pipeline")
    ap.add_argument("--pipeline-asr", default=os.path.join(ROOT, "Tests/ParaformerTests/Fixtures/model/tiny.gguf"))
    ap.add_argument("--pipeline-vad", default=os.path.join(ROOT, "Tests/ParaformerTests/Fixtures/vad/vad-speech.gguf"))
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keys", default="")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: build it with `swift build -c release --product paraformer-run`")

    totals = {}
    bad = []
    with tempfile.TemporaryDirectory() as tmpdir, cf.ThreadPoolExecutor(args.jobs) as pool:
        for model in args.models:
            fields, arch = scalar_fields(model)
            fields = [f for f in fields if args.keys in f[0]]
            futures = [pool.submit(run_one, args, model, arch, *f, tmpdir) for f in fields]
            counts = Counter()
            for fut in futures:
                m, key, label, outcome, detail = fut.result()
                counts[outcome] += 1
                if outcome in ("crash", "hang"):
                    bad.append((m, key, label, outcome, detail))
                if args.verbose or outcome in ("crash", "hang"):
                    print(f"{outcome:5} {os.path.basename(m)} {key}={label}: {detail}", flush=True)
            totals[model] = (len(fields), counts)

    print()
    print(f"| model | mutations | crash | hang | clean error | ok |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for model, (n, c) in totals.items():
        print(f"| {os.path.relpath(model, ROOT)} | {n} | {c['crash']} | {c['hang']} | {c['error']} | {c['ok']} |")
    n = sum(t[0] for t in totals.values())
    c = sum((t[1] for t in totals.values()), Counter())
    print(f"| total | {n} | {c['crash']} | {c['hang']} | {c['error']} | {c['ok']} |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
