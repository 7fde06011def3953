import Foundation

/// Every error the engine reports. Each case carries what a user needs to fix the input;
/// `description` is one sentence.
public enum ParaformerError: Error, Equatable, CustomStringConvertible, Sendable {
    // MARK: Model file
    case cannotOpenFile(path: String, reason: String)
    case invalidModelFile(path: String, reason: String)
    case unsupportedGGUFVersion(UInt32)
    case missingMetadata(String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    case unusedTensors([String])
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case unsupportedTensorType(name: String, type: UInt32)
    case unsupportedArchitecture(String)

    // MARK: Audio
    case audioDecodingFailed(path: String, reason: String)
    case emptyAudio(source: String)
    case unsupportedSampleRate(Int)
    case invalidAudio(source: String, reason: String)

    // MARK: Use
    case invalidOption(name: String, reason: String)
    case invalidChunkSize([Int])
    case streamFinished
    /// A hotword value that cannot be used (a missing or non-UTF-8 `.txt` file, a URL), or
    /// hotwords given to a model without hotword support.
    case invalidHotwords(source: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpenFile(let path, let reason):
            return "Cannot open \(path): \(reason)."
        case .invalidModelFile(let path, let reason):
            return "\(path) is not a valid Paraformer GGUF model: \(reason)."
        case .unsupportedGGUFVersion(let v):
            return "GGUF version \(v) is not supported (only version 3 is)."
        case .missingMetadata(let key):
            return "The model file has no metadata key \(key)."
        case .invalidMetadata(let key, let reason):
            return "Metadata key \(key) is invalid: \(reason)."
        case .missingTensor(let name):
            return "The model file has no tensor \(name)."
        case .unusedTensors(let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "The model file has \(names.count) tensor(s) this architecture does not use: "
                + shown + (names.count > 5 ? ", ..." : "") + "."
        case .shapeMismatch(let name, let expected, let found):
            return "Tensor \(name) has shape \(found), expected \(expected)."
        case .unsupportedTensorType(let name, let type):
            return "Tensor \(name) has GGUF type \(type), which this engine does not support."
        case .unsupportedArchitecture(let arch):
            return "Architecture \(arch) is not supported by this build (no model family registered for it)."
        case .audioDecodingFailed(let path, let reason):
            return "Cannot decode audio \(path): \(reason)."
        case .emptyAudio(let source):
            return "\(source) contains no audio samples."
        case .unsupportedSampleRate(let rate):
            return "Sample rate \(rate) Hz is not supported (it must be between 1000 and 384000 Hz)."
        case .invalidAudio(let source, let reason):
            return "Audio \(source) is invalid: \(reason)."
        case .invalidOption(let name, let reason):
            return "Option \(name) is invalid: \(reason)."
        case .invalidChunkSize(let sizes):
            return "Chunk size \(sizes) is invalid: expected three non-negative numbers "
                + "[left, chunk, right] of LFR frames with chunk between 1 and 1000."
        case .streamFinished:
            return "The stream was already finished; call reset() before feeding more audio."
        case .invalidHotwords(let source, let reason):
            return "Hotwords \(source) cannot be used: \(reason)."
        }
    }
}

extension ParaformerError: LocalizedError {
    /// The one-sentence `description`, for `localizedDescription` and UI code.
    public var errorDescription: String? { description }
}
