#!/usr/bin/env python3
"""Writes the small seed corpora of the libFuzzer targets (Tools/fuzz.sh) into Fuzz/corpus.

FuzzGGUF: the tiny test model's metadata with its three smallest tensors (so that the reader, the
metadata validation and the first weight bindings are all reached), and an empty-tensor file.
FuzzAudio: mode byte + a short WAV (PCM16, float32, stereo), a FLAC if soundfile is there,
and raw PCM16. FuzzDataSet: a wav.scp, a text file, a reference/hypothesis pair, --shard values.
FuzzHotwords: hotword strings and files (SeACo / Contextual, with and without a transcription).
FuzzStream: programs of slice sizes and calls for RecognitionStream and VADStream. Each seed is
a few KB.

    ~/.venvs/funasr/bin/python Tools/make_fuzz_seeds.py
"""
import io
import os
import struct
import wave

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGUFValueType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz/corpus")


def gguf_seeds():
    os.makedirs(f"{OUT}/FuzzGGUF", exist_ok=True)
    src = GGUFReader(os.path.join(ROOT, "Tests/ParaformerTests/Fixtures/model/tiny.gguf"))
    for name, keep in [("tiny-meta", 0), ("tiny-meta-3tensors", 3)]:
        arch = bytes(src.fields["general.architecture"].parts[-1]).decode()
        w = GGUFWriter(f"{OUT}/FuzzGGUF/{name}.gguf", arch)
        for key, f in src.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture":
                continue
            t = f.types[0]
            if t == GGUFValueType.STRING:
                w.add_string(key, bytes(f.parts[-1]).decode())
            elif t == GGUFValueType.ARRAY:
                sub = f.types[1]
                vals = [f.parts[i] for i in f.data]
                if sub == GGUFValueType.STRING:
                    w.add_array(key, [bytes(v).decode() for v in vals])
                else:
                    w.add_array(key, [v.tolist()[0] for v in vals])
            else:
                w.add_key_value(key, f.parts[-1].tolist()[0], t)
        for tensor in sorted(src.tensors, key=lambda t: int(t.n_elements))[:keep]:
            w.add_tensor(tensor.name, np.array(tensor.data),
                         raw_shape=list(reversed([int(x) for x in tensor.shape])))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()


def wav_bytes(samples, rate, channels, sampwidth=2):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(sampwidth)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def audio_seeds():
    os.makedirs(f"{OUT}/FuzzAudio", exist_ok=True)
    rng = np.random.default_rng(0)
    tone = (np.sin(np.arange(1600) * 0.2) * 8000 + rng.normal(0, 300, 1600)).astype(np.int16)

    def put(name, mode, body):
        with open(f"{OUT}/FuzzAudio/{name}", "wb") as f:
            f.write(bytes([mode]) + body)

    put("wav16k-mono", 0, wav_bytes(tone, 16000, 1))
    put("wav8k-stereo", 0, wav_bytes(np.repeat(tone[:800], 2), 8000, 2))
    # IEEE float WAV by hand: fmt tag 3.
    data = (tone / 32768).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    put("wav-float", 0, b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)
    try:
        import soundfile as sf
        buf = io.BytesIO()
        sf.write(buf, tone, 16000, format="FLAC", subtype="PCM_16")
        put("flac16k", 0, buf.getvalue())
    except Exception as e:  # soundfile missing: no FLAC seed
        print("no FLAC seed:", e)
    put("pcm16-mono-16k", (1 << 4) | 1, tone.tobytes())
    put("pcm16-stereo-8k", (0 << 4) | (1 << 1) | 1, np.repeat(tone[:800], 2).tobytes())


def put_seed(target, name, data):
    os.makedirs(f"{OUT}/{target}", exist_ok=True)
    with open(f"{OUT}/{target}/{name}", "wb") as f:
        f.write(data)


def dataset_seeds():
    # Byte 0: reader (0 wav.scp, 1 text, 2 text.cer pair, 3 --shard); byte 1: parameter.
    scp = "utt1 /data/a.wav\nutt2\trel/b.flac\nutt1 dup.wav\n\nutt3 \nutt4 sox x.wav -t wav - |\r\nutt5 c.wav".encode()
    put_seed("FuzzDataSet", "wavscp", bytes([0, 0]) + scp)
    text = "utt1 今天 天气 好\nutt2 hello world\r\nutt1 again\n  utt3\tx\nutt4 unterminated".encode()
    put_seed("FuzzDataSet", "text-drop-unterminated", bytes([1, 1]) + text)
    ref = "a 今天天气很好\nb hello world\nc <unk>x@@y\n".encode()
    hyp = "a 今天天气不好\nb hello word\nd extra\nc xy\n".encode()
    put_seed("FuzzDataSet", "cer-pair", bytes([2, len(ref) * 256 // (len(ref) + len(hyp)) + 1]) + ref + hyp)
    put_seed("FuzzDataSet", "shard", bytes([3, 37]) + b"3/8")


def hotword_seeds():
    # Byte 0: bit 0 file (else string), bit 1 Contextual (else SeACo), bit 2 also transcribe.
    put_seed("FuzzHotwords", "seaco-string", bytes([4]) + "养育 生命之源 河流".encode())
    put_seed("FuzzHotwords", "contextual-string", bytes([6]) + "达摩院 魔搭".encode())
    with open(os.path.join(ROOT, "Tests/ParaformerTests/Fixtures/hotword/hotwords_several.txt"), "rb") as f:
        several = f.read()
    put_seed("FuzzHotwords", "seaco-file", bytes([5]) + several)
    put_seed("FuzzHotwords", "contextual-file-blank-lines", bytes([3]) + b"\n\nhello world\r\n\xe5\x8c\x97\n")


def stream_seeds():
    # Byte 0: bit 0 VAD (else recognition), the rest the options index; then 3-byte operations
    # (op, count little-endian). Recognition ops: 0 clip Float, 1 clip Int16, 2 noise, 3 NaN,
    # 4 finish, 5 finishPartial, 6 reset, 7 empty accept. VAD: 0 clip, 1 clip final, 2 noise,
    # 3 infinity, else finish.
    def prog(mode, ops):
        return bytes([mode]) + b"".join(struct.pack("<BH", op, n) for op, n in ops)
    put_seed("FuzzStream", "asr-slices", prog(0, [(0, 1000), (1, 4321), (0, 9600), (7, 0), (0, 65535), (4, 0)]))
    put_seed("FuzzStream", "asr-reset-noise", prog(2, [(0, 5000), (2, 3000), (3, 0), (6, 0), (0, 30000), (5, 0), (0, 1)]))
    put_seed("FuzzStream", "asr-bad-options", prog(12, [(0, 960), (4, 0)]))
    put_seed("FuzzStream", "vad-slices", prog(1, [(0, 3200), (0, 17), (3, 0), (0, 20000), (1, 65535), (0, 5)]))
    put_seed("FuzzStream", "vad-noise-finish", prog(3, [(2, 8000), (0, 40000), (4, 0), (4, 0)]))
    # The crash FuzzStream found: whole 10 ms chunks, then finish() (fixed; StreamFinishTests).
    put_seed("FuzzStream", "vad-finish-after-whole-chunks", prog(3, [(0, 0), (0, 0), (0, 8209), (0, 44288), (5, 4)]))


if __name__ == "__main__":
    gguf_seeds()
    audio_seeds()
    dataset_seeds()
    hotword_seeds()
    stream_seeds()
    for d in sorted(os.listdir(OUT)):
        for f in sorted(os.listdir(f"{OUT}/{d}")):
            print(d, f, os.path.getsize(f"{OUT}/{d}/{f}"))
