import CSndfile
import Foundation

/// Reads a sound file block by block (libsndfile), mono as `AudioDecoder.load` makes it, so that
/// hours of audio never sit in memory at once.
package final class AudioFileReader {
    /// The file's sample rate.
    package let sampleRate: Int
    /// Its channel count.
    package let channels: Int
    /// Frames the header declares (may be wrong or unknown for some formats; progress only).
    package let declaredFrames: Int
    package let path: String
    private let file: OpaquePointer
    private let channel: ChannelSelection
    private var buffer: [Float] = []
    private var closed = false

    /// Opens `url`.
    /// - Throws: `.audioDecodingFailed` (missing, not audio, unsupported rate), `.invalidOption`
    ///   for a channel the file lacks.
    package init(url: URL, channel: ChannelSelection = .mix) throws {
        path = url.path
        var info = SF_INFO()
        guard let f = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = FileManager.default.fileExists(atPath: path)
                ? String(cString: sf_strerror(nil)) : "no such file"
            throw ParaformerError.audioDecodingFailed(path: path, reason: reason)
        }
        file = f
        channels = Int(info.channels)
        sampleRate = Int(info.samplerate)
        declaredFrames = Int(clamping: max(info.frames, 0))
        self.channel = channel
        guard channels >= 1 else {
            sf_close(f)
            throw ParaformerError.audioDecodingFailed(path: path, reason: "it declares \(channels) channels")
        }
        guard AudioDecoder.supportedSampleRates.contains(sampleRate) else {
            sf_close(f)
            throw ParaformerError.audioDecodingFailed(path: path, reason: "its sample rate \(sampleRate) Hz is not supported")
        }
        if case .channel(let c) = channel, c < 0 || c >= channels {
            sf_close(f)
            throw ParaformerError.invalidOption(name: "channel", reason: "\(path) has \(channels) channel(s), so channel \(c) does not exist")
        }
    }

    deinit { if !closed { sf_close(file) } }

    /// Up to `frames` mono samples; an empty array at the end of the file.
    /// - Throws: `.audioDecodingFailed` for a read error, `.invalidAudio` for NaN/infinite samples.
    package func read(frames: Int) throws -> [Float] {
        guard !closed, frames > 0 else { return [] }
        if buffer.count < frames * channels { buffer = [Float](repeating: 0, count: frames * channels) }
        let n = buffer.withUnsafeMutableBufferPointer { Int(sf_readf_float(file, $0.baseAddress, sf_count_t(frames))) }
        let status = sf_error(file)
        if status != 0 {
            throw ParaformerError.audioDecodingFailed(path: path, reason: String(cString: sf_error_number(status)))
        }
        guard n > 0 else { return [] }
        let block = Array(buffer[0..<(n * channels)])
        let mono = try AudioDecoder.mixDown(block, channels: channels, channel: channel, source: path)
        if let i = mono.firstIndex(where: { !$0.isFinite }) {
            throw ParaformerError.invalidAudio(source: path, reason: "sample \(i) of a block is \(mono[i]) (NaN or infinite)")
        }
        return mono
    }
}
