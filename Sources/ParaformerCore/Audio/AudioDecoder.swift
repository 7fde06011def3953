import Foundation

#if canImport(CSndfile)
    import CSndfile
#endif

/// How multi-channel audio becomes mono.
public enum ChannelSelection: Sendable, Equatable {
    /// The mean of all channels (FunASR's `reduce_channels`, its default).
    case mix
    /// One channel, counted from 0.
    case channel(Int)
}

/// Mono audio: samples (nominally in [-1, 1]) and their rate.
public struct AudioBuffer: Sendable, Equatable {
    /// One value per sample; file decoders give [-1, 1] for integer formats.
    public let samples: [Float]
    /// Samples per second.
    public let sampleRate: Int

    /// Checks and wraps samples.
    /// - Parameter source: names the audio in errors (a path, "PCM data", ...).
    /// - Throws: `ParaformerError.emptyAudio` for no samples, `.unsupportedSampleRate` outside
    ///   `AudioDecoder.supportedSampleRates`, `.invalidAudio` for a NaN or infinite sample.
    public init(samples: [Float], sampleRate: Int, source: String = "samples") throws {
        guard AudioDecoder.supportedSampleRates.contains(sampleRate) else {
            throw ParaformerError.unsupportedSampleRate(sampleRate)
        }
        try AudioDecoder.validate(samples, source: source)
        self.samples = samples
        self.sampleRate = sampleRate
    }

    package init(unchecked samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Length in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// The audio at `rate`, resampled as FunASR does (`Resampler`); `self` if already there.
    public func resampled(to rate: Int) throws -> AudioBuffer {
        if rate == sampleRate { return self }
        let resampler = try Resampler(from: sampleRate, to: rate)
        return AudioBuffer(unchecked: resampler(samples), sampleRate: rate)
    }
}

/// Audio input in every form FunASR's pipeline accepts (`funasr/utils/load_utils.py`),
/// returned as mono float samples at the source's own rate. Resample with
/// `AudioBuffer.resampled(to:)`.
package enum AudioDecoder {
    /// Sample rates accepted anywhere in the engine, in Hz.
    package static let supportedSampleRates = 1000...384_000

    /// Decodes a sound file of any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, ...;
    /// 8/16/24/32-bit integer or float), as float samples like `soundfile.read(dtype=float32)`:
    /// integers are divided by their full scale (PCM16: x / 32768), floats are kept.
    /// - Throws: `ParaformerError.audioDecodingFailed` (file missing, not audio, truncated
    ///   header, unsupported rate), `.emptyAudio`, `.invalidAudio` (NaN/infinite samples),
    ///   `.invalidOption` for a channel the file lacks. Every error names the file.
    package static func load(contentsOf url: URL, channel: ChannelSelection = .mix) throws -> AudioBuffer {
        let path = url.path
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            var reason = sndfileMessage(sf_strerror(nil))
            if !FileManager.default.fileExists(atPath: path) { reason = "no such file" }
            throw ParaformerError.audioDecodingFailed(path: path, reason: reason)
        }
        defer { sf_close(file) }
        return try read(file, info: info, source: path, channel: channel)
    }

    /// Decodes the bytes of a sound file (any format `load(contentsOf:)` reads).
    /// - Parameter name: names the data in errors.
    package static func decode(fileData data: Data, name: String = "audio data",
                              channel: ChannelSelection = .mix) throws -> AudioBuffer {
        let reader = MemoryReader(data)
        var io = SF_VIRTUAL_IO(
            get_filelen: { MemoryReader.from($0).length },
            seek: { offset, whence, user in MemoryReader.from(user).seek(offset, whence) },
            read: { ptr, count, user in MemoryReader.from(user).read(ptr, count) },
            write: { _, _, _ in 0 },
            tell: { MemoryReader.from($0).position })
        var info = SF_INFO()
        let user = Unmanaged.passUnretained(reader).toOpaque()
        guard let file = sf_open_virtual(&io, Int32(SFM_READ), &info, user) else {
            throw ParaformerError.audioDecodingFailed(path: name, reason: sndfileMessage(sf_strerror(nil)))
        }
        defer {
            sf_close(file)
            withExtendedLifetime(reader) {}
        }
        return try read(file, info: info, source: name, channel: channel)
    }

    /// Raw 16-bit little-endian PCM (no header), interleaved if `channels > 1`; samples become
    /// x / 32768 like FunASR's `load_bytes`.
    /// - Throws: `.invalidAudio` for a byte count that is not a whole number of frames,
    ///   `.emptyAudio`, `.unsupportedSampleRate`, `.invalidOption` for a bad channel.
    package static func fromPCM16(_ data: Data, sampleRate: Int, channels: Int = 1,
                                 channel: ChannelSelection = .mix) throws -> AudioBuffer {
        let source = "PCM data"
        guard channels >= 1 else {
            throw ParaformerError.invalidOption(name: "channels", reason: "\(channels) is not positive")
        }
        guard data.count % (2 * channels) == 0 else {
            throw ParaformerError.invalidAudio(
                source: source,
                reason: "\(data.count) bytes is not a whole number of \(channels)-channel 16-bit frames")
        }
        var values = [Int16](repeating: 0, count: data.count / 2)
        _ = values.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        let floats = values.map { Float(Int16(littleEndian: $0)) / 32768 }
        return try AudioBuffer(
            samples: mixDown(floats, channels: channels, channel: channel, source: source),
            sampleRate: sampleRate, source: source)
    }

