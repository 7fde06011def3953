import Foundation
import ParaformerCore

// The calls of the first API, kept as thin forwards so that existing code still builds.

extension Recognizer {
    @available(*, deprecated, renamed: "init(model:options:)")
    public convenience init(modelPath: String, options: RecognizerOptions = RecognizerOptions()) throws {
        try self.init(model: URL(fileURLWithPath: modelPath), options: options)
    }

    @available(*, deprecated, message: "use transcribe(.file(url))")
    public func transcribe(file url: URL) throws -> RecognitionResult { try transcribe(.file(url)) }

    @available(*, deprecated, message: "use transcribe(.samples(samples, sampleRate:))")
    public func transcribe(samples: [Float], sampleRate: Int) throws -> RecognitionResult {
        try transcribe(.samples(samples, sampleRate: sampleRate))
    }

    @available(*, deprecated, message: "use transcribe(.int16(samples, sampleRate:))")
    public func transcribe(samples: [Int16], sampleRate: Int) throws -> RecognitionResult {
        try transcribe(.int16(samples, sampleRate: sampleRate))
    }

    @available(*, deprecated, message: "use transcribe(batch: urls.map { .file($0) })")
    public func transcribe(files urls: [URL]) throws -> [RecognitionResult] {
        try transcribe(batch: urls.map { AudioInput.file($0) })
    }

    @available(*, deprecated, message: "use transcribeStreaming(.samples(samples, sampleRate:), options:)")
    public func transcribeStreaming(
        samples: [Float], sampleRate: Int, options: StreamingOptions = StreamingOptions()
    ) throws -> RecognitionResult {
        try transcribeStreaming(.samples(samples, sampleRate: sampleRate), options: options)
    }

    @available(*, deprecated, message: "use transcribeStreaming(.file(url), options:)")
    public func transcribeStreaming(file url: URL, options: StreamingOptions = StreamingOptions()) throws
        -> RecognitionResult
    {
        try transcribeStreaming(.file(url), options: options)
    }
}
