import Foundation
import Testing
@testable import TinyGPT

// Chapter 14: temperature, top-k, top-p, the draw, and generation.

@Suite("14 Sampling") struct SamplingTests {
    let logits: [Float] = [1.0, 3.0, 0.5, 2.9, -2.0, 2.0]

    @Test("temperature 0 is argmax")
    func greedy() {
        let p = nextTokenDistribution(logits, settings: SamplingSettings(temperature: 0))
        #expect(p == [0, 1, 0, 0, 0, 0])
        var random = RandomGenerator(seed: 1)
        #expect((0..<20).allSatisfy { _ in drawToken(p, random: &random) == 1 })
    }

    @Test("top-k never returns a token outside the k best")
    func topK() {
        var random = RandomGenerator(seed: 2)
        let p = nextTokenDistribution(logits, settings: SamplingSettings(temperature: 1.5, topK: 2))
        #expect(p.filter { $0 > 0 }.count == 2 && abs(p.reduce(0, +) - 1) < 1e-6)
        let drawn = Set((0..<500).map { _ in drawToken(p, random: &random) })
        #expect(drawn == [1, 3])
    }

    @Test("top-p keeps the smallest set of most probable tokens whose mass reaches p")
    func topP() {
        let full = softmax(logits)                     // ≈ [.054, .401, .033, .362, .003, .147]
        let ranked = full.indices.sorted { full[$0] > full[$1] }
        for p in [Float(0.3), 0.5, 0.75, 0.9, 1.0] {
            let kept = nextTokenDistribution(logits, settings: SamplingSettings(temperature: 1, topP: p))
            let keptIDs = Set(kept.indices.filter { kept[$0] > 0 })
            var mass: Float = 0, expected: Set<Int> = []
            for id in ranked where mass < p { expected.insert(id); mass += full[id] }
            #expect(keptIDs == expected, "p = \(p)")
            let smaller = expected.subtracting([ranked[expected.count - 1]])
            #expect(smaller.map { full[$0] }.reduce(0, +) < p, "one fewer token would not reach p")
        }
    }

    @Test("the same seed gives the same text; generation crops to the context")
    func sameSeedSameText() throws {
        let model = try tinyModel()
        var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5)
        let settings = SamplingSettings(temperature: 1)
        let first = model.generate(prompt: [1, 2, 3], count: 20, settings: settings, random: &a)
        let second = model.generate(prompt: [1, 2, 3], count: 20, settings: settings, random: &b)
        #expect(first == second && first.count == 23)      // 20 > context 8: cropping happened
        #expect(first.prefix(3) == [1, 2, 3])
    }

    @Test("greedy generation appends, at every step, the argmax of the last row of the model's logits; ties go to the lower ID")
    func greedyGeneration() throws {
        let model = largeModel(try tinyModel(), seed: 4)
        var random = RandomGenerator(seed: 1)
        let ids = model.generate(prompt: [3, 1], count: 12, settings: SamplingSettings(temperature: 0), random: &random)
        #expect(ids.count == 14 && ids.prefix(2) == [3, 1])
        for n in 2..<ids.count {
            let window = Array(ids[..<n].suffix(8))                              // what generate fed in: the last `context` tokens
            let last = model.forward(window, windowLength: window.count).logits.row(window.count - 1)
            #expect(ids[n] == argmax(last) && last.allSatisfy { $0 <= last[ids[n]] }, "token \(n)")
        }
        #expect(argmax([1, 3, 3, 2]) == 1 && argmax([-1]) == 0)
    }

    @Test("top-k generation only ever appends one of the k tokens with the largest logits", arguments: [1, 3])
    func topKGeneration(k: Int) throws {
        let model = largeModel(try tinyModel(), seed: 5)
        var random = RandomGenerator(seed: 2)
        let ids = model.generate(prompt: [0], count: 30, settings: SamplingSettings(temperature: 2, topK: k), random: &random)
        for n in 1..<ids.count {
            let window = Array(ids[..<n].suffix(8))
            let last = model.forward(window, windowLength: window.count).logits.row(window.count - 1)
            let best = last.indices.sorted { last[$0] > last[$1] }.prefix(k)
            #expect(best.contains(ids[n]), "token \(n): \(ids[n]) is not among the \(k) best \(Array(best))")
        }
    }

    @Test("drawToken draws each token with its probability (20,000 draws, within 0.015) and never one of probability 0; another seed, other draws")
    func drawFrequencies() {
        let p: [Float] = [0.1, 0.6, 0, 0.3]
        var random = RandomGenerator(seed: 9), other = RandomGenerator(seed: 10)
        var counts = [0, 0, 0, 0]
        var draws: [Int] = [], otherDraws: [Int] = []
        for _ in 0..<20_000 {
            let id = drawToken(p, random: &random)
            counts[id] += 1
            if draws.count < 50 { draws.append(id); otherDraws.append(drawToken(p, random: &other)) }
        }
        #expect(counts[2] == 0)
        for i in 0..<4 { #expect(abs(Double(counts[i]) / 20_000 - Double(p[i])) < 0.015, "token \(i): \(counts[i])") }   // 4σ or more
        #expect(draws != otherDraws)
    }

    @Test("without filters the distribution is softmax(logits / τ) (1e-6); top-k and top-p keep the ratios of what they keep and sum to 1 (1e-6)")
    func distributions() {
        let logits: [Float] = [1.0, 3.0, 0.5, 2.9, -2.0, 2.0]
        for tau: Float in [0.5, 1, 2] {
            #expect(maxDifference(nextTokenDistribution(logits, settings: SamplingSettings(temperature: tau)),
                                  softmax(logits, temperature: tau)) < 1e-6)
        }
        let full = softmax(logits, temperature: 0.7)
        let kept = nextTokenDistribution(logits, settings: SamplingSettings(temperature: 0.7, topK: 4, topP: 0.8))
        #expect(abs(kept.reduce(0, +) - 1) < 1e-6)
        let ids = kept.indices.filter { kept[$0] > 0 }
        #expect(ids.count >= 1 && ids.count <= 4)
        for i in ids { for j in ids { #expect(abs(kept[i] / kept[j] - full[i] / full[j]) < 1e-5 * full[i] / full[j]) } }
    }
}

