/// `torch.sum` of a contiguous float32 vector, rounded exactly as PyTorch's CPU kernel rounds
/// it, so that code ported from FunASR can reproduce a result that depends on the last bit
/// of a sum (`TimestampPredictor`'s fallback renormalises by one).
///
/// PyTorch (2.x, `aten/src/ATen/native/cpu/SumKernel.cpp`, `cascade_sum`) does not add
/// left to right, nor in float64: it adds in float32, in vector lanes, through a cascade of
/// partial sums. For a contiguous vector of n ≥ 8 floats, with `Vectorized<float>` of 8
/// lanes (the AVX2 and the portable builds):
///
/// ```
/// vectors      v_j = x[8j ..< 8j+8],  j < m = n / 8            (8 lanes, added lane-wise)
/// 4 columns    column c holds v_{4i+c},  i < g = m / 4
/// cascade      per column: level 0 adds 16 rows (2^p rows, p = max(4, ⌈log2 g⌉ / 4));
///              then level 1 += level 0, level 0 = 0; level 2 += level 1 each 16 flushes…
///              rows left over after the last full block go into level 0;
///              column sum = ((L0 + L1) + L2) + L3
/// rows         s = col0;  s += v_j for the leftover vectors j ≥ 4g;  s += col1, col2, col3
/// result       r = 0;  r += x[k] for the leftover floats k ≥ 8m;  r += s[0], …, s[7]
/// ```
///
/// Below 8 floats the same cascade runs on single floats (one lane, no leftover pass).
/// Verified bit for bit against `torch.Tensor.sum()` (torch 2.11, AVX2 and
/// `ATEN_CPU_CAPABILITY=default`) by `Tools/gen_ts_fidelity_fixtures.py`.
///
/// Limits: an AVX-512 build of PyTorch uses 16 lanes and rounds differently; and PyTorch
/// splits a sum of more than 32 768 elements across its threads. The CIF weights of the
/// longest audio we decode in one piece (1200 s → 20 001 frames) stay below that.
enum TorchFloatSum {
    /// Float lanes of PyTorch's `Vectorized<float>` in the AVX2 / portable kernels.
    static let lanes = 8

    /// `torch.tensor(values, dtype=torch.float32).sum()`.
    static func sum(_ values: [Float]) -> Float {
        values.withUnsafeBufferPointer { x in
            let n = x.count
            guard n >= lanes else { return rowSum(x, count: n, width: 1)[0] }
            let vectors = n / lanes
            let laneSums = rowSum(x, count: vectors, width: lanes)
            var result: Float = 0
            for k in (vectors * lanes)..<n { result += x[k] }
            for lane in 0..<lanes { result += laneSums[lane] }
            return result
        }
    }

    /// `row_sum`: the sum of `count` items of `width` lanes each (item i at `x[i·width...]`),
    /// added as 4 interleaved columns through the cascade, then combined.
    private static func rowSum(_ x: UnsafeBufferPointer<Float>, count: Int, width: Int) -> [Float] {
        let columns = 4
        let groups = count / columns
        var partial = cascade(x, groups: groups, width: width)  // [4 columns][width]
        for item in (groups * columns)..<count {
            for l in 0..<width { partial[l] += x[item * width + l] }
        }
        for c in 1..<columns {
            for l in 0..<width { partial[l] += partial[c * width + l] }
        }
        return Array(partial[0..<width])
    }

    /// `multi_row_sum` with 4 columns: per column, a 4-level cascade of partial sums over
    /// `groups` rows (row i holds items 4i ..< 4i+4). Returns [4 columns][width].
    private static func cascade(_ x: UnsafeBufferPointer<Float>, groups size: Int, width: Int) -> [Float] {
        let levels = 4
        let columns = 4
        let levelPower = max(4, ceilLog2(size) / levels)
        let levelStep = 1 << levelPower
        let levelMask = levelStep - 1
        let stride = columns * width  // one level: [columns][width]
        var acc = [Float](repeating: 0, count: levels * stride)

        func addRow(_ i: Int) {
            for k in 0..<stride { acc[k] += x[i * stride + k] }
        }
        var i = 0
        while i + levelStep <= size {
            for _ in 0..<levelStep {
                addRow(i)
                i += 1
            }
            for j in 1..<levels {
                for k in 0..<stride {
                    acc[j * stride + k] += acc[(j - 1) * stride + k]
                    acc[(j - 1) * stride + k] = 0
                }
                if i & (levelMask << (j * levelPower)) != 0 { break }
            }
        }
        while i < size {
            addRow(i)
            i += 1
        }
        for j in 1..<levels {
            for k in 0..<stride { acc[k] += acc[j * stride + k] }
        }
        return Array(acc[0..<stride])
    }

    /// c10's `CeilLog2`: 1 for x ≤ 2, else ⌈log2 x⌉.
    private static func ceilLog2(_ x: Int) -> Int {
        x <= 2 ? 1 : (Int.bitWidth - (x - 1).leadingZeroBitCount)
    }
}
