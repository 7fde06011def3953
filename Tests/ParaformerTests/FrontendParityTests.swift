import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// The committed frontend fixtures (`Tools/gen_frontend_fixtures.py`): audio files and
/// FunASR 1.4.16's outputs for them in `expected.gguf`.
enum FrontendFixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/frontend/\(name)", withExtension: nil)!
    }

    static let expected: GGUFFile = try! GGUFFile(path: url("expected.gguf").path)

    static func tensor(_ name: String) throws -> Tensor { try expected.tensor(name) }

    static func has(_ name: String) -> Bool { expected.info(name) != nil }

    /// Case name → its audio file.
    static let files: [String: String] = [
        "speech16k": "speech16k.wav", "noise16k": "noise16k.wav", "silence16k": "silence16k.wav",
        "clip300ms": "clip300ms.wav", "clip20ms": "clip20ms.wav", "speech8000": "speech8000.wav",
        "speech22050": "speech22050.wav", "speech44100": "speech44100.wav",
        "speech48000": "speech48000.wav", "stereo16k": "stereo16k.wav",
        "speech24bit": "speech24bit.wav", "speechfloat": "speechfloat.wav",
        "speech8bit": "speech8bit.wav", "speech16k_flac": "speech16k.flac",
        "speech16k_ogg": "speech16k.ogg",
    ]

    static func frontend() throws -> OfflineFrontend {
        try OfflineFrontend(cmvnShift: tensor("cmvn.shift").array, cmvnScale: tensor("cmvn.scale").array)
    }

    /// The 16 kHz waveform of a case, the way the engine makes it.
    static func waveform(_ name: String) throws -> [Float] {
        try AudioDecoder.load(contentsOf: url(files[name]!)).resampled(to: 16000).samples
    }
}

/// Max |a − b| after checking the shapes are equal.
func maxAbsDiff(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.shape, b.shape, "shapes differ", file: file, line: line)
    guard a.shape == b.shape else { return .infinity }
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// Parity with FunASR's WavFrontend / WavFrontendOnline (dither 0).
final class FrontendParityTests: XCTestCase {
    let fbankTolerance: Float = 1e-3
    let featureTolerance: Float = 1e-3
    let audioTolerance: Float = 1e-4

    func testEveryFixtureCaseIsChecked() throws {
        guard case .array(let cases) = FrontendFixtures.expected.metadata["frontend.cases"] else {
            return XCTFail("expected.gguf has no frontend.cases")
        }
        XCTAssertEqual(Set(cases.compactMap(\.stringValue)), Set(FrontendFixtures.files.keys))
    }

    /// FunASR: load_audio_text_image_video (soundfile + channel mean + torchaudio Resample).
    func testDecodedAndResampledAudioMatchesFunASR() throws {
        for name in FrontendFixtures.files.keys.sorted() where FrontendFixtures.has("\(name).audio") {
            let got = try FrontendFixtures.waveform(name)
            let want = try FrontendFixtures.tensor("\(name).audio")
            let d = maxAbsDiff(Tensor(got, shape: [got.count]), want)
            print("resampled \(name): max |Δ| = \(d)")
            XCTAssertLessThanOrEqual(d, audioTolerance, name)
        }
    }

    /// FunASR: WavFrontend.forward with lfr 1/1 and no CMVN, i.e. kaldi.fbank.
    func testFbankMatchesFunASR() throws {
        let frontend = try FrontendFixtures.frontend()
        for name in FrontendFixtures.files.keys.sorted() {
            let got = frontend.fbankFeatures(samples: try FrontendFixtures.waveform(name))
            let d = maxAbsDiff(got, try FrontendFixtures.tensor("\(name).fbank"))
            print("fbank \(name): \(got.shape) max |Δ| = \(d)")
            XCTAssertLessThanOrEqual(d, fbankTolerance, name)
        }
    }

    /// FunASR: WavFrontend.forward with lfr 7/6 and the fixture's am.mvn.
    func testFeaturesMatchFunASR() throws {
        let frontend = try FrontendFixtures.frontend()
        for name in FrontendFixtures.files.keys.sorted() {
            let got = try frontend.features(samples: try FrontendFixtures.waveform(name))
            let d = maxAbsDiff(got, try FrontendFixtures.tensor("\(name).feats"))
            print("features \(name): \(got.shape) max |Δ| = \(d)")
            XCTAssertLessThanOrEqual(d, featureTolerance, name)
        }
    }

    /// FunASR: WavFrontendOnline.forward over 600 / 480 / 100 ms and random chunks; the
    /// frames each call returns, and their values.
    func testOnlineFeaturesMatchFunASR() throws {
        let frontend = try FrontendFixtures.frontend()
        let online = OnlineFrontend(frontend: frontend)
        var checked = 0
        for name in ["speech16k", "noise16k", "clip300ms"] {
            let wave = try FrontendFixtures.waveform(name)
            for config in ["600ms", "480ms", "100ms", "random", "random_empty_final"] {
                let prefix = "\(name).online.\(config)"
                let sizes = try FrontendFixtures.tensor("\(prefix).sizes").array.map { Int($0) }
                let counts = try FrontendFixtures.tensor("\(prefix).counts").array.map { Int($0) }
                // FunASR's online output for the other cases equals their offline features
                // within 1e-5 (asserted by the generator), so those are the reference.
                let want = FrontendFixtures.has("\(prefix).feats")
                    ? try FrontendFixtures.tensor("\(prefix).feats") : try FrontendFixtures.tensor("\(name).feats")
                online.reset()
                var got: [Float] = []
                var gotCounts: [Int] = []
                var pos = 0
                for (i, n) in sizes.enumerated() {
                    let out = try online.accept(
                        samples: Array(wave[pos..<(pos + n)]), isFinal: i == sizes.count - 1)
                    pos += n
                    XCTAssertEqual(out.cols, 560)
                    gotCounts.append(out.rows)
                    got += out.array
                }
                XCTAssertEqual(pos, wave.count)
                XCTAssertEqual(gotCounts, counts, prefix)
                let d = maxAbsDiff(Tensor(got, shape: [got.count / 560, 560]), want)
                print("online \(prefix): \(sizes.count) calls, max |Δ| = \(d)")
                XCTAssertLessThanOrEqual(d, featureTolerance, prefix)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 15)
    }
}
