import Foundation
import TinyGPT

// gpt train (and gpt demo, which is train with the demo's prompts): trains on the corpus with a
// live progress line, prints the loss as it falls, samples, and writes out/loss.svg.

let trainingFlags: [FlagSpec] = [
    FlagSpec(name: "batch", defaultValue: "16", help: "B, windows per step"),
    FlagSpec(name: "shards", defaultValue: "2", help: "groups of windows that may run on separate cores (fixes the bits, unlike --threads)"),
    FlagSpec(name: "steps", defaultValue: "600", help: "training steps"),
    FlagSpec(name: "lr", defaultValue: "6e-3", help: "peak learning rate (after warm-up)"),
    FlagSpec(name: "min-lr", defaultValue: "6e-4", help: "learning rate at the end of the cosine"),
    FlagSpec(name: "warmup", defaultValue: "20", help: "steps of linear warm-up"),
    FlagSpec(name: "weight-decay", defaultValue: "0.1", help: "AdamW's decoupled decay on matrices"),
    FlagSpec(name: "clip", defaultValue: "1.0", help: "largest global gradient norm"),
    FlagSpec(name: "held-out", defaultValue: "0.1", help: "fraction of the corpus kept apart to measure generalisation"),
    FlagSpec(name: "prompt", defaultValue: "", help: "after training, continue this text"),
    FlagSpec(name: "samples", defaultValue: "1", help: "how many continuations of --prompt"),
    FlagSpec(name: "tokens", defaultValue: "30", help: "tokens per continuation"),
    FlagSpec(name: "temperature", defaultValue: "0.8", help: "0 = greedy; below 1 sharper, above 1 flatter"),
    FlagSpec(name: "top-k", defaultValue: "", help: "sample only among the k most probable tokens"),
    FlagSpec(name: "top-p", defaultValue: "", help: "sample only within the smallest set of mass ≥ p"),
    FlagSpec(name: "out", defaultValue: "out", help: "folder for loss.svg"),
]

let trainFlags = modelFlags + trainingFlags

/// The demo's prompts: the notes' examples; any the corpus cannot encode are skipped.
let demoPrompts = ["I drink", "the dog is", "feed the", "my aunt", "Apple announced", "greenhouse gas"]

func samplingSettings(_ flags: Flags) throws -> SamplingSettings {
    var settings = SamplingSettings(temperature: try flags.number("temperature", in: 0...100))
    if flags.isSet("top-k") { settings.topK = try flags.integer("top-k", atLeast: 1) }
    if flags.isSet("top-p") {
        let p = try flags.number("top-p", in: 0...1)
        guard p > 0 else { throw UsageError("--top-p must be above 0, got \(flags.string("top-p"))") }
        settings.topP = p
    }
    return settings
}

