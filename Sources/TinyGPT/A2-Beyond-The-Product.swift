import Foundation

// MARK: - Appendix A2: Speed beyond the product (docs/A2-beyond-the-product.md)
//
// Appendix A1 made the matrix product fast; then the rest of a step was half of the demo's time.
// Three more places where plain loops were slow for a reason the hardware explains, each giving
// exactly the bits of the plain code it replaces (each is tested against it with ==):
//   1. exp on eight numbers at once, for softmax (chapters 05 and 10);
//   2. sums along rows, eight rows at once, for LayerNorm (chapter 06);
//   3. attention's per-head products computed in place, with no copies (chapter 05).

// MARK: - 1. exp, eight numbers at a time
// Softmax (chapters 05 and 10) calls exp once per score, and a library call cannot be spread over
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

extension Matrix {
    /// values[range] = exp(values[range]), eight at a time (the last few padded with zeros).
    public mutating func exponentiate(_ range: ClosedRange<Int>) { exponentiate(Range(range)) }

    /// values[range] = exp(values[range]), eight at a time (the last few padded with zeros).
    public mutating func exponentiate(_ range: Range<Int>) {
        values.withUnsafeMutableBufferPointer { buffer in
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

// MARK: - 3. Attention's small products, fused (chapter 05)
// A head's products are tiny (the demo's S = Q_h·K_hᵀ is [32, 16]·[16, 32]), so `attend` spends
// more time around them than in them: copying Q_h, K_h and V_h out of [Q | K | V], packing,
// allocating, scaling into new matrices, writing Y_h back. These two functions compute the same
// numbers in place, reading [Q | K | V] where it lies. They are not a new method: every sum runs
// over the same terms, in the same order, with the same fused multiply-adds as appendix A1's
// product (including a triangle's zeros, which add exactly nothing), and the softmax is chapter
// 05's, so the results are the same bits as `attend` and `attendBackward` (tested).
extension Attention {
    /// `attend`, fused: one window's rows of [Q | K | V] → [Y_0 | … | Y_{H−1}] [T, C] and each head's A [T, T].
    func attendFused(_ qkv: Matrix, rows: Range<Int>) -> (y: Matrix, weights: [Matrix]) {
        let T = rows.count, D = headWidth, C = width, scale = 1 / Float(D).squareRoot(), Tpad = Fused.padded(T)
        let kT = Fused.scratch(D * Tpad), s = Fused.scratch(4 * Tpad)   // K_hᵀ [D, Tpad]; four rows of S
        defer { kT.deallocate(); s.deallocate() }
        var y = Matrix(rows: T, cols: C)
        var weights: [Matrix] = []
        qkv.values.withUnsafeBufferPointer { qkvBuffer in
            let window = Fused.Rows(base: qkvBuffer.baseAddress! + rows.lowerBound * qkv.cols, stride: qkv.cols)
            for h in 0..<heads {
                let q = window.offset(h * D), k = window.offset(C + h * D), v = window.offset(2 * C + h * D)
                Fused.transpose(k, rows: T, cols: D, into: kT, stride: Tpad)
                var a = Matrix(rows: T, cols: T)
                a.values.withUnsafeMutableBufferPointer { aBuffer in
                    let a = aBuffer.baseAddress!
                    for i0 in stride(from: 0, to: T, by: 4) {
                        // S[i, j] = (Σ_d Q[i, d]·K[j, d]) / √D for j ≤ i, rows i0 ..< i0 + 4
                        let count = Fused.rowsTimesTransposed(q, from: i0, of: T, depth: D, kT, stride: Tpad, into: s)
                        for r in 0..<count {
                            let i = i0 + r
                            for j in 0...i { a[i * T + j] = s[r * Tpad + j] * scale }
                        }
                    }
                }
                for i in 0..<T { Fused.causalSoftmaxRow(&a, i) }
                y.values.withUnsafeMutableBufferPointer { yBuffer in
                    a.values.withUnsafeBufferPointer { aBuffer in
                        let a = aBuffer.baseAddress!, out = yBuffer.baseAddress!
                        for i0 in stride(from: 0, to: T, by: 4) {       // Y_h[i, :] = Σ_{j ≤ i} A[i, j]·V_h[j, :]
                            let count = min(4, T - i0)
                            Fused.combine(rows: count, width: D, terms: 0 ..< i0 + count,
                                          { r, j in a[(i0 + r) * T + j] }, { j in v.row(j) }, { r in out + (i0 + r) * C + h * D })
                        }
                    }
                }
                weights.append(a)
            }
        }
        return (y, weights)
    }

    /// `attendBackward`, fused: one window's dY [T, C] → its rows of d[Q | K | V] [T, 3C].
    func attendBackwardFused(_ dConcatenated: Matrix, _ saved: Saved, window b: Int, rows: Range<Int>) -> Matrix {
        let T = rows.count, D = headWidth, C = width, scale = 1 / Float(D).squareRoot(), Tpad = Fused.padded(T)
        let vT = Fused.scratch(D * Tpad), dA = Fused.scratch(4 * Tpad)  // V_hᵀ [D, Tpad]; four rows of dA
        let dS = Fused.scratch(T * T)                                    // dS [T, T]: only j ≤ i is written and read
        defer { vT.deallocate(); dA.deallocate(); dS.deallocate() }
        var dqkv = Matrix(rows: T, cols: 3 * C)
        saved.qkv.values.withUnsafeBufferPointer { qkvBuffer in
            dConcatenated.values.withUnsafeBufferPointer { dBuffer in
                dqkv.values.withUnsafeMutableBufferPointer { out in
                    let window = Fused.Rows(base: qkvBuffer.baseAddress! + rows.lowerBound * saved.qkv.cols, stride: saved.qkv.cols)
                    let dYWindow = Fused.Rows(base: dBuffer.baseAddress! + rows.lowerBound * dConcatenated.cols, stride: dConcatenated.cols)
                    let base = out.baseAddress!
                    for h in 0..<heads {
                        let q = window.offset(h * D), k = window.offset(C + h * D), v = window.offset(2 * C + h * D)
                        let dY = dYWindow.offset(h * D)
                        Fused.transpose(v, rows: T, cols: D, into: vT, stride: Tpad)
                        saved.weights[b * heads + h].values.withUnsafeBufferPointer { aBuffer in
                            let a = aBuffer.baseAddress!
                            for i0 in stride(from: 0, to: T, by: 4) {
                                // dA[i, j] = Σ_d dY[i, d]·V[j, d] for j ≤ i, then chapter 05's softmax backward
                                let count = Fused.rowsTimesTransposed(dY, from: i0, of: T, depth: D, vT, stride: Tpad, into: dA)
                                for r in 0..<count {
                                    let i = i0 + r, dARow = dA + r * Tpad
                                    var dot: Float = 0
                                    for j in 0...i { dot += a[i * T + j] * dARow[j] }
                                    for j in 0...i { dS[i * T + j] = a[i * T + j] * (dARow[j] - dot) }
                                }
                            }
                            for i0 in stride(from: 0, to: T, by: 4) {
                                // dQ_h[i, :] = (Σ_{j ≤ i} dS[i, j]·K_h[j, :]) / √D
                                let count = min(4, T - i0)
                                Fused.combine(rows: count, width: D, terms: 0 ..< i0 + count,
                                              { r, j in dS[(i0 + r) * T + j] }, { j in k.row(j) }, { r in base + (i0 + r) * 3 * C + h * D })
                                // dK_h[j, :] = (Σ_{i ≥ j} dS[i, j]·Q_h[i, :]) / √D,  dV_h[j, :] = Σ_{i ≥ j} A[i, j]·dY_h[i, :]
                                let j0 = i0
                                Fused.combine(rows: count, width: D, terms: j0 ..< T,
                                              { r, i in dS[i * T + j0 + r] }, { i in q.row(i) }, { r in base + (j0 + r) * 3 * C + C + h * D })
                                Fused.combine(rows: count, width: D, terms: j0 ..< T,
                                              { r, i in a[i * T + j0 + r] }, { i in dY.row(i) }, { r in base + (j0 + r) * 3 * C + 2 * C + h * D })
                                for r in 0..<count {
                                    for d in 0..<D { base[(i0 + r) * 3 * C + h * D + d] *= scale }
                                    for d in 0..<D { base[(i0 + r) * 3 * C + C + h * D + d] *= scale }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dqkv
    }
}

/// The pieces of the fused attention.
enum Fused {
    /// Rows of a matrix seen from some column on: row i starts at base + i·stride.
    struct Rows {
        let base: UnsafePointer<Float>
        let stride: Int
        func offset(_ columns: Int) -> Rows { Rows(base: base + columns, stride: stride) }
        func row(_ i: Int) -> UnsafePointer<Float> { base + i * stride }
    }

    /// n rounded up to a multiple of 16.
    static func padded(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    /// A buffer of n zeros that lives only inside one call (the caller deallocates it).
    static func scratch(_ n: Int) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n)
        buffer.initialize(repeating: 0, count: n)
        return buffer
    }

    /// out [cols, stride] = the transpose of `rows × cols` numbers of m (stride ≥ rows; the rest stays 0).
    static func transpose(_ m: Rows, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows { for c in 0..<cols { out[c * stride + r] = m.row(r)[c] } }
    }

    /// Rows i0 ..< i0 + 4 (fewer at the end of T) of X·Mᵀ into out (rows `stride` apart), columns up
    /// to the last of those rows (rounded up to 16: the rest of a row is not wanted). X's rows are
    /// `depth` numbers; mT is Mᵀ [depth, stride]. Returns how many rows it did.
    @inline(__always)
    static func rowsTimesTransposed(_ x: Rows, from i0: Int, of T: Int, depth: Int, _ mT: UnsafePointer<Float>,
                                    stride: Int, into out: UnsafeMutablePointer<Float>) -> Int {
        let count = min(4, T - i0)
        combine(rows: count, width: min(stride, padded(i0 + count)), terms: 0..<depth,
                { r, d in x.row(i0 + r)[d] }, { d in mT + d * stride }, { r in out + r * stride })
        return count
    }

    /// out(r)[c] = Σ_{t in terms} w(r, t)·y(t)[c] for rows r < `rows` (at most 4) and columns c < width,
    /// t in order, one fused multiply-add per term: the arithmetic of appendix A1's tile.
    /// Four rows by two `Vector`s (16 columns, or 32 with AVX-512) at a time keep eight sums in
    /// flight. One sum alone would wait on its own last multiply-add (4 cycles) at every term and
    /// leave the FMA units idle most of the time; appendix A1's tile keeps twelve for the same reason.
    @inline(__always)
    static func combine(rows: Int, width: Int, terms: Range<Int>, _ w: (Int, Int) -> Float,
                        _ y: (Int) -> UnsafePointer<Float>, _ out: (Int) -> UnsafeMutablePointer<Float>) {
        typealias Vector = FastProduct.Vector
        let h = Vector.scalarCount
        var c = 0
        if rows == 4 {
            while c + 2 * h <= width {
                var a0 = Vector(), b0 = Vector(), a1 = Vector(), b1 = Vector()
                var a2 = Vector(), b2 = Vector(), a3 = Vector(), b3 = Vector()
                for t in terms {
                    let left: Vector = FastProduct.load(y(t) + c), right: Vector = FastProduct.load(y(t) + c + h)
                    let w0 = Vector(repeating: w(0, t)); a0.addProduct(w0, left); b0.addProduct(w0, right)
                    let w1 = Vector(repeating: w(1, t)); a1.addProduct(w1, left); b1.addProduct(w1, right)
                    let w2 = Vector(repeating: w(2, t)); a2.addProduct(w2, left); b2.addProduct(w2, right)
                    let w3 = Vector(repeating: w(3, t)); a3.addProduct(w3, left); b3.addProduct(w3, right)
                }
                FastProduct.store(a0, out(0) + c); FastProduct.store(b0, out(0) + c + h)
                FastProduct.store(a1, out(1) + c); FastProduct.store(b1, out(1) + c + h)
                FastProduct.store(a2, out(2) + c); FastProduct.store(b2, out(2) + c + h)
                FastProduct.store(a3, out(3) + c); FastProduct.store(b3, out(3) + c + h)
                c += 2 * h
            }
            if c + h <= width {                       // one Vector of columns left: four rows of one
                var a0 = Vector(), a1 = Vector(), a2 = Vector(), a3 = Vector()
                for t in terms {
                    let row: Vector = FastProduct.load(y(t) + c)
                    a0.addProduct(Vector(repeating: w(0, t)), row); a1.addProduct(Vector(repeating: w(1, t)), row)
                    a2.addProduct(Vector(repeating: w(2, t)), row); a3.addProduct(Vector(repeating: w(3, t)), row)
                }
                FastProduct.store(a0, out(0) + c); FastProduct.store(a1, out(1) + c)
                FastProduct.store(a2, out(2) + c); FastProduct.store(a3, out(3) + c)
                c += h
            }
        }
        // The edges: one row at a time, eight columns, then one.
        for r in 0..<rows {
            var d = c
            while d + 8 <= width {
                var sum = SIMD8<Float>()
                for t in terms { sum.addProduct(SIMD8(repeating: w(r, t)), FastProduct.load(y(t) + d) as SIMD8<Float>) }
                FastProduct.store(sum, out(r) + d)
                d += 8
            }
            while d < width {
                var sum: Float = 0
                for t in terms { sum.addProduct(w(r, t), y(t)[d]) }
                out(r)[d] = sum
                d += 1
            }
        }
    }

    /// Chapter 05's causalSoftmax on row i of a, in place: the same operations in the same order.
    @inline(__always)
    static func causalSoftmaxRow(_ a: inout Matrix, _ i: Int) {
        let start = i * a.cols
        var largest = a.values[start]
        for j in 0...i { largest = max(largest, a.values[start + j]) }
        for j in 0...i { a.values[start + j] -= largest }
        a.exponentiate(start ... start + i)
        var total: Float = 0
        for j in 0...i { total += a.values[start + j] }
        for j in 0...i { a.values[start + j] /= total }
    }
}
