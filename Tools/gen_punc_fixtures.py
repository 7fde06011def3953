#!/usr/bin/env python3
"""Random-weight CT-Transformer punctuation models and FunASR's outputs on them (test fixtures).

    ~/.venvs/funasr/bin/python Tools/gen_punc_fixtures.py [-o Tests/ParaformerTests/Fixtures/punc]
        [--work /tmp/punc_models] [--bench-only]

Writes into the output folder:
  punc.gguf         CTTransformer (SANMEncoder, full attention), converted by Tools/convert.py
  punc-ascii.gguf   the same weights with the ASCII punc_list of the GitHub template
                    (['<unk>', '_', ',', '。', '?', '、']): no `，`/`？` rule ever fires
  punc-nostop.gguf  the same weights with `。` and `？` never predicted, so that a long text is
                    carried over window after window until FunASR's 200-word comma cut
  punc-jieba.gguf   a word-level CTTransformer whose input is segmented by jieba (as ct-punc):
                    a small main dictionary (jieba.set_dictionary) plus a user dictionary
                    (jieba_usr_dict, lines with and without counts), converted with --jieba-dict
  punc-online.gguf  CTTransformerStreaming (SANMVadEncoder: causal FSMN sanm_shfit 5, causal
                    attention, the last layer's vad_mask)
  expected.json     FunASR's `text` and `punc_array` for every case, per model; for the
                    streaming model, a sequence of calls sharing one cache (text, punc_array,
                    pre_text after the call)

Recipe (deterministic: torch.manual_seed, fixed texts):
 1. Vocabulary: <blank>, <s>, </s>, then Chinese characters, lower-case English words and a
    few numbers, then <unk> (as ct-punc-c's char + English word vocabulary).
 2. The model is built by AutoModel(model="CTTransformer"/"CTTransformerStreaming", ...) from
    the config below with FunASR's default init; every LayerNorm gets weight 1 + 0.2·N(0,1),
    bias 0.1·N(0,1) (a port that ignores the affine part fails).
 3. The head (`decoder`) is scaled so that logits spread (std ≈ 3) and its bias is fitted
    (a few rounds on the fixture texts) so that the classes occur roughly as
    _ 55 %, ， 15 %, 。 14 %, ？ 7 %, 、 9 %, <unk> 0 %: punctuation varies, sentences end
    inside long inputs, and windows are cut and carried over.
 4. FunASR's outputs are recorded with AutoModel.generate; the smallest top-1/top-2 logit
    margin over every forward pass is printed (argmax parity needs it well above 1e-5).

--bench-only writes only /tmp/punc_models/bench (ct-punc-c's exact architecture,
256 dims, 8 heads, 4 blocks, with a small vocabulary) for speed measurements; not a fixture.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent

CHINESE = (
    "你好世界今天天气很我们在这里吗欢迎大家来体验达摩院推出的语音识别模型是一个非常重要问题"
    "他她它们说话时候中国人民学习工作生活没有什么为了可以就要会能看到出去回家吃饭喝水明天昨日"
    "上午下年月号点分钟小时开始结束因为所以但是如果虽然还已经正在把被让给从向对于关和与或者"
    "老师同学朋友公司电脑手机网络会议报告数据结果方法系统音频文本标点符号句子长短快慢高低好坏"
)
ENGLISH = (
    "hello world we are here this is a test of the punctuation model it works well "
    "today weather very good and you can see what happens when text gets long "
    "speech recognition with paraformer on cpu runs fast i think so yes no maybe "
    "please tell me how many words there"
).split()
NUMBERS = ["2024", "3", "100"]

PUNC_LIST = ["<unk>", "_", "，", "。", "？", "、"]
ASCII_PUNC_LIST = ["<unk>", "_", ",", "。", "?", "、"]
TARGET = np.array([0.0, 0.55, 0.15, 0.14, 0.07, 0.09])


def vocabulary():
    chars = list(dict.fromkeys(CHINESE))
    words = list(dict.fromkeys(ENGLISH))
    return ["<blank>", "<s>", "</s>"] + chars + words + NUMBERS + ["<unk>"]


def texts():
    rng = random.Random(7)
    chars = list(dict.fromkeys(CHINESE))
    zh_long = "".join(rng.choice(chars) for _ in range(70))
    zh_long = zh_long[:23] + " " + zh_long[23:51] + "  " + zh_long[51:]
    en_long = " ".join(rng.choice(ENGLISH) for _ in range(55))
    mix = []
    for _ in range(14):
        if rng.random() < 0.5:
            mix.append("".join(rng.choice(chars) for _ in range(rng.randint(2, 6))))
        else:
            mix.append(" ".join(rng.choice(ENGLISH) for _ in range(rng.randint(1, 3))))
    mix_long = " ".join(mix)
    return {
        "zh_long": zh_long,
        "en_long": en_long,
        "mix_long": mix_long,
        "zh_very_long": "".join(rng.choice(chars) for _ in range(150)),
        "recipe": "你好世界 hello world 今天天气很好 we are here",
        "zh_short": "你好世界",
        "en_short": "hello world",
        "one_char": "好",
        "one_word": "hello",
        "two_words": "we are",
        "oov": "龘靐齉 xyzzy Hello iPhone 你好 WORLD",
        "capitals": "Hello World we ARE here iPhone today weather very good and we are here",
        "digits": "2024年 3 apples 100个 today",
        "fullwidth_punct": "你好，世界。今天天气很好？hello,world.",
        "separators": "你好\u3000世界\thello\nworld\u00a0we\u2028are 今天",
        "ascii_symbols": "hello_world it's 50% a+b=c 你好",
        "blank": "  \t ",
        "empty": "",
    }


def stream_calls():
    rng = random.Random(11)
    chars = list(dict.fromkeys(CHINESE))
    long_call = "".join(rng.choice(chars) for _ in range(33)) + " " + " ".join(rng.choice(ENGLISH) for _ in range(8))
    return [
        "你好世界hello",
        "world今天天气很好",
        "我们在这里吗",
        "we are here",
        long_call,
        "".join(rng.choice(chars) for _ in range(12)),
        "hello",
        "今天 iPhone world we are here 欢迎大家",
        "".join(rng.choice(chars) for _ in range(25)),
        "好",
    ]


def nostop_text():
    rng = random.Random(5)
    chars = list(dict.fromkeys(CHINESE))
    pieces = []
    for _ in range(60):
        pieces.append("".join(rng.choice(chars) for _ in range(rng.randint(3, 6))))
        if rng.random() < 0.2:
            pieces.append(rng.choice(ENGLISH))
    return " ".join(pieces)


def model_conf(streaming: bool, dims: dict, punc_list):
    return dict(
        model="CTTransformerStreaming" if streaming else "CTTransformer",
        model_conf=dict(punc_list=list(punc_list), embed_unit=dims["d"], att_unit=dims["d"],
                        ignore_id=0, sentence_end_id=3),
        encoder="SANMVadEncoder" if streaming else "SANMEncoder",
        encoder_conf=dict(input_size=dims["d"], output_size=dims["d"], attention_heads=dims["heads"],
                          linear_units=dims["ffn"], num_blocks=dims["blocks"], input_layer="pe",
                          kernel_size=11, sanm_shfit=5 if streaming else 0, padding_idx=0),
        tokenizer="CharTokenizer",
        tokenizer_conf=dict(unk_symbol="<unk>"),
    )


def build(cfg: dict, vocab):
    from funasr import AutoModel

    kw = dict(cfg)
    kw["tokenizer_conf"] = dict(cfg["tokenizer_conf"], token_list=vocab)
    return AutoModel(device="cpu", disable_update=True, disable_pbar=True, log_level="ERROR", **kw)


def perturb_norms(model):
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(1 + 0.2 * torch.randn_like(m.weight))
                m.bias.copy_(0.1 * torch.randn_like(m.bias))


class MarginProbe:
    """Wraps punc_forward to record the smallest top-1/top-2 logit gap and optionally the raw
    logits."""

    def __init__(self, model):
        self.model = model
        self.original = model.punc_forward
        self.min_margin = float("inf")
        self.collected = []
        probe = self

        def wrapped(this, *args, **kwargs):
            y, h = probe.original(*args, **kwargs)
            flat = y.view(-1, y.shape[-1]).detach()
            if flat.shape[0] > 0:
                top = flat.topk(2, dim=1).values
                probe.min_margin = min(probe.min_margin, float((top[:, 0] - top[:, 1]).min()))
                probe.collected.append(flat.clone())
            return y, h

        model.punc_forward = types.MethodType(wrapped, model)


def fit_head(am, calib_texts, streaming: bool):
    """Scale the head and fit its bias so that the classes occur at TARGET rates."""
    model = am.model
    with torch.no_grad():
        model.decoder.bias.zero_()
    probe = MarginProbe(model)
    cache = {}
    for t in calib_texts:
        if streaming:
            am.generate(input=t, cache=cache, key="calib")
        else:
            am.generate(input=t, key="calib")
    logits = torch.cat(probe.collected).numpy()
    model.punc_forward = probe.original
    gain = 3.0 / (logits.std() + 1e-9)
    with torch.no_grad():
        model.decoder.weight.mul_(gain)
    logits = logits * gain
    bias = np.zeros(len(TARGET))
    bias[0] = -1e4
    for _ in range(200):
        pred = np.argmax(logits + bias, axis=1)
        freq = np.bincount(pred, minlength=len(TARGET)) / len(pred)
        for c in range(1, len(TARGET)):
            bias[c] += 0.3 * (np.log(TARGET[c]) - np.log(freq[c] + 1e-3))
    with torch.no_grad():
        model.decoder.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return freq


def save_model_dir(am, cfg: dict, vocab, out_dir: Path):
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    with open(out_dir / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, allow_unicode=True, sort_keys=False)
    with open(out_dir / "tokens.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    torch.save(am.model.state_dict(), out_dir / "model.pt")


def convert(model_dir: Path, gguf: Path):
    subprocess.run([sys.executable, str(ROOT / "Tools" / "convert.py"), str(model_dir), "-o", str(gguf), "-q"],
                   check=True)


def offline_cases(am, cases: dict):
    probe = MarginProbe(am.model)
    out = []
    for name, text in cases.items():
        res = am.generate(input=text, key="t")
        r = res[0] if res else {"text": "", "punc_array": None}
        pa = r.get("punc_array")
        pa = [] if pa is None else [int(x) for x in np.asarray(pa).reshape(-1)]
        out.append(dict(name=name, input=text, text=r["text"], punc_array=pa))
    am.model.punc_forward = probe.original
    return out, probe.min_margin


def streaming_cases(am, calls):
    probe = MarginProbe(am.model)
    cache = {}
    out = []
    for text in calls:
        res = am.generate(input=text, cache=cache, key="t")
        r = res[0]
        pa = r.get("punc_array")
        pa = [] if pa is None else [int(x) for x in np.asarray(pa).reshape(-1)]
        out.append(dict(input=text, text=r["text"], punc_array=pa, pre_text=list(cache["pre_text"])))
    am.model.punc_forward = probe.original
    return out, probe.min_margin


def vad_mask_matters(ams, calls) -> bool:
    """Whether the calls' outputs change when SANMVadEncoder's vad_mask is all ones."""
    import funasr.models.ct_transformer_streaming.encoder as enc

    normal, _ = streaming_cases(ams, calls)
    original = enc.vad_mask
    enc.vad_mask = lambda size, vad_pos, device="cpu", dtype=torch.bool: torch.ones(
        size, size, device=device, dtype=dtype)
    try:
        ablated, _ = streaming_cases(ams, calls)
    finally:
        enc.vad_mask = original
    return normal != ablated


# A small jieba main dictionary (word, count) and user dictionary for the word-level fixture.
JIEBA_MAIN = [
    ("你好", 300), ("世界", 400), ("今天", 500), ("天气", 450), ("今天天气", 20), ("很好", 380),
    ("我们", 900), ("在这里", 60), ("这里", 420), ("欢迎", 350), ("大家", 600), ("体验", 120),
    ("达摩院", 15), ("推出", 110), ("语音", 90), ("识别", 95), ("语音识别", 40), ("模型", 130),
    ("非常", 700), ("重要", 500), ("问题", 650), ("一个", 2000), ("时候", 800), ("中国", 1200),
    ("中国人", 300), ("人民", 900), ("学习", 700), ("工作", 900), ("生活", 800), ("没有", 1500),
    ("什么", 1400), ("为了", 600), ("可以", 1300), ("明天", 300), ("上午", 200), ("下午", 210),
    ("开始", 700), ("结束", 300), ("因为", 900), ("所以", 850), ("但是", 1000), ("如果", 800),
    ("虽然", 300), ("已经", 900), ("正在", 400), ("老师", 500), ("同学", 450), ("朋友", 600),
    ("公司", 700), ("电脑", 300), ("手机", 400), ("网络", 350), ("会议", 300), ("报告", 320),
    ("数据", 500), ("结果", 600), ("方法", 550), ("系统", 650), ("音频", 60), ("文本", 80),
    ("标点", 40), ("符号", 70), ("句子", 90), ("出去", 200), ("回家", 250), ("吃饭", 300),
    ("喝水", 100), ("说话", 260), ("小时", 400), ("分钟", 380), ("关于", 500), ("或者", 600),
    ("的", 30000), ("是", 20000), ("在", 15000), ("了", 18000), ("和", 12000), ("有", 10000),
    ("我", 14000), ("他", 9000), ("她", 5000), ("来", 6000), ("去", 5000), ("说", 7000),
    ("好", 6000), ("大", 5000), ("小", 4000), ("人", 8000), ("天", 3000), ("长", 2000),
    ("年", 4000), ("月", 3000), ("号", 1000), ("点", 3000), ("个", 9000), ("对", 4000),
]
JIEBA_USER = [
    "语音识别模型 10", "达摩院推出", "标点符号 5 n", "会议报告", "在这里吗 3", "中国人民 30 nt",
    "吃饭喝水", "长短快慢 2",
]
JIEBA_ENGLISH = ["hello", "world", "we", "are", "here", "iphone", "model", "speech", "test", "and"]


def jieba_texts():
    rng = random.Random(13)
    words = [w for w, _ in JIEBA_MAIN if len(w) > 1]
    zh = "".join(rng.choice(words) for _ in range(45))
    mix = []
    for _ in range(16):
        if rng.random() < 0.6:
            mix.append("".join(rng.choice(words) for _ in range(rng.randint(1, 3))))
        else:
            mix.append(" ".join(rng.choice(JIEBA_ENGLISH) for _ in range(rng.randint(1, 2))))
    return {
        "recipe": "欢迎大家来体验达摩院推出的语音识别模型 hello world 欢迎",
        "zh_long": zh,
        "mix_long": " ".join(mix),
        "user_words": "今天天气很好我们在这里吗 标点符号和会议报告 中国人民吃饭喝水 长短快慢",
        "oov_and_digits": "龘靐齉 2024年3月 hello123你好 iPhone手机 Hello 我们的model是abc",
        "english_only": "hello world we are here and speech model test",
        "symbols": "你好+世界 a.b c-d 50% 今天_天气 ok",
    }


def jieba_fixture(a, expected):
    """A word-level CTTransformer with jieba (as ct-punc): small main dictionary set with
    jieba.set_dictionary, user dictionary loaded by FunASR (model_conf.jieba_usr_dict)."""
    import jieba

    work = a.work / "punc-jieba"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    main_dict = a.work / "jieba_main_dict.txt"
    main_dict.write_text("".join(f"{w} {c}\n" for w, c in JIEBA_MAIN), encoding="utf-8")
    (work / "jieba_usr_dict").write_text("\n".join(JIEBA_USER) + "\n", encoding="utf-8")
    jieba.setLogLevel(60)
    jieba.set_dictionary(str(main_dict))

    chars = sorted({c for w, _ in JIEBA_MAIN for c in w})
    multi = [w for w, _ in JIEBA_MAIN if len(w) > 1]
    user = [ln.split()[0] for ln in JIEBA_USER]
    # Leave a few dictionary words out of the vocabulary: they become <unk>.
    vocab_words = [w for i, w in enumerate(multi + user) if i % 7 != 3]
    vocab = ["<blank>", "<s>", "</s>"] + list(dict.fromkeys(chars + vocab_words + JIEBA_ENGLISH)) + ["<unk>"]

    torch.manual_seed(3)
    cfg = model_conf(False, dict(d=32, heads=4, ffn=64, blocks=2), PUNC_LIST)
    kw = dict(cfg)
    kw["model_conf"] = dict(cfg["model_conf"], jieba_usr_dict=str(work / "jieba_usr_dict"))
    am = build(kw, vocab)
    perturb_norms(am.model)
    cases = jieba_texts()
    freq = fit_head(am, list(cases.values()), streaming=False)
    print("jieba class rates:", np.round(freq, 3))
    tmp = a.work / "punc-jieba-tmp"
    save_model_dir(am, cfg, vocab, tmp)  # config.yaml without the absolute path
    for f in tmp.iterdir():
        shutil.move(str(f), work / f.name)
    tmp.rmdir()
    subprocess.run([sys.executable, str(ROOT / "Tools" / "convert.py"), str(work), "-o",
                    str(a.output / "punc-jieba.gguf"), "-q", "--jieba-dict", str(main_dict)], check=True)
    results, margin = offline_cases(am, cases)
    print(f"jieba: min margin {margin:.4g}")
    for r in results:
        from funasr.models.ct_transformer.utils import split_words
        r["words"] = split_words(r["input"], jieba_usr_dict=am.model.jieba_usr_dict)
    expected["punc-jieba"] = dict(model="punc-jieba.gguf", cases=results)


NATURAL_ZH = [
    "跨境河流是养育沿岸人民的生命之源长期以来为帮助下游地区防灾减灾中方技术人员在上游地区极为恶劣的自然条件下克服巨大困难甚至冒着生命危险",
    "我们今天在这里讨论语音识别技术的发展以及它在日常生活中的应用比如会议记录和字幕生成",
    "北京大学的研究人员发现长时间使用手机会影响睡眠质量所以专家建议睡前一小时不要看屏幕",
    "他说这个问题非常重要但是我们还没有找到合适的方法来解决它明天上午再开会讨论吧",
    "南京市长江大桥于一九六八年建成通车是中国自行设计建造的第一座双层式铁路公路两用桥",
    "自然语言处理是人工智能领域的一个重要方向研究如何让计算机理解和生成人类语言",
]


def full_jieba(a):
    """The jieba fixture's model with jieba's own 0.42.1 dictionary (about 500 000 entries,
    12 MB of metadata; not committed): FunASR's split_words and text on long natural and
    random text. Written to a directory that tests read when present."""
    import jieba

    out = a.full_jieba
    out.mkdir(parents=True, exist_ok=True)
    work = a.work / "punc-jieba"
    if not (work / "model.pt").exists():
        raise SystemExit(f"{work} is missing: run the generator without options first")
    jieba.setLogLevel(60)
    vocab = json.loads((work / "tokens.json").read_text(encoding="utf-8"))
    cfg = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    kw = dict(cfg)
    kw["model_conf"] = dict(cfg["model_conf"], jieba_usr_dict=str(work / "jieba_usr_dict"))
    am = build(kw, vocab)
    am.model.load_state_dict(torch.load(work / "model.pt"))
    subprocess.run([sys.executable, str(ROOT / "Tools" / "convert.py"), str(work), "-o",
                    str(out / "punc-jieba-full.gguf"), "-q"], check=True)
    from funasr.models.ct_transformer.utils import split_words

    rng = random.Random(17)
    chars = list(dict.fromkeys(CHINESE))
    cases = {f"natural_{i}": t for i, t in enumerate(NATURAL_ZH)}
    cases["natural_mixed"] = "我们用 paraformer 做 speech recognition 然后 北京大学 hello world 的 model 3月 2024年"
    cases["random_long"] = "".join(rng.choice(chars) for _ in range(600))
    results, _ = offline_cases(am, cases)
    for r in results:
        r["words"] = split_words(r["input"], jieba_usr_dict=am.model.jieba_usr_dict)
    (out / "punc-jieba-full.json").write_text(
        json.dumps({"model": "punc-jieba-full.gguf", "cases": results}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    for r in results:
        print(r["name"], len(r["words"]), r["text"][:60])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "Tests/ParaformerTests/Fixtures/punc")
    ap.add_argument("--work", type=Path, default=Path("/tmp/punc_models"))
    ap.add_argument("--bench-only", action="store_true",
                    help="only write the speed-test model (ct-punc-c's architecture) and time FunASR on it")
    ap.add_argument("--only-jieba", action="store_true",
                    help="only (re)write the jieba model and its entry of expected.json")
    ap.add_argument("--full-jieba", type=Path, default=None, metavar="DIR",
                    help="only write the jieba model with jieba's full dictionary and its expected "
                         "words and texts into DIR (tests read $PARAFORMER_PUNC_LARGE_DIR, default "
                         "/work/cache/punc)")
    a = ap.parse_args()
    if a.full_jieba:
        return full_jieba(a)
    if a.bench_only:
        return bench(a.work)
    if a.only_jieba:
        path = a.output / "expected.json"
        expected = json.loads(path.read_text(encoding="utf-8"))
        jieba_fixture(a, expected)
        path.write_text(json.dumps(expected, ensure_ascii=False, indent=1), encoding="utf-8")
        for c in expected["punc-jieba"]["cases"]:
            print(f"{c['name']:14s} {c['text']!r} {c['words']}")
        return
    a.output.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary()
    cases = texts()
    expected = {"vocab_size": len(vocab)}
    tiny = dict(d=32, heads=4, ffn=64, blocks=2)

    # Offline model.
    torch.manual_seed(0)
    cfg = model_conf(False, tiny, PUNC_LIST)
    am = build(cfg, vocab)
    perturb_norms(am.model)
    calib = [cases["zh_long"], cases["en_long"], cases["mix_long"], cases["zh_very_long"]]
    freq = fit_head(am, calib, streaming=False)
    print("offline class rates:", np.round(freq, 3))
    save_model_dir(am, cfg, vocab, a.work / "punc")
    convert(a.work / "punc", a.output / "punc.gguf")
    results, margin = offline_cases(am, cases)
    print(f"offline: min margin {margin:.4g}")
    expected["punc"] = dict(model="punc.gguf", cases=results)

    # Same weights, ASCII punc_list (the GitHub template's).
    cfg_ascii = model_conf(False, tiny, ASCII_PUNC_LIST)
    am.model.punc_list = list(ASCII_PUNC_LIST)
    save_model_dir(am, cfg_ascii, vocab, a.work / "punc-ascii")
    convert(a.work / "punc-ascii", a.output / "punc-ascii.gguf")
    subset = {k: cases[k] for k in ("zh_long", "en_long", "mix_long", "recipe", "capitals")}
    results, margin = offline_cases(am, subset)
    print(f"ascii: min margin {margin:.4g}")
    expected["punc-ascii"] = dict(model="punc-ascii.gguf", cases=results)
    am.model.punc_list = list(PUNC_LIST)

    # Same weights, 。 and ？ never predicted: long texts reach the 200-word comma cut.
    with torch.no_grad():
        am.model.decoder.bias[3] = -1e4
        am.model.decoder.bias[4] = -1e4
    save_model_dir(am, cfg, vocab, a.work / "punc-nostop")
    convert(a.work / "punc-nostop", a.output / "punc-nostop.gguf")
    results, margin = offline_cases(am, {"nostop_long": nostop_text(), "mix_long": cases["mix_long"]})
    print(f"nostop: min margin {margin:.4g}")
    expected["punc-nostop"] = dict(model="punc-nostop.gguf", cases=results)

    # Streaming model. The last layer's attention is strengthened until the outputs depend on
    # its vad_mask (the calls' results differ when the mask is replaced by all ones).
    torch.manual_seed(1)
    online = dict(d=32, heads=4, ffn=64, blocks=3)
    cfg_on = model_conf(True, online, PUNC_LIST)
    ams = build(cfg_on, vocab)
    perturb_norms(ams.model)
    last = ams.model.encoder.encoders[-1].self_attn
    for attempt in range(8):
        freq = fit_head(ams, calib + stream_calls(), streaming=True)
        if vad_mask_matters(ams, stream_calls()):
            break
        with torch.no_grad():
            last.linear_out.weight.mul_(2.0)
            last.linear_q_k_v.weight.mul_(1.5)
    else:
        raise SystemExit("the streaming fixture does not depend on vad_mask")
    print("online class rates:", np.round(freq, 3), "attention gain rounds:", attempt)
    save_model_dir(ams, cfg_on, vocab, a.work / "punc-online")
    convert(a.work / "punc-online", a.output / "punc-online.gguf")
    calls, margin = streaming_cases(ams, stream_calls())
    print(f"online: min margin {margin:.4g}")
    expected["punc-online"] = dict(model="punc-online.gguf", calls=calls)

    jieba_fixture(a, expected)

    with open(a.output / "expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
    for name, m in expected.items():
        if isinstance(m, dict):
            for c in m.get("cases", m.get("calls", [])):
                print(f"{name:12s} {c.get('name', '')!s:14s} {c['text']!r}")



def bench_text(n_chars: int = 3000) -> str:
    rng = random.Random(3)
    chars = list(dict.fromkeys(CHINESE))
    return "".join(rng.choice(chars) for _ in range(n_chars))


def bench(work: Path):
    """ct-punc-c's architecture (256 dims, 8 heads, 1024 units, 4 blocks) with the fixture
    vocabulary, and FunASR's time on a 3000-character text with one torch thread."""
    import time

    torch.set_num_threads(1)
    torch.manual_seed(2)
    vocab = vocabulary()
    cfg = model_conf(False, dict(d=256, heads=8, ffn=1024, blocks=4), PUNC_LIST)
    am = build(cfg, vocab)
    fit_head(am, [bench_text(400)], streaming=False)
    save_model_dir(am, cfg, vocab, work / "bench")
    convert(work / "bench", work / "bench.gguf")
    text = bench_text()
    (work / "bench.txt").write_text(text + "\n", encoding="utf-8")
    am.generate(input=text[:200], key="w")
    t0 = time.perf_counter()
    r = am.generate(input=text, key="b")[0]
    dt = time.perf_counter() - t0
    (work / "bench.expected.txt").write_text(r["text"] + "\n", encoding="utf-8")
    print(f"FunASR (torch, 1 thread): {len(text)} chars in {dt:.3f} s = {len(text) / dt:.0f} chars/s")
    print("bench model:", work / "bench.gguf", "text:", work / "bench.txt")


if __name__ == "__main__":
    main()
