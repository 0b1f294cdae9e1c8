import Dispatch

// MARK: - Appendix A1: Speed (docs/A1-speed.md)
//
// The one place where the code trades plainness for speed. Every matrix product of every layer
// (`Matrix.times` and its transposed forms, chapter 00) lands here. It computes what
// `definitionProduct` computes, C = A·B (up to rounding: a fused multiply-add rounds once where
// the plain loop rounds twice), with four ideas:
//   1. Register tiles: a 6×16 block of C lives in twelve SIMD8 registers while k runs, so each
//      number loaded from A or B is used 16 or 6 times instead of once.
//   2. Fused multiply-add: acc += a·b in one instruction (needs AVX2/FMA codegen: Package.swift).
//   3. Cache blocks: k is taken 256 at a time, so the six rows of A a tile reads (6 KB) stay in
//      the fastest cache while they meet every strip of B. A tile leaves its partial sums in C
//      between blocks and picks them up again: the order of the additions, k = 0, 1, 2…, is the
//      same as without blocks.
//   4. Cores: blocks of output rows go to different threads. Each C[i, j] is still summed by one
//      thread, over k in order, so the result is bit-identical whatever the thread count.
// At the end of the file: exp on eight numbers at once, for softmax (chapters 05 and 10).

public enum FastProduct {
    /// How many threads a large product may use. Set once by the command line before any work;
    /// results do not depend on it (see 4. above).
    nonisolated(unsafe) public static var threads = 1

    static let tileRows = 6          // rows of C per register tile
    static let tileCols = 16         // columns of C per register tile: two SIMD8<Float>
    static let depthBlock = 256      // k values per cache block
    /// Below this many multiply-adds a second thread costs more (~40 µs to start) than it saves.
    /// (Tests lower it to split tiny products; like `threads`, it never changes a result.)
    nonisolated(unsafe) public static var parallelThreshold = 2_000_000