func train(_ flags: Flags, demo: Bool) throws {
    // Read and check everything before any work.
    let corpus = try loadCorpus(flags)
    let config = try configuration(flags, vocabularySize: corpus.tokenizer.count)
    let seed = try seedAndThreads(flags)
    var settings = OptimizerSettings()
    settings.totalSteps = try flags.integer("steps", atLeast: 1)
    settings.learningRate = try flags.number("lr", in: 1e-8...10)
    settings.minLearningRate = min(settings.learningRate, try flags.number("min-lr", in: 0...10))
    settings.warmupSteps = try flags.integer("warmup", atLeast: 0)
    settings.weightDecay = try flags.number("weight-decay", in: 0...10)
    settings.clip = try flags.number("clip", in: 1e-6...1e6)
    let batch = try flags.integer("batch", atLeast: 1)
    let heldOutFraction = Double(try flags.number("held-out", in: 0...0.9))
    let sampling = try samplingSettings(flags)
    let sampleCount = try flags.integer("samples", atLeast: 0)
    let sampleLength = try flags.integer("tokens", atLeast: 1)
    let outFolder = flags.string("out")
    let dataset: TextDataset
    do {
        dataset = try TextDataset(ids: corpus.ids, windowLength: config.context, heldOutFraction: heldOutFraction)
    } catch let error as TrainingError { throw RunError("\(corpus.path): \(error)") }
    guard dataset.train.count > config.context else {
        throw RunError("\(corpus.path): the training part has \(dataset.train.count) tokens, fewer than one window of \(config.context) + 1: use a smaller --context or --held-out")
    }

    var random = RandomGenerator(seed: seed)
    let model = try GPT(config: config, random: &random)
    var trainer = Trainer(model: model, dataset: dataset, batchSize: batch, settings: settings, random: random,
                          shards: try flags.integer("shards", atLeast: 1))
    let unit = corpus.tokenizer is WordTokenizer ? "word" : "character"
    if demo { Output.line("TinyGPT demo: a small GPT learns \(corpus.path) by heart, then writes from prompts") }
    Output.line("corpus   \(corpus.path): \(grouped(corpus.ids.count)) \(unit) tokens, vocabulary \(corpus.tokenizer.count) "
                + "(train \(grouped(dataset.train.count)), held out \(grouped(dataset.heldOut.count)))")
    Output.line("model    \(describe(config)) = \(grouped(model.parameterCount)) parameters")
    Output.line("training \(settings.totalSteps) steps of \(batch) windows × \(config.context) tokens; AdamW lr \(flags.string("lr")) "
                + "(warm-up \(settings.warmupSteps), cosine to \(flags.string("min-lr"))), weight decay \(flags.string("weight-decay")); "
                + "seed \(seed); \(FastProduct.threads) thread\(FastProduct.threads == 1 ? "" : "s")")
    Output.line("start    loss of a fresh model ≈ ln(\(corpus.tokenizer.count)) = \(fixed(log(Float(corpus.tokenizer.count)), 3)): every token equally likely")

    // The loop.
    let reportEvery = max(1, settings.totalSteps / 12)
    var trainCurve: [(step: Int, loss: Float)] = [], heldOutCurve: [(step: Int, loss: Float)] = []
    var recentLosses: [Float] = []
    if let loss = trainer.heldOutLoss() { heldOutCurve.append((0, loss)) }
    let clock = ContinuousClock()
    var trainingTime = Duration.zero
    for _ in 0..<settings.totalSteps {
        let started = clock.now
        let report: StepReport
        do { report = try trainer.step() } catch let error as TrainingError { throw RunError("\(error)") }
        trainingTime += clock.now - started
        trainCurve.append((report.step, report.loss))
        recentLosses.append(report.loss)
        let seconds = seconds(trainingTime)
        let tokensPerSecond = Double(report.step * batch * config.context) / max(seconds, 1e-9)
        Output.progress("step \(report.step)/\(settings.totalSteps)  loss \(fixed(report.loss, 4))  "
                        + "\(grouped(Int(tokensPerSecond))) tok/s  \(fixed(seconds, 1)) s  " + sparkline(trainCurve.map(\.loss), width: 30))
        if report.step % reportEvery == 0 || report.step == settings.totalSteps {
            let mean = recentLosses.reduce(0, +) / Float(recentLosses.count)
            recentLosses = []
            var line = "step \(padded(String(report.step), String(settings.totalSteps).count))  loss \(fixed(mean, 4))"
            if let heldOut = trainer.heldOutLoss() {
                heldOutCurve.append((report.step, heldOut))
                line += "  held-out loss \(fixed(heldOut, 3))"
            }
            line += "  lr \(String(format: "%.1e", Double(report.learningRate)))  \(grouped(Int(tokensPerSecond))) tok/s  \(fixed(seconds, 1)) s"
            Output.endProgress()
            Output.line(line)
        }
    }
    let seconds = seconds(trainingTime)
    let final = trainCurve.suffix(20).map(\.loss)
    let finalLoss = final.reduce(0, +) / Float(final.count)
    Output.line("trained  \(settings.totalSteps) steps in \(fixed(seconds, 1)) s "
                + "(\(grouped(Int(Double(settings.totalSteps * batch * config.context) / max(seconds, 1e-9)))) tokens/s); "
                + "final train loss \(fixed(finalLoss, 4)) (mean of the last \(final.count) steps)")
    Output.line("curve    " + sparkline(trainCurve.map(\.loss)) + "  (log scale, step 1 → \(settings.totalSteps))")
    let floor = dataset.lossFloor()
    Output.line("floor    \(fixed(floor, 4)): the least any model can reach here, because a window's first "
                + "tokens cannot see where in the text they are (chapter 13)")

    // Samples.
    let tokenizer = corpus.tokenizer
    func continuation(_ prompt: String, _ sampling: SamplingSettings, _ random: inout RandomGenerator) -> String? {
        let encoding = tokenizer.encode(prompt)
        guard !encoding.ids.isEmpty, encoding.unknown.isEmpty else { return nil }
        let ids = trainer.model.generate(prompt: encoding.ids, count: sampleLength, settings: sampling, random: &random)
        return tokenizer.decode(ids).replacingOccurrences(of: "\n", with: " ↵ ")
    }
    var sampleRandom = RandomGenerator(seed: seed &+ 1)
    if flags.isSet("prompt") {
        let prompt = flags.string("prompt")
        let encoding = tokenizer.encode(prompt)
        if !encoding.unknown.isEmpty {
            Output.line("note     not in the vocabulary (became \(unknownPiece)): " + encoding.unknown.map(visible).joined(separator: ", "))
        }
        guard !encoding.ids.isEmpty else { throw UsageError("--prompt is empty: give some text to continue") }
        Output.line("samples  temperature \(flags.string("temperature"))"
                    + (sampling.topK.map { ", top-k \($0)" } ?? "") + (sampling.topP.map { ", top-p \($0)" } ?? ""))
        for _ in 0..<sampleCount {
            let ids = trainer.model.generate(prompt: encoding.ids, count: sampleLength, settings: sampling, random: &sampleRandom)
            Output.line("  " + tokenizer.decode(ids).replacingOccurrences(of: "\n", with: " ↵ "))
        }
    } else if demo {
        for temperature: Float in [0, 0.8] {
            Output.line(temperature == 0 ? "samples  temperature 0 (greedy: always the most probable next token)"
                                         : "samples  temperature 0.8 (drawn at random, a little sharper than the model)")
            for prompt in demoPrompts {
                if let text = continuation(prompt, SamplingSettings(temperature: temperature), &sampleRandom) {
                    Output.line("  " + text)
                }
            }
        }
    }

    if demo, tokenizer is WordTokenizer { explore(trainer.model.wte.weight, tokenizer) }

    // Files.
    let chartPath = (outFolder as NSString).appendingPathComponent("loss.svg")
    let chart = LossChart(train: trainCurve, heldOut: heldOutCurve,
                          title: "TinyGPT learning \((corpus.path as NSString).lastPathComponent)",
                          subtitle: describe(config) + "; \(batch) windows per step", floor: Float(floor))
    try Output.write(chart.svg(), to: chartPath)
    Output.line("wrote    \(chartPath) (train and held-out loss against step)")
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// What the trained embedding rows encode (chapter 15), for the words of the notes that the corpus has.
func explore(_ embedding: Matrix, _ tokenizer: any Tokenizer) {
    let index = Dictionary(uniqueKeysWithValues: tokenizer.vocabulary.enumerated().map { ($1, $0) })
    func name(_ id: Int) -> String { visible(tokenizer.vocabulary[id]) }
    Output.line("embeddings  what training put in the rows of W_E (chapter 15; cosine similarity, 1 = same direction)")
    for word in ["dog", "cat", "coffee", "ghg", "apple", "Apple", "aunt"] {
        guard let id = index[word] else { continue }
        let neighbours = nearestRows(to: embedding.row(id), in: embedding, count: 4, excluding: [id])
        Output.line("  nearest to \(padded(word, 7)) " + neighbours.map { "\(name($0.id)) \(fixed($0.similarity, 2))" }.joined(separator: ", "))
    }
    for (a, b, c, expected) in [("cat", "cats", "dog", "dogs"), ("uncle", "aunt", "man", "woman"), ("man", "woman", "king", "queen")] {
        guard let ia = index[a], let ib = index[b], let ic = index[c] else { continue }
        let answers = analogy(ia, ib, ic, in: embedding, count: 3)
        let mark = answers.first.map { name($0.id) == expected ? "✓" : "✗ (hoped for \(expected))" } ?? ""
        Output.line("  \(a) → \(b) as \(c) → " + answers.map { "\(name($0.id)) \(fixed($0.similarity, 2))" }.joined(separator: ", ") + "  " + mark)
    }
    // Singular → plural pairs the vocabulary has, as (singular ID, plural ID).
    let pairs = [("cat", "cats"), ("dog", "dogs"), ("puppy", "puppies"), ("kitten", "kittens"), ("apple", "apples")]
        .compactMap { pair in index[pair.0].flatMap { s in index[pair.1].map { (s, $0) } } }
    if let (singular, plural) = pairs.first, pairs.count >= 2 {
        let plurality = direction(from: singular, to: plural, in: embedding)
        func along(_ id: Int) -> Float { projection(embedding.row(id), onto: plurality) }
        let others = pairs.dropFirst()
        let agreeing = others.filter { along($0.1) > along($0.0) }.count
        Output.line("  plural direction \(name(plural)) − \(name(singular)): \(agreeing) of \(others.count) other pairs lie further along it as plurals ("
                    + others.map { "\(name($0.1)) \(fixed(along($0.1), 2)) vs \(name($0.0)) \(fixed(along($0.0), 2))" }.joined(separator: "; ") + ")")
    }
}
