#!/usr/bin/env python3
"""One command: our engine vs FunASR's ONNX runtime (fp32, int8) and FunASR PyTorch.

    ~/.venvs/funasr/bin/python Benchmarks/bench.py            # full run, updates Benchmarks/RESULTS.md
    ~/.venvs/funasr/bin/python Benchmarks/bench.py --quick    # 10 s clip, 1 run: tests the harness

Steps: make the workload if missing (Benchmarks/make_workload.py: random-weight
paraformer-large + its FunASR ONNX exports + espeak-ng clips, in $PARAFORMER_BENCH_CACHE or
/work/cache/bench); build paraformer-bench (release, --scratch-path .build-bench); then for
each clip and thread count run every engine in its own process, same audio, same threads;
then the streaming model per 600 ms chunk. Writes <cache>/results/bench-<time>.json and .md
(and Benchmarks/RESULTS.md unless --quick, or with --update-results).

Per engine and clip: RTF (median of --runs after --warmup, model load excluded), model load
time, peak RSS (VmHWM of the engine's process after its runs). Ours also: per-stage times,
the cblas_sgemm GFLOP/s on the encoder's own shapes in the same process, the encoder's pure
GEMM time, and whether its tokens are identical to FunASR PyTorch and funasr-onnx fp32.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CACHE = Path(os.environ.get("PARAFORMER_BENCH_CACHE", "/work/cache/bench"))
SCRATCH = ROOT / ".build-bench"

ENGINES = ["ours", "ours-int8", "onnx-fp32", "onnx-int8", "torch"]
LABEL = {"ours": "paraformer-swift (ours)", "ours-int8": "paraformer-swift int8 (ours)",
         "onnx-fp32": "funasr-onnx fp32", "onnx-int8": "funasr-onnx int8", "torch": "FunASR PyTorch"}
OURS = ("ours", "ours-int8")

# Targets of project issue 7 (for the engine; the report shows them).
TARGET_RTF_VS_ONNX = 0.9        # ours RTF <= 0.9 x funasr-onnx fp32, 1 and 2 threads, 10 s and 60 s
TARGET_ENCODER_VS_GEMM = 1.15   # encoder time <= 1.15 x pure GEMM time of its products
TARGET_LOAD_S = 0.3
TARGET_RSS_60S = 1.1e9          # bytes, 60 s clip
TARGET_STREAM_MS = 60.0         # per 600 ms chunk, 1 thread
# Targets of project issue 15 (int8).
TARGET_INT8_RTF_VS_ONNX_INT8 = 0.60   # ours int8 RTF <= 0.60 x funasr-onnx int8, 60 s (10 s reported)
TARGET_INT8_STREAM_MS = 40.0          # per 600 ms chunk, 1 thread, large-online int8
TARGET_INT8_FILE_RATIO = 0.30         # int8 file <= 0.30 x fp32 file
TARGET_INT8_RSS_60S = 0.45e9          # bytes, 60 s clip


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------
# Setup


def build_ours(args) -> Path:
    binary = SCRATCH / "release" / "paraformer-bench"
    if args.bench_binary:
        return Path(args.bench_binary)
    if args.no_build:
        if not binary.exists():
            raise SystemExit(f"{binary} missing; build it or drop --no-build")
        return binary
    cmd = ["swift", "build", "-c", "release", "--scratch-path", str(SCRATCH), "--product", "paraformer-bench"]
    for attempt in range(4):
        log(" ".join(cmd))
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if p.returncode == 0:
            return binary
        err = p.stdout[-3000:] + p.stderr[-3000:]
        if "modified during the build" in err and attempt < 3:
            log("a source file changed during the build (someone is editing); retrying")
            time.sleep(5)
            continue
        raise SystemExit(f"swift build failed:\n{err}")
    return binary


def int8_model(args, gguf: Path) -> Path:
    """`paraformer-quantize GGUF GGUF-int8` (built into .build-bench), unless already made."""
    out = gguf.with_name(gguf.stem + "-int8.gguf")
    if out.exists() and out.stat().st_mtime >= gguf.stat().st_mtime:
        return out
    tool = SCRATCH / "release" / "paraformer-quantize"
    if not tool.exists() or not (args.no_build or args.bench_binary):
        cmd = ["swift", "build", "-c", "release", "--scratch-path", str(SCRATCH), "--product", "paraformer-quantize"]
        log(" ".join(cmd))
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"swift build failed:\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    log(f"{tool} {gguf} {out}")
    subprocess.run([str(tool), str(gguf), str(out)], check=True)
    return out


def machine_info() -> dict:
    info = {"hostname": platform.node(), "kernel": platform.release(), "python": platform.python_version(),
            "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            v = v.strip()
            if k in ("Model name", "CPU family", "Model", "Hypervisor vendor", "L2 cache", "L3 cache"):
                info[k] = v
        flags = next((ln.split(":", 1)[1] for ln in out.splitlines() if ln.startswith("Flags")), "")
        info["avx512"] = "avx512f" in flags
        info["avx512_bf16"] = "avx512_bf16" in flags
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["memTotalBytes"] = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    try:
        with open("/etc/os-release") as f:
            info["os"] = next((ln.split("=", 1)[1].strip().strip('"') for ln in f if ln.startswith("PRETTY_NAME")), "")
    except OSError:
        pass
    try:
        info["swift"] = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        pass
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libopenblas0-pthread"], capture_output=True,
                             text=True).stdout
        info["openblas"] = out.strip()
    except OSError:
        pass
    versions = {}
    for mod in ("funasr", "torch", "onnxruntime", "funasr_onnx", "numpy"):
        try:
            m = __import__(mod)
            versions[mod] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001
            versions[mod] = None
    if versions.get("funasr_onnx") in (None, "?"):
        try:
            from importlib.metadata import version

            versions["funasr_onnx"] = version("funasr-onnx")
        except Exception:  # noqa: BLE001
            pass
    info["versions"] = versions
    return info


# --------------------------------------------------------------------------------------
# Running one engine


def thread_env(n: int, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
              "NUMEXPR_NUM_THREADS"):
        env[k] = str(n)
    env.pop("OPENBLAS_CORETYPE", None)
    env["PYTHONWARNINGS"] = "ignore"
    if extra:
        env.update(extra)
    return env


def cpu_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (/proc/stat, all but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def run_child(cmd, env, log_path: Path, timeout: float) -> tuple[dict | None, dict]:
    """Runs one engine process; returns (its JSON, {rc, processWall, ruMaxrssBytes}).
    ru_maxrss comes from wait4 on that child alone (a cross-check of the VmHWM it reports)."""
    import threading

    t0 = time.time()
    load_before = os.getloadavg()[0]
    busy0 = cpu_busy_seconds()
    chunks = []
    with open(log_path, "w") as errf:
        p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=errf, env=env, cwd=ROOT)
        reader = threading.Thread(target=lambda: chunks.append(p.stdout.read()), daemon=True)
        reader.start()
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        reader.join()
    out = chunks[0] if chunks else b""
    wall = time.time() - t0
    child_cpu = ru.ru_utime + ru.ru_stime
    # CPU time that other processes used while this engine ran, in cores (0 = a quiet machine).
    other = max(0.0, (cpu_busy_seconds() - busy0 - child_cpu) / wall) if wall > 0 else 0.0
    meta = {"rc": p.returncode, "processWall": wall, "log": str(log_path),
            "ruMaxrssBytes": ru.ru_maxrss * 1024, "loadavg1Before": load_before,
            "childCpuSeconds": child_cpu, "otherCoresBusy": other}
    if p.returncode != 0:
        tail = Path(log_path).read_text(errors="replace")[-1500:]
        log(f"  FAILED rc={p.returncode}: {' '.join(map(str, cmd[:4]))} ...\n{tail}")
        return None, meta
    try:
        text = out.decode("utf-8", errors="replace")
        return json.loads(text[text.index("{"):]), meta
    except ValueError as e:
        log(f"  bad JSON from {cmd[:3]}: {e}")
        return None, meta


def engine_cmd(engine: str, args, binary: Path, model_dir: Path, gguf: Path, threads: int, clip: str,
               streaming: bool, runs: int, warmup: int):
    py = sys.executable
    common = ["--threads", threads, "--runs", runs, "--warmup", warmup]
    if engine in OURS:
        if engine == "ours":
            cmd = [binary, "--model", gguf] + common + ["--gemm-min-seconds", args.gemm_min_seconds]
        else:
            # The sgemm floor says nothing about the int8 kernels.
            cmd = [binary, "--model", args.int8_models[str(gguf)]] + common + ["--no-gemm"]
        if streaming:
            cmd += ["--streaming", "--chunk-ms", args.chunk_ms]
        return cmd + [clip]
    if engine.startswith("onnx"):
        cmd = [py, HERE / "peers" / "funasr_onnx_runner.py", "--model-dir", model_dir] + common
        if engine == "onnx-int8":
            cmd.append("--quantize")
    elif engine == "torch":
        cmd = [py, HERE / "peers" / "funasr_torch.py", "--model-dir", model_dir] + common
    else:
        raise ValueError(engine)
    if streaming:
        cmd += ["--streaming", "--chunk-ms", args.chunk_ms]
    return cmd + [clip]


# --------------------------------------------------------------------------------------
# Comparison helpers


def compare_ids(a, b) -> dict:
    if a is None or b is None:
        return {"identical": None}
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    if first is None and len(a) != len(b):
        first = min(len(a), len(b))
    return {"identical": first is None, "lenA": len(a), "lenB": len(b), "firstDiff": first}


def fmt(x, spec=".3f", none="–"):
    if x is None or (isinstance(x, float) and x != x):
        return none
    return format(x, spec)


def gb(b):
    return None if b is None or b < 0 else b / 1e9


def mark(ok):
    return "–" if ok is None else ("✅" if ok else "❌")


def compare_ref(ours: dict | None, ref: dict | None) -> dict:
    """ours vs a reference row; for funasr-onnx also against the model's own output before
    funasr-onnx drops the last token (its `token[: valid_token_num - predictor_bias]`)."""
    if not ours or not ref:
        return {"identical": None}
    c = compare_ids(ours["tokenIds"], ref["tokenIds"])
    un = ref.get("tokenIdsUntruncated")
    if un is not None and un != ref["tokenIds"]:
        c2 = compare_ids(ours["tokenIds"], un)
        c["identicalUntruncated"] = c2["identical"]
        c["lenUntruncated"] = len(un)
    return c


def ident_str(c: dict | None) -> str:
    if not c or c.get("identical") is None:
        return "–"
    if c["identical"]:
        return f"yes ({c['lenA']})"
    if c.get("identicalUntruncated"):
        return (f"yes before funasr-onnx drops its last token ({c['lenA']}; "
                f"funasr-onnx prints {c['lenB']})")
    return f"no (first diff @{c['firstDiff']}, {c['lenA']} vs {c['lenB']})"


# --------------------------------------------------------------------------------------
# Report


def clip_name(path: str) -> str:
    return Path(path).stem


def build_markdown(res: dict) -> str:
    m = res["machine"]
    cfg = res["config"]
    L = []
    L.append(f"# Benchmark results{' (quick mode)' if cfg['quick'] else ''}")
    L.append("")
    L.append(f"Run {res['started']} – {res['finished']} ({res['elapsedSeconds']:.0f} s) with "
             f"`{res['command']}`.")
    L.append("")
    L.append(f"**Machine**: {m.get('Model name', '?')} (family {m.get('CPU family', '?')}, model "
             f"{m.get('Model', '?')}), {m.get('cpus')} CPUs"
             f"{', ' + m['Hypervisor vendor'] + ' VM' if m.get('Hypervisor vendor') else ''}, "
             f"{fmt(gb(m.get('memTotalBytes')), '.0f')} GB RAM, {m.get('os', '?')}, AVX-512 "
             f"{'yes' if m.get('avx512') else 'no'}. {m.get('swift', '')}; OpenBLAS {m.get('openblas', '?')}, "
             f"kernel in use by ours: **{res.get('blasCore', '?')}**.")
    v = m.get("versions", {})
    L.append(f"Peers: funasr {v.get('funasr')}, torch {v.get('torch')}, onnxruntime {v.get('onnxruntime')}, "
             f"funasr-onnx {v.get('funasr_onnx')}. Load average at start: {res.get('loadavgStart')}.")
    L.append("")
    L.append(f"**Workload**: random-weight paraformer-large (exact config, vocab 8404) from "
             f"`Tools/make_random_model.py`, FunASR's own ONNX export (fp32, and int8 by its "
             f"`quantize=True`), espeak-ng Mandarin clips. RTF = median wall time of {cfg['runs']} "
             f"run(s) after {cfg['warmup']} warm-up(s) / audio length, model load excluded, pooled over "
             f"{cfg.get('rounds', 1)} round(s): each round runs every engine once, one process each, in "
             f"turn, so that drift in a shared machine's speed reaches every engine alike (load s = "
             f"median over rounds). Peak RSS = the processes' largest VmHWM after their runs. "
             f"Threads pinned: OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads, "
             f"intra_op_num_threads, our --threads. Dither 0 everywhere.")
    L.append("")

    # Offline table per clip
    L.append("## Offline recognition")
    L.append("")
    L.append("Ratio = ours ÷ peer (RTF, load, RSS): below 1 means ours is faster / smaller. "
             "Other load = CPU cores other processes kept busy while that engine ran (0 on a quiet machine).")
    L.append("")
    for clip in cfg["clips"]:
        name = clip_name(clip)
        L.append(f"### {name} ({res['clipDurations'].get(clip, 0):.0f} s)")
        L.append("")
        L.append("| engine | threads | RTF | RTF per round | ours ÷ peer RTF | load s | ours ÷ peer load | "
                 "peak RSS GB | ours ÷ peer RSS | tokens = ours | other load |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for t in cfg["threads"]:
            ours = res["offline"].get(f"ours|{t}|{clip}")
            for e in cfg["engines"]:
                r = res["offline"].get(f"{e}|{t}|{clip}")
                if r is None:
                    L.append(f"| {LABEL[e]} | {t} | failed | | | | | | | | |")
                    continue
                ratio = lambda k: (ours[k] / r[k]) if (ours and r.get(k) and ours.get(k) and e not in OURS) else None  # noqa: E731
                ident = "–" if e == "ours" else ident_str(compare_ref(ours, r))
                rounds = " / ".join(fmt(x, ".4f") for x in r.get("roundRtf", []))
                L.append(f"| {LABEL[e]} | {t} | {fmt(r['rtf'], '.4f')} | {rounds} | {fmt(ratio('rtf'), '.2f')} | "
                         f"{fmt(r['loadSeconds'], '.2f')} | {fmt(ratio('loadSeconds'), '.3f')} | "
                         f"{fmt(gb(r['peakRssBytes']), '.2f')} | {fmt(ratio('peakRssBytes'), '.2f')} | {ident} | "
                         f"{fmt(other_load(res, f'{e}|{t}|{clip}'), '.2f')} |")
        L.append("")
        if any(res["offline"].get(f"ours-int8|{t}|{clip}") for t in cfg["threads"]):
            L.append("int8: ours (`paraformer-quantize`, our kernels) against funasr-onnx int8 (FunASR's "
                     "`quantize=True`), and against our fp32.")
            L.append("")
            L.append("| threads | kernel | ours int8 RTF | onnx int8 RTF | ours int8 ÷ onnx int8 | ours int8 ÷ ours fp32 | "
                     "ours int8 RSS GB | onnx int8 RSS GB | tokens int8 = fp32 (ours) |")
            L.append("|---:|---|---:|---:|---:|---:|---:|---:|---|")
            for t in cfg["threads"]:
                q = res["offline"].get(f"ours-int8|{t}|{clip}")
                o = res["offline"].get(f"onnx-int8|{t}|{clip}")
                f = res["offline"].get(f"ours|{t}|{clip}")
                if not q:
                    continue
                L.append(f"| {t} | {q.get('linearKernel', '?')} | {fmt(q['rtf'], '.4f')} | {fmt(o['rtf'] if o else None, '.4f')} | "
                         f"{fmt(q['rtf'] / o['rtf'] if o else None, '.2f')} | {fmt(q['rtf'] / f['rtf'] if f else None, '.2f')} | "
                         f"{fmt(gb(q['peakRssBytes']), '.2f')} | {fmt(gb(o['peakRssBytes']) if o else None, '.2f')} | "
                         f"{ident_str(compare_ids(q['tokenIds'], f['tokenIds'])) if f else '–'} |")
            L.append("")

    # Ours: stages and GEMM floor
    L.append("## Ours: stages and the machine's sgemm floor")
    L.append("")
    L.append("Median seconds per stage. GEMM floor = the encoder's matrix products (QKV, output, FFN, "
             "attention QKᵀ and PV per head) timed as the engine runs them (`BLAS.gemm` panels over the "
             "threads; whole heads side by side) on their exact shapes in the same process and thread "
             "count, each linear product with its own layer's weight matrix read from memory as in the "
             "encoder; GFLOP/s = encoder FLOP ÷ that time. Hot = the same with one weight matrix reused "
             "from cache (a microbenchmark's best case).")
    L.append("")
    L.append("| clip | threads | frontend | encoder | predictor | decoder | total | encoder GFLOP | "
             "sgemm GFLOP/s | pure GEMM s | encoder ÷ GEMM | hot GEMM s | encoder ÷ hot | BLAS core |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for clip in cfg["clips"]:
        for t in cfg["threads"]:
            r = res["offline"].get(f"ours|{t}|{clip}")
            if not r:
                continue
            md, g = r["median"], r.get("gemm") or {}
            L.append(f"| {clip_name(clip)} | {t} | {fmt(md['frontend'])} | {fmt(md['encoder'])} | "
                     f"{fmt(md['predictor'])} | {fmt(md['decoder'])} | {fmt(md['wall'])} | "
                     f"{fmt(g.get('encoderFlop', 0) / 1e9, '.1f')} | {fmt(g.get('sustainedGflops'), '.1f')} | "
                     f"{fmt(g.get('pureGemmSeconds'))} | {fmt(r.get('encoderVsGemm'), '.2f')} | "
                     f"{fmt(g.get('hotPureGemmSeconds'))} | "
                     f"{fmt(md['encoder'] / g['hotPureGemmSeconds'] if g.get('hotPureGemmSeconds') else None, '.2f')} | "
                     f"{r.get('blasCore', '?')} |")
    L.append("")

    # Streaming
    L.append("## Streaming model (paraformer-large-online)")
    L.append("")
    st = res.get("streaming", {})
    if st:
        L.append(f"Clip {clip_name(cfg['streamingClip'])}, {cfg['chunkMs']} ms of audio pushed per call; "
                 "compute ms per chunk (mean over the pass; the median pass of the runs).")
        L.append("")
        L.append("| engine | threads | chunking | mean ms/chunk | median | p90 | max | ÷ real time | ours ÷ peer | "
                 "tokens = ours |")
        L.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
        for t in cfg["streamingThreads"]:
            ours = st.get(f"ours|{t}")
            for e in cfg["streamingEngines"]:
                r = st.get(f"{e}|{t}")
                if r is None:
                    L.append(f"| {LABEL[e]} | {t} | | failed | | | | | | |")
                    continue
                if not r.get("available", True):
                    L.append(f"| {LABEL[e]} | {t} | | n/a: {r.get('note', '')} | | | | | | |")
                    continue
                ratio = (ours["meanMs"] / r["meanMs"]) if (ours and ours.get("available", True)
                                                          and ours.get("meanMs") and e not in OURS) else None
                chunking = {"ours": "[0,10,5] look-back 4/1", "ours-int8": "[0,10,5] look-back 4/1",
                            "torch": "[0,10,5] look-back 4/1",
                            "onnx-fp32": "[5,10,5] (runtime)", "onnx-int8": "[5,10,5] (runtime)"}[e]
                ident = "–"
                if e != "ours" and ours and ours.get("available", True):
                    ident = ident_str(compare_ids(ours.get("tokenIds"), r.get("tokenIds")))
                L.append(f"| {LABEL[e]} | {t} | {chunking} | {fmt(r['meanMs'], '.1f')} | {fmt(r['medianMs'], '.1f')} | "
                         f"{fmt(r['p90Ms'], '.1f')} | {fmt(r['maxMs'], '.1f')} | {fmt(r['realTimeRatio'], '.3f')} | "
                         f"{fmt(ratio, '.2f')} | {ident} |")
        L.append("")
    else:
        L.append("Not run.")
        L.append("")

    # Targets
    L.append("## Targets (project issue 7)")
    L.append("")
    L.append("| target | where | measured | met |")
    L.append("|---|---|---|---|")
    for row in res["targets"]:
        L.append(f"| {row['target']} | {row['where']} | {row['measured']} | {mark(row['ok'])} |")
    L.append("")
    if res.get("notes"):
        L.append("## Notes")
        L.append("")
        for n in res["notes"]:
            L.append(f"- {n}")
        L.append("")
    L.append(f"Raw numbers: `{res['jsonPath']}` (not in git).")
    L.append("")
    return "\n".join(L)


def evaluate_targets(res: dict) -> list:
    cfg = res["config"]
    rows = []
    off = res["offline"]
    for clip in cfg["clips"]:
        dur = res["clipDurations"].get(clip, 0)
        name = clip_name(clip)
        for t in cfg["threads"]:
            ours, onnx, torch = off.get(f"ours|{t}|{clip}"), off.get(f"onnx-fp32|{t}|{clip}"), off.get(f"torch|{t}|{clip}")
            if round(dur) in (10, 60):
                if ours and onnx:
                    ratio = ours["rtf"] / onnx["rtf"]
                    rows.append({"target": f"RTF ≤ {TARGET_RTF_VS_ONNX} × funasr-onnx fp32", "where": f"{name}, {t} thr",
                                 "measured": f"{ratio:.2f} × ({ours['rtf']:.4f} vs {onnx['rtf']:.4f})",
                                 "ok": ratio <= TARGET_RTF_VS_ONNX})
                if ours and onnx:
                    c = compare_ref(ours, onnx)
                    rows.append({"target": "token-identical to funasr-onnx fp32", "where": f"{name}, {t} thr",
                                 "measured": ident_str(c),
                                 "ok": bool(c["identical"] or c.get("identicalUntruncated"))})
                if ours and torch:
                    c = compare_ids(ours["tokenIds"], torch["tokenIds"])
                    rows.append({"target": "token-identical to FunASR PyTorch", "where": f"{name}, {t} thr",
                                 "measured": ident_str(c), "ok": c["identical"]})
            if ours and ours.get("encoderVsGemm"):
                rows.append({"target": f"encoder ≤ {TARGET_ENCODER_VS_GEMM} × pure GEMM time",
                             "where": f"{name}, {t} thr",
                             "measured": f"{ours['encoderVsGemm']:.2f} × ({ours['median']['encoder']:.3f} s vs "
                                         f"{ours['gemm']['pureGemmSeconds']:.3f} s at "
                                         f"{ours['gemm']['sustainedGflops']:.0f} GFLOP/s)",
                             "ok": ours["encoderVsGemm"] <= TARGET_ENCODER_VS_GEMM})
    loads = [r["loadSeconds"] for k, r in off.items() if k.startswith("ours|")]
    if loads:
        mx = max(loads)
        rows.append({"target": f"model load ≤ {TARGET_LOAD_S} s", "where": "all runs (max)",
                     "measured": f"{mx:.3f} s", "ok": mx <= TARGET_LOAD_S})
    for clip in cfg["clips"]:
        if round(res["clipDurations"].get(clip, 0)) == 60:
            for t in cfg["threads"]:
                r = off.get(f"ours|{t}|{clip}")
                if r:
                    rows.append({"target": f"peak RSS ≤ {TARGET_RSS_60S / 1e9:.1f} GB", "where": f"{clip_name(clip)}, {t} thr",
                                 "measured": f"{r['peakRssBytes'] / 1e9:.2f} GB",
                                 "ok": r["peakRssBytes"] <= TARGET_RSS_60S})
    # Issue 15: int8.
    for clip in cfg["clips"]:
        name = clip_name(clip)
        for t in cfg["threads"]:
            q, o = off.get(f"ours-int8|{t}|{clip}"), off.get(f"onnx-int8|{t}|{clip}")
            if q and o:
                ratio = q["rtf"] / o["rtf"]
                rows.append({"target": f"int8 RTF ≤ {TARGET_INT8_RTF_VS_ONNX_INT8} × funasr-onnx int8",
                             "where": f"{name}, {t} thr",
                             "measured": f"{ratio:.2f} × ({q['rtf']:.4f} vs {o['rtf']:.4f}, {q.get('linearKernel')})",
                             "ok": ratio <= TARGET_INT8_RTF_VS_ONNX_INT8})
            if q and round(res["clipDurations"].get(clip, 0)) == 60:
                rows.append({"target": f"int8 peak RSS ≤ {TARGET_INT8_RSS_60S / 1e9:.2f} GB", "where": f"{name}, {t} thr",
                             "measured": f"{q['peakRssBytes'] / 1e9:.2f} GB", "ok": q["peakRssBytes"] <= TARGET_INT8_RSS_60S})
    for stem, f in res.get("int8Files", {}).items():
        ratio = f["int8Bytes"] / f["fp32Bytes"]
        rows.append({"target": f"int8 file ≤ {TARGET_INT8_FILE_RATIO} × fp32 file", "where": stem,
                     "measured": f"{ratio:.3f} × ({f['int8Bytes'] / 1e6:.0f} MB vs {f['fp32Bytes'] / 1e6:.0f} MB)",
                     "ok": ratio <= TARGET_INT8_FILE_RATIO})
    s8 = res.get("streaming", {}).get("ours-int8|1")
    if s8 is not None and s8.get("meanMs") is not None:
        rows.append({"target": f"int8 streaming ≤ {TARGET_INT8_STREAM_MS:.0f} ms per {cfg['chunkMs']} ms chunk",
                     "where": "1 thr", "measured": f"{s8['meanMs']:.1f} ms", "ok": s8["meanMs"] <= TARGET_INT8_STREAM_MS})
    s = res.get("streaming", {}).get("ours|1")
    if s is not None:
        if s.get("available", True) and s.get("meanMs") is not None:
            rows.append({"target": f"streaming ≤ {TARGET_STREAM_MS:.0f} ms per {cfg['chunkMs']} ms chunk",
                         "where": "1 thr", "measured": f"{s['meanMs']:.1f} ms", "ok": s["meanMs"] <= TARGET_STREAM_MS})
        else:
            rows.append({"target": f"streaming ≤ {TARGET_STREAM_MS:.0f} ms per {cfg['chunkMs']} ms chunk",
                         "where": "1 thr", "measured": "not measurable: " + (s.get("note") or "?"), "ok": None})
    return rows


# --------------------------------------------------------------------------------------


def other_load(res: dict, key: str):
    """The most CPU (cores) other processes used during any round of one engine × threads × clip."""
    vals = [m.get("otherCoresBusy") for k, m in res["processes"].items()
            if (k == key or k.startswith(key + "|round")) and m.get("otherCoresBusy") is not None]
    return max(vals) if vals else None


def pool_rounds(prev: dict, new: dict) -> dict:
    """One row from two rounds of the same engine × threads × clip: every timed run pooled."""
    row = dict(prev)
    row["rtfRuns"] = prev["rtfRuns"] + new["rtfRuns"]
    row["rtf"] = statistics.median(row["rtfRuns"])
    row["runs"] = prev["runs"] + new["runs"]
    stages = row["runs"][0].keys() if row["runs"] else []
    row["median"] = {k: statistics.median(r[k] for r in row["runs"] if k in r) for k in stages}
    row["roundRtf"] = prev["roundRtf"] + new["roundRtf"]
    row["loads"] = prev["loads"] + new["loads"]
    row["loadSeconds"] = statistics.median(row["loads"])
    row["peakRssBytes"] = max(prev["peakRssBytes"], new["peakRssBytes"])
    if "roundEncoderVsGemm" in prev:
        ratios = prev["roundEncoderVsGemm"] + new["roundEncoderVsGemm"]
        row["roundEncoderVsGemm"] = ratios
        valid = [x for x in ratios if x is not None]
        # Each round's ratio compares an encoder time and a GEMM floor from the same process.
        row["encoderVsGemm"] = statistics.median(valid) if valid else None
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="harness check: 10 s clip, 1 run, 1 warm-up, streaming on the 10 s clip; "
                         "does not touch RESULTS.md")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--clips", default=None, help="clip lengths in s (default 10,60,300; quick: 10)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=None, help="timed runs (default 3; quick: 1)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="times the whole engine sequence is repeated, alternating engines, for each clip "
                         "and thread count (default 2; quick: 1): a shared machine's speed drifts over "
                         "minutes, and alternation spreads the drift over every engine")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--no-streaming", action="store_true")
    ap.add_argument("--streaming-clip", type=int, default=None, help="s (default 60; quick: 10)")
    ap.add_argument("--streaming-threads", default="1,2")
    ap.add_argument("--streaming-engines", default="ours,ours-int8,onnx-fp32,torch")
    ap.add_argument("--chunk-ms", type=int, default=600)
    ap.add_argument("--gemm-min-seconds", type=float, default=None)
    ap.add_argument("--no-build", action="store_true", help="use the existing .build-bench binary")
    ap.add_argument("--bench-binary", help="path of a paraformer-bench binary to use")
    ap.add_argument("--no-workload", action="store_true", help="do not (re)generate the workload")
    ap.add_argument("--timeout", type=float, default=3600, help="s per engine process")
    ap.add_argument("--update-results", action="store_true", help="write Benchmarks/RESULTS.md even with --quick")
    ap.add_argument("--no-update-results", action="store_true")
    a = ap.parse_args(argv)

    clips_s = [int(x) for x in (a.clips or ("10" if a.quick else "10,60,300")).split(",") if x]
    runs = a.runs if a.runs is not None else (1 if a.quick else 3)
    rounds = max(1, a.rounds if a.rounds is not None else (1 if a.quick else 2))
    threads = [int(x) for x in a.threads.split(",") if x]
    engines = [e for e in a.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"unknown engine {e}; choose from {ENGINES}")
    stream_clip_s = a.streaming_clip or (10 if a.quick else 60)
    stream_threads = [int(x) for x in a.streaming_threads.split(",") if x]
    stream_engines = [e for e in a.streaming_engines.split(",") if e]
    a.gemm_min_seconds = a.gemm_min_seconds if a.gemm_min_seconds is not None else (0.1 if a.quick else 0.5)
    cache = a.cache.resolve()

    started = dt.datetime.now().astimezone()
    t_start = time.time()
    if not a.no_workload:
        sys.path.insert(0, str(HERE))
        import make_workload

        want = sorted(set(clips_s + ([] if a.no_streaming else [stream_clip_s])))
        models = "large" + ("" if a.no_streaming else ",large-online")
        log(f"workload: models {models}, clips {want} in {cache}")
        make_workload.main(["--cache", str(cache), "--models", models, "--clips", ",".join(map(str, want))])
    binary = build_ours(a) if any(e in OURS for e in engines + stream_engines) else None

    model_dir = cache / "models" / "large"
    gguf = cache / "models" / "large.gguf"
    smodel_dir = cache / "models" / "large-online"
    sgguf = cache / "models" / "large-online.gguf"
    clips = [str(cache / "clips" / f"zh_{s}s.wav") for s in clips_s]
    for c in clips:
        if not Path(c).exists():
            raise SystemExit(f"missing clip {c}: run Benchmarks/make_workload.py")
    stream_clip = str(cache / "clips" / f"zh_{stream_clip_s}s.wav")
    a.int8_models = {}
    int8_files = {}
    for want, g in ((engines, gguf), ([] if a.no_streaming else stream_engines, sgguf)):
        if "ours-int8" in want:
            q = int8_model(a, g)
            a.int8_models[str(g)] = q
            int8_files[g.stem] = {"fp32": str(g), "fp32Bytes": g.stat().st_size, "int8": str(q),
                                  "int8Bytes": q.stat().st_size}
    stamp = started.strftime("%Y%m%d-%H%M%S")
    outdir = cache / "results"
    logdir = outdir / f"logs-{stamp}"
    logdir.mkdir(parents=True, exist_ok=True)

    res = {
        "command": "python Benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_info(),
        "loadavgStart": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "config": {"quick": a.quick, "clips": clips, "threads": threads, "runs": runs, "rounds": rounds, "warmup": a.warmup,
                   "engines": engines, "streamingClip": stream_clip, "streamingThreads": stream_threads,
                   "streamingEngines": stream_engines, "chunkMs": a.chunk_ms,
                   "gemmMinSeconds": a.gemm_min_seconds, "model": str(model_dir), "gguf": str(gguf)},
        "offline": {}, "streaming": {}, "processes": {}, "clipDurations": {}, "notes": [],
        "int8Files": int8_files,
    }
    if os.getloadavg()[0] > 0.5:
        res["notes"].append(f"the machine was not idle at start (load average {res['loadavgStart']}); "
                            "timings may be inflated")

    # Offline: per clip, per thread count, every engine, in `rounds` alternating passes (so that
    # every engine sees the same spread of machine conditions); a row pools the runs of all
    # rounds: RTF = median of every timed run, stages = per-stage medians over every run.
    for clip in clips:
        for t in threads:
            for rnd in range(rounds):
                for e in engines:
                    log(f"offline {e} threads={t} {clip_name(clip)} round {rnd + 1}/{rounds}")
                    cmd = engine_cmd(e, a, binary, model_dir, gguf, t, clip, False, runs, a.warmup)
                    out, meta = run_child(cmd, thread_env(t),
                                          logdir / f"{e}-{t}-{clip_name(clip)}-r{rnd + 1}.log", a.timeout)
                    key = f"{e}|{t}|{clip}"
                    res["processes"][f"{key}|round{rnd + 1}"] = meta
                    if out is None:
                        continue
                    c = out["clips"][0]
                    row = {"rtf": c["rtf"], "rtfRuns": c["rtfRuns"], "median": c["median"], "runs": c["runs"],
                           "loadSeconds": out["loadSeconds"], "peakRssBytes": c["peakRssBytes"],
                           "tokenIds": c["tokenIds"], "text": c["text"], "duration": c["duration"],
                           "importSeconds": out.get("importSeconds"), "deterministic": c.get("deterministic"),
                           "roundRtf": [c["rtf"]], "loads": [out["loadSeconds"]]}
                    if "tokenIdsUntruncated" in c:
                        row["tokenIdsUntruncated"] = c["tokenIdsUntruncated"]
                    if e in OURS:
                        row["linearKernel"] = out.get("linearKernel")
                    if e == "ours":
                        row.update({"gemm": c.get("gemm"), "encoderVsGemm": c.get("encoderVsGemm"),
                                    "roundEncoderVsGemm": [c.get("encoderVsGemm")],
                                    "blasCore": out.get("blasCore"), "lfrFrames": c.get("lfrFrames")})
                        res["blasCore"] = out.get("blasCore")
                    if key in res["offline"]:
                        if res["offline"][key]["tokenIds"] != c["tokenIds"]:
                            res["notes"].append(f"{LABEL[e]} gave different tokens in different rounds on "
                                                f"{clip_name(clip)} ({t} thr)")
                        row = pool_rounds(res["offline"][key], row)
                    res["offline"][key] = row
                    res["clipDurations"][clip] = c["duration"]
                    log(f"  RTF {c['rtf']:.4f}  load {out['loadSeconds']:.2f} s  RSS {c['peakRssBytes'] / 1e9:.2f} GB  "
                        f"{len(c['tokenIds'])} tokens")
                    if c.get("deterministic") is False:
                        res["notes"].append(f"{LABEL[e]} gave different tokens across runs on {clip_name(clip)} "
                                            f"({t} thr): not deterministic (dither?)")

    # Streaming
    if not a.no_streaming:
        for t in stream_threads:
            for e in stream_engines:
                log(f"streaming {e} threads={t} {clip_name(stream_clip)}")
                cmd = engine_cmd(e, a, binary, smodel_dir, sgguf, t, stream_clip, True, runs, a.warmup)
                out, meta = run_child(cmd, thread_env(t), logdir / f"stream-{e}-{t}.log", a.timeout)
                res["processes"][f"stream|{e}|{t}"] = meta
                if out is None:
                    continue
                s = out.get("streaming") or {"available": False, "note": "no streaming report"}
                s["loadSeconds"] = out.get("loadSeconds")
                res["streaming"][f"{e}|{t}"] = s
                if s.get("available", True) and s.get("meanMs") is not None:
                    log(f"  {s['meanMs']:.1f} ms per {a.chunk_ms} ms chunk ({s['chunks']} chunks)")
                else:
                    log(f"  not available: {s.get('note')}")

    # Peer consistency notes
    for clip in clips:
        for t in threads:
            tr, ox = res["offline"].get(f"torch|{t}|{clip}"), res["offline"].get(f"onnx-fp32|{t}|{clip}")
            if tr and ox:
                c = compare_ref(tr, ox)
                if c.get("identicalUntruncated"):
                    res["notes"].append(
                        f"funasr-onnx prints one token fewer than FunASR PyTorch on {clip_name(clip)} ({t} thr): "
                        "its offline decode keeps token[: valid_token_num - predictor_bias]; before that cut "
                        "the ONNX model's tokens equal PyTorch's")
                elif not c["identical"]:
                    res["notes"].append(f"the two references disagree on {clip_name(clip)} ({t} thr): FunASR PyTorch "
                                        f"vs funasr-onnx fp32 tokens: {ident_str(c)}")

    busy = {k: m["otherCoresBusy"] for k, m in res["processes"].items() if m.get("otherCoresBusy", 0) > 0.2}
    if busy:
        worst = max(busy, key=busy.get)
        res["notes"].append(
            f"other processes used CPU during {len(busy)} of {len(res['processes'])} engine runs (worst: "
            f"{busy[worst]:.2f} cores during {worst}); those timings are inflated. Re-run on a quiet machine.")
    finished = dt.datetime.now().astimezone()
    res["finished"] = finished.isoformat(timespec="seconds")
    res["elapsedSeconds"] = time.time() - t_start
    res["targets"] = evaluate_targets(res)
    json_path = outdir / f"bench-{stamp}.json"
    md_path = outdir / f"bench-{stamp}.md"
    res["jsonPath"] = str(json_path)
    md = build_markdown(res)
    json_path.write_text(json.dumps(res, indent=1, ensure_ascii=False))
    md_path.write_text(md)
    shutil.copy(json_path, outdir / "latest.json")
    shutil.copy(md_path, outdir / "latest.md")
    if (not a.quick or a.update_results) and not a.no_update_results:
        (HERE / "RESULTS.md").write_text(md)
        log(f"updated {HERE / 'RESULTS.md'}")
    print(md)
    log(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
