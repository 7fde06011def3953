import XCTest

@testable import ParaformerCore

/// The streaming caches' ring buffer behaves like "append, then keep the newest `limit` rows"
/// on a plain array, for every mix of sizes (wrap-around, more rows than the limit, growth).
final class KeyValueCacheTests: XCTestCase {
    func testRingEqualsAppendThenKeepNewest() {
        var seed: UInt64 = 11
        func random(_ n: UInt64) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % n)
        }
        for (capacity, width) in [(0, 1), (4, 3), (7, 2), (16, 5)] {
            let cache = KeyValueCache(capacity: capacity, width: width)
            var reference: [Float] = []
            var next: Float = 0
            for step in 0..<200 {
                let n = random(9)
                let limit = step % 37 == 0 ? Int.max : 1 + random(12)
                let rows = (0..<(n * width)).map { _ -> Float in next += 1; return next }
                rows.withUnsafeBufferPointer { cache.append($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: n, keeping: limit) }
                reference += rows
                let excess = reference.count / width - limit
                if excess > 0 { reference.removeFirst(excess * width) }
                XCTAssertEqual(cache.count, reference.count / width, "step \(step)")
                var out = [Float](repeating: -1, count: cache.count * width)
                out.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { cache.copy(into: p) } }
                XCTAssertEqual(out, reference, "capacity \(capacity), step \(step)")
            }
            cache.removeAll()
            XCTAssertEqual(cache.count, 0)
        }
    }
}
