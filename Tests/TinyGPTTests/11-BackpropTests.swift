import Testing
@testable import TinyGPT

// Chapter 11: every parameter's gradient of the whole model, against central finite differences
// (h = 1e-3, the tolerance in Support.swift) and against PyTorch autograd (1e-5 absolute: their
// magnitudes are 1e-3…1, and Float's rounding over these few layers stays near 1e-6).

/// One of the model's four switch combinations the fixtures also cover.
struct Variant: Sendable, CustomStringConvertible {
    let norm: NormOrder, activation: Activation, positions: PositionKind, tied: Bool
    var description: String { "\(norm)-\(activation)-\(positions)-\(tied ? "tied" : "untied")" }
    static let all = [Variant(norm: .pre, activation: .gelu, positions: .learned, tied: true),
                      Variant(norm: .post, activation: .relu, positions: .sinusoidal, tied: false),
                      Variant(norm: .pre, activation: .relu, positions: .sinusoidal, tied: false),
                      Variant(norm: .post, activation: .gelu, positions: .learned, tied: true)]
}

@Suite("11 Backprop") struct BackpropTests {
    @Test("every parameter's gradient matches finite differences, in every variant", arguments: Variant.all)
    func wholeModel(variant: Variant) throws {
        let model = largeModel(try tinyModel(norm: variant.norm, activation: variant.activation,
                                             positions: variant.positions, tied: variant.tied), seed: 9)
        let T = 6
        let ids = randomIDs(2 * T, vocabulary: 13, seed: 1), targets = randomIDs(2 * T, vocabulary: 13, seed: 2)
        let (_, gradient) = model.lossAndGradient(ids: ids, targets: targets, windowLength: T)
        /// The loss, and the sign of every ReLU/GELU input (H of each feed-forward).
        func loss(_ m: GPT) -> (Float, [Bool]) {
            let (logits, saved) = m.forward(ids, windowLength: T)
            let signs = saved.blocks.flatMap { $0.feedForward.expanded.values.map { $0 > 0 } }
            return (CrossEntropy.forward(logits, targets: targets).loss, signs)
        }
        var random = RandomGenerator(seed: 3)
        var checked = 0, skipped = 0
        let h: Float = 1e-3
        for parameter in model.parameters {
            let count = model[keyPath: parameter.path].values.count
            var indices = (0..<4).map { _ in random.integer(below: count) }
            if parameter.name == "wte.weight" { indices += ids.prefix(3).map { $0 * 16 + 1 } }   // rows the batch used
            if parameter.name == "wpe.weight" { indices += [0, 16 * 5 + 3] }   // position 0 and position 5
            for i in indices {
                var plus = model, minus = model
                plus[keyPath: parameter.path].values[i] += h
                minus[keyPath: parameter.path].values[i] -= h
                let (lossPlus, signsPlus) = loss(plus), (lossMinus, signsMinus) = loss(minus)
                // ReLU has a corner at 0: a difference across it measures no derivative. Skip those.
                if variant.activation == .relu && signsPlus != signsMinus { skipped += 1; continue }
                let numeric = (lossPlus - lossMinus) / (2 * h)
                let analytic = gradient[keyPath: parameter.path].values[i]
                #expect(close(numeric, analytic), "\(parameter.name)[\(i)]: numeric \(numeric), analytic \(analytic)")
                checked += 1
            }
        }
        #expect(checked + skipped >= 4 * model.parameters.count && skipped * 10 <= checked, "checked \(checked), skipped \(skipped)")
    }

    @Test("every parameter's gradient and dL/dX₀ agree with PyTorch autograd (1e-5)", arguments: modelFixtures)
    func backward(name: String) throws {
        let json = try fixture(name)
        let model = try fixtureModel(json)
        let T = json["time"] as? Int ?? 0
        let ids = integers(json["tokens"]), targets = integers(json["targets"])
        let (logits, saved) = model.forward(ids, windowLength: T)
        let (_, lossSaved) = CrossEntropy.forward(logits, targets: targets)
        let (gradient, dEmbedded) = model.backward(CrossEntropy.backward(lossSaved), saved, windowLength: T)
        let expected = json["grads"] as? [String: Any] ?? [:]
        for parameter in model.parameters {
            let difference = maxDifference(gradient[keyPath: parameter.path].values, floats(expected[parameter.name]))
            #expect(difference < 1e-5, "\(parameter.name): \(difference)")
        }
        #expect(maxDifference(dEmbedded.values, floats(json["d_embedding"])) < 1e-5)
    }
}
