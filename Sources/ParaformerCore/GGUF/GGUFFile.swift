import CParaformerKernels
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A GGUF (version 3) file mapped into memory read-only. Tensors are views into the mapping,
/// never copies (F16 tensors are widened to F32 once, on request).
///
/// Every structural fact is validated against the file size before it is used: magic, version,
/// counts, string and array lengths, value types, tensor dimensions, dtypes, alignment and data
/// ranges. A truncated or foreign file yields `ParaformerError.invalidModelFile`, never a crash.
package final class GGUFFile: @unchecked Sendable {
    /// A metadata value.
    package enum Value: Equatable, Sendable {
        case uint(UInt64)
        case int(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case array([Value])
    }

    /// ggml tensor types this reader accepts.
    package enum TensorType: UInt32, Sendable {
        case f32 = 0
        case f16 = 1
        /// Quantised Linear weights, packed (`Int8Matrix`).
        case i8 = 24
        /// Their column sums.
        case i32 = 26

        /// Bytes per element.
        package var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16: return 2
            case .i8: return 1
            }
        }
    }

    /// Where one tensor lives in the file.
    package struct TensorInfo: Sendable {
        package let name: String
        /// PyTorch order (outermost first); GGUF stores the reverse.
        package let shape: [Int]
        package let type: TensorType
        /// Byte offset from the start of the file.
        package let fileOffset: Int
        package var elementCount: Int { shape.reduce(1, *) }
        package var byteCount: Int { elementCount * type.size }
    }

    package let path: String
    package let version: UInt32
    package let metadata: [String: Value]
    /// Tensor infos in file order.
    package let tensorInfos: [TensorInfo]
    package let alignment: Int
    private let index: [String: Int]
    private let base: UnsafeMutableRawPointer
    private let size: Int

    package static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian

    /// Maps and validates `path`.
    package convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw ParaformerError.cannotOpenFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ParaformerError.cannotOpenFile(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ParaformerError.cannotOpenFile(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        guard size >= 24 else {
            throw ParaformerError.invalidModelFile(
                path: path, reason: "file is \(size) bytes, shorter than a GGUF header")
        }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw ParaformerError.cannotOpenFile(
                path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        do {
            try self.init(path: path, base: map, size: size)
        } catch {
            munmap(map, size)
            throw error
        }
    }

    private init(path: String, base: UnsafeMutableRawPointer, size: Int) throws {
        self.path = path
        self.base = base
        self.size = size
        var r = Reader(base: UnsafeRawPointer(base), size: size, path: path)
        guard try r.u32() == GGUFFile.magic else {
            throw ParaformerError.invalidModelFile(path: path, reason: "bad magic (not a GGUF file)")
        }
        version = try r.u32()
        guard version == 3 else { throw ParaformerError.unsupportedGGUFVersion(version) }
        let tensorCount = try r.count(minBytesEach: 24, what: "tensor count")
        let kvCount = try r.count(minBytesEach: 12, what: "metadata count")

        var metadata: [String: Value] = [:]
        for _ in 0..<kvCount {
            let key = try r.string()
            let type = try r.u32()
            guard metadata[key] == nil else { throw r.error("duplicate metadata key \(key)") }
            metadata[key] = try r.value(type: type, depth: 0)
        }
        self.metadata = metadata

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case .uint(let v) = a, v > 0, v <= 1 << 16, v & (v - 1) == 0 else {
                throw r.error("general.alignment must be a power of two")
            }
            alignment = Int(v)
        }
        self.alignment = alignment

        var raw: [(String, [Int], TensorType, UInt64)] = []
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try r.string()
            let nDims = try r.u32()
            guard nDims >= 1 && nDims <= 4 else {
                throw r.error("tensor \(name) has \(nDims) dimensions")
            }
            var ne: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64()
                guard d >= 1 && d <= 1 << 32 else { throw r.error("tensor \(name) has dimension \(d)") }
                ne.append(Int(d))
            }
            let rawType = try r.u32()
            guard let type = TensorType(rawValue: rawType) else {
                throw ParaformerError.unsupportedTensorType(name: name, type: rawType)
            }
            let offset = try r.u64()
            guard index[name] == nil else { throw r.error("duplicate tensor name \(name)") }
            index[name] = raw.count
            raw.append((name, ne.reversed(), type, offset))
        }
        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        guard dataStart <= size else { throw r.error("tensor data section starts past end of file") }

        var infos: [TensorInfo] = []
        for (name, shape, type, offset) in raw {
            guard offset % UInt64(alignment) == 0 else {
                throw r.error("tensor \(name) data offset \(offset) is not aligned to \(alignment)")
            }
            // Each dimension is in 1...2^32 (checked above), but four of them can overflow:
            // multiply with overflow checks rather than trap or wrap.
            var bytes = UInt64(type.size)
            for d in shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: UInt64(d))
                guard !overflow else { throw r.error("tensor \(name) of shape \(shape) is larger than any file") }
                bytes = product
            }
            guard offset <= UInt64(size - dataStart), bytes <= UInt64(size - dataStart) - offset else {
                throw r.error("tensor \(name) data (\(bytes) bytes at \(offset)) runs past end of file")
            }
            infos.append(
                TensorInfo(name: name, shape: shape, type: type, fileOffset: dataStart + Int(offset)))
        }
        self.tensorInfos = infos
        self.index = index
    }

    deinit { munmap(base, size) }

    /// Maps every page of the file now (reading it from disk if it is not cached), so that the
    /// first forward pass does not pay ~220 000 page faults (paraformer-large: about 80 ms with
    /// the file cached, the whole disk read without). `MADV_POPULATE_READ` (Linux ≥ 5.14), else
    /// one read per page.
    package func preload() {
        #if os(Linux)
            if madvise(base, size, 22 /* MADV_POPULATE_READ */) == 0 { return }
        #endif
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = UnsafeRawPointer(base)
        var sum: UInt8 = 0
        for offset in stride(from: 0, to: size, by: max(page, 4096)) {
            sum &+= bytes.load(fromByteOffset: offset, as: UInt8.self)
        }
        withExtendedLifetime(sum) {}
    }

    // MARK: - Access

    package func info(_ name: String) -> TensorInfo? { index[name].map { tensorInfos[$0] } }

    /// The tensor `name` as F32. F32 data is a zero-copy view of the mapping (do not write to it);
    /// F16 data is widened into owned memory.
    package func tensor(_ name: String) throws -> Tensor {
        guard let info = info(name) else { throw ParaformerError.missingTensor(name) }
        let p = base + info.fileOffset
        switch info.type {
        case .f32:
            // Offsets are aligned to `alignment` (≥ 4 in practice) from a page-aligned mapping.
            return Tensor(
                data: p.assumingMemoryBound(to: Float.self), shape: Shape(info.shape), owner: self)
        case .f16:
            let out = Tensor(zeros: Shape(info.shape))
            let src = p.assumingMemoryBound(to: UInt16.self)
            pk_f16_to_f32(PK_VARIANT_AUTO, src, out.data, info.elementCount)
            return out
        case .i8, .i32:
            throw ParaformerError.unsupportedTensorType(name: name, type: info.type.rawValue)
        }
    }

    /// The bytes of tensor `info` as stored (any type), a view of the mapping.
    package func bytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + info.fileOffset, count: info.byteCount)
    }

    // MARK: - Parsing

    private struct Reader {
        package let base: UnsafeRawPointer
        package let size: Int
        package let path: String
        package var offset = 0

        package func error(_ reason: String) -> ParaformerError {
            .invalidModelFile(path: path, reason: reason)
        }

        package mutating func bytes(_ n: Int) throws -> UnsafeRawPointer {
            guard n >= 0, n <= size - offset else {
                throw error("truncated header (needs \(n) bytes at offset \(offset), file is \(size))")
            }
            defer { offset += n }
            return base + offset
        }

        package mutating func u8() throws -> UInt8 { try bytes(1).load(as: UInt8.self) }
        package mutating func u16() throws -> UInt16 { UInt16(littleEndian: try bytes(2).loadUnaligned(as: UInt16.self)) }
        package mutating func u32() throws -> UInt32 { UInt32(littleEndian: try bytes(4).loadUnaligned(as: UInt32.self)) }
        package mutating func u64() throws -> UInt64 { UInt64(littleEndian: try bytes(8).loadUnaligned(as: UInt64.self)) }

        /// A count whose elements each need at least `minBytesEach` bytes of what is left.
        package mutating func count(minBytesEach: Int, what: String) throws -> Int {
            let n = try u64()
            guard n <= UInt64((size - offset) / max(minBytesEach, 1)) else {
                throw error("\(what) \(n) is larger than the file can hold (truncated or corrupt file)")
            }
            return Int(n)
        }

        package mutating func string() throws -> String {
            let n = try count(minBytesEach: 1, what: "string length")
            let p = try bytes(n)
            guard let s = String(validating: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
            else { throw error("string at offset \(offset - n) is not UTF-8") }
            return s
        }

        package mutating func value(type: UInt32, depth: Int) throws -> Value {
            switch type {
            case 0: return .uint(UInt64(try u8()))
            case 1: return .int(Int64(Int8(bitPattern: try u8())))
            case 2: return .uint(UInt64(try u16()))
            case 3: return .int(Int64(Int16(bitPattern: try u16())))
            case 4: return .uint(UInt64(try u32()))
            case 5: return .int(Int64(Int32(bitPattern: try u32())))
            case 6: return .float(Double(Float(bitPattern: try u32())))
            case 7:
                let b = try u8()
                guard b <= 1 else { throw error("bool value \(b)") }
                return .bool(b == 1)
            case 8: return .string(try string())
            case 9:
                guard depth < 2 else { throw error("arrays nested too deeply") }
                let elementType = try u32()
                let n = try count(minBytesEach: 1, what: "array length")
                var items: [Value] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(type: elementType, depth: depth + 1)) }
                return .array(items)
            case 10: return .uint(try u64())
            case 11: return .int(Int64(bitPattern: try u64()))
            case 12: return .float(Double(bitPattern: try u64()))
            default: throw error("unknown metadata value type \(type)")
            }
        }
    }
}

extension GGUFFile.Value {
    package var intValue: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(v)
        default: return nil
        }
    }
    package var doubleValue: Double? {
        switch self {
        case .float(let v): return v
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    package var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    package var arrayValue: [GGUFFile.Value]? {
        if case .array(let a) = self { return a }
        return nil
    }
}
