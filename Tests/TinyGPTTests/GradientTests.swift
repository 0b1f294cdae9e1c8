import Testing
@testable import TinyGPT

// Chapter 11: every backward against central finite differences, on tiny sizes.
// In Float, (L(θ + h) − L(θ − h)) / 2h has error ~1e-4 from rounding (h = 1e-3 on the whole
// model, 1e-2 on single layers) and the curvature, so a check passes when
// |numeric − analytic| ≤ 2e-2·max(|numeric|, |analytic|) + 2e-4.

func close(_ numeric: Float, _ analytic: Float) -> Bool {
    abs(numeric - analytic) <= 2e-2 * max(abs(numeric), abs(analytic)) + 2e-4
}

/// A tiny model whose parameters are redrawn large (weights N(0, 0.3²), γ near 1): with GPT-2's
/// 0.02 every gradient is tiny and the check would prove little.
func largeModel(_ model: GPT, seed: UInt64) -> GPT {
    var model = model, random = RandomGenerator(seed: seed)
    for parameter in model.parameters {
        let old = model[keyPath: parameter.path]
        var values = Matrix.random(rows: old.rows, cols: old.cols, std: parameter.decays ? 0.3 : 0.1, random: &random)
        if parameter.name.contains("ln_") && parameter.name.hasSuffix("weight") {
            for i in 0..<values.values.count { values.values[i] += 1 }
        }
        model[keyPath: parameter.path] = values
    }
    return model
}

/// One of the model's four switch combinations the fixtures also cover.
struct Variant: Sendable, CustomStringConvertible {
    let norm: NormOrder, activation: Activation, positions: PositionKind, tied: Bool
    var description: String { "\(norm)-\(activation)-\(positions)-\(tied ? "tied" : "untied")" }
    static let all = [Variant(norm: .pre, activation: .gelu, positions: .learned, tied: true),
                      Variant(norm: .post, activation: .relu, positions: .sinusoidal, tied: false),
                      Variant(norm: .pre, activation: .relu, positions: .sinusoidal, tied: false),
                      Variant(norm: .post, activation: .gelu, positions: .learned, tied: true)]
}

@Suite struct GradientTests {
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

    @Test("LayerNorm's input gradient matches finite differences")
    func layerNormInput() {
        var random = RandomGenerator(seed: 5)
        var norm = LayerNorm(width: 6)
        norm.gamma = Matrix.random(rows: 1, cols: 6, std: 0.5, random: &random) + Matrix(rows: 1, cols: 6, values: [Float](repeating: 1, count: 6))
        norm.beta = Matrix.random(rows: 1, cols: 6, std: 0.5, random: &random)
        let x = Matrix.random(rows: 3, cols: 6, std: 1, random: &random)
        let upstream = Matrix.random(rows: 3, cols: 6, std: 1, random: &random)  // L = Σ upstream ⊙ y
        var gradient = LayerNorm(width: 6)
        let (_, saved) = norm.forward(x)
        let dx = norm.backward(upstream, saved, into: &gradient)
        func loss(_ x: Matrix) -> Float { zip(norm.forward(x).y.values, upstream.values).map(*).reduce(0, +) }
        for i in 0..<x.values.count {
            var plus = x, minus = x
            plus.values[i] += 1e-2
            minus.values[i] -= 1e-2
            #expect(close((loss(plus) - loss(minus)) / 2e-2, dx.values[i]))
        }
    }

    @Test("attention's input gradient matches finite differences (two windows, two heads)")
    func attentionInput() {
        var random = RandomGenerator(seed: 6)
        let attention = Attention(queryKeyValue: Linear(inputs: 8, outputs: 24, std: 0.5, random: &random),
                                  outputProjection: Linear(inputs: 8, outputs: 8, std: 0.5, random: &random), heads: 2)
        let x = Matrix.random(rows: 8, cols: 8, std: 1, random: &random)
        let upstream = Matrix.random(rows: 8, cols: 8, std: 1, random: &random)
        var gradient = Attention(queryKeyValue: Linear(weight: Matrix(rows: 8, cols: 24), bias: Matrix(rows: 1, cols: 24)),
                                 outputProjection: Linear(weight: Matrix(rows: 8, cols: 8), bias: Matrix(rows: 1, cols: 8)), heads: 2)
        let (_, saved) = attention.forward(x, windowLength: 4)
        let dx = attention.backward(upstream, saved, windowLength: 4, into: &gradient)
        func loss(_ x: Matrix) -> Float {
            zip(attention.forward(x, windowLength: 4).y.values, upstream.values).map(*).reduce(0, +)
        }
        for i in 0..<x.values.count {
            var plus = x, minus = x
            plus.values[i] += 1e-2
            minus.values[i] -= 1e-2
            #expect(close((loss(plus) - loss(minus)) / 2e-2, dx.values[i]), "dX[\(i)]")
        }
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
}
