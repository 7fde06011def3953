// libFuzzer target: the audio decoders (issue #16): libsndfile on file bytes (WAV, FLAC, OGG,
// anything it sniffs), raw PCM16, then resampling and the offline frontend on what decodes.
// Every input must end in features or a ParaformerError. Built only by Tools/fuzz.sh.
import Foundation
import FuzzSupport
import ParaformerCore

private let frontend = try! OfflineFrontend(  // fixed, valid arguments: cannot throw
    cmvnShift: [Float](repeating: 0, count: 7 * 80), cmvnScale: [Float](repeating: 1, count: 7 * 80))

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzAudio(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    // The first byte chooses the decoder: even = a sound file, odd = raw PCM16 with
    // (byte >> 1) % 8 + 1 channels at one of a few rates.
    let mode = data[0]
    let body = Data(bytes: data + 1, count: size - 1)
    do {
        let audio: AudioBuffer
        if mode & 1 == 0 {
            audio = try AudioDecoder.decode(fileData: body, name: "fuzz")
        } else {
            let rates = [8000, 16000, 22050, 44100, 48000, 1000, 384_000, 11025]
            audio = try AudioDecoder.fromPCM16(
                body, sampleRate: rates[Int(mode >> 4) % rates.count], channels: Int(mode >> 1) % 8 + 1)
        }
        guard audio.duration < 30 else { return 0 }  // the frontend's cost, not a bug
        _ = try frontend.features(audio: audio)
    } catch is ParaformerError {
    } catch {
        fatalError("not a ParaformerError: \(error)")
    }
    return 0
}

runLibFuzzer(fuzzAudio)
