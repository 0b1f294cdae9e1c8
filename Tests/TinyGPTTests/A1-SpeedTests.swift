import Foundation
import Testing
@testable import TinyGPT

// Appendix A1: the fast product computes the three-loop definition of chapter 00, on every shape,
// through views, with any number of threads, skipping attention's triangle of zeros.

@Suite("A1 Speed") struct SpeedTests {
    func random(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var generator = RandomGenerator(seed: seed)
        return Matrix.random(rows: rows, cols: cols, std: 1, random: &generator)
    }

    /// A random [T, T] matrix with zeros above its diagonal, like attention's weights A.
    func lowerTriangular(_ T: Int, seed: UInt64) -> Matrix {
        var l = random(T, T, seed: seed)
        for i in 0..<T { for j in i + 1 ..< T { l[i, j] = 0 } }
        return l
    }

    @Test("fast product equals the definition on odd shapes (within 1e-5 relative: only rounding differs)",
          arguments: [(1, 1, 1), (7, 13, 5), (4, 16, 16), (5, 3, 17), (9, 31, 33), (13, 8, 40), (2, 64, 7)])
    func agreesWithDefinition(shape: (Int, Int, Int)) {
        let (n, k, m) = shape
        let a = random(n, k, seed: 1), b = random(k, m, seed: 2)
        let fast = a.times(b), reference = definitionProduct(a, b)
        #expect(fast.rows == n && fast.cols == m)
        // Each element sums k products of N(0,1) numbers; Float rounding stays far below 1e-5·k.
        #expect(maxDifference(fast.values, reference.values) <= 1e-5 * Float(k))
    }

    @Test("transposed forms: A·Bᵀ and Aᵀ·B equal the definition with explicit transposes")
    func transposedForms() {
        let a = random(7, 13, seed: 3), b = random(5, 13, seed: 4), c = random(7, 5, seed: 5)
        #expect(maxDifference(a.timesTransposed(b).values, definitionProduct(a, b.transposed()).values) < 1e-4)
        #expect(maxDifference(a.transposedTimes(c).values, definitionProduct(a.transposed(), c).values) < 1e-4)
    }

    @Test("transposed forms on shapes that reach the tile, the packed Aᵀ panel and two cache blocks of k")
    func transposedFormsThroughTheTile() {
        // Xᵀ·dY: X [300, 13], dY [300, 67] → [13, 67]: 2 tiles of rows + a short tile of 1 row, 4 strips of 16
        // (2 of 32 with AVX-512) + 3 edge columns,
        // k = 300 in two blocks, and C wide enough (67 ≥ 64) for A to be packed into a panel.
        let x = random(300, 13, seed: 8), dy = random(300, 67, seed: 9)
        #expect(maxDifference(x.transposedTimes(dy).values, definitionProduct(x.transposed(), dy).values) <= 1e-5 * 300)
        // Q·Kᵀ: Q [13, 300], K [67, 300] → [13, 67]: Kᵀ packed straight from K, last strip zero-padded.
        let q = random(13, 300, seed: 10), k = random(67, 300, seed: 11)
        #expect(maxDifference(q.timesTransposed(k).values, definitionProduct(q, k.transposed()).values) <= 1e-5 * 300)
    }

    @Test("fewer rows than a tile (generation's one token): B read where it lies gives the very bits of the tiled product, in every form, through views, on two threads",
          arguments: [1, 2, 5])
    func fewRowsAreTheTilesBits(rows: Int) {
        // 12 rows go through the tile; their first `rows` rows alone go through fewRows. k = 300: two cache blocks.
        let a = random(12, 300, seed: 30), b = random(300, 70, seed: 31), bT = random(70, 300, seed: 32), aT = random(300, 12, seed: 33)
        let few = a.block(rows: 0 ..< rows, cols: 0 ..< 300), fewT = aT.block(rows: 0 ..< 300, cols: 0 ..< rows)
        for threads in [1, 2] {
            let saved = (FastProduct.threads, FastProduct.parallelThreshold)
            (FastProduct.threads, FastProduct.parallelThreshold) = (threads, 1)
            defer { (FastProduct.threads, FastProduct.parallelThreshold) = saved }
            #expect(few.times(b).values == Array(a.times(b).values.prefix(rows * 70)))
            #expect(few.timesTransposed(bT).values == Array(a.timesTransposed(bT).values.prefix(rows * 70)))
            #expect(fewT.transposedTimes(b).values == Array(aT.transposedTimes(b).values.prefix(rows * 70)))
            #expect(a.view(rows: 3 ..< 3 + rows, cols: 0 ..< 300).times(b).values == Array(a.times(b).values[3 * 70 ..< (3 + rows) * 70]))
        }
    }

