#!/usr/bin/env python3
"""Writes the text.cer fixtures that DataSetErrorRateTests compares with, byte for byte.

Inputs (committed, written by this script): Tests/ParaformerTests/Fixtures/dataset/cer/ref.txt
and hyp.txt, Kaldi `id text` files with Chinese, English, mixed, empty and duplicate
hypotheses, hypotheses without reference and references without hypothesis, <unk> and @@
pieces, tabs, CRLF and ideographic spaces.

Outputs, from FunASR itself (funasr/metrics/wer.py compute_wer, funasr==1.4.16):
- expected_word.cer: compute_wer(ref, hyp, cn_postprocess=False), words as in the files;
- expected_char.cer: the recipe's character CER: both files through
  examples/aishell/paraformer/utils/postprocess_text_zh.py (not in the pip package; its logic is
  reproduced in `postprocess_text_zh` below, line for line), then compute_wer.

Run with the FunASR venv:  ~/.venvs/funasr/bin/python Tools/gen_cer_fixture.py
"""

import os
import re
import sys
import tempfile

from funasr.metrics.wer import compute_wer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "ParaformerTests", "Fixtures", "dataset", "cer")

# (id, reference) ; the reference file. No empty reference: compute_wer divides by its length.
REFS = [
    ("zh_exact", "甚至出现交易几乎停滞的情况"),
    ("zh_sub", "北京仅新增住宅土地供应十宗"),
    ("zh_del_ins", "楼市调控供的行政手段宜减不宜加"),
    ("zh_spaced", "当 供 给 远 快 于 需 求 时"),
    ("en_case", "Hello World this is a TEST"),
    ("en_swap", "b a"),
    ("mixed", "我们用 Paraformer 做 ASR 识别"),
    ("empty_hyp", "这句没有识别结果"),
    ("empty_hyp2", "another empty one"),
    ("many_ins", "短"),
    ("unk", "今天天气很好"),
    ("bpe", "speech recognition works"),
    ("dup", "重复的编号"),
    ("crlf", "换行符测试"),
    ("ideo_space", "全角　空格"),
    ("tabs", "a\tb  c"),
    ("ref_only", "这句只有参考没有假设"),
    ("lead", "前导空白"),
]

# (id, hypothesis) ; written in this order, duplicates included (the later one wins in a dict).
HYPS = [
    ("zh_exact", "甚至出现交易几乎停滞的情况"),
    ("zh_sub", "北京仅新增住宅土地供应十松"),
    ("zh_del_ins", "楼市调控的行政手段意见不易加"),
    ("zh_spaced", "当供给源快于需求时"),
    ("en_case", "hello world this is the test"),
    ("en_swap", "a b"),
    ("mixed", "我们用 para former 做 asr 识别"),
    ("empty_hyp", ""),
    ("empty_hyp2", None),  # the id alone, no space
    ("many_ins", "短短短短短"),
    ("unk", "今天<unk>气很好"),
    ("bpe", "spee@@ ch recog@@ ni@@ tion works"),
    ("dup", "第一次"),
    ("hyp_only", "这句没有参考"),
    ("dup", "重复的编号"),
    ("crlf", "换行符测式"),
    ("ideo_space", "全角　空格"),
    ("tabs", "a\tb c d"),
    ("lead", "前导空白"),
]


def write_kaldi(path, rows, crlf_ids=(), lead_ids=()):
    with open(path, "w", encoding="utf-8", newline="") as f:
        for key, value in rows:
            line = key if value is None else f"{key} {value}"
            if key in lead_ids:
                line = "  " + line
            f.write(line + ("\r\n" if key in crlf_ids else "\n"))
        f.write("\n")  # a trailing blank line; compute_wer itself would fail on it, see below


def postprocess_text_zh(in_f, out_f):
    """examples/aishell/paraformer/utils/postprocess_text_zh.py, unchanged in behaviour."""
    with open(in_f, "r", encoding="utf-8") as f:
        lines = f.readlines()
    with open(out_f, "w", encoding="utf-8") as f:
        for line in lines:
            outs = line.strip().split(" ", 1)
            if len(outs) == 2:
                idx, text = outs
                text = re.sub("</s>", "", text)
                text = re.sub("<s>", "", text)
                text = re.sub("@@", "", text)
                text = re.sub("@", "", text)
                text = re.sub("<unk>", "", text)
                text = re.sub(" ", "", text)
                text = text.lower()
            else:
                idx = outs[0]
                text = " "
            text = [x for x in text]
            text = " ".join(text)
            out = "{} {}\n".format(idx, text)
            f.write(out)


def without_blank_lines(src, dst):
    # compute_wer raises IndexError on a blank line (line.strip().split()[0]); our reader skips
    # blank lines, so FunASR gets the same files without them.
    with open(src, encoding="utf-8", newline="") as f:
        lines = [l for l in f if l.strip()]
    with open(dst, "w", encoding="utf-8", newline="") as f:
        f.writelines(lines)


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = os.path.join(OUT, "ref.txt")
    hyp = os.path.join(OUT, "hyp.txt")
    write_kaldi(ref, REFS, crlf_ids={"crlf"}, lead_ids={"lead"})
    write_kaldi(hyp, HYPS, crlf_ids={"crlf"}, lead_ids={"lead"})
    with tempfile.TemporaryDirectory() as tmp:
        r = os.path.join(tmp, "ref")
        h = os.path.join(tmp, "hyp")
        without_blank_lines(ref, r)
        without_blank_lines(hyp, h)
        compute_wer(r, h, os.path.join(OUT, "expected_word.cer"), cn_postprocess=False)
        rp, hp = r + ".proc", h + ".proc"
        postprocess_text_zh(r, rp)
        postprocess_text_zh(h, hp)
        compute_wer(rp, hp, os.path.join(OUT, "expected_char.cer"), cn_postprocess=False)
    for name in ("expected_word.cer", "expected_char.cer"):
        with open(os.path.join(OUT, name), encoding="utf-8") as f:
            print(f"--- {name}: " + " | ".join(f.read().splitlines()[-3:]))


if __name__ == "__main__":
    sys.exit(main())
