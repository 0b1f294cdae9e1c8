import Foundation

// MARK: - Chapter 16: Safetensors (docs/16-safetensors.md)
//
// How a model's numbers are kept in a file that any language can read, the format Hugging Face
// uses for GPT-2 and every model since. Byte by byte:
//   [8 bytes: N, little-endian UInt64] [N bytes: JSON header] [data: raw little-endian Float32]
//   header: {"name": {"dtype": "F32", "shape": [r, c], "data_offsets": [begin, end]}, "__metadata__": {…}}
//   offsets count from the first byte after the header. Nothing in the file is code: reading it runs nothing.
// Beside it, small JSON files hold everything that is not a tensor (config.json, chapter 17).

// MARK: safetensors

/// One tensor of a safetensors file: its shape and its numbers, row-major.
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

public enum Safetensors {
    /// name → tensor, as the bytes of a safetensors file (tensors in name order, Float32).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = ["format": "pt"]) -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + 4 * tensor.values.count]]
            offset += 4 * tensor.values.count
        }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }                  // pad with spaces: data starts 8-aligned
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + json.count + offset)
        append(UInt64(json.count), to: &bytes)                           // N, little-endian
        bytes += json
        for name in tensors.keys.sorted() {
            for value in tensors[name]!.values { append(value.bitPattern, to: &bytes) }
        }
        return Data(bytes)
    }

    /// The bytes of a safetensors file → name → tensor. Throws, naming `file`, on anything malformed.
    public static func decode(_ data: Data, file: String) throws -> [String: Tensor] {
        try decode([UInt8](data), file: file)
    }

    /// The same from the file's bytes as they were read (no second copy of a 500 MB file).
    public static func decode(_ bytes: [UInt8], file: String) throws -> [String: Tensor] {
        func fail(_ message: String) -> TinyGPTError { TinyGPTError(file: file, message: message) }
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes is too short for a safetensors file (its first 8 bytes give the header's length)") }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("the header length \(headerLength) runs past the end of the file (\(bytes.count) bytes): the file is truncated or not safetensors")
        }
        let dataStart = 8 + Int(headerLength), dataBytes = bytes.count - dataStart
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) as? [String: Any] else {
            throw fail("the header is not a JSON object: the file is corrupted or not safetensors")
        }
        var tensors: [String: Tensor] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let entry = entry as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor '\(name)' needs a dtype, a shape and two data_offsets in the header")
            }
            guard dtype == "F32" else {
                throw fail("tensor '\(name)' has dtype \(dtype); TinyGPT reads F32 only (in PyTorch: model.float() before saving)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard 0 <= begin, begin <= end, end <= dataBytes else {
                throw fail("tensor '\(name)' has data_offsets [\(begin), \(end)] outside the \(dataBytes) bytes of data")
            }
            var count = 1                                                   // numbers in the tensor: the product of its shape
            for size in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: size)
                guard size >= 0, !overflow else { throw fail("tensor '\(name)' has an impossible shape \(shape)") }
                count = product
            }
            guard count == (end - begin) / 4, (end - begin) % 4 == 0 else {
                throw fail("tensor '\(name)' of shape \(shape) holds \(count) numbers but its data_offsets span \(end - begin) bytes")
            }
            var values = [Float](repeating: 0, count: (end - begin) / 4)
            for i in values.indices {
                let at = dataStart + begin + 4 * i
                let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                values[i] = Float(bitPattern: bits)
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return tensors
    }

    /// Appends `value`'s bytes, least significant first.
    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for i in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
}
