import Foundation
import Testing
@testable import TinyGPT

// Appendix A2: exp eight at a time is Foundation's exp, sums along rows are a plain loop's, bit for
// bit, and the sum of squares behind the gradient's norm is Σx².

@Suite("A2 Beyond the Product") struct BeyondTheProductTests {
    @Test("exponentiate is Foundation's exp, bit for bit on Linux (glibc), over Float's whole range")
    func exponentiate() {
        // Every 7919th Float from −110 to 90, every Float near glibc's edges (−103.97, −103.28, 88.72),
        // and the special values. (The whole range, 2.2·10⁹ numbers, was checked once: 0 differ.)
        var xs: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.greatestFiniteMagnitude]
        for pattern in stride(from: UInt32(0), to: Float(90).bitPattern, by: 7919) { xs.append(Float(bitPattern: pattern)) }
        for pattern in stride(from: UInt32(0x8000_0000), to: Float(-110).bitPattern, by: 7919) { xs.append(Float(bitPattern: pattern)) }
        for edge: Float in [-103.972076, -103.278923, 88.7228317] {
            for ulps in -64...64 { xs.append(Float(bitPattern: UInt32(Int(edge.bitPattern) + ulps))) }
        }
        var m = Matrix(rows: 1, cols: xs.count, values: xs)
        m.values.exponentiate(0..<xs.count)
        // and short ranges at odd offsets: the tail of fewer than 8 is padded, its neighbours untouched
        var short = Matrix(rows: 1, cols: 20, values: (0..<20).map { Float($0) / 4 - 2 })
        short.values.exponentiate(3..<14)
        for (i, x) in xs.enumerated() {
            let expected = Foundation.exp(x), got = m.values[i]
            #if os(Linux)
            #expect(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN), "exp(\(x))")
            #else
            #expect(abs(got - expected) <= 2 * expected.ulp || got == expected || (got.isNaN && expected.isNaN), "exp(\(x))")
            #endif
        }
        for i in 0..<20 {
            let x = Float(i) / 4 - 2
            #expect((3...13).contains(i) ? abs(short.values[i] - Foundation.exp(x)) <= 2 * Foundation.exp(x).ulp : short.values[i] == x)
        }
    }

    @Test("rowSums adds each row as a plain loop does: the same bits, for 1 to 21 rows")
    func rowSumsAreSequential() {
        var random = RandomGenerator(seed: 21)
        for rows in [1, 7, 8, 9, 16, 21] {
            let m = Matrix.random(rows: rows, cols: 37, std: 3, random: &random)
            let sums = rowSums(rows: rows, cols: 37) { t, c in m[t, c] * m[t, c] }
            for t in 0..<rows {
                var plain: Float = 0
                for c in 0..<37 { plain += m[t, c] * m[t, c] }
                #expect(sums[t] == plain)
            }
        }
    }

    @Test("SumOfSquares is Σx² in Double over every array added, whatever their lengths around the 8 lanes (1e-12 relative)")
    func sumOfSquares() {
        var random = RandomGenerator(seed: 22)
        var squares = SumOfSquares()
        var plain = 0.0
        #expect(squares.total == 0)
        for length in [0, 1, 7, 8, 9, 16, 31, 1000] {
            let values = Matrix.random(rows: 1, cols: length, std: 2, random: &random).values
            squares.add(values)
            for x in values { plain += Double(x) * Double(x) }
            #expect(abs(squares.total - plain) <= 1e-12 * plain, "after \(length) more")
        }
    }
}
