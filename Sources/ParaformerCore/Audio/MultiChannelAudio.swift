import Foundation

#if canImport(CSndfile)
    import CSndfile
#endif

/// Audio kept as separate channels (multi-microphone input), samples nominally in [−1, 1].
public struct MultiChannelAudio: Sendable, Equatable {
    /// [channels][samples], every channel the same length.
    public let channels: [[Float]]
    public let sampleRate: Int

    /// Checks and wraps `[channels][samples]`.
    /// - Throws: `.emptyAudio`, `.invalidAudio` (channels of different lengths, NaN or
    ///   infinite samples), `.unsupportedSampleRate`.
    public init(channels: [[Float]], sampleRate: Int, source: String = "samples") throws {
        guard AudioDecoder.supportedSampleRates.contains(sampleRate) else {
            throw ParaformerError.unsupportedSampleRate(sampleRate)
        }
        guard let first = channels.first else { throw ParaformerError.emptyAudio(source: source) }
        for (c, ch) in channels.enumerated() {
            guard ch.count == first.count else {
                throw ParaformerError.invalidAudio(
                    source: source, reason: "channel \(c) has \(ch.count) samples, channel 0 has \(first.count)")
            }
            try AudioDecoder.validate(ch, source: source)
        }
        self.channels = channels
        self.sampleRate = sampleRate
    }

    /// Splits interleaved samples (frame-major, as WAV stores them) into `channelCount` channels.
    public init(interleaved: [Float], channelCount: Int, sampleRate: Int, source: String = "samples") throws {
        guard channelCount >= 1 else {
            throw ParaformerError.invalidAudio(source: source, reason: "\(channelCount) channels")
        }
        guard interleaved.count % channelCount == 0 else {
            throw ParaformerError.invalidAudio(
                source: source, reason: "\(interleaved.count) samples do not divide into \(channelCount) channels")
        }
        let frames = interleaved.count / channelCount
        let split = (0..<channelCount).map { c in (0..<frames).map { interleaved[$0 * channelCount + c] } }
        try self.init(channels: split, sampleRate: sampleRate, source: source)
    }

    /// Decodes a sound file (any format libsndfile reads) keeping its channels, as
    /// `soundfile.read(dtype="float32", always_2d=True)` does (PCM16: x / 32768).
    public static func load(contentsOf url: URL) throws -> MultiChannelAudio {
        let path = url.path
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "libsndfile cannot read it" : "no such file"
            throw ParaformerError.audioDecodingFailed(path: path, reason: reason)
        }
        defer { sf_close(file) }
        let channels = Int(info.channels)
        guard channels >= 1 && channels <= 1024 else {
            throw ParaformerError.audioDecodingFailed(path: path, reason: "it declares \(channels) channels")
        }
        guard AudioDecoder.supportedSampleRates.contains(Int(info.samplerate)) else {
            throw ParaformerError.audioDecodingFailed(path: path, reason: "its sample rate \(info.samplerate) Hz is unsupported")
        }
        var interleaved: [Float] = []
        let block = max(1, 65536 / channels)
        var buffer = [Float](repeating: 0, count: block * channels)
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { Int(sf_readf_float(file, $0.baseAddress, sf_count_t(block))) }
            if n <= 0 { break }
            interleaved.append(contentsOf: buffer[0..<(n * channels)])
        }
        if sf_error(file) != 0 {
            throw ParaformerError.audioDecodingFailed(path: path, reason: "libsndfile stopped with an error")
        }
        guard !interleaved.isEmpty else { throw ParaformerError.emptyAudio(source: path) }
        return try MultiChannelAudio(
            interleaved: interleaved, channelCount: channels, sampleRate: Int(info.samplerate), source: path)
    }
}
