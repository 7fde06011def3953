import ParaformerCore
import ParaformerModels

/// Punctuation of text arriving piece by piece (VAD segments, partial ASR results) with a
/// `ct-transformer-streaming` model (FunASR's `punc_ct-transformer_zh-cn-common-vad_realtime`).
///
/// Each call punctuates the words carried over from the previous call (after the last sentence
/// end) together with the new text, prints only the new words, and withholds a final
/// punctuation mark until the next call (which then starts with it). Holds the carried-over
/// words; not `Sendable` (one per text stream).
///
/// FunASR: ct_transformer_streaming/model.py `CTTransformerStreaming.inference` with its
/// `cache["pre_text"]`. As FunASR: no capitalisation, no ASCII forms of `，。？`, and
/// `puncArray` holds only the last window's classes. Where FunASR raises on an empty result
/// (an empty first call), the result is empty text.
public final class PunctuationStream {
    let punctuator: Punctuator
    private var carried: [Scalars] = []
    private let ws = Workspace()

    init(_ punctuator: Punctuator) {
        self.punctuator = punctuator
    }

    /// FunASR's `cache["pre_text"]`: the words after the last sentence end, each as printed
    /// (a word may carry a leading space).
    public var carriedWords: [String] { carried.map(PythonText.string) }

    /// Forgets the carried-over words (a new text stream).
    public func reset() { carried = [] }

    /// Punctuates the next piece of text.
    public func accept(_ text: String) -> PunctuationResult {
        let p = punctuator
        let r = Parallel.withThreads(p.options.threads) {
            p.model.punctuateStreaming(text, carried: &carried, splitSize: p.options.splitSize, ws)
        }
        return PunctuationResult(text: r.text, puncArray: r.puncArray)
    }
}
