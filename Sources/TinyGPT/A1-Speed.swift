import Dispatch

// MARK: - Appendix A1: Speed (docs/A1-speed.md)
//
// The one place where the code trades plainness for speed. Every matrix product of every layer
// (`Matrix.times` and its transposed forms, chapter 00) lands here. It computes what
// `definitionProduct` computes, C = A·B (up to rounding: a fused multiply-add rounds once where
// the plain loop rounds twice), with four ideas:
//   1. Register tiles: a 6×W block of C lives in twelve `Vector` registers while k runs, so each
//      number loaded from A or B is used W or 6 times instead of once. W = 16 with AVX2 (SIMD8
//      registers) and on arm64; W = 32 when Package.swift found AVX-512 (SIMD16 registers).
//   2. Fused multiply-add: acc += a·b in one instruction (needs AVX2/FMA codegen: Package.swift).
//   3. Cache blocks: k is taken 256 at a time, so the six rows of A a tile reads (6 KB) stay in
//      the fastest cache while they meet every strip of B, and B's columns 2,048 at a time, so
//      the block of B they meet stays cached too. A tile leaves its partial sums in C between
//      blocks and picks them up again: the order of the additions, k = 0, 1, 2…, is the same as
//      without blocks.
//   4. Cores: blocks of output rows go to different threads. Each C[i, j] is still summed by one
//      thread, over k in order, so the result is bit-identical whatever the thread count.

public enum FastProduct {
    /// How many threads a large product may use. Set once by the command line before any work;
    /// results do not depend on it (see 4. above).
    nonisolated(unsafe) public static var threads = 1

#if WIDE_TILES
    public typealias Vector = SIMD16<Float>              // one AVX-512 register (Package.swift)
#else
    public typealias Vector = SIMD8<Float>               // one AVX2 register, or two on arm64
#endif
    public static let tileRows = 6                       // rows of C per register tile
    public static let tileCols = 2 * Vector.scalarCount  // columns of C per tile, W: 16, or 32 with AVX-512
    static let depthBlock = 256                          // k values per cache block
    static let columnWidth = 2048                        // columns of B per cache block (a multiple of W)
    /// Below this many multiply-adds a second thread costs more (~40 µs to start) than it saves.
    /// (Tests lower it to split tiny products; like `threads`, it never changes a result.)
    nonisolated(unsafe) public static var parallelThreshold = 2_000_000

    /// A SIMD vector (SIMD8 or SIMD16 of Float) read from, or written to, any address: no alignment needed.
    @inline(__always) static func load<V: SIMD>(_ pointer: UnsafePointer<Float>) -> V where V.Scalar == Float {
        UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store<V: SIMD>(_ value: V, _ pointer: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: V.self)
    }

