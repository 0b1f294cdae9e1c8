import Foundation
import Testing
@testable import TinyGPT

// Chapter 04: weights that sum to 1, stable for large scores, shaped by temperature.

@Suite("04 Softmax") struct SoftmaxTests {
    @Test("large scores [1000, 1001, 1002] stay finite and equal softmax([0, 1, 2]) (1e-6)")
    func largeScores() {
        let p = softmax([1000, 1001, 1002])
        #expect(p.allSatisfy { $0.isFinite })
        let e = [1, exp(Float(1)), exp(Float(2))], total = e.reduce(0, +)
        #expect(maxDifference(p, e.map { $0 / total }) < 1e-6)
        #expect(abs(p.reduce(0, +) - 1) < 1e-6)
    }

    @Test("temperature: small approaches one-hot on the largest, large approaches uniform")
    func temperature() {
        let scores: [Float] = [0.5, 2.0, -1.0, 1.9]
        let cold = softmax(scores, temperature: 0.01)
        #expect(cold[1] > 0.9999)          // the runner-up is 0.1 behind: e^(−0.1/0.01) ≈ 4.5e-5
        let hot = softmax(scores, temperature: 1000)
        #expect(maxDifference(hot, [0.25, 0.25, 0.25, 0.25]) < 1e-3)
        #expect(softmax(scores, temperature: 0.5)[1] > softmax(scores, temperature: 1)[1])
    }

    @Test("backward agrees with central differences (relative error ≤ 1e-2, Float)")
    func backwardByFiniteDifferences() {
        let scores: [Float] = [0.3, -1.2, 2.0, 0.7]
        let upstream: [Float] = [0.5, -0.25, 1.0, 0.8]             // L = Σ upstream ⊙ p
        for temperature: Float in [1, 0.5, 2] {
            let p = softmax(scores, temperature: temperature)
            var analytic = upstream                                  // dp in, ds out
            softmaxBackward(&analytic, probabilities: p, analytic.indices, temperature: temperature)
            for j in scores.indices {
                let h: Float = 1e-2
                var plus = scores, minus = scores
                plus[j] += h
                minus[j] -= h
                let lossPlus = zip(softmax(plus, temperature: temperature), upstream).map(*).reduce(0, +)
                let lossMinus = zip(softmax(minus, temperature: temperature), upstream).map(*).reduce(0, +)
                let numeric = (lossPlus - lossMinus) / (2 * h)
                #expect(abs(numeric - analytic[j]) <= 1e-2 * max(abs(numeric), abs(analytic[j])) + 1e-4)
            }
        }
    }

    @Test("softmax on part of a list changes only that part, and that part is the softmax of its scores (bit for bit)")
    func partOfARow() {
        let scores: [Float] = [3, -1, 0.5, 2, 7, -4, 1.25, 0, 9, -2, 4]
        for range in [0..<1, 2..<5, 1..<11, 3..<3] {
            var values = scores
            let (largest, total) = softmax(&values, range)
            #expect(Array(values[range]) == softmax(Array(scores[range])))
            #expect(values.indices.filter { !range.contains($0) }.allSatisfy { values[$0] == scores[$0] })
            if !range.isEmpty {
                #expect(largest == scores[range].max()!)
                #expect(abs(total - Double(scores[range].map { exp($0 - largest) }.reduce(0, +))) < 1e-5 * total)
            }
        }
    }
}
