import Foundation
import Testing
@testable import TinyGPT

// Chapters 05 and 09: what attention must do, whatever its weights.

@Suite struct AttentionTests {
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

    @Test("windows in a batch never see each other: a batch of two equals two batches of one")
    func windowsAreIndependent() throws {
        let model = try tinyModel()
        let first = [1, 2, 3, 4, 5, 6], second = [7, 8, 9, 10, 11, 12]
        let both = model.forward(first + second, windowLength: 6).logits
        let alone1 = model.forward(first, windowLength: 6).logits, alone2 = model.forward(second, windowLength: 6).logits
        #expect(maxDifference(both.values, alone1.values + alone2.values) < 1e-6)
    }

    @Test("a fresh model's loss on random tokens is near ln(V) (within 0.1)")
    func freshLoss() throws {
        var config = Configuration()
        config.vocabularySize = 50
        config.context = 8
        config.width = 16
        config.heads = 2
        var random = RandomGenerator(seed: 11)
        let model = try GPT(config: config, random: &random)
        let ids = randomIDs(32, vocabulary: 50, seed: 5), targets = randomIDs(32, vocabulary: 50, seed: 6)
        let (loss, _) = CrossEntropy.forward(model.forward(ids, windowLength: 8).logits, targets: targets)
        #expect(abs(loss - log(Float(50))) < 0.1)
    }

    @Test("impossible configurations throw errors that name the value to change")
    func configurationErrors() {
        var config = Configuration()
        config.width = 30
        config.heads = 4
        #expect(throws: TinyGPTError.self) { try config.validate() }
        do { try config.validate() } catch let error as TinyGPTError {
            #expect(error.kind == .configuration && error.description.contains("width 30") && error.description.contains("heads 4"))
        } catch { Issue.record("unexpected \(error)") }
        config = Configuration()
        config.context = 0
        #expect(throws: TinyGPTError.self) { try config.validate() }
        config = Configuration()
        config.positions = .sinusoidal
        config.width = 9
        config.heads = 3
        #expect(throws: TinyGPTError.self) { try config.validate() }
        var random = RandomGenerator(seed: 1)
        config = Configuration()
        config.heads = 0
        #expect(throws: TinyGPTError.self) { _ = try GPT(config: config, random: &random) }
    }

    @Test("parameter count: V·C + T·C + L·(12C² + 13C) + 2C, tied Pre-LN; lm_head adds V·C, sinusoidal removes T·C")
    func parameterCount() throws {
        #expect(try tinyModel().parameterCount == 13 * 16 + 8 * 16 + 2 * (12 * 16 * 16 + 13 * 16) + 2 * 16)   // 6,928
        #expect(try tinyModel(tied: false).parameterCount == 6928 + 13 * 16)
        #expect(try tinyModel(positions: .sinusoidal).parameterCount == 6928 - 8 * 16)
        #expect(try tinyModel(norm: .post).parameterCount == 6928 - 2 * 16)          // no ln_f
        let names = try tinyModel().parameters.map(\.name)
        #expect(names.prefix(4) == ["wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias"])
        #expect(names.contains("h.1.attn.c_attn.weight") && names.last == "ln_f.bias")
    }

    @Test("sinusoidal table: P[t, 2i] = sin(t/10000^(2i/C)), P[t, 2i+1] = cos(…)")
    func sinusoidal() {
        let table = Positions.sinusoidalTable(context: 4, width: 6)
        #expect(table[0, 0] == 0 && table[0, 1] == 1)
        #expect(abs(Double(table[3, 2]) - sin(3 / pow(10000, 2.0 / 6))) < 1e-6)
        #expect(abs(Double(table[3, 5]) - cos(3 / pow(10000, 4.0 / 6))) < 1e-6)
    }
}
