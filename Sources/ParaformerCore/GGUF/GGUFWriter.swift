import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a GGUF version 3 file (the format `GGUFFile` reads): metadata, tensor infos, then
/// each tensor's bytes at an offset aligned to `alignment`.
///
/// Metadata values are written with the narrowest GGUF type that the reader maps back to the
/// same `GGUFFile.Value`: unsigned integers as u32 (u64 when larger), signed as i32 (i64),
/// floats as f32, arrays with one element type.
package struct GGUFWriter {
    /// Where a tensor's bytes come from.
    package enum Payload {
        /// Bytes of another file's mapping (kept alive by the caller).
        case view(UnsafeRawBufferPointer)
        case int8([Int8])
        case int32([Int32])
        case float([Float])

        package var byteCount: Int {
            switch self {
            case .view(let b): return b.count
            case .int8(let a): return a.count
            case .int32(let a): return a.count * 4
            case .float(let a): return a.count * 4
            }
        }
    }

    package struct Entry {
        package let name: String
        /// PyTorch order (outermost first).
        package let shape: [Int]
        package let type: GGUFFile.TensorType
        package let payload: Payload
    }

    package var metadata: [(key: String, value: GGUFFile.Value)] = []
    package var tensors: [Entry] = []
    package let alignment = 32

    package init() {}

    package mutating func add(_ name: String, shape: [Int], type: GGUFFile.TensorType, _ payload: Payload) {
        precondition(shape.reduce(1, *) * type.size == payload.byteCount, "GGUFWriter: \(name) size")
        tensors.append(Entry(name: name, shape: shape, type: type, payload: payload))
    }

    /// Writes the file (replacing `path`); throws `cannotOpenFile` on I/O errors.
    package func write(to path: String) throws {
        var header = [UInt8]()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        func string(_ s: String) {
            u64(UInt64(s.utf8.count))
            header += Array(s.utf8)
        }
        func typeCode(_ v: GGUFFile.Value) -> UInt32 {
            switch v {
            case .uint(let x): return x <= UInt64(UInt32.max) ? 4 : 10
            case .int(let x): return Int64(Int32.min)...Int64(Int32.max) ~= x ? 5 : 11
            case .float: return 6
            case .bool: return 7
            case .string: return 8
            case .array: return 9
            }
        }
        func payload(_ v: GGUFFile.Value, as code: UInt32) {
            switch (v, code) {
            case (.uint(let x), 4): u32(UInt32(x))
            case (.uint(let x), _): u64(x)
            case (.int(let x), 5): u32(UInt32(bitPattern: Int32(x)))
            case (.int(let x), _): u64(UInt64(bitPattern: x))
            case (.float(let x), _): u32(Float(x).bitPattern)
            case (.bool(let b), _): header.append(b ? 1 : 0)
            case (.string(let s), _): string(s)
            case (.array(let items), _):
                // One element type for all: the widest any element needs.
                let codes = items.map(typeCode)
                let element = codes.max() ?? 4
                u32(element)
                u64(UInt64(items.count))
                for item in items { payload(item, as: element) }
            }
        }

        header += Array("GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            let code = typeCode(value)
            u32(code)
            payload(value, as: code)
        }
        var offsets: [Int] = []
        var offset = 0
        for t in tensors {
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offsets.append(offset)
            offset = (offset + t.payload.byteCount + alignment - 1) / alignment * alignment
        }
        header += [UInt8](repeating: 0, count: (alignment - header.count % alignment) % alignment)

        guard let f = fopen(path, "wb") else {
            throw ParaformerError.cannotOpenFile(path: path, reason: String(cString: strerror(errno)))
        }
        var ok = fwrite(header, 1, header.count, f) == header.count
        var written = 0
        let zeros = [UInt8](repeating: 0, count: alignment)
        for (t, start) in zip(tensors, offsets) where ok {
            if start > written { ok = fwrite(zeros, 1, start - written, f) == start - written }
            let n = t.payload.byteCount
            switch t.payload {
            case .view(let b): ok = ok && fwrite(b.baseAddress, 1, n, f) == n
            case .int8(let a): ok = ok && a.withUnsafeBytes { fwrite($0.baseAddress, 1, n, f) } == n
            case .int32(let a): ok = ok && a.withUnsafeBytes { fwrite($0.baseAddress, 1, n, f) } == n
            case .float(let a): ok = ok && a.withUnsafeBytes { fwrite($0.baseAddress, 1, n, f) } == n
            }
            written = start + n
        }
        if ok && offset > written { ok = fwrite(zeros, 1, offset - written, f) == offset - written }
        let closed = fclose(f) == 0
        guard ok && closed else {
            throw ParaformerError.cannotOpenFile(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
        }
    }
}
