import Foundation
import Testing
@testable import TinyGPT

// Chapter 09: the whole forward pass: its configuration, its parameters and their count, its
// initialisation, the shape of the logits, windows that never mix, and agreement with PyTorch
// (Tests/Fixtures/make_fixtures.py computes the same model in float64 from float32-exact
// parameters; we compute in Float. Logits and loss agree to 1e-5 absolute).

@Suite("09 Model") struct ModelTests {
    @Test("logits and loss agree with PyTorch (1e-5)", arguments: modelFixtures)
    func forward(name: String) throws {
        let json = try fixture(name)
        let model = try fixtureModel(json)
        let T = json["time"] as? Int ?? 0
        let (logits, _) = model.forward(integers(json["tokens"]), windowLength: T)
        #expect(maxDifference(logits.values, floats(json["logits"])) < 1e-5)
        let (loss, _) = CrossEntropy.forward(logits, targets: integers(json["targets"]))
        #expect(abs(loss - number(json["loss"])) < 1e-5)
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

    @Test("parameter count of tiny configurations is 12·L·C² + 13·L·C + V·C + T·C + 2C (tied, Pre-LN, learned), each parameter with its GPT-2 shape")
    func parameterCountFormula() throws {
        for (V, T, C, L, H) in [(7, 3, 4, 1, 1), (11, 5, 8, 3, 2), (5, 9, 12, 2, 3)] {
            var config = Configuration()
            (config.vocabularySize, config.context, config.width, config.layers, config.heads) = (V, T, C, L, H)
            var random = RandomGenerator(seed: 1)
            let model = try GPT(config: config, random: &random)
            #expect(model.parameterCount == 12 * L * C * C + 13 * L * C + V * C + T * C + 2 * C, "V \(V), T \(T), C \(C), L \(L)")
            var shapes: [String: String] = [:]
            for parameter in model.parameters { shapes[parameter.name] = model[keyPath: parameter.path].shape }
            #expect(shapes.count == model.parameters.count && shapes.count == 2 + 12 * L + 2, "names are unique")
            #expect(shapes["wte.weight"] == "[\(V), \(C)]" && shapes["wpe.weight"] == "[\(T), \(C)]")
            #expect(shapes["h.\(L - 1).attn.c_attn.weight"] == "[\(C), \(3 * C)]" && shapes["h.0.attn.c_attn.bias"] == "[1, \(3 * C)]")
            #expect(shapes["h.0.attn.c_proj.weight"] == "[\(C), \(C)]")
            #expect(shapes["h.0.mlp.c_fc.weight"] == "[\(C), \(4 * C)]" && shapes["h.0.mlp.c_proj.weight"] == "[\(4 * C), \(C)]")
            #expect(shapes["h.0.ln_1.weight"] == "[1, \(C)]" && shapes["ln_f.bias"] == "[1, \(C)]")
        }
    }

    @Test("forward: B windows of T IDs give logits [B·T, V] = Z·Uᵀ, U = W_E when tied and lm_head when not (1e-5); X₀ = W_E[ids] + P",
          arguments: [true, false])
    func logitsShape(tied: Bool) throws {
        let model = try tinyModel(tied: tied)
        let ids = randomIDs(3 * 5, vocabulary: 13, seed: 4)
        let (logits, saved) = model.forward(ids, windowLength: 5)
        #expect(logits.rows == 3 * 5 && logits.cols == 13)
        #expect(saved.embedded.shape == "[15, 16]" && saved.final.shape == "[15, 16]" && saved.blockOutputs.count == 2)
        var u = model.tokenEmbedding.weight
        if !tied { u = try #require(model.untiedUnembedding) }
        #expect(model.unembedding == u && (u == model.tokenEmbedding.weight) == tied)
        #expect(maxDifference(logits.values, definitionProduct(saved.final, u.transposed()).values) < 1e-5)
        #expect(saved.embedded == model.positionEmbedding.forward(model.tokenEmbedding.forward(ids), windowLength: 5))
    }

    @Test("a fresh model: weights N(0, 0.02²), the two projections into the residual stream N(0, (0.02/√(2L))²) (std within 10%); biases 0, γ 1, β 0 (exact)")
    func initialisation() throws {
        var config = Configuration()
        (config.vocabularySize, config.context, config.width, config.layers, config.heads) = (64, 32, 32, 2, 2)
        var random = RandomGenerator(seed: 5)
        let model = try GPT(config: config, random: &random)
        for parameter in model.parameters {
            let values = model[keyPath: parameter.path].values
            if parameter.name.contains("ln_") && parameter.name.hasSuffix(".weight") {
                #expect(values.allSatisfy { $0 == 1 }, "\(parameter.name)")
            } else if !parameter.decays {
                #expect(values.allSatisfy { $0 == 0 }, "\(parameter.name)")
            } else {
                let std = (values.map { Double($0) * Double($0) }.reduce(0, +) / Double(values.count)).squareRoot()
                let expected = parameter.name.hasSuffix("c_proj.weight") ? 0.02 / Double(2 * config.layers).squareRoot() : 0.02
                #expect(abs(std / expected - 1) < 0.1, "\(parameter.name): std \(std), expected \(expected)")
            }
        }
    }
}
