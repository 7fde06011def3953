import Foundation
import XCTest

@testable import ParaformerCore
@testable import ParaformerModels

/// The beam search on hand-checkable scorers: ESPnet's pruning, end detection, maxlen, and
/// hypothesis states shared until a hypothesis branches.
final class BeamSearchTests: XCTestCase {
    /// Log-probabilities from a table indexed by the last token (a bigram model); the state
    /// counts the tokens scored through it and records how often storage had to be copied.
    final class Copies { var count = 0 }
    struct Bigram: BeamSearchScorer {
        struct State {
            final class Box {
                var steps: Int
                init(_ s: Int) { steps = s }
            }
            var box = Box(0)
        }
        let table: [[Float]]  // [last token][next token], log-probabilities
        let copies: Copies
        var vocabularySize: Int { table[0].count }
        func initialState() -> State { State() }
        func score(prefixes: [[Int]], states: inout [State], step: Int, into scores: Tensor, _ ws: Workspace)
        {
            for (h, p) in prefixes.enumerated() {
                if !isKnownUniquelyReferenced(&states[h].box) {
                    copies.count += 1
                    states[h].box = State.Box(states[h].box.steps)
                }
                states[h].box.steps += 1
                XCTAssertEqual(states[h].box.steps, p.count, "a state has seen its own prefix only")
                for v in 0..<vocabularySize { scores[h, v] = table[p.last!][v] }
            }
        }
    }

    func logs(_ p: [Double]) -> [Float] { p.map { Float(Foundation.log($0)) } }

    func testFindsTheBestSequenceAndStopsAtEos() {
        // tokens: 0 blank, 1 sos, 2 eos, 3 a, 4 b
        let table = [
            logs([0.01, 0.01, 0.01, 0.01, 0.96]),
            logs([0.02, 0.02, 0.02, 0.54, 0.40]),  // after sos: a (greedy) or b
            logs([0.2, 0.2, 0.2, 0.2, 0.2]),
            logs([0.05, 0.05, 0.30, 0.30, 0.30]),  // after a: flat
            logs([0.01, 0.01, 0.96, 0.01, 0.01]),  // after b: eos almost surely
        ]
        let copies = Copies()
        let search = BeamSearch(scorer: Bigram(table: table, copies: copies), beamSize: 3, sos: 1, eos: 2)
        let hyps = search(maxLength: 10, Workspace())
        let best = hyps[0]
        XCTAssertEqual(best.tokens, [1, 4, 2])  // b then eos beats the greedy a
        XCTAssertEqual(best.score, table[1][4] + table[4][2], accuracy: 1e-6)
        XCTAssertTrue(zip(hyps, hyps.dropFirst()).allSatisfy { $0.score >= $1.score })
        XCTAssertGreaterThan(copies.count, 0, "siblings copy their parent's state when scored")
    }

    func testAppendsEosAtMaxLength() {
        let table = [[Float]](repeating: logs([0.1, 0.1, 0.001, 0.6, 0.199]), count: 5)
        let search = BeamSearch(scorer: Bigram(table: table, copies: Copies()), beamSize: 2, sos: 1, eos: 2)
        let hyps = search(maxLength: 3, Workspace())
        XCTAssertEqual(hyps[0].tokens, [1, 3, 3, 3, 2], "eos appended without a score at the last step")
        XCTAssertEqual(hyps[0].score, 3 * table[0][3], accuracy: 1e-5)
        XCTAssertTrue(BeamSearch<Bigram>.endDetected([], step: 5) == false)
    }

    func testTopKOrdersByScoreThenLowerIndex() {
        let v: [Float] = [0.5, 2, -1, 2, 7, 0.5]
        var out: [Int] = []
        v.withUnsafeBufferPointer {
            BeamSearch<Bigram>.topK($0.baseAddress!, count: v.count, k: 4, into: &out)
        }
        XCTAssertEqual(out, [4, 1, 3, 0])
        v.withUnsafeBufferPointer {
            BeamSearch<Bigram>.topK($0.baseAddress!, count: v.count, k: 10, into: &out)
        }
        XCTAssertEqual(out, [4, 1, 3, 0, 5, 2])
    }

    func testEndDetectionNeedsThreeLengthsFarBelowTheBest() {
        func h(_ n: Int, _ s: Float) -> BeamHypothesis {
            BeamHypothesis(tokens: Array(repeating: 3, count: n), score: s)
        }
        let ended = [h(3, -1), h(8, -20), h(7, -15), h(6, -11.5)]
        XCTAssertTrue(BeamSearch<Bigram>.endDetected(ended, step: 8))  // lengths 8, 7, 6
        XCTAssertFalse(BeamSearch<Bigram>.endDetected(ended, step: 9))  // no hypothesis of length 9
        XCTAssertFalse(BeamSearch<Bigram>.endDetected(ended + [h(6, -5)], step: 8))  // length 6 within 10
    }

    func testStableSortKeepsInsertionOrderOnTies() {
        let items: [(Int, Float)] = [(0, 1), (1, 2), (2, 1), (3, 2)]
        XCTAssertEqual(BeamSearch<Bigram>.stableSortedDescending(items).map(\.0), [1, 3, 0, 2])
    }

    func testDecoderStateIsCopiedOnlyWhenShared() {
        var a = SCAMADecoderState(count: 8)
        a.makeUnique()
        let p0 = a.storage.pointer
        XCTAssertEqual(a.storage.pointer, p0, "a unique state is updated in place")
        var b = a  // a branch: two hypotheses share one parent's caches
        b.makeUnique()
        XCTAssertNotEqual(b.storage.pointer, p0)
        a.makeUnique()
        XCTAssertEqual(a.storage.pointer, p0, "the last sharer keeps the storage")
    }

    func testOverlapChunkGeometry() {
        // REFERENCE-2 §D.3, chunk setting 0 of the released encoder: C 20, S 10, P 5, F 5.
        let g = OverlapChunks(frames: 28, chunk: 20, stride: 10, padLeft: 5, shift: 5)
        XCTAssertEqual(g.count, 3)
        XCTAssertEqual(g.chunkedLength, 68)  // FunASR's encoder_out rows for T = 28
        XCTAssertEqual((0..<3).map(g.rows(ofChunk:)), [20, 20, 13])
        XCTAssertEqual(g.sourceFrame(chunk: 0, row: 4), nil)  // left padding
        XCTAssertEqual(g.sourceFrame(chunk: 1, row: 0), 5)
        XCTAssertEqual(g.compactRow(ofFrame: 27), 2 * 20 + 5 + 7)
        XCTAssertEqual(g.chunkedPosition(chunk: 2, row: 0), 55)
        // Frame 55 is seen by chunks 5 and 6 at setting 0 (outputs 50–69), chunk 1 at setting 1.
        let g0 = OverlapChunks(frames: 100, chunk: 20, stride: 10, padLeft: 5, shift: 5)
        XCTAssertEqual(
            (0..<g0.count).filter { k in (0..<20).contains { g0.sourceFrame(chunk: k, row: $0) == 55 } },
            [5, 6])
        let g1 = OverlapChunks(frames: 100, chunk: 60, stride: 40, padLeft: 10, shift: 5)
        XCTAssertEqual(
            (0..<g1.count).filter { k in (0..<60).contains { g1.sourceFrame(chunk: k, row: $0) == 55 } }, [1])
    }
}
