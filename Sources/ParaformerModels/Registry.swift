import ParaformerCore

/// What a model file is for. A recognizer turns audio into tokens; other kinds (a voice
/// activity detector, a punctuation model) are loaded the same way but serve other facades.
public enum ModelKind: String, Sendable, CaseIterable {
    /// Audio → tokens (Paraformer, paraformer-streaming, and later SeACo, UniASR, …).
    case speechRecognition = "speech-recognition"
    /// Audio → speech segments (FSMN-VAD).
    case voiceActivityDetection = "voice-activity-detection"
    /// Text → punctuated text (CT-Transformer).
    case punctuation
}

/// A model loaded from a GGUF file: read-only after loading, shared by every thread and stream.
/// Each family's loaded type conforms (`ParaformerModel`, …); a facade takes the concrete type
/// it serves with `as?`.
package protocol LoadedModel: AnyObject, Sendable {
    /// The file the weights are mapped from (kept alive by the model).
    var file: GGUFFile { get }
}

/// One model family: the `general.architecture` values it loads, what kind of model it is,
/// and its loader (binds every tensor by its FunASR name and checks that none is left over).
package struct ModelFamily: Sendable {
    /// A short name for messages and docs, e.g. "Paraformer".
    package let name: String
    /// The `general.architecture` values of its files, e.g. ["paraformer", "paraformer-streaming"].
    package let architectures: [String]
    package let kind: ModelKind
    package let load: @Sendable (GGUFFile) throws -> any LoadedModel

    package init(
        name: String, architectures: [String], kind: ModelKind,
        load: @escaping @Sendable (GGUFFile) throws -> any LoadedModel
    ) {
        self.name = name
        self.architectures = architectures
        self.kind = kind
        self.load = load
    }
}

/// From a file's `general.architecture` to the family that loads it.
///
/// To register a family, add its `ModelFamily` to `families` (one line); nothing else in the
/// engine dispatches on architecture names.
package enum ModelRegistry {
    /// Every family this build knows, in no particular order.
    package static let families: [ModelFamily] = [
        ParaformerModel.family,
        UniASRModel.family,
        SeacoParaformerModel.family,
        ContextualParaformerModel.family,
        MFCCAModel.family,
        CTTransformerModel.family,
        FSMNVADModel.family,
    ]

    /// The metadata key that names a file's architecture (GGUF's own convention).
    package static let architectureKey = "general.architecture"

    /// The file's `general.architecture`.
    /// - Throws: `.missingMetadata` / `.invalidMetadata` when absent or not a string.
    package static func architecture(of file: GGUFFile) throws -> String {
        guard let value = file.metadata[architectureKey] else {
            throw ParaformerError.missingMetadata(architectureKey)
        }
        guard let name = value.stringValue else {
            throw ParaformerError.invalidMetadata(key: architectureKey, reason: "not a string")
        }
        return name
    }

    /// The family registered for `architecture`, or nil.
    package static func family(for architecture: String) -> ModelFamily? {
        families.first { $0.architectures.contains(architecture) }
    }

    /// The family of `file`.
    /// - Throws: `.unsupportedArchitecture` when no family loads its architecture.
    package static func family(of file: GGUFFile) throws -> ModelFamily {
        let name = try architecture(of: file)
        guard let family = family(for: name) else { throw ParaformerError.unsupportedArchitecture(name) }
        return family
    }

    /// Loads `file` with its family's loader.
    package static func load(_ file: GGUFFile) throws -> (family: ModelFamily, model: any LoadedModel) {
        let family = try family(of: file)
        return (family, try family.load(file))
    }
}
