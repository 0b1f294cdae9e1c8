import Foundation
import Testing
@testable import TinyGPT

// Chapter 07: GELU is its tanh formula, ReLU and both derivatives; the feed-forward's forward is
// its three lines and its backward agrees with finite differences.

/// A feed-forward of width C (4C inside) with large random weights and biases.
func randomFeedForward(width C: Int, activation: Activation, seed: UInt64) -> FeedForward {
    var random = RandomGenerator(seed: seed)
    return FeedForward(expand: Linear(weight: Matrix.random(rows: C, cols: 4 * C, std: 0.5, random: &random),
                                      bias: Matrix.random(rows: 1, cols: 4 * C, std: 0.5, random: &random)),
                       contract: Linear(weight: Matrix.random(rows: 4 * C, cols: C, std: 0.5, random: &random),
                                        bias: Matrix.random(rows: 1, cols: C, std: 0.5, random: &random)),
                       activation: activation)
}

@Suite("07 FeedForward") struct FeedForwardTests {
    @Test("GELU is ½h(1 + tanh(√(2/π)(h + 0.044715h³))) with Foundation's tanh, to 1e-6 (relative above 1), for h in [−8, 8]")
    func geluFormula() {
        let gelu = Activation.gelu
        for i in -800...800 {
            let h = Float(i) / 100
            let u = (2 / Double.pi).squareRoot() * (Double(h) + 0.044715 * Double(h) * Double(h) * Double(h))
            let expected = 0.5 * Double(h) * (1 + Foundation.tanh(u))
            #expect(abs(Double(gelu(h)) - expected) <= 1e-6 * max(1, abs(expected)), "gelu(\(h))")
        }
    }

    @Test("the rational tanh GELU uses is Foundation's tanh to 1e-6 on [−10, 10], ±1 beyond its clamp")
    func rationalTanh() {
        for i in -1000...1000 {
            let u = Float(i) / 100
            #expect(abs(Activation.tanh(u) - Foundation.tanh(u)) < 1e-6, "tanh(\(u))")
        }
        #expect(Activation.tanh(50) == 1 && Activation.tanh(-50) == -1)
    }

    @Test("ReLU is max(0, h); its derivative is 1 above 0 and 0 below (and at 0 itself)")
    func relu() {
        let relu = Activation.relu
        for h: Float in [-3, -0.5, -1e-6, 0, 1e-6, 0.5, 3] {
            #expect(relu(h) == max(0, h))
            #expect(relu.derivative(h) == (h > 0 ? 1 : 0), "relu'(\(h))")
        }
    }

    @Test("GELU's derivative matches central differences of GELU (1e-3) for h in [−6, 6]")
    func geluDerivative() {
        let gelu = Activation.gelu, step: Float = 1e-2
        for i in -60...60 {
            let h = Float(i) / 10
            let numeric = (gelu(h + step) - gelu(h - step)) / (2 * step)
            #expect(abs(numeric - gelu.derivative(h)) < 1e-3, "gelu'(\(h)): numeric \(numeric), analytic \(gelu.derivative(h))")
        }
    }

    @Test("forward is F = X·W_1 + b_1, R = act(F), Z = R·W_2 + b_2, one token at a time (1e-5)", arguments: Activation.allCases)
    func forwardIsTheFormula(activation: Activation) {
        let feedForward = randomFeedForward(width: 4, activation: activation, seed: 52)
        var random = RandomGenerator(seed: 53)
        let x = Matrix.random(rows: 3, cols: 4, std: 1, random: &random)
        let (z, saved) = feedForward.forward(x)
        var f = definitionProduct(x, feedForward.expand.weight)
        for t in 0..<3 { for j in 0..<16 { f[t, j] += feedForward.expand.bias[0, j] } }
        #expect(maxDifference(saved.expanded.values, f.values) < 1e-5)
        #expect(saved.activated.values == saved.expanded.values.map { activation($0) })
        var expected = definitionProduct(saved.activated, feedForward.contract.weight)
        for t in 0..<3 { for c in 0..<4 { expected[t, c] += feedForward.contract.bias[0, c] } }
        #expect(maxDifference(z.values, expected.values) < 1e-5)
        let alone = feedForward.forward(x.block(rows: 1..<2, cols: 0..<4)).y
        #expect(maxDifference(alone.row(0), z.row(1)) < 1e-5, "row 1 alone gives row 1's output")
    }

    @Test("backward: dX and every parameter's gradient match finite differences, GELU and ReLU (2e-2 relative + 2e-4; differences across ReLU's corner skipped)",
          arguments: Activation.allCases)
    func finiteDifferences(activation: Activation) {
        let feedForward = randomFeedForward(width: 4, activation: activation, seed: 51)
        var random = RandomGenerator(seed: 54)
        let x = Matrix.random(rows: 3, cols: 4, std: 1, random: &random)
        let upstream = Matrix.random(rows: 3, cols: 4, std: 1, random: &random)     // L = Σ upstream ⊙ Z
        var gradient = FeedForward(expand: Linear(weight: Matrix(rows: 4, cols: 16), bias: Matrix(rows: 1, cols: 16)),
                                   contract: Linear(weight: Matrix(rows: 16, cols: 4), bias: Matrix(rows: 1, cols: 4)),
                                   activation: activation)
        let dx = feedForward.backward(upstream, feedForward.forward(x).saved, into: &gradient)
        /// L, and the sign of every F (a difference across ReLU's corner at 0 measures no derivative)
        func loss(_ f: FeedForward, _ x: Matrix) -> (Float, [Bool]) {
            let (z, saved) = f.forward(x)
            return (dot(z, upstream), saved.expanded.values.map { $0 > 0 })
        }
        var checked = 0, skipped = 0
        func check(_ what: String, _ analytic: [Float], _ perturbed: (Int, Float) -> (Float, [Bool])) {
            for i in analytic.indices {
                let (plus, signsPlus) = perturbed(i, 1e-2), (minus, signsMinus) = perturbed(i, -1e-2)
                if activation == .relu && signsPlus != signsMinus { skipped += 1; continue }
                #expect(close((plus - minus) / 2e-2, analytic[i]), "\(what)[\(i)]: numeric \((plus - minus) / 2e-2), analytic \(analytic[i])")
                checked += 1
            }
        }
        check("dX", dx.values) { i, h in
            var moved = x
            moved.values[i] += h
            return loss(feedForward, moved)
        }
        let paths: [(String, WritableKeyPath<FeedForward, Matrix>)] = [
            ("dW_1", \.expand.weight), ("db_1", \.expand.bias), ("dW_2", \.contract.weight), ("db_2", \.contract.bias)]
        for (name, path) in paths {
            check(name, gradient[keyPath: path].values) { i, h in
                var f = feedForward
                f[keyPath: path].values[i] += h
                return loss(f, x)
            }
        }
        #expect(checked == 3 * 4 + 4 * 16 + 16 + 16 * 4 + 4 - skipped && skipped * 10 <= checked, "checked \(checked), skipped \(skipped)")
    }
}
