/// The keys and values an attention layer keeps from earlier windows of a stream: a ring of
/// rows [K | V] allocated once per stream (sized from the chunk settings) and reused, so a
/// chunk neither allocates nor shifts memory. Rows come out oldest first.
package final class KeyValueCache {
    /// Floats per row (2·D: keys in 0..<D, values in D..<2D).
    package let width: Int
    /// Rows held.
    package private(set) var count = 0
    /// [capacity, width]; row `(start + i) % capacity` is the i-th oldest.
    private var storage: Tensor
    private var start = 0
    private var capacity: Int { storage.rows }

    /// A cache for up to `capacity` rows (it grows only when a caller keeps more, e.g. an
    /// unlimited look-back).
    package init(capacity: Int, width: Int) {
        self.width = width
        storage = Tensor(zeros: [max(capacity, 1), width])
    }

    /// Forgets every row.
    package func removeAll() {
        count = 0
        start = 0
    }

    /// Copies the rows, oldest first, to `out` (count × width floats, contiguous rows).
    package func copy(into out: UnsafeMutablePointer<Float>) {
        let first = min(count, capacity - start)
        out.update(from: storage.row(start), count: first * width)
        if count > first { (out + first * width).update(from: storage.data, count: (count - first) * width) }
    }

    /// Appends `n` rows, then keeps only the newest `limit` of all rows held.
    package func append(_ rows: UnsafePointer<Float>, count n: Int, keeping limit: Int) {
        guard limit > 0 else { return removeAll() }
        var rows = rows
        var n = n
        if n >= limit {  // only the newest `limit` new rows survive
            rows += (n - limit) * width
            n = limit
            removeAll()
        }
        let drop = max(0, count + n - limit)
        start = (start + drop) % capacity
        count -= drop
        if count + n > capacity { grow(to: count + n) }
        var written = 0
        while written < n {
            let at = (start + count) % capacity
            let run = min(n - written, capacity - at)
            storage.row(at).update(from: rows + written * width, count: run * width)
            written += run
            count += run
        }
    }

    private func grow(to rows: Int) {
        let bigger = Tensor(zeros: [max(rows, 2 * capacity), width])
        copy(into: bigger.data)
        storage = bigger
        start = 0
    }
}
