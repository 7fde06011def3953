/// Scratch memory for forward passes: a stack of 64-byte-aligned blocks that grows to the
/// high-water mark of the first pass and is then reused, so steady-state passes allocate nothing.
///
/// Usage is strictly LIFO, like llama2.c's `RunState` but sized on demand:
/// ```
/// let mark = ws.mark
/// let tmp = ws.tensor([T, D])     // valid until ws.rewind(to: mark)
/// ...
/// ws.rewind(to: mark)
/// ```
/// A `Workspace` belongs to one thread (one recognizer call or one stream); it is not `Sendable`.
package final class Workspace {
    private var blocks: [TensorStorage] = []
    /// Index of the block being filled and the number of floats used in it.
    private var blockIndex = 0
    private var used = 0
    /// Smallest block allocated when the arena grows (in floats): 16 MiB.
    private let minimumBlock = 4 << 20

    package init() {}

    /// A position in the arena to rewind to.
    package struct Mark {
        fileprivate let block: Int
        fileprivate let used: Int
    }

    package var mark: Mark { Mark(block: blockIndex, used: used) }

    /// Frees (for reuse) everything allocated since `mark`.
    package func rewind(to mark: Mark) {
        blockIndex = mark.block
        used = mark.used
    }

    /// Frees everything.
    package func reset() {
        blockIndex = 0
        used = 0
    }

    /// Total floats held (all blocks), for tests and memory reports.
    package var capacity: Int { blocks.reduce(0) { $0 + $1.capacity } }

    /// Uninitialised scratch of the given shape.
    package func tensor(_ shape: Shape) -> Tensor {
        Tensor(data: allocate(shape.count), shape: shape, owner: nil)
    }

    /// Zero-filled scratch of the given shape.
    package func zeros(_ shape: Shape) -> Tensor {
        let t = tensor(shape)
        t.fill(0)
        return t
    }

    private func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = (max(count, 1) + 15) & ~15  // keep every tensor 64-byte aligned
        while blockIndex < blocks.count {
            if used + n <= blocks[blockIndex].capacity {
                defer { used += n }
                return blocks[blockIndex].pointer + used
            }
            // Skip to the next block; the tail of this one stays unused until a rewind.
            blockIndex += 1
            used = 0
        }
        blocks.append(TensorStorage(count: max(n, minimumBlock)))
        blockIndex = blocks.count - 1
        used = n
        return blocks[blockIndex].pointer
    }
}
