/// A contiguous, row-major Float32 tensor: a pointer, a shape, and whatever keeps the memory alive.
///
/// A `Tensor` is a *view*: copying it never copies the elements. Its memory belongs to one of
///  - an mmap'd weights file (`GGUFFile`), read-only by convention;
///  - a `TensorStorage` (owned heap memory, freed with the last reference);
///  - a `Workspace` arena (scratch for one forward pass; valid until the arena is rewound).
///
/// Shapes follow PyTorch: the last dimension is contiguous. Kernels treat a tensor as a matrix
/// of `rows × cols`, where `cols` is the last dimension and `rows` the product of the others.
package struct Tensor: @unchecked Sendable {
    /// First element.
    package let data: UnsafeMutablePointer<Float>
    /// Dimensions, outermost first (PyTorch order).
    package let shape: Shape
    /// Keeps the backing memory alive (storage, mapped file); `nil` for arena memory.
    package let owner: AnyObject?

    package init(data: UnsafeMutablePointer<Float>, shape: Shape, owner: AnyObject?) {
        self.data = data
        self.shape = shape
        self.owner = owner
    }

    /// A zero-filled tensor that owns its memory.
    package init(zeros shape: Shape) {
        let storage = TensorStorage(count: shape.count)
        self.init(data: storage.pointer, shape: shape, owner: storage)
    }

    /// A tensor that owns a copy of `values`.
    package init(_ values: [Float], shape: Shape) {
        precondition(values.count == shape.count, "\(values.count) values for shape \(shape)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    package var count: Int { shape.count }
    /// Size of the last dimension.
    package var cols: Int { shape.last }
    /// Product of all dimensions but the last.
    package var rows: Int { shape.count / max(shape.last, 1) }

    /// The elements as a Swift array (a copy).
    package var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    package var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    /// Pointer to the first element of row `r` of the matrix view.
    @inline(__always)
    package func row(_ r: Int) -> UnsafeMutablePointer<Float> { data + r * cols }

    /// The same elements under another shape with the same element count.
    package func reshaped(_ newShape: Shape) -> Tensor {
        precondition(newShape.count == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(data: data, shape: newShape, owner: owner)
    }

    /// Rows `range` of the outermost dimension, as a view (no copy).
    package func slice(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0], "slice out of range")
        let inner = count / max(shape[0], 1)
        return Tensor(
            data: data + range.lowerBound * inner, shape: shape.replacingFirst(range.count),
            owner: owner)
    }

    /// Element `i` of the flattened tensor.
    package subscript(i: Int) -> Float {
        get { data[i] }
        nonmutating set { data[i] = newValue }
    }

    /// Element (r, c) of the matrix view.
    package subscript(r: Int, c: Int) -> Float {
        get { data[r * cols + c] }
        nonmutating set { data[r * cols + c] = newValue }
    }

    /// Copies every element of `source` (same element count) into this tensor.
    package func copy(from source: Tensor) {
        precondition(source.count == count, "copy of \(source.shape) into \(shape)")
        data.update(from: source.data, count: count)
    }

    package func fill(_ value: Float) { data.update(repeating: value, count: count) }
}

/// Up to four dimensions, stored inline so that making a view never allocates.
package struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByArrayLiteral
{
    private var d0 = 1, d1 = 1, d2 = 1, d3 = 1
    /// Number of dimensions (0 for a scalar).
    public private(set) var rank: Int

    public init(_ dims: [Int]) {
        precondition(dims.count <= 4, "at most 4 dimensions")
        precondition(dims.allSatisfy { $0 >= 0 }, "negative dimension")
        rank = dims.count
        if rank > 0 { d0 = dims[0] }
        if rank > 1 { d1 = dims[1] }
        if rank > 2 { d2 = dims[2] }
        if rank > 3 { d3 = dims[3] }
    }

    public init(arrayLiteral elements: Int...) { self.init(elements) }

    public subscript(i: Int) -> Int {
        precondition(i >= 0 && i < rank, "dimension \(i) of rank-\(rank) shape")
        switch i {
        case 0: return d0
        case 1: return d1
        case 2: return d2
        default: return d3
        }
    }

    public var dims: [Int] { (0..<rank).map { self[$0] } }
    /// Product of the dimensions.
    public var count: Int { rank == 0 ? 1 : d0 * (rank > 1 ? d1 : 1) * (rank > 2 ? d2 : 1) * (rank > 3 ? d3 : 1) }
    public var last: Int { rank == 0 ? 1 : self[rank - 1] }

    func replacingFirst(_ n: Int) -> Shape {
        var s = self
        s.d0 = n
        return s
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}

/// Heap memory for a tensor that owns its elements (64-byte aligned, zero-filled).
package final class TensorStorage {
    package let pointer: UnsafeMutablePointer<Float>
    package let capacity: Int

    package init(count: Int) {
        capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
