import ParaformerCore

/// `paraformer-quantize`: turns a converted fp32 (or f16) model file into an int8 one.
///
/// What becomes int8 (per output channel, packed for the kernels; `Int8Matrix`): the weight of
/// every Linear layer of the encoder and the decoder — self-attention Q/K/V and output
/// projections, cross-attention Q, K/V and output projections, feed-forward W1 and W2 — which
/// are over 95 % of the parameters and of the multiply-adds.
///
/// What stays as it was (fp32), because it is small and the result is sensitive to it:
/// - `decoder.output_layer` (the logits: an int8 error here moves the argmax directly; 2 % of
///   the weights of paraformer-large);
/// - the CIF predictor (`predictor.*`: its Conv1d and the 1-unit output that sets where tokens
///   fire, which an error would shift);
/// - every LayerNorm, every bias, the FSMN memory convolutions (depthwise, 11 taps: no matrix
///   product to speed up);
/// - `decoder.embed` and the CTC head are not used at inference and are left out of the file.
package enum Quantizer {
    /// What `quantize` did.
    package struct Report: Sendable {
        /// Linear weights made int8.
        package var quantized: [String] = []
        /// Tensors copied unchanged.
        package var kept: [String] = []
        /// Training-only tensors left out.
        package var dropped: [String] = []
        package var inputBytes = 0
        package var outputBytes = 0
    }

    /// Metadata key naming the scheme in a quantised file.
    package static let schemeKey = "paraformer.quantization"
    /// Its value: int8 weights per output channel, packed in 16 × 4 panels; 8-bit activations.
    package static let scheme = "int8-u8s8-p16k4"

    static let architectures = ["paraformer", "paraformer-streaming"]

    /// True for the Linear weights this tool quantises.
    static func isQuantizable(_ info: GGUFFile.TensorInfo) -> Bool {
        let n = info.name
        return info.shape.count == 2 && n.hasSuffix(".weight")
            && (n.hasPrefix("encoder.") || n.hasPrefix("decoder."))
            && !n.hasPrefix("decoder.embed.") && !n.hasPrefix("decoder.output_layer.")
    }

    /// Reads `input`, writes the int8 model to `output`.
    package static func quantize(input: String, output: String) throws -> Report {
        let file = try GGUFFile(path: input)
        let arch = file.metadata["general.architecture"]?.stringValue ?? ""
        guard architectures.contains(arch) else { throw ParaformerError.unsupportedArchitecture(arch) }
        guard file.metadata[schemeKey] == nil, !file.tensorInfos.contains(where: { $0.type == .i8 }) else {
            throw ParaformerError.invalidModelFile(path: input, reason: "it is already quantised")
        }
        let layout = try Hyperparameters(file).linearLayout
        var report = Report()
        var writer = GGUFWriter()
        writer.metadata = file.metadata.sorted { a, b in
            // general.* first, as writers usually do; then by name.
            (a.key.hasPrefix("general.") ? 0 : 1, a.key) < (b.key.hasPrefix("general.") ? 0 : 1, b.key)
        }.map { (key: $0.key, value: $0.value) }
        writer.metadata.append((key: schemeKey, value: .string(scheme)))
        for info in file.tensorInfos {
            report.inputBytes += info.byteCount
            if WeightStore.knownUnused.contains(info.name)
                || WeightStore.knownUnusedPrefixes.contains(where: { info.name.hasPrefix($0) })
            {
                report.dropped.append(info.name)
                continue
            }
            if isQuantizable(info) {
                let w = try file.tensor(info.name)
                let transposed = layout == .inOut
                let (nOut, nIn) = transposed ? (info.shape[1], info.shape[0]) : (info.shape[0], info.shape[1])
                let parts = Int8Matrix.quantize(w.data, out: nOut, in: nIn, transposed: transposed)
                writer.add(info.name, shape: Int8Matrix.packedShape(out: nOut, in: nIn), type: .i8, .int8(parts.packed))
                writer.add(info.name + Int8Matrix.scaleSuffix, shape: [nOut], type: .f32, .float(parts.scales))
                writer.add(
                    info.name + Int8Matrix.sumSuffix, shape: [parts.columnSums.count], type: .i32,
                    .int32(parts.columnSums))
                report.quantized.append(info.name)
            } else {
                writer.add(info.name, shape: info.shape, type: info.type, .view(file.bytes(info)))
                report.kept.append(info.name)
            }
        }
        report.outputBytes = writer.tensors.reduce(0) { $0 + $1.payload.byteCount }
        try withExtendedLifetime(file) { try writer.write(to: output) }
        return report
    }
}
