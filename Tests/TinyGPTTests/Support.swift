import Foundation
import Testing
@testable import TinyGPT

// Shared by the tests: where the repository is, the PyTorch fixtures, and comparisons.

enum Repository {
    /// The checkout's top folder (this file is Tests/TinyGPTTests/Support.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// A JSON fixture from Tests/Fixtures (written by Tests/Fixtures/make_fixtures.py).
func fixture(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: Repository.url("Tests/Fixtures/\(name)"))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw FixtureError(description: "\(name) is not a JSON object")
    }
    return object
}

func floats(_ value: Any?) -> [Float] { (value as? [NSNumber] ?? []).map { $0.floatValue } }
func integers(_ value: Any?) -> [Int] { (value as? [NSNumber] ?? []).map { $0.intValue } }
func number(_ value: Any?) -> Float { (value as? NSNumber)?.floatValue ?? .nan }

/// The largest |a_i − b_i| (infinite when the counts differ).
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// The model a fixture describes, with the fixture's parameter values.
func fixtureModel(_ json: [String: Any]) throws -> GPT {
    let c = json["config"] as? [String: Any] ?? [:]
    var config = Configuration()
    config.vocabularySize = (c["vocab_size"] as? Int) ?? 0
    config.context = (c["n_positions"] as? Int) ?? 0
    config.width = (c["n_embd"] as? Int) ?? 0
    config.layers = (c["n_layer"] as? Int) ?? 0
    config.heads = (c["n_head"] as? Int) ?? 0
    config.norm = NormOrder(rawValue: c["norm"] as? String ?? "") ?? .pre
    config.activation = Activation(rawValue: c["activation"] as? String ?? "") ?? .gelu
    config.positions = PositionKind(rawValue: c["positions"] as? String ?? "") ?? .learned
    config.tied = (c["tied"] as? Bool) ?? true
    var random = RandomGenerator(seed: 0)
    var model = try GPT(config: config, random: &random)
    let params = json["params"] as? [String: Any] ?? [:]
    #expect(Set(params.keys) == Set(model.parameters.map(\.name)), "the fixture names exactly our parameters")
    for parameter in model.parameters {
        let values = floats(params[parameter.name])
        let shape = model[keyPath: parameter.path]
        guard values.count == shape.values.count else {
            throw FixtureError(description: "\(parameter.name): \(values.count) values for \(shape.shape)")
        }
        model[keyPath: parameter.path] = Matrix(rows: shape.rows, cols: shape.cols, values: values)
    }
    return model
}

/// A small model for behaviour tests: V 13, context 8, width 16, 2 layers, 2 heads.
func tinyModel(norm: NormOrder = .pre, activation: Activation = .gelu, positions: PositionKind = .learned,
               tied: Bool = true, seed: UInt64 = 7) throws -> GPT {
    var config = Configuration()
    config.vocabularySize = 13
    config.context = 8
    config.width = 16
    config.layers = 2
    config.heads = 2
    config.norm = norm
    config.activation = activation
    config.positions = positions
    config.tied = tied
    var random = RandomGenerator(seed: seed)
    return try GPT(config: config, random: &random)
}

/// Random IDs in 0..<vocabulary.
func randomIDs(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int] {
    var random = RandomGenerator(seed: seed)
    return (0..<count).map { _ in random.integer(below: vocabulary) }
}