    @Test("a product of views reads the blocks where they lie: the same bits as on copies of them",
          arguments: [(5, 3, 16), (13, 16, 16), (32, 16, 32), (7, 48, 40), (70, 9, 24)])
    func views(shape: (Int, Int, Int)) {
        // n, k, m around the tiles: 6 rows, one Vector (half a strip) and two (a whole strip) of columns
        let (n, k, m) = shape
        let big = random(n + k + m + 9, k + m + n + 7, seed: 20)
        func view(_ rows: Int, _ cols: Int, at r: Int, _ c: Int) -> MatrixView { big.view(rows: r ..< r + rows, cols: c ..< c + cols) }
        func copy(_ v: MatrixView) -> Matrix { big.block(rows: v.rowRange, cols: v.colRange) }
        let a = view(n, k, at: 3, 5), b = view(k, m, at: 1, 2), bT = view(m, k, at: 2, 6), aT = view(k, n, at: 4, 1)
        #expect(a.times(b).values == copy(a).times(copy(b)).values)
        #expect(a.timesTransposed(bT).values == copy(a).timesTransposed(copy(bT)).values)
        #expect(aT.transposedTimes(b).values == copy(aT).transposedTimes(copy(b)).values)
        #expect(maxDifference(a.times(b).values, definitionProduct(copy(a), copy(b)).values) <= 1e-5 * Float(k))
    }

    @Test("thread count never changes a bit of the product")
    func threadsDoNotChangeResults() {
        let a = random(37, 29, seed: 6), b = random(29, 45, seed: 7)
        let savedThreads = FastProduct.threads, savedThreshold = FastProduct.parallelThreshold
        defer { FastProduct.threads = savedThreads; FastProduct.parallelThreshold = savedThreshold }
        FastProduct.parallelThreshold = 0
        FastProduct.threads = 1
        let one = a.times(b)
        FastProduct.threads = 2
        let two = a.times(b)
        FastProduct.threads = 3
        let three = a.times(b)
        #expect(one.values == two.values && one.values == three.values)
    }

    @Test("skipping attention's triangle of zeros changes no bit of what is kept (1 and 2 threads)",
          arguments: [1, 6, 7, 13, 40, 302])
    func triangles(T: Int) {
        // T = 302: two cache blocks of k, where a tile's first block is not k's first, and a short last tile.
        let savedThreads = FastProduct.threads, savedThreshold = FastProduct.parallelThreshold
        defer { FastProduct.threads = savedThreads; FastProduct.parallelThreshold = savedThreshold }
        FastProduct.parallelThreshold = 0
        let l = lowerTriangular(T, seed: 12), b = random(T, 70, seed: 13)    // 70 columns: 4 strips + edge, packed Aᵀ
        let q = random(T, 20, seed: 14), k = random(T, 20, seed: 15)
        var lowerOfFull = q.timesTransposed(k)                               // the full product, masked by hand
        for i in 0..<T { for j in i + 1 ..< T { lowerOfFull[i, j] = 0 } }
        for threads in [1, 2] {
            FastProduct.threads = threads
            #expect(l.times(b, skipping: .aboveDiagonalOfSelf).values == l.times(b).values)                      // A·V, dS·K
            #expect(l.transposedTimes(b, skipping: .aboveDiagonalOfSelf).values == l.transposedTimes(b).values)  // Aᵀ·dY, dSᵀ·Q
            #expect(q.timesTransposed(k, skipping: .aboveDiagonalOfResult).values == lowerOfFull.values)         // Q·Kᵀ, dY·Vᵀ
        }
    }
}