    /// a [n, k] · b [k, m] → [n, m]. With `transposingA`, a is [k, n] and is read as aᵀ; with
    /// `transposingB`, b is [m, k] and is read as bᵀ. Neither transpose is ever built: A is read
    /// through two strides in the tile below, and B is read once, while it is packed into strips.
    /// `skipping` names a triangle of zeros the product need not compute (chapter 00's `Triangle`).
    public static func multiply(_ a: Matrix, _ b: Matrix, transposingA: Bool = false, transposingB: Bool = false,
                                skipping triangle: Triangle = .none) -> Matrix {
        let n = transposingA ? a.cols : a.rows, k = transposingA ? a.rows : a.cols
        let m = transposingB ? b.rows : b.cols
        guard n > 0, m > 0, k > 0 else { return Matrix(rows: n, cols: m) }
        let strips = packStrips(b, transposed: transposingB)
        // Every element of C is written below, so C starts uninitialised (no zero-fill pass),
        // unless a triangle is skipped: then the skipped elements are the zeros C starts with.
        let values = [Float](unsafeUninitializedCapacity: n * m) { cBuffer, initialized in
            if triangle != .none { cBuffer.initialize(repeating: 0) }
            a.values.withUnsafeBufferPointer { aBuffer in
                strips.withUnsafeBufferPointer { stripBuffer in
                    // a stored zero above its diagonal is, read as aᵀ, zero below it
                    let zerosOfA: Operands.Zeros = triangle != .aboveDiagonalOfSelf ? .none
                                                 : transposingA ? .belowDiagonal : .aboveDiagonal
                    let operands = Operands(a: aBuffer.baseAddress!, strips: stripBuffer.baseAddress!,
                                            c: cBuffer.baseAddress!, k: k, m: m,
                                            aRowStep: transposingA ? 1 : k, aColumnStep: transposingA ? n : 1,
                                            zerosOfA: zerosOfA, lowerC: triangle == .aboveDiagonalOfResult)
                    let rowTiles = (n + tileRows - 1) / tileRows
                    let parts = (threads > 1 && !isSharingCores && n * m * k >= parallelThreshold) ? min(threads, rowTiles) : 1
                    if parts == 1 {
                        operands.multiplyRows(0..<n)
                    } else {
                        // Split at whole tiles, so every row takes the same code path as with one thread.
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            let first = rowTiles * part / parts * tileRows
                            let end = min(n, rowTiles * (part + 1) / parts * tileRows)
                            operands.multiplyRows(first..<end)
                        }
                    }
                }
            }
            initialized = n * m
        }
        return Matrix(rows: n, cols: m, values: values)
    }

    /// B [k, m] re-laid as strips of 16 columns, each strip k rows of 16 contiguous numbers, so a
    /// tile reads B from consecutive memory (the hardware prefetcher's favourite) instead of
    /// jumping m numbers per row. The last strip is padded with zeros when m is not a multiple
    /// of 16. With `transposed`, b is [m, k] and B = bᵀ: row j of b becomes column j of a strip,
    /// so Bᵀ is never built on its own.
    static func packStrips(_ b: Matrix, transposed: Bool) -> [Float] {
        let k = transposed ? b.cols : b.rows, m = transposed ? b.rows : b.cols
        let count = (m + tileCols - 1) / tileCols
        return [Float](unsafeUninitializedCapacity: count * k * tileCols) { buffer, initialized in
            b.values.withUnsafeBufferPointer { source in
                let from = source.baseAddress!
                for strip in 0..<count {
                    let first = strip * tileCols, width = min(tileCols, m - first)     // columns first ..< first + width
                    let to = buffer.baseAddress! + strip * k * tileCols                // the strip: row p at to + p·16
                    if width < tileCols { (to).initialize(repeating: 0, count: k * tileCols) }
                    if transposed {
                        // row first + c of b is column c of the strip: read along it, write every 16th number
                        for c in 0..<width {
                            let column = from + (first + c) * k
                            for p in 0..<k { to[p * tileCols + c] = column[p] }
                        }
                    } else if width == tileCols {
                        for p in 0..<k {                                                // 16 numbers in a row: one copy
                            UnsafeMutableRawPointer(to + p * tileCols).storeBytes(
                                of: UnsafeRawPointer(from + p * m + first).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                        }
                    } else {
                        for p in 0..<k { for c in 0..<width { to[p * tileCols + c] = from[p * m + first + c] } }
                    }
                }
            }
            initialized = count * k * tileCols
        }
    }

    /// Raw views of A, B and C for one product. Each thread writes only its own rows of C.
    struct Operands: @unchecked Sendable {
        let a: UnsafePointer<Float>          // A(i, p) at a[i·aRowStep + p·aColumnStep]
        let strips: UnsafePointer<Float>     // B(p, j) at strips[(j / 16 · k + p) · 16 + j % 16] (packStrips)
        let c: UnsafeMutablePointer<Float>   // [n, m]
        let k: Int
        let m: Int
        let aRowStep: Int                    // k for A [n, k]; 1 for Aᵀ with A [k, n]
        let aColumnStep: Int                 // 1 for A [n, k]; n for Aᵀ
        let zerosOfA: Zeros                  // A(i, p) = 0 for p > i (aboveDiagonal) or p < i (belowDiagonal)
        let lowerC: Bool                     // only C[i, j] with j ≤ i is wanted

        enum Zeros { case none, aboveDiagonal, belowDiagonal }

        /// The p that can add something to C[i, j] for some row i in `rows`: A(i, p) is 0 outside.
        @inline(__always) func sums(_ rows: Range<Int>) -> Range<Int> {
            switch zerosOfA {
            case .none: 0..<k
            case .aboveDiagonal: 0 ..< min(k, rows.upperBound)
            case .belowDiagonal: min(k, rows.lowerBound) ..< k
            }
        }

        /// The columns of C wanted in `rows`: all of them, or with `lowerC`, j < the last row + 1.
        @inline(__always) func columns(_ rows: Range<Int>) -> Int { lowerC ? min(m, rows.upperBound) : m }

        @inline(__always) func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
            UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
        }

        @inline(__always) func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
        }

        /// C[rows, :] = A[rows, :] · B, one cache block of k at a time.
        func multiplyRows(_ rows: Range<Int>) {
            // Aᵀ's rows are columns of a [k, n] array, n numbers apart. For a wide enough C, six of
            // them are first copied into a panel where the six numbers of each p sit side by side.
            let packsA = aColumnStep != 1 && m >= 64
            // When rows.count is not a multiple of 6, the last tile is short: its rows are packed
            // with rows of zeros below them, and it writes into a [6, m] scratch of its own.
            let shortRows = rows.count % 6
            var panel = [Float](repeating: 0, count: packsA || shortRows > 0 ? min(k, FastProduct.depthBlock) * 6 : 0)
            var scratch = [Float](repeating: 0, count: shortRows > 0 ? 6 * m : 0)
            panel.withUnsafeMutableBufferPointer { panelBuffer in
                scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                    var kStart = 0
                    while kStart < k {
                        let block = kStart ..< min(k, kStart + FastProduct.depthBlock)
                        var i = rows.lowerBound
                        while i < rows.upperBound {               // 6 rows of A (6 KB at most): stay cached…
                            let tileRows = i ..< min(i + 6, rows.upperBound), depth = block.clamped(to: sums(tileRows))
                            if !depth.isEmpty {
                                let first = depth.lowerBound == sums(tileRows).lowerBound   // C starts here, or adds on
                                // A(i + r, p) at aTile[r·rowStep + (p − depth.lowerBound)·columnStep]
                                var aTile = a + i * aRowStep + depth.lowerBound * aColumnStep
                                var rowStep = aRowStep, columnStep = aColumnStep
                                if packsA || tileRows.count < 6, let panel = panelBuffer.baseAddress {
                                    for p in 0..<depth.count {
                                        for r in 0..<6 {
                                            panel[p * 6 + r] = r < tileRows.count ? aTile[r * rowStep + p * columnStep] : 0
                                        }
                                    }
                                    (aTile, rowStep, columnStep) = (UnsafePointer(panel), 1, 6)
                                }
                                let out = tileRows.count == 6 ? c + i * m : scratchBuffer.baseAddress!
                                var j = 0
                                while j + 16 <= m && j < columns(tileRows) {    // …while they meet each 16-column strip of B
                                    tile6x16(aTile, rowStep: rowStep, columnStep: columnStep, out: out + j, col: j, depth: depth, first: first)
                                    j += 16
                                }
                                for row in tileRows where j < columns(row ..< row + 1) {
                                    single(row: row, cols: j ..< columns(row ..< row + 1), block: block)
                                }
                            }
                            i = tileRows.upperBound
                        }
                        kStart = block.upperBound
                    }
                    // The short tile's rows, from its scratch into C (its strips' columns; `single` did the rest).
                    for r in 0..<shortRows {
                        (c + (rows.upperBound - shortRows + r) * m).update(from: scratchBuffer.baseAddress! + r * m, count: m / 16 * 16)
                    }
                }
            }
            // A tile on the diagonal computed some C[i, j] with j > i: they are unwanted, and 0.
            if lowerC {
                for i in rows where i + 1 < m { (c + i * m + i + 1).update(repeating: 0, count: m - i - 1) }
            }
        }

        /// The register tile: six rows by 16 columns j..<j+16 of C (or of a short tile's scratch), starting
        /// at `out`, rows m apart, in twelve SIMD8 accumulators, over k in `depth`.
        /// Per k: two loads of B, six broadcasts of A, twelve fused multiply-adds (192 FLOPs).
        /// `first`: start from 0, or add on to C's partial sums from earlier blocks of k.
        @inline(__always) func tile6x16(_ aTile: UnsafePointer<Float>, rowStep: Int, columnStep: Int,
                                        out: UnsafeMutablePointer<Float>, col j: Int, depth: Range<Int>, first: Bool) {
            func start(_ r: Int, _ half: Int) -> SIMD8<Float> { first ? SIMD8<Float>() : load(out + r * m + half) }
            var c00 = start(0, 0), c01 = start(0, 8), c10 = start(1, 0), c11 = start(1, 8)
            var c20 = start(2, 0), c21 = start(2, 8), c30 = start(3, 0), c31 = start(3, 8)
            var c40 = start(4, 0), c41 = start(4, 8), c50 = start(5, 0), c51 = start(5, 8)
            let a0 = aTile, a1 = a0 + rowStep, a2 = a1 + rowStep
            let a3 = a2 + rowStep, a4 = a3 + rowStep, a5 = a4 + rowStep
            var bRow = strips + (j / 16 * k + depth.lowerBound) * 16
            var q = 0
            for _ in depth {
                let b0 = load(bRow), b1 = load(bRow + 8)
                let x0 = SIMD8<Float>(repeating: a0[q]); c00.addProduct(x0, b0); c01.addProduct(x0, b1)
                let x1 = SIMD8<Float>(repeating: a1[q]); c10.addProduct(x1, b0); c11.addProduct(x1, b1)
                let x2 = SIMD8<Float>(repeating: a2[q]); c20.addProduct(x2, b0); c21.addProduct(x2, b1)
                let x3 = SIMD8<Float>(repeating: a3[q]); c30.addProduct(x3, b0); c31.addProduct(x3, b1)
                let x4 = SIMD8<Float>(repeating: a4[q]); c40.addProduct(x4, b0); c41.addProduct(x4, b1)
                let x5 = SIMD8<Float>(repeating: a5[q]); c50.addProduct(x5, b0); c51.addProduct(x5, b1)
                q += columnStep
                bRow += 16
            }
            store(c00, out); store(c01, out + 8)
            store(c10, out + m); store(c11, out + m + 8)
            store(c20, out + 2 * m); store(c21, out + 2 * m + 8)
            store(c30, out + 3 * m); store(c31, out + 3 * m + 8)
            store(c40, out + 4 * m); store(c41, out + 4 * m + 8)
            store(c50, out + 5 * m); store(c51, out + 5 * m + 8)
        }

        /// The edges that do not fill a tile: one row, 8 columns at a time, then one at a time.
        /// Same order over k and the same fused multiply-add as the tile.
        func single(row i: Int, cols: Range<Int>, block: Range<Int>) {
            let depth = block.clamped(to: sums(i ..< i + 1))
            guard !depth.isEmpty else { return }
            let aRow = a + i * aRowStep
            let first = depth.lowerBound == sums(i ..< i + 1).lowerBound
            var j = cols.lowerBound
            while j + 8 <= cols.upperBound {        // j is a multiple of 8: the 8 columns sit in one strip
                let column = strips + (j / 16 * k) * 16 + j % 16
                var sum = first ? SIMD8<Float>() : load(c + i * m + j)
                for p in depth { sum.addProduct(SIMD8<Float>(repeating: aRow[p * aColumnStep]), load(column + p * 16)) }
                store(sum, c + i * m + j)
                j += 8
            }
            while j < cols.upperBound {
                let column = strips + (j / 16 * k) * 16 + j % 16
                var sum: Float = first ? 0 : c[i * m + j]
                for p in depth { sum.addProduct(aRow[p * aColumnStep], column[p * 16]) }
                c[i * m + j] = sum
                j += 1
            }
        }
    }
}

