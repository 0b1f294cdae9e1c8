import Foundation
import Testing
@testable import TinyGPT

// Chapter 03: the sinusoidal table is its formula; positions restart in every window; learned
// positions' gradient sums over the windows, sinusoidal ones have none.

@Suite("03 Positions") struct PositionsTests {
    @Test("sinusoidal table: P[t, 2i] = sin(t/10000^(2i/C)), P[t, 2i+1] = cos(…)")
    func sinusoidal() {
        let table = Positions.sinusoidalTable(context: 4, width: 6)
        #expect(table[0, 0] == 0 && table[0, 1] == 1)
        #expect(abs(Double(table[3, 2]) - sin(3 / pow(10000, 2.0 / 6))) < 1e-6)
        #expect(abs(Double(table[3, 5]) - cos(3 / pow(10000, 4.0 / 6))) < 1e-6)
    }

    @Test("every entry of the sinusoidal table is the formula: sin in even columns, cos in odd ones, a pair sharing its angle (1e-6)")
    func sinusoidalFormula() {
        let (context, width) = (7, 10)
        let table = Positions.sinusoidalTable(context: context, width: width)
        #expect(table.rows == context && table.cols == width)
        for t in 0..<context {
            for i in 0..<width / 2 {
                let angle = Double(t) / pow(10000, Double(2 * i) / Double(width))     // t / 10000^(2i/C)
                #expect(abs(Double(table[t, 2 * i]) - sin(angle)) < 1e-6, "P[\(t), \(2 * i)]")
                #expect(abs(Double(table[t, 2 * i + 1]) - cos(angle)) < 1e-6, "P[\(t), \(2 * i + 1)]")
            }
        }
        var random = RandomGenerator(seed: 1)
        #expect(Positions(kind: .sinusoidal, context: context, width: width, std: 0.02, random: &random).weight == table)
        #expect(random.state == 1, "the fixed table draws no random numbers")
    }

    @Test("forward adds P[t] to row b·T + t: each window starts again at position 0 (exact)")
    func forwardRestartsEachWindow() {
        var random = RandomGenerator(seed: 2)
        let positions = Positions(kind: .learned, context: 5, width: 3, std: 1, random: &random)
        let x = Matrix.random(rows: 3 * 4, cols: 3, std: 1, random: &random)      // 3 windows of T = 4
        let y = positions.forward(x, windowLength: 4)
        for row in 0..<12 {
            for c in 0..<3 { #expect(y[row, c] == x[row, c] + positions.weight[row % 4, c], "row \(row)") }
        }
    }

    @Test("learned positions' backward sums dY over the windows, dP[t] = Σ_b dY[b·T + t] (1e-6); positions past T get 0; finite differences agree (2e-2 relative + 2e-4)")
    func learnedBackward() {
        var random = RandomGenerator(seed: 3)
        let positions = Positions(kind: .learned, context: 5, width: 3, std: 1, random: &random)
        let x = Matrix.random(rows: 12, cols: 3, std: 1, random: &random)
        let upstream = Matrix.random(rows: 12, cols: 3, std: 1, random: &random)    // L = Σ upstream ⊙ (X + P)
        var gradient = Positions(kind: .learned, weight: Matrix(rows: 5, cols: 3))
        positions.backward(upstream, windowLength: 4, into: &gradient)
        for t in 0..<4 {
            for c in 0..<3 {
                #expect(abs(gradient.weight[t, c] - (upstream[t, c] + upstream[4 + t, c] + upstream[8 + t, c])) < 1e-6)
            }
        }
        #expect(gradient.weight.row(4) == [0, 0, 0], "windows of 4 never reach position 4")
        expectClose(centralDifferences(positions.weight) { dot(Positions(kind: .learned, weight: $0).forward(x, windowLength: 4), upstream) },
                    gradient.weight.values, "dP")
    }

    @Test("sinusoidal positions (and none) have nothing to learn: backward leaves the gradient as it was (exact)",
          arguments: [PositionKind.sinusoidal, .none])
    func fixedBackward(kind: PositionKind) {
        var random = RandomGenerator(seed: 4)
        let positions = Positions(kind: kind, context: 4, width: 6, std: 1, random: &random)
        var gradient = Positions(kind: kind, weight: Matrix(rows: 4, cols: 6))
        positions.backward(Matrix(rows: 8, cols: 6, values: (0..<48).map { Float($0) + 1 }), windowLength: 4, into: &gradient)
        #expect(gradient.weight == Matrix(rows: 4, cols: 6))
        if kind == .none { #expect(positions.weight == Matrix(rows: 4, cols: 6), "no positions: P = 0") }
    }
}

// MARK: The exercise --positions none (docs/exercises.md)
extension PositionsTests {
    @Test("--positions none, one layer: attention sees its window as a set, so swapping earlier tokens leaves the last position's logits unchanged (1e-5: only the order of a sum changes); learned positions change them, and so does a second layer: the causal mask itself tells order (row 1 saw only tokens 0 and 1)")
    func noPositionsCannotTellOrder() throws {
        func model(_ positions: PositionKind, layers: Int) throws -> GPT {
            var random = RandomGenerator(seed: 4)
            return largeModel(try GPT(config: Configuration(vocabularySize: 13, context: 8, width: 16, layers: layers, heads: 2,
                                                            positions: positions), random: &random), seed: 9)
        }
        let dogBitesMan = [3, 5, 7, 2], manBitesDog = [7, 5, 3, 2]          // "dog bites man ." and "man bites dog ."
        for (positions, layers, same) in [(PositionKind.none, 1, true), (.learned, 1, false), (.none, 2, false)] {
            let m = try model(positions, layers: layers)
            let a = m.forward(dogBitesMan, windowLength: 4).logits.row(3), b = m.forward(manBitesDog, windowLength: 4).logits.row(3)
            #expect((maxDifference(a, b) < 1e-5) == same, "\(positions), \(layers) layer(s): last rows differ by \(maxDifference(a, b))")
        }
    }
}
