import Foundation
import ParaformerCore

// async adapters for app code. The synchronous calls are the core; these run them on a
// global queue so that the caller's executor (the main actor, say) is never blocked.

extension Recognizer {
    /// `transcribe(_:)` off the caller's thread.
    /// - Throws: `CancellationError` when the task is already cancelled; otherwise as
    ///   `transcribe(_:)`.
    public func transcribe(_ input: AudioInput) async throws -> RecognitionResult {
        try Task.checkCancellation()
        return try await Self.offload { try self.transcribe(input) }
    }

    /// `transcribe(batch:)` off the caller's thread.
    public func transcribe(batch inputs: [AudioInput]) async throws -> [RecognitionResult] {
        try Task.checkCancellation()
        return try await Self.offload { try self.transcribe(batch: inputs) }
    }

    /// Live recognition of `audio`, blocks of mono samples at the model's rate (16 kHz): the
    /// partial result of every block that completed a chunk, then the final call's partial
    /// result (`finish()`); `textSoFar` of the last one is the whole utterance's text.
    ///
    /// ```swift
    /// for try await partial in recognizer.partialResults(of: microphoneBlocks) {
    ///     print(partial.text, terminator: "")
    /// }
    /// ```
    /// Cancelling the consuming task (or dropping the stream) stops reading `audio`.
    public func partialResults<Audio: AsyncSequence & Sendable>(
        of audio: Audio, options: StreamingOptions = StreamingOptions()
    ) -> AsyncThrowingStream<PartialResult, Error> where Audio.Element == [Float] {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let stream = try self.makeStream(options: options)
                    for try await block in audio {
                        try Task.checkCancellation()
                        let partial = try stream.accept(samples: block)
                        if partial.chunks > 0 { continuation.yield(partial) }
                    }
                    continuation.yield(try stream.finishPartial().partial)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Runs `work` on a global queue and resumes with its result.
    static func offload<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