// MARK: Whole pieces of work on several cores
// Attention's windows are independent of each other (chapter 05), so they can run side by side.
// Each result is computed by one thread exactly as it would be alone: the same bits either way.

extension FastProduct {
    /// True on a thread that is doing one of `map`'s items while other threads do the others. The
    /// cores are busy then, so a product or a nested `map` there stays on its own thread: splitting
    /// it again would only add the cost of starting threads (measured: 20–25 % of a 2-thread step).
    @TaskLocal static var isSharingCores = false

    /// [body(0), body(1), …, body(count − 1)], computed on up to `threads` threads.
    public static func map<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        let parts = min(threads, count)
        guard parts > 1, !isSharingCores else { return (0..<count).map(body) }
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = Slots(base: buffer.baseAddress!)
            withoutActuallyEscaping(body) { body in
                let work = Work(body: body)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    $isSharingCores.withValue(true) {
                        for i in stride(from: part, to: count, by: parts) { slots.base[i] = work.body(i) }   // each slot written once
                    }
                }
            }
        }
        return results.map { $0! }
    }

    struct Slots<T>: @unchecked Sendable { let base: UnsafeMutablePointer<T?> }
    struct Work<T>: @unchecked Sendable { let body: (Int) -> T }
}

// MARK: - exp, eight numbers at a time
// Softmax (chapters 05 and 10) calls exp once per score, and a library call cannot be spread over
// SIMD lanes: in the demo, exp alone took 3 % of a step. This is the computation glibc's expf does
// (the exp that Foundation calls on Linux), step by step and rounding for rounding, on eight
// numbers at once, so it returns the same bits (tested on every Float from −110 to 90):
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

