#!/usr/bin/env python3
"""Writes the small seed corpora of the libFuzzer targets (Tools/fuzz.sh) into Fuzz/corpus.

FuzzGGUF: the tiny test model's metadata with its three smallest tensors (so that the reader, the
metadata validation and the first weight bindings are all reached), and an empty-tensor file.
FuzzAudio: mode byte + a short WAV (PCM16, float32, stereo), a FLAC if soundfile is there,
and raw PCM16. Each seed is a few KB.

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


if __name__ == "__main__":
    gguf_seeds()
    audio_seeds()
    for d in sorted(os.listdir(OUT)):
        for f in sorted(os.listdir(f"{OUT}/{d}")):
            print(d, f, os.path.getsize(f"{OUT}/{d}/{f}"))
