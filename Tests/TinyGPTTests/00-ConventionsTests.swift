import Foundation
import Testing
@testable import TinyGPT

// Chapter 00: the matrix and its layout, the linear step and its backward, the seeded generator.

@Suite("00 Conventions") struct ConventionsTests {
    @Test("a linear step is X·W + b with W [in, out]: a worked example of three tokens")
    func linearByHand() {
        // Three tokens (rows) of width 2, to width 3.
        let x = Matrix(rows: 3, cols: 2, values: [1, 0,
                                                  0, 1,
                                                  1, 1])
        let layer = Linear(weight: Matrix(rows: 2, cols: 3, values: [1, 2, 3,
                                                                     4, 5, 6]),
                           bias: Matrix(rows: 1, cols: 3, values: [0.5, 0, -0.5]))
        #expect(layer.forward(x).values == [1.5, 2, 2.5,
                                            4.5, 5, 5.5,
                                            5.5, 7, 8.5])
    }

    @Test("the generator repeats itself for a seed, and its normals have mean ≈ 0, variance ≈ 1")
    func randomGenerator() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        #expect((0..<10).map { _ in a.next() } == (0..<10).map { _ in b.next() })
        var g = RandomGenerator(seed: 1)
        let samples = (0..<20_000).map { _ in g.normal() }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(samples.count)
        #expect(abs(mean) < 0.03)      // standard error 1/√20000 ≈ 0.007
        #expect(abs(variance - 1) < 0.05)
    }

    @Test("a matrix is row-major: element (r, c) at values[r·cols + c]; transposed, block, setBlock, view, +, += and * move exactly those numbers")
    func layout() {
        var m = Matrix(rows: 2, cols: 3, values: [1, 2, 3,
                                                  4, 5, 6])
        #expect(m[1, 0] == 4 && m[0, 2] == 3 && m.row(1) == [4, 5, 6] && m.shape == "[2, 3]")
        #expect(m.transposed().values == [1, 4, 2, 5, 3, 6] && m.transposed().shape == "[3, 2]")
        #expect(m.block(rows: 0..<2, cols: 1..<3).values == [2, 3, 5, 6])
        let v = m.view(rows: 1..<2, cols: 0..<2)
        #expect(v.rows == 1 && v.cols == 2 && v[0, 0] == 4 && v[0, 1] == 5)
        m.setBlock(Matrix(rows: 1, cols: 2, values: [-1, -2]), row: 0, col: 1)
        #expect(m.values == [1, -1, -2, 4, 5, 6])
        #expect((m + m).values == [2, -2, -4, 8, 10, 12] && (m * 0.5).values == [0.5, -0.5, -1, 2, 2.5, 3])
        var sum = m
        sum += m
        #expect(sum == m + m)
    }

    @Test("a linear step's backward: dX, dW = Xᵀ·dY and db = Σ_t dY[t] match finite differences (2e-2 relative + 2e-4), and are added to what the gradient held (1e-5)")
    func linearBackward() {
        var random = RandomGenerator(seed: 31)
        let layer = Linear(weight: Matrix.random(rows: 3, cols: 4, std: 1, random: &random),
                           bias: Matrix.random(rows: 1, cols: 4, std: 1, random: &random))
        let x = Matrix.random(rows: 5, cols: 3, std: 1, random: &random)
        let upstream = Matrix.random(rows: 5, cols: 4, std: 1, random: &random)     // L = Σ upstream ⊙ y
        var gradient = Linear(weight: Matrix(rows: 3, cols: 4), bias: Matrix(rows: 1, cols: 4))
        let dx = layer.backward(upstream, input: x, into: &gradient)
        expectClose(centralDifferences(x) { dot(layer.forward($0), upstream) }, dx.values, "dX")
        expectClose(centralDifferences(layer.weight) { dot(Linear(weight: $0, bias: layer.bias).forward(x), upstream) },
                    gradient.weight.values, "dW")
        expectClose(centralDifferences(layer.bias) { dot(Linear(weight: layer.weight, bias: $0).forward(x), upstream) },
                    gradient.bias.values, "db")
        // gradients accumulate (+=): a second backward into the same gradient doubles it
        let once = gradient
        _ = layer.backward(upstream, input: x, into: &gradient)
        #expect(maxDifference(gradient.weight.values, (once.weight * 2).values) < 1e-5)
        #expect(maxDifference(gradient.bias.values, (once.bias * 2).values) < 1e-5)
        #expect(gradient.weight != once.weight)
    }
}
