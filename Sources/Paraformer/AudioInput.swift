import Foundation
import ParaformerCore

/// Audio to transcribe, in every form FunASR's `generate(input=…)` accepts.
///
/// ```swift
/// try recognizer.transcribe(.file(url))
/// try recognizer.transcribe(.samples(floats, sampleRate: 16000))
/// try recognizer.transcribe(.pcm16(bytes, sampleRate: 8000))    // FunASR audio_in + audio_fs
/// try recognizer.transcribe(.wav(fileBytes))
/// ```
/// Any rate from 1 kHz to 384 kHz is resampled to the model's; multi-channel audio becomes mono
/// as `RecognizerOptions.channel` says.
public enum AudioInput: Sendable, Equatable {
    /// A sound file of any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, …).
    case file(URL)
    /// Mono samples in [-1, 1] at `sampleRate`.
    case samples([Float], sampleRate: Int)
    /// Raw 16-bit little-endian mono PCM without a header at `sampleRate` (each sample x / 32768).
    case pcm16(Data, sampleRate: Int)
    /// The bytes of a sound file (WAV or any format `.file` reads).
    case wav(Data)

    /// Mono 16-bit samples at `sampleRate` (each x / 32768).
    public static func int16(_ samples: [Int16], sampleRate: Int) -> AudioInput {
        .samples(samples.map { Float($0) / 32768 }, sampleRate: sampleRate)
    }

    /// The mono samples at their own rate, and a name for errors.
    func decoded(channel: ChannelSelection) throws -> (samples: [Float], sampleRate: Int, source: String) {
        switch self {
        case .file(let url):
            let audio = try AudioDecoder.load(contentsOf: url, channel: channel)
            return (audio.samples, audio.sampleRate, url.path)
        case .samples(let samples, let rate):
            return (samples, rate, "samples")
        case .pcm16(let data, let rate):
            let audio = try AudioDecoder.fromPCM16(data, sampleRate: rate)
            return (audio.samples, audio.sampleRate, "PCM data")
        case .wav(let data):
            let audio = try AudioDecoder.decode(fileData: data, channel: channel)
            return (audio.samples, audio.sampleRate, "audio data")
        }
    }
}
