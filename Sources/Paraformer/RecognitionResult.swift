import ParaformerCore
import ParaformerModels
/// One recognised token with its time span.
public struct Token: Sendable, Codable, Equatable {
    /// Vocabulary id.
    public var id: Int
    /// The token as it appears in the vocabulary (`tokens.json`), e.g. `"你"`, `"hel@@"`.
    public var text: String
    /// Start and end in milliseconds, as FunASR's `ts_prediction_lfr6_standard` gives them.
    public var startMs: Int
    public var endMs: Int

    public init(id: Int, text: String, startMs: Int, endMs: Int) {
        self.id = id
        self.text = text
        self.startMs = startMs
        self.endMs = endMs
    }
}

/// The transcript of one utterance, in FunASR's terms.
public struct RecognitionResult: Sendable, Codable, Equatable {
    /// FunASR's `text` as `generate()` returns it without timestamps: Chinese characters joined,
    /// English words separated by spaces, `@@` pieces merged, single letters joined into
    /// upper-case abbreviations.
    public var text: String
    /// FunASR's `text` as `generate(output_timestamp=True)` returns it: the same words joined
    /// with single spaces (one entry per timestamp).
    public var timestampText: String
    /// The words of `timestampText`, one per entry of `timestamps`.
    public var words: [String]
    /// Per-word `[start_ms, end_ms]`, FunASR's `timestamp` field.
    public var timestamps: [[Int]]
    /// Decoded tokens (blank, `<s>` and `</s>` removed) with their own times.
    public var tokens: [Token]
    /// Audio duration in seconds (after resampling to the model rate).
    public var duration: Double
    public var timings: StageTimings

    public init(
        text: String, timestampText: String, words: [String], timestamps: [[Int]], tokens: [Token],
        duration: Double, timings: StageTimings
    ) {
        self.text = text
        self.timestampText = timestampText
        self.words = words
        self.timestamps = timestamps
        self.tokens = tokens
        self.duration = duration
        self.timings = timings
    }

    /// Ids of `tokens`.
    public var tokenIds: [Int] { tokens.map(\.id) }

    /// An empty transcript (no speech, or audio shorter than one frame).
    public static func empty(duration: Double) -> RecognitionResult {
        RecognitionResult(
            text: "", timestampText: "", words: [], timestamps: [], tokens: [], duration: duration,
            timings: StageTimings())
    }
}
