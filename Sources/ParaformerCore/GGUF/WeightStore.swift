/// How a file stores the Linear layers' weight matrices (metadata `<family>.linear_layout`).
/// `out_in`: PyTorch's [out, in] (a file without the key); `in_out`: transposed, [in, out],
/// which OpenBLAS multiplies faster when the weights stream from memory
/// (Tools/gguf_layout.py, Weights/FORMAT.md).
public enum LinearLayout: String, Sendable { case outIn = "out_in", inOut = "in_out" }

/// Binds weights by their FunASR state-dict names, checking shape and recording use, so that a
/// model built from a file is known to have consumed exactly the file's tensors.
package final class WeightStore {
    package let file: GGUFFile
    /// How Linear weight matrices are stored in `file`.
    package let linearLayout: LinearLayout
    private var used: Set<String> = []

    /// Tensors FunASR checkpoints carry that inference never reads.
    package static let knownUnused: [String] = ["decoder.embed.0.weight"]
    package static let knownUnusedPrefixes: [String] = ["ctc.", "criterion_att."]

    package init(_ file: GGUFFile, linearLayout: LinearLayout) {
        self.file = file
        self.linearLayout = linearLayout
    }

    /// The weight matrix of the Linear layer `name` (PyTorch shape [out, in]) as the file
    /// stores it: [out, in], or [in, out] with `transposed` for the `in_out` layout.
    package func linearWeight(_ name: String, out nOut: Int, in nIn: Int) throws -> (Tensor, transposed: Bool) {
        switch linearLayout {
        case .outIn: return (try tensor(name, [nOut, nIn]), false)
        case .inOut: return (try tensor(name, [nIn, nOut]), true)
        }
    }

    /// The tensor `name`, which must have exactly `shape` (PyTorch order).
    package func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let info = file.info(name) else { throw ParaformerError.missingTensor(name) }
        guard info.shape == shape else {
            throw ParaformerError.shapeMismatch(name: name, expected: shape, found: info.shape)
        }
        used.insert(name)
        return try file.tensor(name)
    }

    /// Throws `unusedTensors` if the file holds tensors the model did not bind (other than the
    /// known training-only ones).
    package func checkAllUsed() throws {
        let leftovers = file.tensorInfos.map(\.name).filter { name in
            !used.contains(name) && !WeightStore.knownUnused.contains(name)
                && !WeightStore.knownUnusedPrefixes.contains(where: { name.hasPrefix($0) })
        }
        if !leftovers.isEmpty { throw ParaformerError.unusedTensors(leftovers) }
    }
}