    /// Mono 16-bit samples; each becomes x / 32768.
    package static func fromInt16(_ samples: [Int16], sampleRate: Int) throws -> AudioBuffer {
        try AudioBuffer(samples: samples.map { Float($0) / 32768 }, sampleRate: sampleRate,
                        source: "Int16 samples")
    }

    // MARK: - Internals

    /// Throws `.emptyAudio` for no samples, `.invalidAudio` for the first non-finite one.
    package static func validate(_ samples: [Float], source: String) throws {
        guard !samples.isEmpty else { throw ParaformerError.emptyAudio(source: source) }
        if let i = samples.firstIndex(where: { !$0.isFinite }) {
            throw ParaformerError.invalidAudio(
                source: source, reason: "sample \(i) is \(samples[i]) (NaN or infinite)")
        }
    }

    private static func read(_ file: OpaquePointer, info: SF_INFO, source: String,
                             channel: ChannelSelection) throws -> AudioBuffer {
        let channels = Int(info.channels)
        guard channels >= 1 else {
            throw ParaformerError.audioDecodingFailed(path: source, reason: "it declares \(channels) channels")
        }
        guard supportedSampleRates.contains(Int(info.samplerate)) else {
            throw ParaformerError.audioDecodingFailed(
                path: source,
                reason: "its sample rate \(info.samplerate) Hz is outside \(supportedSampleRates.lowerBound)"
                    + "...\(supportedSampleRates.upperBound) Hz")
        }
        // Read in blocks until libsndfile stops: the header's frame count may be wrong.
        // (The hint is capped: some headers declare an unknown length as SF_COUNT_MAX.)
        var interleaved: [Float] = []
        interleaved.reserveCapacity(Int(clamping: min(max(info.frames, 0), 1 << 22)) * channels)
        let block = max(1, 65536 / channels)
        var buffer = [Float](repeating: 0, count: block * channels)
        while true {
            let n = buffer.withUnsafeMutableBufferPointer {
                Int(sf_readf_float(file, $0.baseAddress, sf_count_t(block)))
            }
            if n <= 0 { break }
            interleaved.append(contentsOf: buffer[0..<(n * channels)])
        }
        let status = sf_error(file)
        if status != 0 {
            throw ParaformerError.audioDecodingFailed(path: source, reason: sndfileMessage(sf_error_number(status)))
        }
        guard !interleaved.isEmpty else { throw ParaformerError.emptyAudio(source: source) }
        let mono = try mixDown(interleaved, channels: channels, channel: channel, source: source)
        return try AudioBuffer(samples: mono, sampleRate: Int(info.samplerate), source: source)
    }

    /// libsndfile's message without its final period (the error description adds one).
    private static func sndfileMessage(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "libsndfile failed" }
        var text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(".") { text.removeLast() }
        return text.isEmpty ? "libsndfile failed" : text
    }

    /// Mean over channels (FunASR: `data.mean(-1)`, float32) or one channel.
    package static func mixDown(_ x: [Float], channels: Int, channel: ChannelSelection, source: String) throws
        -> [Float]
    {
        switch channel {
        case .channel(let c):
            guard c >= 0 && c < channels else {
                throw ParaformerError.invalidOption(
                    name: "channel", reason: "\(source) has \(channels) channel(s), so channel \(c) does not exist")
            }
            if channels == 1 { return x }
            return stride(from: c, to: x.count, by: channels).map { x[$0] }
        case .mix:
            if channels == 1 { return x }
            let frames = x.count / channels
            let n = Float(channels)
            return [Float](unsafeUninitializedCapacity: frames) { out, count in
                for f in 0..<frames {
                    var sum: Float = 0
                    for c in 0..<channels { sum += x[f * channels + c] }
                    out[f] = sum / n
                }
                count = frames
            }
        }
    }
}

/// libsndfile virtual I/O over a `Data`.
private final class MemoryReader {
    package let bytes: [UInt8]
    package var position: sf_count_t = 0
    package var length: sf_count_t { sf_count_t(bytes.count) }

    package init(_ data: Data) { bytes = [UInt8](data) }

    package static func from(_ user: UnsafeMutableRawPointer?) -> MemoryReader {
        Unmanaged<MemoryReader>.fromOpaque(user!).takeUnretainedValue()
    }

    package func seek(_ offset: sf_count_t, _ whence: Int32) -> sf_count_t {
        let base: sf_count_t
        switch whence {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = position
        case SEEK_END: base = length
        default: return -1
        }
        let target = base + offset
        guard target >= 0 else { return -1 }
        position = target
        return position
    }

    package func read(_ ptr: UnsafeMutableRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let ptr, count > 0, position < length else { return 0 }
        let n = min(count, length - position)
        bytes.withUnsafeBytes {
            ptr.copyMemory(from: $0.baseAddress! + Int(position), byteCount: Int(n))
        }
        position += n
        return n
    }
}
