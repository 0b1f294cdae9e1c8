import Foundation
import Testing
@testable import TinyGPT

// Chapter 16: safetensors byte for byte. Round trips are exact (==, no tolerance); a corrupt file
// gives an error that names it.

@Suite("16 Safetensors") struct SafetensorsTests {
    @Test("safetensors: encode → decode gives the same tensors; the header is 8-byte aligned and says F32")
    func safetensorsRoundTrip() throws {
        let tensors = ["b": Tensor(shape: [3], values: [1, -2, 0.5]),
                       "a": Tensor(shape: [2, 2], values: [.pi, -0.0, 1e-30, 3e38]),
                       "empty": Tensor(shape: [0, 4], values: [])]
        let data = Safetensors.encode(tensors)
        let bytes = [UInt8](data)
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        #expect(bytes[4..<8].allSatisfy { $0 == 0 })
        #expect((8 + headerLength) % 8 == 0)
        #expect(bytes.count == 8 + headerLength + 4 * 7)
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.contains("\"a\":{\"data_offsets\":[0,16],\"dtype\":\"F32\",\"shape\":[2,2]}"))
        let decoded = try Safetensors.decode(data, file: "x.safetensors")
        #expect(decoded == tensors)
        #expect(decoded["a"]!.values[1].sign == .minus, "bits, not just values: −0 stays −0")
    }

    @Test("byte layout: 8 bytes of length (UInt64, little-endian), the JSON header with __metadata__, then every tensor's Float32 bits, little-endian, in name order")
    func layout() throws {
        let data = Safetensors.encode(["w": Tensor(shape: [2], values: [1, -2]), "s": Tensor(shape: [], values: [0.5])])
        let bytes = [UInt8](data)
        let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        #expect(8 + Int(length) + 3 * 4 == bytes.count && (8 + Int(length)) % 8 == 0)
        let headerBytes = Data(bytes[8 ..< 8 + Int(length)])
        let header = try #require(try JSONSerialization.jsonObject(with: headerBytes) as? [String: Any])
        #expect(header["__metadata__"] as? [String: String] == ["format": "pt"])
        let s = try #require(header["s"] as? [String: Any]), w = try #require(header["w"] as? [String: Any])
        #expect(s["dtype"] as? String == "F32" && s["shape"] as? [Int] == [] && s["data_offsets"] as? [Int] == [0, 4])
        #expect(w["dtype"] as? String == "F32" && w["shape"] as? [Int] == [2] && w["data_offsets"] as? [Int] == [4, 12])
        #expect(String(decoding: headerBytes, as: UTF8.self).trimmingCharacters(in: .whitespaces).hasSuffix("}"), "padded with spaces")
        #expect(Array(bytes[(8 + Int(length))...]) == [0x00, 0x00, 0x00, 0x3F,       // s: 0.5 = 0x3F000000
                                                       0x00, 0x00, 0x80, 0x3F,       // w: 1 = 0x3F800000
                                                       0x00, 0x00, 0x00, 0xC0])      //    −2 = 0xC0000000
        #expect(try Safetensors.decode(data, file: "x.safetensors") == ["w": Tensor(shape: [2], values: [1, -2]),
                                                                         "s": Tensor(shape: [], values: [0.5])])
    }

    @Test("a corrupt file throws a TinyGPTError that names the file, one line; nothing traps",
          arguments: ["7 bytes", "a length in the high bytes", "a length past the end", "a header that is not JSON", "a header that is a list",
                      "no dtype", "dtype F16", "offsets past the data", "offsets backwards", "a shape that disagrees with the span",
                      "a negative size"])
    func corrupt(case name: String) {
        let good = [UInt8](Safetensors.encode(["w": Tensor(shape: [2, 2], values: [1, 2, 3, 4])]))
        let length = Int(good[0]) | Int(good[1]) << 8
        func changed(_ change: (String) -> String) -> Data {                 // the same data after another header
            let header = [UInt8](change(String(decoding: good[8 ..< 8 + length], as: UTF8.self)).utf8)
            return Data((0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + good[(8 + length)...])
        }
        func replacing(_ old: String, _ new: String) -> Data {
            changed { header in
                #expect(header.contains(old), "\(old) in \(header)")
                return header.replacingOccurrences(of: old, with: new)
            }
        }
        var bytes = good
        let bad: Data
        switch name {
        case "7 bytes": bad = Data(good.prefix(7))
        case "a length in the high bytes": bytes[5] = 1; bad = Data(bytes)             // 2⁴⁰ + length: all 8 bytes count
        case "a length past the end": bytes[0] = 0xFF; bytes[1] = 0xFF; bad = Data(bytes)
        case "a header that is not JSON": bad = changed { "{" + $0.dropFirst(2) }
        case "a header that is a list": bad = changed { _ in "[1, 2]" }
        case "no dtype": bad = replacing("\"dtype\":\"F32\",", "")
        case "dtype F16": bad = replacing("\"F32\"", "\"F16\"")
        case "offsets past the data": bad = replacing("[0,16]", "[0,20]")
        case "offsets backwards": bad = replacing("[0,16]", "[16,0]")
        case "a shape that disagrees with the span": bad = replacing("[2,2]", "[2,3]")
        default: bad = replacing("[2,2]", "[-2,-2]")
        }
        let error = #expect(throws: TinyGPTError.self) { _ = try Safetensors.decode(bad, file: "bad.safetensors") }
        #expect(error?.description.hasPrefix("bad.safetensors: ") == true, "\(name): \(error?.description ?? "no error")")
        #expect(error?.description.contains("\n") == false)
    }
}
