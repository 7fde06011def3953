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
    /// stores it: [out, in], or [in, out] with `transposed` for the `in_out` layout; or int8
    /// (a packed I8 tensor, with `name_scale` and `name_sum`; `Int8Matrix`).
    package func linearWeight(_ name: String, out nOut: Int, in nIn: Int) throws -> LinearMatrix {
        if let info = file.info(name), info.type == .i8 { return .int8(try int8Matrix(name, out: nOut, in: nIn)) }
        switch linearLayout {
        case .outIn: return .float(try tensor(name, [nOut, nIn]), transposed: false)
        case .inOut: return .float(try tensor(name, [nIn, nOut]), transposed: true)
        }
    }

    private func int8Matrix(_ name: String, out nOut: Int, in nIn: Int) throws -> Int8Matrix {
        func bytes(_ name: String, _ shape: [Int], _ type: GGUFFile.TensorType) throws -> UnsafeRawPointer {
            guard let info = file.info(name) else { throw ParaformerError.missingTensor(name) }
            guard info.shape == shape else {
                throw ParaformerError.shapeMismatch(name: name, expected: shape, found: info.shape)
            }
            guard info.type == type else {
                throw ParaformerError.unsupportedTensorType(name: name, type: info.type.rawValue)
            }
            used.insert(name)
            // Offsets are aligned (≥ 4) from a page-aligned mapping.
            return file.bytes(info).baseAddress!
        }
        let packed = try bytes(name, Int8Matrix.packedShape(out: nOut, in: nIn), .i8)
        let scales = try bytes(name + Int8Matrix.scaleSuffix, [nOut], .f32)
        let sums = try bytes(name + Int8Matrix.sumSuffix, [Int8Matrix.sumCount(out: nOut)], .i32)
        return Int8Matrix(
            packed: packed.assumingMemoryBound(to: Int8.self), columnSums: sums.assumingMemoryBound(to: Int32.self),
            scales: scales.assumingMemoryBound(to: Float.self), outFeatures: nOut, inFeatures: nIn, owner: file)
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

    /// The tensor `name` as the IEEE halves the file stores (a view of the mapping, alive as
    /// long as `file`), when it is F16 with exactly `shape`; nil (and nothing bound) when the
    /// file stores it otherwise or at an odd address. For kernels that widen halves on the fly
    /// (`pk_rows_linear`).
    package func halfTensor(_ name: String, _ shape: [Int]) throws -> UnsafePointer<UInt16>? {
        guard let info = file.info(name) else { throw ParaformerError.missingTensor(name) }
        // (A file with general.alignment 1 may place it at an odd address: not viewable.)
        guard info.type == .f16, let base = file.bytes(info).baseAddress, Int(bitPattern: base) % 2 == 0
        else { return nil }
        guard info.shape == shape else {
            throw ParaformerError.shapeMismatch(name: name, expected: shape, found: info.shape)
        }
        used.insert(name)
        return base.assumingMemoryBound(to: UInt16.self)
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