// MARK: - Sums along rows, eight rows at a time (chapter 06)
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

// MARK: - Attention's small products, fused (chapter 05)
// A head's products are tiny (the demo's S = Q_h·K_hᵀ is [32, 16]·[16, 32]), so `attend` spends
// more time around them than in them: copying Q_h, K_h and V_h out of [Q | K | V], packing,
// allocating, scaling into new matrices, writing Y_h back. These two functions compute the same
// numbers in place, reading [Q | K | V] where it lies. They are not a new method: every sum runs
// over the same terms, in the same order, with the same fused multiply-adds as the product above
// (including a triangle's zeros, which add exactly nothing), and the softmax is chapter 05's, so
// the results are the same bits as `attend` and `attendBackward` (tested).
extension Attention {
    /// `attend`, fused: one window's rows of [Q | K | V] → [Y_0 | … | Y_{H−1}] [T, C] and each head's A [T, T].
    func attendFused(_ qkv: Matrix, rows: Range<Int>) -> (y: Matrix, weights: [Matrix]) {
        let T = rows.count, D = headWidth, C = width, scale = 1 / Float(D).squareRoot(), stride = Fused.padded(T)
        var y = Matrix(rows: T, cols: C)
        var weights: [Matrix] = []
        weights.reserveCapacity(heads)
        var kT = [Float](repeating: 0, count: D * stride)              // K_hᵀ [D, T], rows padded to 16
        var scores = [Float](repeating: 0, count: 4 * stride)          // four rows of S
        qkv.values.withUnsafeBufferPointer { qkvBuffer in
            let window = Fused.Rows(base: qkvBuffer.baseAddress! + rows.lowerBound * qkv.cols, stride: qkv.cols)
            for h in 0..<heads {
                let q = window.offset(h * D), k = window.offset(C + h * D), v = window.offset(2 * C + h * D)
                var a = Matrix(rows: T, cols: T)
                kT.withUnsafeMutableBufferPointer { Fused.transpose(k, rows: T, cols: D, into: $0.baseAddress!, stride: stride) }
                a.values.withUnsafeMutableBufferPointer { aBuffer in
                    let a = aBuffer.baseAddress!
                    kT.withUnsafeBufferPointer { kTBuffer in
                        scores.withUnsafeMutableBufferPointer { sBuffer in
                            let kT = kTBuffer.baseAddress!, s = sBuffer.baseAddress!
                            for i0 in Swift.stride(from: 0, to: T, by: 4) {
                                // S[i, j] = (Σ_d Q[i, d]·K[j, d]) / √D for j ≤ i, rows i0 ..< i0 + 4
                                let count = min(4, T - i0)
                                Fused.combine(rows: count, width: min(stride, Fused.padded(i0 + count)), terms: 0..<D,
                                              { r, d in q.row(i0 + r)[d] }, { d in kT + d * stride }, { r in s + r * stride })
                                for r in 0..<count {
                                    let i = i0 + r
                                    for j in 0...i { a[i * T + j] = s[r * stride + j] * scale }
                                }
                            }
                        }
                    }
                }
                for i in 0..<T { Fused.causalSoftmaxRow(&a, i) }
                y.values.withUnsafeMutableBufferPointer { yBuffer in
                    a.values.withUnsafeBufferPointer { aBuffer in
                        let a = aBuffer.baseAddress!, out = yBuffer.baseAddress!
                        for i0 in Swift.stride(from: 0, to: T, by: 4) {     // Y_h[i, :] = Σ_{j ≤ i} A[i, j]·V_h[j, :]
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
        let T = rows.count, D = headWidth, C = width, scale = 1 / Float(D).squareRoot(), stride = Fused.padded(T)
        var dqkv = Matrix(rows: T, cols: 3 * C)
        var vT = [Float](repeating: 0, count: D * stride)              // V_hᵀ [D, T], rows padded to 16
        var dA = [Float](repeating: 0, count: 4 * stride)              // four rows of dA
        var dScores = Matrix(rows: T, cols: T)                         // dS: only j ≤ i is ever written
        saved.qkv.values.withUnsafeBufferPointer { qkvBuffer in
            dConcatenated.values.withUnsafeBufferPointer { dBuffer in
                let window = Fused.Rows(base: qkvBuffer.baseAddress! + rows.lowerBound * saved.qkv.cols, stride: saved.qkv.cols)
                let dYWindow = Fused.Rows(base: dBuffer.baseAddress! + rows.lowerBound * dConcatenated.cols, stride: dConcatenated.cols)
                for h in 0..<heads {
                    let q = window.offset(h * D), k = window.offset(C + h * D), v = window.offset(2 * C + h * D)
                    let dY = dYWindow.offset(h * D)
                    vT.withUnsafeMutableBufferPointer { Fused.transpose(v, rows: T, cols: D, into: $0.baseAddress!, stride: stride) }
                    saved.weights[b * heads + h].values.withUnsafeBufferPointer { aBuffer in
                        let a = aBuffer.baseAddress!
                        dScores.values.withUnsafeMutableBufferPointer { dSBuffer in
                            let dS = dSBuffer.baseAddress!
                            vT.withUnsafeBufferPointer { vTBuffer in
                                dA.withUnsafeMutableBufferPointer { dABuffer in
                                    let vT = vTBuffer.baseAddress!, dA = dABuffer.baseAddress!
                                    for i0 in Swift.stride(from: 0, to: T, by: 4) {
                                        // dA[i, j] = Σ_d dY[i, d]·V[j, d] for j ≤ i, then chapter 05's softmax backward
                                        let count = min(4, T - i0)
                                        Fused.combine(rows: count, width: min(stride, Fused.padded(i0 + count)), terms: 0..<D,
                                                      { r, d in dY.row(i0 + r)[d] }, { d in vT + d * stride }, { r in dA + r * stride })
                                        for r in 0..<count {
                                            let i = i0 + r, dARow = dA + r * stride
                                            var dot: Float = 0
                                            for j in 0...i { dot += a[i * T + j] * dARow[j] }
                                            for j in 0...i { dS[i * T + j] = a[i * T + j] * (dARow[j] - dot) }
                                        }
                                    }
                                }
                            }
                            dqkv.values.withUnsafeMutableBufferPointer { out in
                                let base = out.baseAddress!
                                for i0 in Swift.stride(from: 0, to: T, by: 4) {
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

    /// out [cols, stride] = the transpose of `rows × cols` numbers of m (stride ≥ rows; the rest stays 0).
    static func transpose(_ m: Rows, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows { for c in 0..<cols { out[c * stride + r] = m.row(r)[c] } }
    }

    /// out(r)[c] = Σ_{t in terms} w(r, t)·y(t)[c] for rows r < `rows` (at most 4) and columns c < width,
    /// t in order, one fused multiply-add per term: the arithmetic of the tile above.
    /// Four rows by 16 columns at a time keep eight SIMD8 sums in flight. One sum alone would wait
    /// on its own last multiply-add (4 cycles) at every term and leave the FMA units idle most of
    /// the time; the tile above keeps twelve for the same reason.
    @inline(__always)
    static func combine(rows: Int, width: Int, terms: Range<Int>, _ w: (Int, Int) -> Float,
                        _ y: (Int) -> UnsafePointer<Float>, _ out: (Int) -> UnsafeMutablePointer<Float>) {
        func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self) }
        func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
        }
        var c = 0
        if rows == 4 {
            while c + 16 <= width {
                var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
                var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
                for t in terms {
                    let row = y(t) + c, left = load(row), right = load(row + 8)
                    let w0 = SIMD8(repeating: w(0, t)); a0.addProduct(w0, left); b0.addProduct(w0, right)
                    let w1 = SIMD8(repeating: w(1, t)); a1.addProduct(w1, left); b1.addProduct(w1, right)
                    let w2 = SIMD8(repeating: w(2, t)); a2.addProduct(w2, left); b2.addProduct(w2, right)
                    let w3 = SIMD8(repeating: w(3, t)); a3.addProduct(w3, left); b3.addProduct(w3, right)
                }
                store(a0, out(0) + c); store(b0, out(0) + c + 8)
                store(a1, out(1) + c); store(b1, out(1) + c + 8)
                store(a2, out(2) + c); store(b2, out(2) + c + 8)
                store(a3, out(3) + c); store(b3, out(3) + c + 8)
                c += 16
            }
        }
        // The edges: one row at a time, eight columns, then one.
        for r in 0..<rows {
            var d = c
            while d + 8 <= width {
                var sum = SIMD8<Float>()
                for t in terms { sum.addProduct(SIMD8(repeating: w(r, t)), load(y(t) + d)) }
                store(sum, out(r) + d)
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
