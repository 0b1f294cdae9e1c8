import Foundation
import Testing
@testable import TinyGPT
#if canImport(FoundationXML)
import FoundationXML
#endif

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

/// The PyTorch fixtures of whole models, one per switch combination (chapters 09, 11 and 12).
let modelFixtures = [
    "model_pre_gelu_tied_learned.json",
    "model_post_relu_untied_sinusoidal.json",
    "model_pre_relu_untied_sinusoidal.json",
    "model_post_gelu_tied_learned.json",
]

/// The sentences the notes use, repeated: enough for "coffee" to earn a token of its own (chapters 01, 17, the command line).
let coffeeCorpus = String(repeating: "I drink coffee every morning. The coffee is hot. I like coffee with milk.\n", count: 5)
    + "We drink tea. Greenhouse gas (GHG) emissions rose.\n"

// MARK: Finite differences
// Every backward against central finite differences, on tiny sizes.
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

/// Σ a ⊙ b over every element. As a loss L = Σ upstream ⊙ y, its gradient with respect to y is `upstream`.
func dot(_ a: Matrix, _ b: Matrix) -> Float {
    precondition(a.rows == b.rows && a.cols == b.cols, "\(a.shape) ⊙ \(b.shape)")
    return zip(a.values, b.values).map(*).reduce(0, +)
}

/// (f(x + h·e_i) − f(x − h·e_i)) / 2h for every element i of x: the gradient finite differences see.
func centralDifferences(_ x: Matrix, h: Float = 1e-2, _ f: (Matrix) -> Float) -> [Float] {
    (0..<x.values.count).map { i in
        var plus = x, minus = x
        plus.values[i] += h
        minus.values[i] -= h
        return (f(plus) - f(minus)) / (2 * h)
    }
}

/// Expects every numeric and analytic pair to be `close`, naming `what` and the index of any that is not.
func expectClose(_ numeric: [Float], _ analytic: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(numeric.count == analytic.count, "\(what): \(numeric.count) numeric, \(analytic.count) analytic", sourceLocation: sourceLocation)
    for (i, (n, a)) in zip(numeric, analytic).enumerated() where !close(n, a) {
        Issue.record("\(what)[\(i)]: numeric \(n), analytic \(a)", sourceLocation: sourceLocation)
    }
}

// MARK: The exercises' switches (docs/exercises.md)
// A switch's effect on training, checked in the direction the workbook claims.

/// The mean training loss of the last 10 of `steps` steps of a fresh model of `config` trained on
/// `ids` (batches of 8 windows, warm-up 5 steps, cosine to a tenth of `learningRate`).
func lossAfterTraining(_ config: Configuration, ids: [Int], steps: Int, learningRate: Float = 6e-3, seed: UInt64 = 1,
                       method: OptimizerMethod = .adamw) throws -> Float {
    var random = RandomGenerator(seed: seed)
    let model = try GPT(config: config, random: &random)
    var settings = OptimizerSettings()
    (settings.totalSteps, settings.warmupSteps, settings.method) = (steps, 5, method)
    (settings.learningRate, settings.minLearningRate) = (learningRate, learningRate / 10)
    let dataset = try TextDataset(ids: ids, windowLength: config.context, heldOutFraction: 0)
    var trainer = Trainer(model: model, dataset: dataset, batchSize: 8, settings: settings, random: random)
    try trainer.run(through: steps, cadence: Cadence(evaluateEvery: steps))
    return trainer.history.suffix(10).map(\.loss).reduce(0, +) / 10
}

/// The demo corpus's training loss after 80 steps of a 6-layer model (width 16, context 8), with
/// every part on and with the one `switchOff` turns off.
func lossesAtDepth(seed: UInt64, switchOff: (inout Configuration) -> Void) throws -> (with: Float, without: Float) {
    let (ids, vocabulary) = try demoCorpusIDs()
    var config = Configuration(vocabularySize: vocabulary, context: 8, width: 16, layers: 6, heads: 2)
    let with = try lossAfterTraining(config, ids: ids, steps: 80, seed: seed)
    switchOff(&config)
    return (with, try lossAfterTraining(config, ids: ids, steps: 80, seed: seed))
}

/// The demo's corpus as word IDs, and its vocabulary size.
func demoCorpusIDs() throws -> (ids: [Int], vocabulary: Int) {
    let text = try String(contentsOf: Repository.url("corpus.txt"), encoding: .utf8)
    let tokenizer = WordTokenizer(corpus: text)
    return (tokenizer.encode(text).ids, tokenizer.count)
}

// MARK: Pictures

/// The text of every <text> element of an SVG file, after parsing it as XML (a parse error throws).
func svgTexts(_ url: URL) throws -> [String] {
    final class Collector: NSObject, XMLParserDelegate {
        var texts: [String] = [], current: String? = nil
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) { if name == "text" { current = "" } }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text", let text = current { texts.append(text) }
            current = nil
        }
    }
    let parser = XMLParser(data: try Data(contentsOf: url)), collector = Collector()
    parser.delegate = collector
    guard parser.parse() else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(url.path) is not XML"]) }
    return collector.texts
}
