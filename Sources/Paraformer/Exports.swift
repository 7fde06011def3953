// The public types users need that live in the lower layers: errors, timings, audio buffers,
// channel selection, timestamps, the vocabulary.
@_exported import struct ParaformerCore.AudioBuffer
@_exported import enum ParaformerCore.ChannelSelection
@_exported import enum ParaformerCore.LinearLayout
@_exported import enum ParaformerCore.ParaformerError
@_exported import struct ParaformerCore.StageTimings
@_exported import struct ParaformerCore.TimestampSpan
@_exported import enum ParaformerCore.TimestampPredictor
@_exported import struct ParaformerCore.TokenTable
@_exported import struct ParaformerModels.FSMNVADConfiguration
@_exported import struct ParaformerModels.SpeechSegment
@_exported import struct ParaformerModels.VADEvent
@_exported import struct ParaformerModels.VADOptions
@_exported import enum ParaformerModels.UniASRDecodingMode
@_exported import struct ParaformerCore.MultiChannelAudio
@_exported import struct ParaformerModels.MFCCAConfig
@_exported import struct ParaformerModels.MFCCASearchOptions
