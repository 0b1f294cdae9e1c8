import Foundation
import Testing
@testable import TinyGPT

// Chapter 10: cross-entropy, its probabilities (chapter 04's softmax) and its gradient (p − onehot)/N.

@Suite("10 Loss") struct LossTests {
    @Test("the loss's probabilities are chapter 04's softmax of each row, bit for bit; a true token 120 behind costs 120, not ∞")
    func lossProbabilities() {
        var random = RandomGenerator(seed: 4)
        let logits = Matrix.random(rows: 9, cols: 23, std: 3, random: &random)
        let targets = (0..<9).map { $0 * 2 % 23 }
        let (loss, saved) = CrossEntropy.forward(logits, targets: targets)
        for t in 0..<9 { #expect(saved.probabilities.row(t) == softmax(logits.row(t))) }
        // the same mean computed from those probabilities (1e-5: only rounding differs)
        let fromProbabilities = -targets.enumerated().map { log(Double(saved.probabilities[$0.offset, $0.element])) }.reduce(0, +) / 9
        #expect(abs(Double(loss) - fromProbabilities) < 1e-5)
        // p of the true token is e⁻¹²⁰, 0 in Float; the loss still comes out exactly 120
        let far = CrossEntropy.forward(Matrix(rows: 1, cols: 2, values: [0, 120]), targets: [0])
        #expect(far.saved.probabilities[0, 0] == 0 && far.loss == 120)
    }

    @Test("cross-entropy: dL/dlogits = (p − onehot)/N matches finite differences")
    func crossEntropy() {
        var random = RandomGenerator(seed: 8)
        let logits = Matrix.random(rows: 3, cols: 5, std: 2, random: &random)
        let targets = [4, 0, 2]
        let dLogits = CrossEntropy.backward(CrossEntropy.forward(logits, targets: targets).saved)
        for i in 0..<logits.values.count {
            var plus = logits, minus = logits
            plus.values[i] += 1e-2
            minus.values[i] -= 1e-2
            let numeric = (CrossEntropy.forward(plus, targets: targets).loss - CrossEntropy.forward(minus, targets: targets).loss) / 2e-2
            #expect(close(numeric, dLogits.values[i]))
        }
    }

    @Test("known losses: a uniform guess costs ln V (1e-6), a sure right guess ≈ 0, a sure wrong one its margin (1e-5); the loss is a mean over rows")
    func knownLosses() {
        #expect(abs(CrossEntropy.forward(Matrix(rows: 2, cols: 7), targets: [3, 6]).loss - log(Float(7))) < 1e-6)
        let sure = Matrix(rows: 1, cols: 3, values: [0, 30, 0])
        let right = CrossEntropy.forward(sure, targets: [1]).loss, wrong = CrossEntropy.forward(sure, targets: [0]).loss
        #expect(right >= 0 && right < 1e-5)
        #expect(abs(wrong - 30) < 1e-5)
        let both = CrossEntropy.forward(Matrix(rows: 2, cols: 3, values: [0, 30, 0, 0, 30, 0]), targets: [1, 0]).loss
        #expect(abs(both - (right + wrong) / 2) < 1e-5)
    }
}
