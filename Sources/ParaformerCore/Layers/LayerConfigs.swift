/// The shape of a SAN-M encoder stack (FunASR `encoder_conf` of `SANMEncoder` /
/// `SANMEncoderChunkOpt`). A family reads it from its own metadata keys.
package struct EncoderConfig: Sendable, Equatable {
    /// Input features per frame (`input_size`: n_mels · lfr_m for an acoustic model).
    package var inputSize: Int
    /// `output_size`, the model dimension D.
    package var dim: Int
    /// `attention_heads`.
    package var heads: Int
    /// `linear_units` of the feed-forward block.
    package var linearUnits: Int
    /// `num_blocks` (the first is `encoders0`, the rest `encoders.*`).
    package var blocks: Int
    /// `kernel_size` of the FSMN memory block.
    package var kernelSize: Int
    /// `sanm_shfit` of the FSMN memory block.
    package var sanmShift: Int

    package init(
        inputSize: Int, dim: Int, heads: Int, linearUnits: Int, blocks: Int, kernelSize: Int,
        sanmShift: Int
    ) {
        self.inputSize = inputSize
        self.dim = dim
        self.heads = heads
        self.linearUnits = linearUnits
        self.blocks = blocks
        self.kernelSize = kernelSize
        self.sanmShift = sanmShift
    }
}

/// The shape of a SAN-M decoder stack (FunASR `decoder_conf` of `ParaformerSANMDecoder`).
package struct DecoderConfig: Sendable, Equatable {
    /// The model dimension D (the encoder's `output_size`).
    package var dim: Int
    /// `attention_heads` of the source attention.
    package var heads: Int
    /// `linear_units` of the feed-forward block.
    package var linearUnits: Int
    /// `num_blocks`.
    package var blocks: Int
    /// `att_layer_num`: blocks with source attention (`decoders.*`); the remaining
    /// `num_blocks − att_layer_num` are FSMN-only (`decoders2.*`).
    package var attLayers: Int
    /// `kernel_size` of the FSMN memory block.
    package var kernelSize: Int
    /// `sanm_shfit` (0 offline, 5 for paraformer-online).
    package var sanmShift: Int
    /// Output vocabulary size V.
    package var vocabSize: Int

    package init(
        dim: Int, heads: Int, linearUnits: Int, blocks: Int, attLayers: Int, kernelSize: Int,
        sanmShift: Int, vocabSize: Int
    ) {
        self.dim = dim
        self.heads = heads
        self.linearUnits = linearUnits
        self.blocks = blocks
        self.attLayers = attLayers
        self.kernelSize = kernelSize
        self.sanmShift = sanmShift
        self.vocabSize = vocabSize
    }
}
