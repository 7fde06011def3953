#!/usr/bin/env python3
"""Generate the benchmark workload into a cache folder outside git.

    python Benchmarks/make_workload.py [--cache DIR] [--models large,large-online] [--clips 10,60,300]

DIR defaults to $PARAFORMER_BENCH_CACHE or /work/cache/bench. It gets:

    models/large/            random-weight paraformer-large (Tools/make_random_model.py, exact config)
        model.onnx           FunASR's own ONNX export (AutoModel.export(type="onnx"), fp32)
        model_quant.onnx     the same export, dynamically quantized to int8 (quantize=True)
    models/large.gguf        Tools/convert.py of the same checkpoint
    models/large-online/     the streaming model (ParaformerStreaming), model.onnx + decoder.onnx
                             (+ _quant) from FunASR's streaming export
    models/large-online.gguf
    clips/zh_10s.wav, zh_60s.wav, zh_300s.wav   Mandarin speech synthesised with espeak-ng
                             (16 kHz mono 16-bit), exact lengths
    workload.json            what was made and how (seeds, versions, sizes)

Every step is skipped when its output already exists (delete a file to redo it).

Two fixes are applied to stock FunASR:
  * torch >= 2.9 makes `torch.onnx.export` default to the dynamo exporter, which fails on
    FunASR's models; the export is wrapped so that it is called with dynamo=False.
  * the generated config.yaml gets `frontend_conf.dither: 0.0`, so that FunASR PyTorch and
    funasr-onnx (which both read frontend_conf) compute fbank without random dither.
    The peers also force dither 0 themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "Tools"
DEFAULT_CACHE = Path(os.environ.get("PARAFORMER_BENCH_CACHE", "/work/cache/bench"))
PY = sys.executable

# Mandarin sentences (news-reading style). espeak-ng's `cmn` voice reads Chinese characters.
SENTENCES = [
    "欢迎大家来体验达摩院推出的语音识别模型",
    "今天是星期一明天是星期三",
    "我们在测试一个新的模型",
    "这座城市的交通在过去十年里发生了很大的变化",
    "他每天早上六点起床然后去公园跑步",
    "会议将在下午三点准时开始请大家不要迟到",
    "天气预报说明天有小雨出门记得带伞",
    "这本书讲述了一个普通家庭几代人的故事",
    "学生们在图书馆里安静地看书和写作业",
    "我想问一下去火车站应该怎么走",
    "公司今年的销售额比去年增长了百分之二十",
    "医生建议他多喝水少吃油腻的食物",
    "周末我们打算带孩子去动物园看熊猫",
    "科学家们正在研究如何让电池更加耐用",
    "这家餐厅的饭菜味道很好价格也不贵",
    "请把窗户关上外面的风太大了",
    "她从小就喜欢音乐现在是一名钢琴老师",
    "新的地铁线路预计明年年底通车",
    "老人们在广场上跳舞唱歌非常热闹",
    "我们应该节约用水保护我们的环境",
]


def log(msg: str) -> None:
    print(f"[workload] {msg}", flush=True)


def run(cmd, **kw) -> None:
    shown = ["<script>" if "\n" in str(c) else str(c) for c in cmd]
    log(" ".join(shown))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


# --------------------------------------------------------------------------------------
# Models


def ensure_dither_zero(model_dir: Path) -> None:
    import yaml

    cfg_path = model_dir / "config.yaml"
    with open(cfg_path, "r", encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    fe = cfg.setdefault("frontend_conf", {}) or {}
    if fe.get("dither") == 0.0:
        return
    fe["dither"] = 0.0
    cfg["frontend_conf"] = fe
    with open(cfg_path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
    log(f"{cfg_path}: frontend_conf.dither = 0.0")


# Fallback for a vocabulary bug of Tools/make_random_model.py (not ours to edit): for vocab 8404
# its token list has duplicates (English words that are also generated syllables) and it
# asserts. The shim calls the tool unchanged and, only if make_tokens asserts, builds the
# same kind of list (CJK characters, words, @@ pieces, letters, misc) without duplicates.
# The benchmark needs only the vocabulary size, not the token spellings.
GEN_SHIM = r"""
import random, sys
sys.path.insert(0, sys.argv[1])
import make_random_model as m
_orig = m.make_tokens
def make_tokens(vocab, seed):
    try:
        return _orig(vocab, seed)
    except AssertionError:
        print("[workload] make_random_model.make_tokens asserted; using the de-duplicating fallback", flush=True)
    n_body = vocab - 4
    other = list(m.ENGLISH_WORDS) + list(m.BPE_PIECES) + list(m.LETTERS) + list(m.MISC)
    syl = list(m._syllables())
    other += [s for s in syl if len(s) >= 3][:560] + [s + "@@" for s in syl][:460]
    other = list(dict.fromkeys(other))[: n_body // 3]
    cjk = [c for c in dict.fromkeys(m.CHINESE) if "\u4e00" <= c <= "\u9fff"]
    cjk = list(dict.fromkeys(cjk + [chr(c) for c in range(0x4E00, 0x9FA6)]))
    body = cjk[: n_body - len(other)] + other
    assert len(body) == n_body and len(set(body)) == n_body
    random.Random(seed).shuffle(body)
    return ["<blank>", "<s>", "</s>"] + body + ["<unk>"]
m.make_tokens = make_tokens
sys.exit(m.main(sys.argv[2:]))
"""


def make_model(name: str, models: Path, seed: int) -> Path:
    d = models / name
    if not (d / "model.pt").exists():
        t = time.time()
        run([PY, "-c", GEN_SHIM, TOOLS, name, "-o", d, "--seed", seed])
        log(f"{name}: model dir in {time.time() - t:.0f} s")
    ensure_dither_zero(d)
    gguf = models / f"{name}.gguf"
    if not gguf.exists():
        run([PY, TOOLS / "convert.py", d, "-o", gguf, "-q"])
    return d


EXPORT_SNIPPET = r"""
import sys, torch
_orig = torch.onnx.export
def _export(*a, **k):
    k["dynamo"] = False          # FunASR's export only works with the TorchScript exporter
    return _orig(*a, **k)
torch.onnx.export = _export
torch.set_num_threads(int(sys.argv[2]))
from funasr import AutoModel
m = AutoModel(model=sys.argv[1], device="cpu", disable_update=True, log_level="ERROR")
print("export dir:", m.export(type="onnx", quantize=True, device="cpu"))
"""


def export_onnx(model_dir: Path, streaming: bool, threads: int) -> None:
    names = ["model.onnx", "model_quant.onnx"] + (["decoder.onnx", "decoder_quant.onnx"] if streaming else [])
    if all((model_dir / n).exists() for n in names):
        return
    t = time.time()
    # quantize=True writes both the fp32 export (model.onnx) and its int8 version (model_quant.onnx).
    run([PY, "-c", EXPORT_SNIPPET, model_dir, threads])
    missing = [n for n in names if not (model_dir / n).exists()]
    if missing:
        raise SystemExit(f"ONNX export of {model_dir} did not produce {missing}")
    log(f"{model_dir.name}: ONNX fp32 + int8 export in {time.time() - t:.0f} s")


# --------------------------------------------------------------------------------------
# Clips


def synth_sentences(tmp: Path):
    """Each sentence at two speeds/pitches -> list of float32 16 kHz arrays."""
    import numpy as np
    import soundfile as sf

    out = []
    variants = [(150, 50), (170, 40), (135, 60)]
    for vi, (speed, pitch) in enumerate(variants):
        for i, text in enumerate(SENTENCES):
            raw = tmp / f"raw_{vi}_{i}.wav"
            wav = tmp / f"s_{vi}_{i}.wav"
            subprocess.run(["espeak-ng", "-v", "cmn", "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["sox", "-G", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16",
                            "-e", "signed-integer", str(wav)], check=True)
            x, sr = sf.read(str(wav), dtype="float32")
            assert sr == 16000
            out.append(x)
    return out


def make_clips(clips_dir: Path, seconds_list) -> dict:
    import numpy as np
    import soundfile as sf

    clips_dir.mkdir(parents=True, exist_ok=True)
    todo = [s for s in seconds_list if not (clips_dir / f"zh_{s}s.wav").exists()]
    info = {}
    if todo:
        with tempfile.TemporaryDirectory() as td:
            pieces = synth_sentences(Path(td))
        gap = np.zeros(int(0.25 * 16000), dtype=np.float32)
        for s in todo:
            n = s * 16000
            buf, i = [], 0
            total = 0
            while total < n:
                p = pieces[i % len(pieces)]
                buf += [p, gap]
                total += len(p) + len(gap)
                i += 1
            x = np.concatenate(buf)[:n]
            sf.write(str(clips_dir / f"zh_{s}s.wav"), x, 16000, subtype="PCM_16")
            log(f"clip zh_{s}s.wav: {i} sentences")
    for s in seconds_list:
        info[f"zh_{s}s"] = str(clips_dir / f"zh_{s}s.wav")
    return info


# --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--models", default="large,large-online",
                    help="comma-separated configs of Tools/make_random_model.py")
    ap.add_argument("--clips", default="10,60,300", help="clip lengths in seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX exports")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for generation/export")
    a = ap.parse_args(argv)

    cache = a.cache.resolve()
    models = cache / "models"
    models.mkdir(parents=True, exist_ok=True)
    clips = make_clips(cache / "clips", [int(s) for s in a.clips.split(",") if s])

    made = {}
    for name in [m for m in a.models.split(",") if m]:
        d = make_model(name, models, a.seed)
        if not a.no_onnx:
            export_onnx(d, name.endswith("-online"), a.threads)
        made[name] = {
            "dir": str(d),
            "gguf": str(models / f"{name}.gguf"),
            "files": {p.name: p.stat().st_size for p in sorted(d.iterdir()) if p.is_file()},
        }

    import funasr
    import onnxruntime
    import torch

    meta = {
        "cache": str(cache),
        "seed": a.seed,
        "models": made,
        "clips": clips,
        "versions": {"funasr": funasr.__version__, "torch": torch.__version__,
                     "onnxruntime": onnxruntime.__version__},
    }
    with open(cache / "workload.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
    log(f"done: {cache / 'workload.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