    /// a [n, k] · b [k, m] → [n, m]. With `transposingA`, a is [k, n] and is read as aᵀ; with
    /// `transposingB`, b is [m, k] and is read as bᵀ. Neither transpose is ever built: A is read
    /// through two strides in the tile below, and B is read once, while it is packed into strips.
    /// Either may be a view of a block of a larger matrix (chapter 00): it is read where it lies.
    /// `skipping` names a triangle of zeros the product need not compute (chapter 00's `Triangle`).
    public static func multiply(_ a: MatrixView, _ b: MatrixView, transposingA: Bool = false, transposingB: Bool = false,
                                skipping triangle: Triangle = .none) -> Matrix {
        let n = transposingA ? a.cols : a.rows, k = transposingA ? a.rows : a.cols
        let m = transposingB ? b.rows : b.cols
        guard n > 0, m > 0, k > 0 else { return Matrix(rows: n, cols: m) }
        if n < tileRows && triangle == .none { return fewRows(a, b, transposingA: transposingA, transposingB: transposingB, n: n, k: k, m: m) }
        let strips = packStrips(b, transposed: transposingB)
        // Every element of C is written below, so C starts uninitialised (no zero-fill pass),
        // unless a triangle is skipped: then the skipped elements are the zeros C starts with.
        let values = [Float](unsafeUninitializedCapacity: n * m) { cBuffer, initialized in
            if triangle != .none { cBuffer.initialize(repeating: 0) }
            a.matrix.values.withUnsafeBufferPointer { aBuffer in
                strips.withUnsafeBufferPointer { stripBuffer in
                    // a stored zero above its diagonal is, read as aᵀ, zero below it
                    let zerosOfA: Operands.Zeros = triangle != .aboveDiagonalOfSelf ? .none
                                                 : transposingA ? .belowDiagonal : .aboveDiagonal
                    let stride = a.matrix.cols                   // from one row of a's matrix to the next
                    let operands = Operands(a: aBuffer.baseAddress! + a.rowRange.lowerBound * stride + a.colRange.lowerBound,
                                            strips: stripBuffer.baseAddress!,
                                            c: cBuffer.baseAddress!, k: k, m: m,
                                            aRowStep: transposingA ? 1 : stride, aColumnStep: transposingA ? stride : 1,
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

    /// Fewer rows than a tile (generation's one new token, chapter 14): packing B would cost more
    /// than the product, and a tile would compute rows of zeros. So B is read where it lies, once:
    /// row p of B added into C's row with weight A(i, p), or, with `transposingB`, each C[i, j] the
    /// dot product of A's row i with b's row j. Each C[i, j] is still one fused multiply-add per p,
    /// p = 0, 1, 2… from 0, as in the tile: the same bits as with many rows. Threads take columns.
    static func fewRows(_ a: MatrixView, _ b: MatrixView, transposingA: Bool, transposingB: Bool, n: Int, k: Int, m: Int) -> Matrix {
        let values = [Float](unsafeUninitializedCapacity: n * m) { cBuffer, initialized in
            a.matrix.values.withUnsafeBufferPointer { aBuffer in
                b.matrix.values.withUnsafeBufferPointer { bBuffer in
                    let aStride = a.matrix.cols, bStride = b.matrix.cols
                    let aBase = aBuffer.baseAddress! + a.rowRange.lowerBound * aStride + a.colRange.lowerBound
                    let bBase = bBuffer.baseAddress! + b.rowRange.lowerBound * bStride + b.colRange.lowerBound
                    let (aRowStep, aColumnStep) = transposingA ? (1, aStride) : (aStride, 1)   // A(i, p) at aBase[i·row + p·column]
                    let rows = RowsOfC(a: aBase, aRowStep: aRowStep, aColumnStep: aColumnStep, b: bBase, bStride: bStride,
                                       transposingB: transposingB, c: cBuffer.baseAddress!, n: n, k: k, m: m)
                    let parts = (threads > 1 && !isSharingCores && n * m * k >= parallelThreshold) ? threads : 1
                    if parts == 1 { rows.compute(columns: 0..<m) } else {
                        let chunk = (m / parts + 15) / 16 * 16                       // whole Vectors per thread
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            let first = min(m, part * chunk), end = part == parts - 1 ? m : min(m, first + chunk)
                            if first < end { rows.compute(columns: first..<end) }
                        }
                    }
                }
            }
            initialized = n * m
        }
        return Matrix(rows: n, cols: m, values: values)
    }

    /// Raw views for `fewRows`; each thread writes only its own columns of C.
    struct RowsOfC: @unchecked Sendable {
        let a: UnsafePointer<Float>, aRowStep: Int, aColumnStep: Int     // A(i, p) at a[i·aRowStep + p·aColumnStep]
        let b: UnsafePointer<Float>, bStride: Int                        // b's rows bStride apart
        let transposingB: Bool
        let c: UnsafeMutablePointer<Float>, n: Int, k: Int, m: Int       // C [n, m]

        func compute(columns: Range<Int>) {
            for i in 0..<n {
                let aRow = a + i * aRowStep, cRow = c + i * m
                if transposingB {
                    multiplyByRows(aRow, aColumnStep, b, bStride, cRow, k: k, columns: columns)
                } else {
                    addRows(aRow, aColumnStep, b, bStride, cRow, k: k, columns: columns)
                }
            }
        }
    }

    /// cRow[j] = Σ_p aRow[p·step] · B[p, j] for j in `columns`, B's rows `bStride` apart: each row of
    /// B is read once, in order, and added into the row of C (which stays in the fastest cache).
    static func addRows(_ aRow: UnsafePointer<Float>, _ step: Int, _ b: UnsafePointer<Float>, _ bStride: Int,
                        _ cRow: UnsafeMutablePointer<Float>, k: Int, columns: Range<Int>) {
        let width = Vector.scalarCount, vectorEnd = columns.lowerBound + columns.count / width * width
        (cRow + columns.lowerBound).initialize(repeating: 0, count: columns.count)
        for p in 0..<k {
            let x = aRow[p * step], bRow = b + p * bStride, xs = Vector(repeating: x)
            var j = columns.lowerBound
            while j < vectorEnd {
                var sum: Vector = load(cRow + j)
                sum.addProduct(xs, load(bRow + j))
                store(sum, cRow + j)
                j += width
            }
            while j < columns.upperBound { cRow[j].addProduct(x, bRow[j]); j += 1 }
        }
    }

    /// cRow[j] = Σ_p aRow[p·step] · b[j, p] for j in `columns`: one dot product per row of b, eight
    /// rows at a time so that eight sums are in flight, each summed over p in order.
    static func multiplyByRows(_ aRow: UnsafePointer<Float>, _ step: Int, _ b: UnsafePointer<Float>, _ bStride: Int,
                               _ cRow: UnsafeMutablePointer<Float>, k: Int, columns: Range<Int>) {
        var j = columns.lowerBound
        while j + 8 <= columns.upperBound {
            let r = b + j * bStride
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
            for p in 0..<k {
                let x = aRow[p * step]
                s0.addProduct(x, r[p]); s1.addProduct(x, r[bStride + p])
                s2.addProduct(x, r[2 * bStride + p]); s3.addProduct(x, r[3 * bStride + p])
                s4.addProduct(x, r[4 * bStride + p]); s5.addProduct(x, r[5 * bStride + p])
                s6.addProduct(x, r[6 * bStride + p]); s7.addProduct(x, r[7 * bStride + p])
            }
            cRow[j] = s0; cRow[j + 1] = s1; cRow[j + 2] = s2; cRow[j + 3] = s3
            cRow[j + 4] = s4; cRow[j + 5] = s5; cRow[j + 6] = s6; cRow[j + 7] = s7
            j += 8
        }
        while j < columns.upperBound {
            let r = b + j * bStride
            var sum: Float = 0
            for p in 0..<k { sum.addProduct(aRow[p * step], r[p]) }
            cRow[j] = sum
            j += 1
        }
    }

    /// B [k, m] re-laid as strips of W = 16 (or 32) columns, each strip k rows of W contiguous numbers, so a
    /// tile reads B from consecutive memory (the hardware prefetcher's favourite) instead of
    /// jumping a row's length per row. The last strip is padded with zeros when m is not a multiple
    /// of W. With `transposed`, b is [m, k] and B = bᵀ: row j of b becomes column j of a strip,
    /// so Bᵀ is never built on its own.
    static func packStrips(_ b: MatrixView, transposed: Bool) -> [Float] {
        let k = transposed ? b.cols : b.rows, m = transposed ? b.rows : b.cols
        let count = (m + tileCols - 1) / tileCols, stride = b.matrix.cols     // b(r, c) at from[r·stride + c]
        return [Float](unsafeUninitializedCapacity: count * k * tileCols) { buffer, initialized in
            b.matrix.values.withUnsafeBufferPointer { source in
                let from = source.baseAddress! + b.rowRange.lowerBound * stride + b.colRange.lowerBound
                for strip in 0..<count {
                    let first = strip * tileCols, width = min(tileCols, m - first)     // columns first ..< first + width
                    let to = buffer.baseAddress! + strip * k * tileCols                // the strip: row p at to + p·W
                    if width < tileCols { (to).initialize(repeating: 0, count: k * tileCols) }
                    if transposed {
                        // row first + c of b is column c of the strip: read along it, write every W-th number
                        for c in 0..<width {
                            let column = from + (first + c) * stride
                            for p in 0..<k { to[p * tileCols + c] = column[p] }
                        }
                    } else if width == tileCols {
                        let h = tileCols / 2
                        for p in 0..<k {                                                // W numbers in a row: two Vectors
                            store(load(from + p * stride + first) as Vector, to + p * tileCols)
                            store(load(from + p * stride + first + h) as Vector, to + p * tileCols + h)
                        }
                    } else {
                        for p in 0..<k { for c in 0..<width { to[p * tileCols + c] = from[p * stride + first + c] } }
                    }
                }
            }
            initialized = count * k * tileCols
        }
    }

    /// Raw views of A, B and C for one product. Each thread writes only its own rows of C.
    struct Operands: @unchecked Sendable {
        let a: UnsafePointer<Float>          // A(i, p) at a[i·aRowStep + p·aColumnStep]
        let strips: UnsafePointer<Float>     // B(p, j) at strips[(j / W · k + p) · W + j % W] (packStrips)
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

        /// C[rows, :] = A[rows, :] · B, one cache block of k at a time.
        func multiplyRows(_ rows: Range<Int>) {
            let R = FastProduct.tileRows, W = FastProduct.tileCols
            // Aᵀ's rows are columns of a [k, n] array, n numbers apart. For a wide enough C, a tile's R
            // of them are first copied into a panel where the R numbers of each p sit side by side.
            let packsA = aColumnStep != 1 && m >= 64
            // When rows.count is not a multiple of R, the last tile is short: its rows are packed
            // with rows of zeros below them, and it writes into an [R, m] scratch of its own.
            let shortRows = rows.count % R
            // (Both are written before they are read: no zero-fill. Small ones live on the stack.)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: packsA || shortRows > 0 ? min(k, FastProduct.depthBlock) * R : 0) { panelBuffer in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: shortRows > 0 ? R * m : 0) { scratchBuffer in
                    var kStart = 0
                    while kStart < k {
                        let block = kStart ..< min(k, kStart + FastProduct.depthBlock)
                        // Columns of B, `columnWidth` at a time: the block of B the row tiles meet (256 × 2,048
                        // numbers, 2 MB) stays in the cache while every row tile of this thread passes it,
                        // instead of coming from memory again for each of them when C is very wide (GPT-2's
                        // 50,257 logits). Each C[i, j] still adds its p in order: the same bits.
                        var columnStart = 0
                        while columnStart < m {
                            let columnBlock = columnStart ..< (m - columnStart > FastProduct.columnWidth ? columnStart + FastProduct.columnWidth : m)
                            var i = rows.lowerBound
                            while i < rows.upperBound {               // R rows of A (6 KB at most): stay cached…
                                let tileRows = i ..< min(i + R, rows.upperBound), depth = block.clamped(to: sums(tileRows))
                                if !depth.isEmpty {
                                    let first = depth.lowerBound == sums(tileRows).lowerBound   // C starts here, or adds on
                                    // A(i + r, p) at aTile[r·rowStep + (p − depth.lowerBound)·columnStep]
                                    var aTile = a + i * aRowStep + depth.lowerBound * aColumnStep
                                    var rowStep = aRowStep, columnStep = aColumnStep
                                    if packsA || tileRows.count < R, let panel = panelBuffer.baseAddress {
                                        if tileRows.count == R && rowStep == 1 {     // Aᵀ: the six numbers of a p lie side by side
                                            for p in 0..<depth.count {
                                                let from = aTile + p * columnStep, to = panel + p * R
                                                store(UnsafeRawPointer(from).loadUnaligned(as: SIMD4<Float>.self), to)
                                                store(UnsafeRawPointer(from + 4).loadUnaligned(as: SIMD2<Float>.self), to + 4)
                                            }
                                        } else {
                                            for p in 0..<depth.count {
                                                for r in 0..<R {
                                                    panel[p * R + r] = r < tileRows.count ? aTile[r * rowStep + p * columnStep] : 0
                                                }
                                            }
                                        }
                                        (aTile, rowStep, columnStep) = (UnsafePointer(panel), 1, R)
                                    }
                                    let out = tileRows.count == R ? c + i * m : scratchBuffer.baseAddress!
                                    var j = columnBlock.lowerBound
                                    while j + W <= columnBlock.upperBound && j < columns(tileRows) {     // …while they meet each W-column strip of B
                                        tile(aTile, rowStep: rowStep, columnStep: columnStep, out: out + j, col: j, depth: depth, first: first)
                                        j += W
                                    }
                                    if columnBlock.upperBound == m && j + W / 2 <= m && j < columns(tileRows) {   // half a strip left: one Vector wide
                                        halfTile(aTile, rowStep: rowStep, columnStep: columnStep, out: out + j, col: j, depth: depth, first: first)
                                        j += W / 2
                                    }
                                    for row in tileRows where columnBlock.upperBound == m && j < columns(row ..< row + 1) {
                                        single(row: row, cols: j ..< columns(row ..< row + 1), block: block)
                                    }
                                }
                                i = tileRows.upperBound
                            }
                            columnStart = columnBlock.upperBound
                        }
                        kStart = block.upperBound
                    }
                    // The short tile's rows, from its scratch into C (the tiles' columns; `single` did the rest).
                    let tiled = m / W * W + (m % W >= W / 2 ? W / 2 : 0)
                    for r in 0..<shortRows {
                        (c + (rows.upperBound - shortRows + r) * m).update(from: scratchBuffer.baseAddress! + r * m, count: tiled)
                    }
                }
            }
            // A tile on the diagonal computed some C[i, j] with j > i: they are unwanted, and 0.
            if lowerC {
                for i in rows where i + 1 < m { (c + i * m + i + 1).update(repeating: 0, count: m - i - 1) }
            }
        }

        /// The register tile: six rows by W columns j..<j+W of C (or of a short tile's scratch), starting
        /// at `out`, rows m apart, in twelve `Vector` accumulators (W/2 numbers each), over k in `depth`.
        /// Per k: two loads of B, six broadcasts of A, twelve fused multiply-adds (6·W multiply-adds, 12·W FLOPs).
        /// `first`: start from 0, or add on to C's partial sums from earlier blocks of k.
        @inline(__always) func tile(_ aTile: UnsafePointer<Float>, rowStep: Int, columnStep: Int,
                                    out: UnsafeMutablePointer<Float>, col j: Int, depth: Range<Int>, first: Bool) {
            typealias Vector = FastProduct.Vector
            let W = FastProduct.tileCols, h = W / 2                     // a row of the tile: two Vectors of h
            func start(_ r: Int, _ half: Int) -> Vector { first ? Vector() : load(out + r * m + half) }
            var c00 = start(0, 0), c01 = start(0, h), c10 = start(1, 0), c11 = start(1, h)
            var c20 = start(2, 0), c21 = start(2, h), c30 = start(3, 0), c31 = start(3, h)
            var c40 = start(4, 0), c41 = start(4, h), c50 = start(5, 0), c51 = start(5, h)
            let a0 = aTile, a1 = a0 + rowStep, a2 = a1 + rowStep
            let a3 = a2 + rowStep, a4 = a3 + rowStep, a5 = a4 + rowStep
            var bRow = strips + (j / W * k + depth.lowerBound) * W
            var q = 0
            for _ in depth {
                let b0: Vector = load(bRow), b1: Vector = load(bRow + h)
                let x0 = Vector(repeating: a0[q]); c00.addProduct(x0, b0); c01.addProduct(x0, b1)
                let x1 = Vector(repeating: a1[q]); c10.addProduct(x1, b0); c11.addProduct(x1, b1)
                let x2 = Vector(repeating: a2[q]); c20.addProduct(x2, b0); c21.addProduct(x2, b1)
                let x3 = Vector(repeating: a3[q]); c30.addProduct(x3, b0); c31.addProduct(x3, b1)
                let x4 = Vector(repeating: a4[q]); c40.addProduct(x4, b0); c41.addProduct(x4, b1)
                let x5 = Vector(repeating: a5[q]); c50.addProduct(x5, b0); c51.addProduct(x5, b1)
                q += columnStep
                bRow += W
            }
            store(c00, out); store(c01, out + h)
            store(c10, out + m); store(c11, out + m + h)
            store(c20, out + 2 * m); store(c21, out + 2 * m + h)
            store(c30, out + 3 * m); store(c31, out + 3 * m + h)
            store(c40, out + 4 * m); store(c41, out + 4 * m + h)
            store(c50, out + 5 * m); store(c51, out + 5 * m + h)
        }

        /// The tile of six rows by one `Vector` (W/2 columns): six accumulators, for the first half of
        /// a strip when only that half is left (a head's 16 or 32 columns in attention, chapter 05).
        @inline(__always) func halfTile(_ aTile: UnsafePointer<Float>, rowStep: Int, columnStep: Int,
                                        out: UnsafeMutablePointer<Float>, col j: Int, depth: Range<Int>, first: Bool) {
            typealias Vector = FastProduct.Vector
            let W = FastProduct.tileCols
            func start(_ r: Int) -> Vector { first ? Vector() : load(out + r * m) }
            var c0 = start(0), c1 = start(1), c2 = start(2), c3 = start(3), c4 = start(4), c5 = start(5)
            let a0 = aTile, a1 = a0 + rowStep, a2 = a1 + rowStep
            let a3 = a2 + rowStep, a4 = a3 + rowStep, a5 = a4 + rowStep
            var bRow = strips + (j / W * k + depth.lowerBound) * W
            var q = 0
            for _ in depth {
                let b: Vector = load(bRow)
                c0.addProduct(Vector(repeating: a0[q]), b); c1.addProduct(Vector(repeating: a1[q]), b)
                c2.addProduct(Vector(repeating: a2[q]), b); c3.addProduct(Vector(repeating: a3[q]), b)
                c4.addProduct(Vector(repeating: a4[q]), b); c5.addProduct(Vector(repeating: a5[q]), b)
                q += columnStep
                bRow += W
            }
            store(c0, out); store(c1, out + m); store(c2, out + 2 * m)
            store(c3, out + 3 * m); store(c4, out + 4 * m); store(c5, out + 5 * m)
        }

        /// The edges that do not fill a tile: one row, 8 columns at a time, then one at a time.
        /// Same order over k and the same fused multiply-add as the tile.
        func single(row i: Int, cols: Range<Int>, block: Range<Int>) {
            let depth = block.clamped(to: sums(i ..< i + 1))
            guard !depth.isEmpty else { return }
            let aRow = a + i * aRowStep
            let first = depth.lowerBound == sums(i ..< i + 1).lowerBound, W = FastProduct.tileCols
            var j = cols.lowerBound
            while j + 8 <= cols.upperBound {        // j is a multiple of 8: the 8 columns sit in one strip
                let column = strips + (j / W * k) * W + j % W
                var sum = first ? SIMD8<Float>() : load(c + i * m + j)
                for p in depth { sum.addProduct(SIMD8<Float>(repeating: aRow[p * aColumnStep]), load(column + p * W)) }
                store(sum, c + i * m + j)
                j += 8
            }
            while j < cols.upperBound {
                let column = strips + (j / W * k) * W + j % W
                var sum: Float = first ? 0 : c[i * m + j]
                for p in depth { sum.addProduct(aRow[p * aColumnStep], column[p * W]) }
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
