import Foundation

// MARK: - Appendix A2: Speed beyond the product (docs/A2-beyond-the-product.md)
//
// Appendix A1 made the matrix product fast; then the rest of a step was half of the demo's time.
// Three more places where plain loops were slow for a reason the hardware explains. Each is a
// primitive a chapter calls by a name that says what it computes, never a copy of a layer:
//   1. exp over a range, eight numbers at once, for softmax (chapter 04), the same bits as exp;
//   2. sums along rows, eight rows at once, for LayerNorm (chapter 06), the same bits as a loop;
//   3. a sum of squares in eight running sums, for the gradient's global norm (chapter 12).

// MARK: - 1. exp, eight numbers at a time
// Softmax (chapter 04) calls exp once per score, and a library call cannot be spread over
// SIMD lanes: in the demo, exp alone took 3 % of a step. This is the computation glibc's expf does
// (the exp that Foundation calls on Linux), step by step and rounding for rounding, on eight
// numbers at once, so it returns the same bits (checked once on every Float from −110 to 90;
// a test samples them):
//   x = (k + r)·ln 2 / 32 with k whole and |r| ≤ ½  →  e^x = 2^(k/32) · 2^(r/32)
// 2^(k/32) = 2^(k div 32) · 2^((k mod 32)/32): a table of 32 powers of two whose exponent bits
// are raised by k div 32; 2^(r/32) ≈ 1 + c₂r + c₁r² + c₀r³. All of it in Double, then rounded once.
enum Exponential {
    /// 2^(i/32) as Double bits, minus i << 47 (the shift `scale` adds back with k's bits).
    static let table: [UInt64] = [
        0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
        0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
        0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
        0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
        0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
        0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
        0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
        0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
    ]
    static let thirtyTwoOverLn2 = Double(bitPattern: 0x40471547652b82fe)    // 32 / ln 2
    static let shift = Double(bitPattern: 0x4338000000000000)                // 1.5·2^52: rounds to whole numbers
    static let c0 = Double(bitPattern: 0x3ebc6af84b912394)                   // ≈ (ln 2 / 32)³ / 6
    static let c1 = Double(bitPattern: 0x3f2ebfce50fac4f3)                   // ≈ (ln 2 / 32)² / 2
    static let c2 = Double(bitPattern: 0x3f962e42ff0c52d6)                   // ≈ ln 2 / 32

    /// e^x for eight numbers, the same bits as `Foundation.exp` (glibc) for each.
    @inline(__always) static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var y = SIMD8<Float>(lowHalf: exp(x.lowHalf), highHalf: exp(x.highHalf))
        // glibc's edges: overflow to ∞, and below −103.28 the results that underflow
        y.replace(with: .infinity, where: x .> Float(bitPattern: 0x42b17217))          // x > 88.72
        y.replace(with: .leastNonzeroMagnitude, where: x .< Float(bitPattern: 0xc2ce8ecf))   // x < −103.28
        y.replace(with: 0, where: x .< Float(bitPattern: 0xc2cff1b4))                  // x < −103.97
        return y
    }

    @inline(__always) static func exp(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let xd = SIMD4<Double>(x)
        let shifted = SIMD4(repeating: shift).addingProduct(xd, SIMD4(repeating: thirtyTwoOverLn2))
        let k = unsafeBitCast(shifted, to: SIMD4<UInt64>.self)              // k in the low bits
        let r = (SIMD4(repeating: shift) - shifted).addingProduct(xd, SIMD4(repeating: thirtyTwoOverLn2))  // x·32/ln 2 − k
        let powers = SIMD4<UInt64>(table[Int(k[0] & 31)], table[Int(k[1] & 31)], table[Int(k[2] & 31)], table[Int(k[3] & 31)])
        let scale = unsafeBitCast(powers &+ (k &<< 47), to: SIMD4<Double>.self)    // 2^(k/32)
        let cubic = SIMD4(repeating: c1).addingProduct(r, SIMD4(repeating: c0))
        var y = SIMD4(repeating: 1).addingProduct(r, SIMD4(repeating: c2))
        y = y.addingProduct(cubic, r * r)                                     // 2^(r/32)
        return SIMD4<Float>(y * scale)
    }
}

extension Array where Element == Float {
    /// self[range] = exp(self[range]), eight at a time (the last few padded with zeros).
    public mutating func exponentiate(_ range: Range<Int>) {
        withUnsafeMutableBufferPointer { buffer in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let x = UnsafeRawPointer(buffer.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(buffer.baseAddress! + i).storeBytes(of: Exponential.exp(x), as: SIMD8<Float>.self)
                i += 8
            }
            if i < range.upperBound {
                var x = SIMD8<Float>()
                for l in 0 ..< range.upperBound - i { x[l] = buffer[i + l] }
                let y = Exponential.exp(x)
                for l in 0 ..< range.upperBound - i { buffer[i + l] = y[l] }
            }
        }
    }
}

// MARK: - 2. Sums along rows, eight rows at a time (chapter 06)
// A running sum is a chain: each addition waits for the one before (3–4 cycles), so adding up one
// row of 128 numbers takes ~500 cycles however fast the adder is. LayerNorm adds up every row
// several times per step. Eight rows, one per lane of a SIMD8, are eight independent chains that
// share one vector addition per column. Each row is still added c = 0, 1, 2… from 0, the same
// additions in the same order as a plain loop, so the sums are the same bits.

/// [Σ_c term(t, c) for t in 0..<rows], each row added in order c = 0, 1, 2… from 0.
@inline(__always)
public func rowSums(rows: Int, cols: Int, _ term: (Int, Int) -> Float) -> [Float] {
    var sums = [Float](repeating: 0, count: rows)
    var t = 0
    while t + 8 <= rows {
        var lanes = SIMD8<Float>()
        for c in 0..<cols {
            lanes += SIMD8(term(t, c), term(t + 1, c), term(t + 2, c), term(t + 3, c),
                           term(t + 4, c), term(t + 5, c), term(t + 6, c), term(t + 7, c))
        }
        for r in 0..<8 { sums[t + r] = lanes[r] }
        t += 8
    }
    for t in t..<rows { for c in 0..<cols { sums[t] += term(t, c) } }
    return sums
}

// MARK: - 3. A sum of squares, eight running sums side by side (chapter 12)
// One running sum waits for its own last addition at every number. Number i of an array goes to
// sum i % 8 instead, and the eight are added at the end. Each square is exact in Double; only the
// order of the additions differs from a plain loop, far below Float's last digit.

/// Σ x² over every number of every array added, in Double.
public struct SumOfSquares {
    var lanes = SIMD8<Double>()

    public init() {}

    /// Adds the squares of `values`.
    public mutating func add(_ values: [Float]) {
        let whole = values.count / 8 * 8
        for i in stride(from: 0, to: whole, by: 8) {
            let x = SIMD8<Double>(SIMD8<Float>(values[i ..< i + 8]))
            lanes.addProduct(x, x)
        }
        for i in whole ..< values.count { lanes[0] += Double(values[i]) * Double(values[i]) }
    }

    /// The sum so far.
    public var total: Double { lanes.sum() }
}
