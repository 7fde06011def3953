import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class AudioDecoderTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("audio-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    fileprivate func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = tmp.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A canonical 44-byte-header WAV.
    private func wav(rate: UInt32, channels: UInt16 = 1, bits: UInt16 = 16, format: UInt16 = 1,
                     data: [UInt8], declaredDataBytes: UInt32? = nil) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let dataBytes = declaredDataBytes ?? UInt32(data.count)
        let block = channels * bits / 8
        var b: [UInt8] = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVE".utf8)
        b += Array("fmt ".utf8) + le32(16) + le16(format) + le16(channels) + le32(rate)
        b += le32(rate &* UInt32(block)) + le16(block) + le16(bits)
        b += Array("data".utf8) + le32(dataBytes) + data
        return b
    }

    private func pcm16(_ values: [Int16]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    /// Asserts that `body` throws `expected`.
    private func assertThrows<T>(_ expected: ParaformerError, _ body: () throws -> T,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? ParaformerError, expected, file: file, line: line)
        }
    }

    /// Asserts that `body` throws audioDecodingFailed for `path`, whose message names it.
    private func assertDecodingFails<T>(_ path: String, _ body: () throws -> T,
                                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case .audioDecodingFailed(let p, let reason)? = error as? ParaformerError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertEqual(p, path, file: file, line: line)
            XCTAssertFalse(reason.isEmpty, file: file, line: line)
            XCTAssertTrue("\(error)".contains(path), file: file, line: line)
        }
    }

    // MARK: - Forms of input

    func testDecodesPCM16WaveAsIntegersOver32768() throws {
        let url = try write("a.wav", wav(rate: 16000, data: pcm16([0, 1, -1, 32767, -32768, 1000])))
        let audio = try AudioDecoder.load(contentsOf: url)
        XCTAssertEqual(audio.sampleRate, 16000)
        XCTAssertEqual(audio.samples, [0, 1, -1, 32767, -32768, 1000].map { Float($0) / 32768 })
    }

    func testFileBytesRawPCMAndInt16GiveTheSameSamplesAsTheFile() throws {
        let url = FrontendFixtures.url("speech16k.wav")
        let fromFile = try AudioDecoder.load(contentsOf: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(try AudioDecoder.decode(fileData: bytes), fromFile)
        // The fixture is a canonical WAV: 44 header bytes, then PCM16.
        let pcm = bytes.dropFirst(44)
        XCTAssertEqual(try AudioDecoder.fromPCM16(Data(pcm), sampleRate: 16000), fromFile)
        let ints = stride(from: 0, to: pcm.count, by: 2).map {
            Int16(bitPattern: UInt16(pcm[pcm.startIndex + $0]) | UInt16(pcm[pcm.startIndex + $0 + 1]) << 8)
        }
        XCTAssertEqual(try AudioDecoder.fromInt16(ints, sampleRate: 16000), fromFile)
    }

    func testFlacBytesDecodeLikeTheFile() throws {
        let url = FrontendFixtures.url("speech16k.flac")
        XCTAssertEqual(try AudioDecoder.decode(fileData: Data(contentsOf: url)),
                       try AudioDecoder.load(contentsOf: url))
    }

    func testStereoIsMixedOrOneChannelPicked() throws {
        let url = try write("s.wav", wav(rate: 8000, channels: 2, data: pcm16([100, 300, -200, 0, 7, 8])))
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url).samples, [200, -100, 7.5].map { $0 / 32768 })
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url, channel: .channel(1)).samples,
                       [300, 0, 8].map { $0 / 32768 })
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url, channel: .channel(2))) { error in
            guard case .invalidOption(let name, let reason)? = error as? ParaformerError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "channel")
            XCTAssertTrue(reason.contains(url.path))
        }
        let fixture = FrontendFixtures.url("stereo16k.wav")
        XCTAssertEqual(try AudioDecoder.load(contentsOf: fixture, channel: .channel(0)).samples,
                       try AudioDecoder.load(contentsOf: FrontendFixtures.url("speech16k.wav")).samples
                           .prefix(16000).map { $0 })
    }

    func testInterleavedPCMIsMixedDown() throws {
        let data = Data(pcm16([10, 20, 30, 40]))
        XCTAssertEqual(try AudioDecoder.fromPCM16(data, sampleRate: 16000, channels: 2).samples,
                       [15, 35].map { $0 / 32768 })
        XCTAssertEqual(try AudioDecoder.fromPCM16(data, sampleRate: 16000, channels: 2, channel: .channel(0))
                           .samples, [10, 30].map { $0 / 32768 })
    }

    // MARK: - Bad input

    func testMissingFileIsNamed() {
        let path = tmp.appendingPathComponent("nope.wav").path
        assertDecodingFails(path) { try AudioDecoder.load(contentsOf: URL(fileURLWithPath: path)) }
    }

    func testEmptyFileFails() throws {
        let url = try write("empty.wav", [])
        assertDecodingFails(url.path) { try AudioDecoder.load(contentsOf: url) }
    }

    func testHeaderOnlyIsEmptyAudio() throws {
        let url = try write("header.wav", wav(rate: 16000, data: []))
        assertThrows(.emptyAudio(source: url.path)) { try AudioDecoder.load(contentsOf: url) }
    }

    func testTruncatedHeaderFails() throws {
        let url = try write("cut.wav", Array(wav(rate: 16000, data: pcm16([1, 2, 3])).prefix(30)))
        assertDecodingFails(url.path) { try AudioDecoder.load(contentsOf: url) }
    }

    /// A data chunk cut short (a recording that was interrupted) decodes what is there, as
    /// FunASR (soundfile) does.
    func testTruncatedDataGivesTheSamplesPresent() throws {
        let url = try write(
            "short.wav", wav(rate: 16000, data: pcm16([5, 6, 7]) + [9], declaredDataBytes: 2000))
        XCTAssertEqual(try AudioDecoder.load(contentsOf: url).samples, [5, 6, 7].map { $0 / 32768 })
    }

    func testNotAudioFails() throws {
        let url = try write("text.wav", Array("this is not a sound file, just some text\n".utf8))
        assertDecodingFails(url.path) { try AudioDecoder.load(contentsOf: url) }
        assertDecodingFails("bytes") {
            try AudioDecoder.decode(fileData: Data("garbage".utf8), name: "bytes")
        }
    }

    func testAbsurdSampleRatesFailNamingTheFile() throws {
        for rate: UInt32 in [0, 1, 999, 384_001, 4_000_000_000] {
            let url = try write("rate\(rate).wav", wav(rate: rate, data: pcm16([1, 2, 3])))
            assertDecodingFails(url.path) { try AudioDecoder.load(contentsOf: url) }
        }
    }

    func testNaNInAFloatFileIsInvalidAudio() throws {
        let floats: [Float] = [0.5, .nan, 0.25]
        let bytes = floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let url = try write("nan.wav", wav(rate: 16000, bits: 32, format: 3, data: bytes))
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url)) { error in
            guard case .invalidAudio(let source, let reason)? = error as? ParaformerError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(source, url.path)
            XCTAssertTrue(reason.contains("sample 1"), reason)
        }
    }

    func testInMemoryInputIsChecked() {
        assertThrows(.unsupportedSampleRate(0)) { try AudioDecoder.fromInt16([1, 2], sampleRate: 0) }
        assertThrows(.unsupportedSampleRate(1_000_000)) {
            try AudioBuffer(samples: [0.1], sampleRate: 1_000_000)
        }
        assertThrows(.emptyAudio(source: "Int16 samples")) { try AudioDecoder.fromInt16([], sampleRate: 16000) }
        assertThrows(.emptyAudio(source: "PCM data")) { try AudioDecoder.fromPCM16(Data(), sampleRate: 16000) }
        XCTAssertThrowsError(try AudioBuffer(samples: [0, .infinity], sampleRate: 16000)) {
            guard case .invalidAudio? = $0 as? ParaformerError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try AudioDecoder.fromPCM16(Data([1, 2, 3]), sampleRate: 16000)) {
            guard case .invalidAudio? = $0 as? ParaformerError else { return XCTFail("\($0)") }
        }
    }
}

extension AudioDecoderTests {
    func testErrorMessagesAreOneSentenceNamingTheFile() throws {
        let url = try write("junk.flac", Array("not audio".utf8))
        XCTAssertThrowsError(try AudioDecoder.load(contentsOf: url)) { error in
            let text = "\(error)"
            print(text)
            XCTAssertTrue(text.hasPrefix("Cannot decode audio \(url.path): "), text)
            XCTAssertFalse(text.hasSuffix(".."), text)
        }
    }
}
