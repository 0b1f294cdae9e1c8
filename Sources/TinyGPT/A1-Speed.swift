import Dispatch

// MARK: - Appendix A1: Speed (docs/A1-speed.md)
//
// The one place where the code trades plainness for speed. Every matrix product of every layer
// (`Matrix.times` and its transposed forms, chapter 00) lands here. It computes exactly what
// `definitionProduct` computes, C = A·B, in three ideas:
//   1. Register tiles: a 4×16 block of C lives in eight SIMD8 registers while k runs, so each
//      number loaded from A or B is used 16 or 4 times instead of once.
//   2. Fused multiply-add: acc += a·b in one instruction (needs AVX2/FMA codegen: Package.swift).
//   3. Cores: blocks of output rows go to different threads. Each C[i, j] is still summed by one
//      thread, over k in order 0, 1, 2…, so the result is bit-identical whatever the thread count.

public enum FastProduct {
    /// How many threads a large product may use. Set once by the command line before any work;
    /// results do not depend on it (see 3. above).
    nonisolated(unsafe) public static var threads = 1

    static let tileRows = 4          // rows of C per register tile
    static let tileCols = 16         // columns of C per register tile: two SIMD8<Float>
    /// Below this many multiply-adds a second thread costs more (~40 µs to start) than it saves.
    /// (Tests lower it to split tiny products; like `threads`, it never changes a result.)
    nonisolated(unsafe) public static var parallelThreshold = 2_000_000

    /// a [n, k] · b [k, m] → [n, m]
    public static func multiply(_ a: Matrix, _ b: Matrix) -> Matrix {
        let n = a.rows, k = a.cols, m = b.cols
        var c = Matrix(rows: n, cols: m)
        guard n > 0, m > 0, k > 0 else { return c }
        a.values.withUnsafeBufferPointer { aBuffer in
            b.values.withUnsafeBufferPointer { bBuffer in
                c.values.withUnsafeMutableBufferPointer { cBuffer in
                    let operands = Operands(a: aBuffer.baseAddress!, b: bBuffer.baseAddress!,
                                            c: cBuffer.baseAddress!, k: k, m: m)
                    let rowTiles = (n + tileRows - 1) / tileRows
                    let parts = (threads > 1 && n * m * k >= parallelThreshold) ? min(threads, rowTiles) : 1
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
        }
        return c
    }

    /// Raw views of A, B and C for one product. Each thread writes only its own rows of C.
    struct Operands: @unchecked Sendable {
        let a: UnsafePointer<Float>          // [n, k]
        let b: UnsafePointer<Float>          // [k, m]
        let c: UnsafeMutablePointer<Float>   // [n, m]
        let k: Int
        let m: Int

        @inline(__always) func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
            UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
        }

        @inline(__always) func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
        }

        /// C[rows, :] = A[rows, :] · B
        func multiplyRows(_ rows: Range<Int>) {
            var i = rows.lowerBound
            while i + 4 <= rows.upperBound {
                var j = 0
                while j + 16 <= m {
                    tile4x16(row: i, col: j)
                    j += 16
                }
                for row in i..<i + 4 { single(row: row, cols: j..<m) }
                i += 4
            }
            for row in i..<rows.upperBound { single(row: row, cols: 0..<m) }
        }

        /// The register tile: C[i..<i+4, j..<j+16] in eight SIMD8 accumulators.
        @inline(__always) func tile4x16(row i: Int, col j: Int) {
            var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
            var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
            var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
            var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
            let a0 = a + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
            var bRow = b + j
            for p in 0..<k {
                let b0 = load(bRow), b1 = load(bRow + 8)
                let x0 = SIMD8<Float>(repeating: a0[p]); c00.addProduct(x0, b0); c01.addProduct(x0, b1)
                let x1 = SIMD8<Float>(repeating: a1[p]); c10.addProduct(x1, b0); c11.addProduct(x1, b1)
                let x2 = SIMD8<Float>(repeating: a2[p]); c20.addProduct(x2, b0); c21.addProduct(x2, b1)
                let x3 = SIMD8<Float>(repeating: a3[p]); c30.addProduct(x3, b0); c31.addProduct(x3, b1)
                bRow += m
            }
            let out = c + i * m + j
            store(c00, out); store(c01, out + 8)
            store(c10, out + m); store(c11, out + m + 8)
            store(c20, out + 2 * m); store(c21, out + 2 * m + 8)
            store(c30, out + 3 * m); store(c31, out + 3 * m + 8)
        }

        /// The edges that do not fill a tile: one row, 8 columns at a time, then one at a time.
        /// Same order over k and the same fused multiply-add as the tile.
        func single(row i: Int, cols: Range<Int>) {
            let aRow = a + i * k
            var j = cols.lowerBound
            while j + 8 <= cols.upperBound {
                var sum = SIMD8<Float>()
                for p in 0..<k { sum.addProduct(SIMD8<Float>(repeating: aRow[p]), load(b + p * m + j)) }
                store(sum, c + i * m + j)
                j += 8
            }
            while j < cols.upperBound {
                var sum: Float = 0
                for p in 0..<k { sum.addProduct(aRow[p], b[p * m + j]) }
                c[i * m + j] = sum
                j += 1
            }
        }
    }
}
