import Foundation
import Testing
@testable import TinyGPT

// Chapter 05: what attention must do, whatever its weights: rows of weights that sum to 1, the
// causal mask, heads as column blocks; its backward against finite differences and PyTorch.

@Suite("05 Attention") struct AttentionTests {
    func randomAttention(width: Int, heads: Int, seed: UInt64) -> Attention {
        var random = RandomGenerator(seed: seed)
        return Attention(queryKeyValue: Linear(weight: Matrix.random(rows: width, cols: 3 * width, std: 0.5, random: &random),
                                       bias: Matrix.random(rows: 1, cols: 3 * width, std: 0.1, random: &random)),
                         outputProjection: Linear(weight: Matrix.random(rows: width, cols: width, std: 0.5, random: &random),
                                       bias: Matrix.random(rows: 1, cols: width, std: 0.1, random: &random)),
                         heads: heads)
    }

    @Test("every row of every head's weights sums to 1 (1e-6), and the future gets exactly 0")
    func rowsSumToOne() {
        var random = RandomGenerator(seed: 3)
        let attention = randomAttention(width: 8, heads: 2, seed: 1)
        let x = Matrix.random(rows: 2 * 5, cols: 8, std: 1, random: &random)
        let (_, saved) = attention.forward(x, windowLength: 5)
        #expect(saved.weights.count == 2 * 2)                // 2 windows × 2 heads
        for a in saved.weights {
            for i in 0..<5 {
                #expect(abs(a.row(i).reduce(0, +) - 1) < 1e-6)
                for j in (i + 1)..<max(i + 1, 5) where j < 5 { #expect(a[i, j] == 0) }
            }
        }
    }

    @Test("attend, reading each head through views, is softmax(Q·Kᵀ/√D, masked)·V written with copies and three loops (1e-5)",
          arguments: [(1, 8, 1), (5, 8, 2), (7, 6, 3), (13, 24, 2), (32, 64, 4), (33, 48, 3), (64, 128, 4)])
    func attendIsTheFormula(T: Int, width: Int, heads: Int) {
        // head widths 2 to 32: whole Vectors, half strips and edges; T not a multiple of 6 or 8
        var random = RandomGenerator(seed: UInt64(T * 100 + width))
        let attention = randomAttention(width: width, heads: heads, seed: 5)
        let qkv = Matrix.random(rows: 2 * T, cols: 3 * width, std: 1.5, random: &random)
        let D = width / heads
        for b in 0..<2 {
            let rows = b * T ..< (b + 1) * T
            let (y, weights) = attention.attend(qkv, rows: rows)
            for h in 0..<heads {
                let q = qkv.block(rows: rows, cols: h * D ..< (h + 1) * D)
                let k = qkv.block(rows: rows, cols: width + h * D ..< width + (h + 1) * D)
                let v = qkv.block(rows: rows, cols: 2 * width + h * D ..< 2 * width + (h + 1) * D)
                var a = definitionProduct(q, k.transposed())
                for i in 0..<T {
                    let p = softmax((0...i).map { a[i, $0] / Float(D).squareRoot() })
                    for j in 0..<T { a[i, j] = j <= i ? p[j] : 0 }
                }
                #expect(maxDifference(weights[h].values, a.values) < 1e-5)
                #expect(maxDifference(y.block(rows: 0..<T, cols: h * D ..< (h + 1) * D).values,
                                      definitionProduct(a, v).values) < 1e-5 * Float(T))
            }
        }
    }

    @Test("a 2-head attention equals two 1-head attentions on its column blocks, summed through W_O (1e-5)")
    func twoHeadsAreTwoOneHeads() {
        var random = RandomGenerator(seed: 4)
        let width = 8, D = 4, T = 5
        let two = randomAttention(width: width, heads: 2, seed: 2)
        let x = Matrix.random(rows: T, cols: width, std: 1, random: &random)
        let (out, saved) = two.forward(x, windowLength: T)
        var sum = Matrix(rows: T, cols: width)
        for h in 0..<2 {
            // Head h alone: its Q, K, V columns of c_attn, and its rows of W_O (no bias).
            let columns = [h * D ..< (h + 1) * D, width + h * D ..< width + (h + 1) * D, 2 * width + h * D ..< 2 * width + (h + 1) * D]
            var weight = Matrix(rows: width, cols: 3 * D), bias = Matrix(rows: 1, cols: 3 * D)
            for (part, range) in columns.enumerated() {
                weight.setBlock(two.queryKeyValue.weight.block(rows: 0..<width, cols: range), row: 0, col: part * D)
                bias.setBlock(two.queryKeyValue.bias.block(rows: 0..<1, cols: range), row: 0, col: part * D)
            }
            let one = Attention(queryKeyValue: Linear(weight: weight, bias: bias),
                                outputProjection: Linear(weight: two.outputProjection.weight.block(rows: h * D ..< (h + 1) * D, cols: 0..<width),
                                              bias: Matrix(rows: 1, cols: width)),
                                heads: 1)
            let (y, oneSaved) = one.forward(x, windowLength: T)
            #expect(maxDifference(oneSaved.concatenated.values,
                                  saved.concatenated.block(rows: 0..<T, cols: h * D ..< (h + 1) * D).values) < 1e-5)
            #expect(maxDifference(oneSaved.weights[0].values, saved.weights[h].values) < 1e-6)
            sum += y
        }
        for c in 0..<width { for t in 0..<T { sum[t, c] += two.outputProjection.bias[0, c] } }
        #expect(maxDifference(sum.values, out.values) < 1e-5)
    }

    @Test("causal mask: changing a later token leaves every earlier position's logits bit-identical",
          arguments: [NormOrder.pre, .post])
    func causalMask(norm: NormOrder) throws {
        let model = try tinyModel(norm: norm)
        let ids = [3, 1, 4, 1, 5, 9, 2, 6]
        for changed in 1..<ids.count {
            var other = ids
            other[changed] = (ids[changed] + 5) % 13
            let a = model.forward(ids, windowLength: 8).logits, b = model.forward(other, windowLength: 8).logits
            for t in 0..<changed { #expect(a.row(t) == b.row(t)) }
            #expect(a.row(changed) != b.row(changed))
        }
    }

    @Test("one attention call: weights, output and gradients agree with PyTorch (1e-5)")
    func attention() throws {
        let json = try fixture("attention_single.json")
        let C = 8, heads = json["heads"] as? Int ?? 0
        let x = Matrix(rows: floats(json["x"]).count / C, cols: C, values: floats(json["x"]))
        let attention = Attention(
            queryKeyValue: Linear(weight: Matrix(rows: C, cols: 3 * C, values: floats(json["c_attn.weight"])),
                          bias: Matrix(rows: 1, cols: 3 * C, values: floats(json["c_attn.bias"]))),
            outputProjection: Linear(weight: Matrix(rows: C, cols: C, values: floats(json["c_proj.weight"])),
                          bias: Matrix(rows: 1, cols: C, values: floats(json["c_proj.bias"]))),
            heads: heads)
        let (out, saved) = attention.forward(x, windowLength: x.rows)
        #expect(maxDifference(out.values, floats(json["out"])) < 1e-5)
        let expectedWeights = json["weights"] as? [Any] ?? []
        #expect(expectedWeights.count == heads)
        for h in 0..<heads {
            #expect(maxDifference(saved.weights[h].values, floats(expectedWeights[h])) < 1e-6)
        }
        var gradient = Attention(queryKeyValue: Linear(weight: Matrix(rows: C, cols: 3 * C), bias: Matrix(rows: 1, cols: 3 * C)),
                                 outputProjection: Linear(weight: Matrix(rows: C, cols: C), bias: Matrix(rows: 1, cols: C)), heads: heads)
        let dOut = Matrix(rows: x.rows, cols: C, values: floats(json["d_out"]))
        let dx = attention.backward(dOut, saved, windowLength: x.rows, into: &gradient)
        #expect(maxDifference(dx.values, floats(json["d_x"])) < 1e-5)
        #expect(maxDifference(gradient.queryKeyValue.weight.values, floats(json["d_c_attn.weight"])) < 1e-5)
        #expect(maxDifference(gradient.queryKeyValue.bias.values, floats(json["d_c_attn.bias"])) < 1e-5)
        #expect(maxDifference(gradient.outputProjection.weight.values, floats(json["d_c_proj.weight"])) < 1e-5)
        #expect(maxDifference(gradient.outputProjection.bias.values, floats(json["d_c_proj.bias"])) < 1e-5)
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
}

// MARK: The exercises' switches: --no-mask, --no-scale (docs/exercises.md)
extension AttentionTests {
    /// A tiny config for the switch tests: V from the text, context 8, width 16, 2 heads.
    static func switchConfig(vocabulary: Int, layers: Int = 1) -> Configuration {
        Configuration(vocabularySize: vocabulary, context: 8, width: 16, layers: layers, heads: 2)
    }

    @Test("--no-mask: changing a later token changes an earlier position's logits (with the mask it cannot, see above)")
    func noMaskSeesTheFuture() throws {
        var config = AttentionTests.switchConfig(vocabulary: 13)
        config.masked = false
        var random = RandomGenerator(seed: 3)
        let model = try GPT(config: config, random: &random)
        let ids = [1, 2, 3, 4, 5, 6]
        var changed = ids
        changed[5] = 9
        let (a, b) = (model.forward(ids, windowLength: 6).logits, model.forward(changed, windowLength: 6).logits)
        #expect(maxDifference(a.row(0), b.row(0)) > 1e-4)         // position 0 read token 5
    }

    @Test("--no-mask: on random tokens, where nothing before a position tells its successor, the masked model stays near ln 12 while the unmasked one copies the next token and goes lower (by more than 0.1 after 150 steps)")
    func noMaskTrainsBelowWhatCanBeKnown() throws {
        var random = RandomGenerator(seed: 11)
        let ids = (0..<2000).map { _ in 1 + random.integer(below: 12) }      // 12 words, ID 0 unused
        var unmasked = AttentionTests.switchConfig(vocabulary: 13)
        unmasked.masked = false
        let masked = try lossAfterTraining(AttentionTests.switchConfig(vocabulary: 13), ids: ids, steps: 150, learningRate: 1e-2)
        let seeing = try lossAfterTraining(unmasked, ids: ids, steps: 150, learningRate: 1e-2)
        #expect(masked > log(12) - 0.1)                           // no model can know a random next token
        #expect(seeing < masked - 0.1)
    }

    @Test("--no-scale: S is Q·Kᵀ itself, √D times the scaled scores, so each row's weights are at least as peaked (largest weight ≥ scaled's)")
    func noScaleSharpensTheWeights() throws {
        var plain = AttentionTests.switchConfig(vocabulary: 13)
        plain.scaled = false
        var r1 = RandomGenerator(seed: 5), r2 = RandomGenerator(seed: 5)
        let (scaled, unscaled) = (try GPT(config: AttentionTests.switchConfig(vocabulary: 13), random: &r1), try GPT(config: plain, random: &r2))
        let big = largeModel(scaled, seed: 2), bigUnscaled = largeModel(unscaled, seed: 2)      // the same larger weights
        let ids = [1, 2, 3, 4, 5, 6, 7, 8]
        let a = big.forward(ids, windowLength: 8).saved.blocks[0].attention.weights[0]
        let b = bigUnscaled.forward(ids, windowLength: 8).saved.blocks[0].attention.weights[0]
        for i in 1..<8 { #expect(b.row(i).max()! >= a.row(i).max()! - 1e-6) }
    }
}