// MARK: The exercise: temperature and entropy (docs/exercises.md)
extension SamplingTests {
    @Test("the entropy −Σ p ln p of the distribution rises with the temperature (0.2 < 1 < 2) and stays below ln V")
    func entropyRisesWithTemperature() {
        let logits: [Float] = [2.0, 1.0, 0.5, 0.0, -1.0, -3.0]
        func entropy(_ t: Float) -> Double {
            -nextTokenDistribution(logits, settings: SamplingSettings(temperature: t)).reduce(0.0) { $1 > 0 ? $0 + Double($1) * log(Double($1)) : $0 }
        }
        let (cold, plain, hot) = (entropy(0.2), entropy(1), entropy(2))
        #expect(cold < plain && plain < hot && hot < log(6.0), "\(cold) \(plain) \(hot)")
    }
}

// MARK: The key/value cache
extension SamplingTests {
    @Test("the key/value cache: the same tokens as without it, greedy and drawn, past the context too (where it falls back); the newest token's logits bit for bit those of the whole window",
          arguments: [NormOrder.pre, .post])
    func cacheChangesNothing(norm: NormOrder) throws {
        let model = largeModel(try tinyModel(norm: norm, seed: 3), seed: 8)          // context 8
        for settings in [SamplingSettings(temperature: 0), SamplingSettings(temperature: 1), SamplingSettings(temperature: 0.8, topK: 3)] {
            var r1 = RandomGenerator(seed: 5), r2 = RandomGenerator(seed: 5)
            let withCache = model.generate(prompt: [1, 2, 3], count: 12, settings: settings, random: &r1, cached: true)
            let without = model.generate(prompt: [1, 2, 3], count: 12, settings: settings, random: &r2, cached: false)
            #expect(withCache == without, "\(settings)")
        }
        let caches = model.blocks.map { _ in AttentionCache() }
        _ = model.forward([4, 5, 6], windowLength: 3, caches: caches)
        let step = model.forward([7], windowLength: 1, caches: caches).logits
        let whole = model.forward([4, 5, 6, 7], windowLength: 4).logits
        #expect(step.row(0) == whole.row(3))
        #expect(caches.allSatisfy { $0.qkv.rows == 4 && $0.qkv.cols == 3 * 16 })
    }
}
