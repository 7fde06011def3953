import Paraformer
import ParaformerCore
/// The K-th of N contiguous slices of a list (`--shard K/N`), K counted from 1.
///
/// Slices are contiguous and in order, so shard outputs concatenated by K give the original
/// order; sizes differ by at most one (the first `count % N` slices hold one more), as Kaldi's
/// `split_scp.pl` splits. A shard may be empty when N exceeds the number of utterances.
package struct ShardSpec: Sendable, Equatable, CustomStringConvertible {
    /// 1...count.
    package let index: Int
    package let count: Int

    /// - Throws: `ParaformerError.invalidOption` unless 1 ≤ index ≤ count.
    package init(index: Int, count: Int) throws {
        guard count >= 1, index >= 1, index <= count else {
            throw ParaformerError.invalidOption(
                name: "shard", reason: "\(index)/\(count) is not K/N with 1 ≤ K ≤ N")
        }
        self.index = index
        self.count = count
    }

    /// Parses `"K/N"`, e.g. `"3/8"`.
    /// - Throws: `ParaformerError.invalidOption` naming the expected form.
    package init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw ParaformerError.invalidOption(
                name: "shard", reason: "\"\(text)\" is not of the form K/N (e.g. 1/4)")
        }
        try self.init(index: k, count: n)
    }

    /// The whole list as one shard.
    package static let all = try! ShardSpec(index: 1, count: 1)

    package var description: String { "\(index)/\(count)" }

    /// Index range of this shard in a list of `total` items.
    package func range(total: Int) -> Range<Int> {
        let base = total / count
        let extra = total % count
        let k = index - 1
        let start = k * base + min(k, extra)
        let size = base + (k < extra ? 1 : 0)
        return start..<(start + size)
    }

    /// This shard's slice of `items`.
    package func slice<T>(_ items: [T]) -> ArraySlice<T> { items[range(total: items.count)] }
}
