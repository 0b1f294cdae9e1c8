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
] + samplingFlags + [
    FlagSpec(name: "out", defaultValue: "out", help: "folder for loss.svg (and, in the demo, checkpoint/)"),
    FlagSpec(name: "save", defaultValue: "", help: "save a checkpoint directory at the end (chapter 17)"),
    FlagSpec(name: "save-every", defaultValue: "", help: "also save every N steps"),
    FlagSpec(name: "stop-at", defaultValue: "", help: "pause after this step (needs --save); go on later with --resume"),
    FlagSpec(name: "resume", defaultValue: "", help: "continue a saved run exactly where it stopped (saves back into it)"),
]

/// How a continuation is drawn (chapter 14): shared by train, demo and sample.
let samplingFlags: [FlagSpec] = [
    FlagSpec(name: "tokens", defaultValue: "30", help: "new tokens per continuation"),
    FlagSpec(name: "temperature", defaultValue: "0.8", help: "0 = greedy; below 1 sharper, above 1 flatter"),
    FlagSpec(name: "top-k", defaultValue: "", help: "sample only among the k most probable tokens"),
    FlagSpec(name: "top-p", defaultValue: "", help: "sample only within the smallest set of mass ≥ p"),
]

let trainFlags = modelFlags + trainingFlags

/// The demo's prompts: the notes' examples; any the corpus cannot encode are skipped.
let demoPrompts = ["I drink", "the dog is", "feed the", "my aunt", "Apple announced", "greenhouse gas"]

func samplingSettings(_ flags: Flags) throws -> SamplingSettings {
    var settings = SamplingSettings(temperature: try flags.number("temperature", in: 0...100))
    if flags.isSet("top-k") { settings.topK = try flags.integer("top-k", atLeast: 1) }
    if flags.isSet("top-p") {
        let p = try flags.number("top-p", in: 0...1)
        guard p > 0 else { throw CommandLineError.usage("--top-p must be above 0, got \(flags.string("top-p"))") }
        settings.topP = p
    }
    return settings
}

/// Flags that a checkpoint fixes: a resumed run takes them from trainer_state.json and config.json.
let fixedWhenResuming = ["tokenizer", "vocab-size", "width", "layers", "heads", "context", "norm", "activation", "positions",
                         "untied", "seed", "batch", "shards", "lr", "min-lr", "warmup", "weight-decay", "clip", "held-out"]

/// What a run starts from: a fresh model (from flags) or a checkpoint's trainer (--resume).
struct TrainingRun {
    var corpus: Corpus
    var trainer: Trainer
    var seed: UInt64                      // of the samples drawn at the end
    var heldOutFraction: Double
    var trainCurve: [LossPoint] = []
    var heldOutCurve: [LossPoint] = []
    var savedTotalSteps = 0               // the schedule's length in the checkpoint resumed from
}

/// A fresh run: corpus, tokenizer, model and optimizer from the flags.
func freshRun(_ flags: Flags) throws -> TrainingRun {
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
    let shards = try flags.integer("shards", atLeast: 1)
    let heldOutFraction = Double(try flags.number("held-out", in: 0...0.9))
    let dataset = try trainingData(corpus, windowLength: config.context, heldOutFraction: heldOutFraction)
    var random = RandomGenerator(seed: seed)
    let model = try GPT(config: config, random: &random)
    let trainer = Trainer(model: model, dataset: dataset, batchSize: batch, settings: settings, random: random, shards: shards)
    return TrainingRun(corpus: corpus, trainer: trainer, seed: seed, heldOutFraction: heldOutFraction)
}

/// A resumed run: model, tokenizer, optimizer, schedule and the batches' random state from DIR.
func resumedRun(_ flags: Flags, from directory: String) throws -> TrainingRun {
    if let fixed = fixedWhenResuming.first(where: flags.isSet) {
        throw CommandLineError.usage("--\(fixed) cannot change when resuming: \(directory) fixes it (see its trainer_state.json and config.json)")
    }
    FastProduct.threads = min(try flags.integer("threads", atLeast: 1), 64)
    let checkpoint = try loadCheckpoint(directory)
    guard var state = checkpoint.training else {
        throw CommandLineError.failure("\(directory) holds a model but no trainer_state.json, so it cannot resume; sample from it with gpt sample --checkpoint \(directory)")
    }
    let savedTotalSteps = state.optimizer.settings.totalSteps
    if flags.isSet("steps") { state.optimizer.settings.totalSteps = try flags.integer("steps", atLeast: 1) }
    guard state.optimizer.step < state.optimizer.settings.totalSteps else {
        throw CommandLineError.usage("\(directory) has already trained \(state.optimizer.step) of its \(state.optimizer.settings.totalSteps) steps: pass a larger --steps to go on")
    }
    let path = flags.isSet("corpus") ? flags.string("corpus") : state.corpus
    let text = try readCorpus(path)
    let corpus = Corpus(path: path, tokenizer: checkpoint.tokenizer, ids: checkpoint.tokenizer.encode(text).ids)
    if TrainingState.fingerprint(corpus.ids) != state.corpusFingerprint {
        Output.note("\(path) is not the text \(directory) was trained on (\(state.corpus)): training goes on with it")
    }
    let dataset = try trainingData(corpus, windowLength: checkpoint.model.config.context, heldOutFraction: state.heldOutFraction)
    var trainer = Trainer(model: checkpoint.model, dataset: dataset, batchSize: state.batchSize, settings: state.optimizer.settings,
                          random: state.random, shards: state.shards)
    trainer.optimizer = state.optimizer
    return TrainingRun(corpus: corpus, trainer: trainer, seed: (try? seedAndThreads(flags)) ?? 1, heldOutFraction: state.heldOutFraction,
                       trainCurve: state.history, heldOutCurve: state.heldOutHistory, savedTotalSteps: savedTotalSteps)
}

/// The corpus split into training windows and a held-out tail, or one line saying why it cannot be.
func trainingData(_ corpus: Corpus, windowLength: Int, heldOutFraction: Double) throws -> TextDataset {
    let dataset: TextDataset
    do {
        dataset = try TextDataset(ids: corpus.ids, windowLength: windowLength, heldOutFraction: heldOutFraction)
    } catch let error as TinyGPTError { throw CommandLineError.failure("\(corpus.path): \(error)") }
    guard dataset.train.count > windowLength else {
        throw CommandLineError.failure("\(corpus.path): the training part has \(dataset.train.count) tokens, fewer than one window of \(windowLength) + 1: use a smaller --context or --held-out")
    }
    return dataset
}

func train(_ flags: Flags, demo: Bool) throws {
    // Read and check everything before any work.
    let resumeFrom = flags.isSet("resume") ? flags.string("resume") : nil
    var run = try resumeFrom.map { try resumedRun(flags, from: $0) } ?? freshRun(flags)
    let sampling = try samplingSettings(flags)
    let sampleCount = try flags.integer("samples", atLeast: 0)
    let sampleLength = try flags.integer("tokens", atLeast: 1)
    let outFolder = flags.string("out")
    let saveTo = flags.isSet("save") ? flags.string("save") : (resumeFrom ?? (demo ? (outFolder as NSString).appendingPathComponent("checkpoint") : nil))
    let saveEvery = flags.isSet("save-every") ? try flags.integer("save-every", atLeast: 1) : nil
    let settings = run.trainer.optimizer.settings
    let lastStep = flags.isSet("stop-at") ? min(try flags.integer("stop-at", atLeast: run.trainer.optimizer.step + 1), settings.totalSteps)
                                          : settings.totalSteps
    if let saveTo {
        do { try Checkpoint.mayBeReplaced(URL(fileURLWithPath: saveTo)) } catch let error as TinyGPTError { throw CommandLineError.usage("--save \(error)") }
    }
    if saveEvery != nil && saveTo == nil { throw CommandLineError.usage("--save-every needs --save DIR: where to save") }
    if lastStep < settings.totalSteps && saveTo == nil {
        throw CommandLineError.usage("--stop-at without --save would throw the run away: add --save DIR, then continue with --resume DIR")
    }
    if flags.isSet("prompt") && run.corpus.tokenizer.encode(flags.string("prompt")).ids.isEmpty {
        throw CommandLineError.usage("--prompt is empty: give some text to continue")
    }

    let corpus = run.corpus, config = run.trainer.model.config, batch = run.trainer.batchSize
    let dataset = run.trainer.dataset
    if demo { Output.line("TinyGPT demo: a small GPT learns \(corpus.path) by heart, then writes from prompts") }
    Output.line("corpus   \(corpus.path): \(grouped(corpus.ids.count)) \(unitName(corpus.tokenizer)) tokens, vocabulary \(corpus.tokenizer.count) "
                + "(train \(grouped(dataset.train.count)), held out \(grouped(dataset.heldOut.count)))")
    Output.line("model    \(describe(config)) = \(grouped(run.trainer.model.parameterCount)) parameters")
    func spelled(_ flag: String, _ value: Float) -> String { resumeFrom == nil ? flags.string(flag) : "\(value)" }
    Output.line("training \(settings.totalSteps) steps of \(batch) windows × \(config.context) tokens; AdamW lr \(spelled("lr", settings.learningRate)) "
                + "(warm-up \(settings.warmupSteps), cosine to \(spelled("min-lr", settings.minLearningRate))), weight decay \(spelled("weight-decay", settings.weightDecay)); "
                + (resumeFrom == nil ? "seed \(run.seed); " : "") + "\(FastProduct.threads) thread\(FastProduct.threads == 1 ? "" : "s")")
    if let resumeFrom {
        Output.line("resumed  \(resumeFrom) after step \(run.trainer.optimizer.step)"
                    + (run.trainCurve.last.map { " (loss \(fixed($0.loss, 4)))" } ?? "")
                    + (run.savedTotalSteps == settings.totalSteps ? "; the same batches and updates as an uninterrupted run"
                                                                  : "; the schedule now runs to step \(settings.totalSteps) instead of \(run.savedTotalSteps)"))
    } else {
        Output.line("start    loss of a fresh model ≈ ln(\(corpus.tokenizer.count)) = \(fixed(log(Float(corpus.tokenizer.count)), 3)): every token equally likely")
        if let loss = run.trainer.heldOutLoss() { run.heldOutCurve.append(LossPoint(step: 0, loss: loss)) }
    }

    func save(_ directory: String) throws {
        let state = TrainingState(optimizer: run.trainer.optimizer, random: run.trainer.random, batchSize: batch,
                                  shards: run.trainer.shards, heldOutFraction: run.heldOutFraction, corpus: corpus.path,
                                  corpusFingerprint: TrainingState.fingerprint(corpus.ids),
                                  history: run.trainCurve, heldOutHistory: run.heldOutCurve)
        try saveCheckpoint(Checkpoint(model: run.trainer.model, tokenizer: corpus.tokenizer, training: state), to: directory)
    }

    // The loop.
    let reportEvery = max(1, settings.totalSteps / 12)
    let clock = ContinuousClock()
    var trainingTime = Duration.zero, stepsThisRun = 0
    while run.trainer.optimizer.step < lastStep {
        let started = clock.now
        let report: StepReport
        report = try run.trainer.step()
        trainingTime += clock.now - started
        stepsThisRun += 1
        run.trainCurve.append(LossPoint(step: report.step, loss: report.loss))
        let seconds = seconds(trainingTime)
        let tokensPerSecond = Double(stepsThisRun * batch * config.context) / max(seconds, 1e-9)
        Output.progress("step \(report.step)/\(settings.totalSteps)  loss \(fixed(report.loss, 4))  "
                        + "\(grouped(Int(tokensPerSecond))) tok/s  \(fixed(seconds, 1)) s  " + sparkline(run.trainCurve.map(\.loss), width: 30))
        if report.step % reportEvery == 0 || report.step == settings.totalSteps {
            let recent = run.trainCurve.filter { $0.step > report.step - reportEvery }.map(\.loss)
            var line = "step \(padded(String(report.step), String(settings.totalSteps).count))  loss \(fixed(recent.reduce(0, +) / Float(recent.count), 4))"
            if let heldOut = run.trainer.heldOutLoss() {
                run.heldOutCurve.append(LossPoint(step: report.step, loss: heldOut))
                line += "  held-out loss \(fixed(heldOut, 3))"
            }
            line += "  lr \(String(format: "%.1e", Double(report.learningRate)))  \(grouped(Int(tokensPerSecond))) tok/s  \(fixed(seconds, 1)) s"
            Output.endProgress()
            Output.line(line)
        }
        if let saveEvery, let saveTo, report.step % saveEvery == 0, report.step < lastStep { try save(saveTo) }
    }
    let seconds = seconds(trainingTime)
    let paused = lastStep < settings.totalSteps
    let final = run.trainCurve.suffix(20).map(\.loss)
    if stepsThisRun > 0 {
        Output.line("trained  \(stepsThisRun) steps in \(fixed(seconds, 1)) s "
                    + "(\(grouped(Int(Double(stepsThisRun * batch * config.context) / max(seconds, 1e-9)))) tokens/s); "
                    + "final train loss \(fixed(final.reduce(0, +) / Float(final.count), 4)) (mean of the last \(final.count) steps)")
    }
    Output.line("curve    " + sparkline(run.trainCurve.map(\.loss)) + "  (log scale, step 1 → \(run.trainer.optimizer.step))")
    let floor = dataset.lossFloor()
    Output.line("floor    \(fixed(floor, 4)): the least any model can reach here, because a window's first "
                + "tokens cannot see where in the text they are (chapter 13)")

    // Samples.
    let model = run.trainer.model, tokenizer = corpus.tokenizer
    var sampleRandom = RandomGenerator(seed: run.seed &+ 1)
    if paused {
        Output.line("paused   after step \(lastStep) of \(settings.totalSteps): continue with gpt train --resume \(saveTo ?? "DIR")")
    } else if flags.isSet("prompt") {
        let encoding = tokenizer.encode(flags.string("prompt"))
        if !encoding.unknown.isEmpty {
            Output.line("note     not in the vocabulary (became \(unknownPiece)): " + encoding.unknown.map(visible).joined(separator: ", "))
        }
        Output.line("samples  temperature \(flags.string("temperature"))"
                    + (sampling.topK.map { ", top-k \($0)" } ?? "") + (sampling.topP.map { ", top-p \($0)" } ?? ""))
        for _ in 0..<sampleCount {
            let ids = model.generate(prompt: encoding.ids, count: sampleLength, settings: sampling, random: &sampleRandom)
            Output.line("  " + oneLine(tokenizer.decode(ids)))
        }
    } else if demo {
        for temperature: Float in [0, 0.8] {
            Output.line(temperature == 0 ? "samples  temperature 0 (greedy: always the most probable next token)"
                                         : "samples  temperature 0.8 (drawn at random, a little sharper than the model)")
            for prompt in demoPrompts {
                let encoding = tokenizer.encode(prompt)
                guard !encoding.ids.isEmpty, encoding.unknown.isEmpty else { continue }
                let ids = model.generate(prompt: encoding.ids, count: sampleLength, settings: SamplingSettings(temperature: temperature),
                                         random: &sampleRandom)
                Output.line("  " + oneLine(tokenizer.decode(ids)))
            }
        }
    }

    if demo, !paused, tokenizer is WordTokenizer { explore(model.tokenEmbedding.weight, tokenizer) }

    // Files.
    let chartPath = (outFolder as NSString).appendingPathComponent("loss.svg")
    let chart = LossChart(train: run.trainCurve, heldOut: run.heldOutCurve,
                          title: "TinyGPT learning \((corpus.path as NSString).lastPathComponent)",
                          subtitle: describe(config) + "; \(batch) windows per step", floor: Float(floor))
    try Output.write(chart.svg(), to: chartPath)
    Output.line("wrote    \(chartPath) (train and held-out loss against step)")
    if let saveTo {
        try save(saveTo)
        Output.line("wrote    \(saveTo) (checkpoint at step \(run.trainer.optimizer.step): "
                    + (paused ? "gpt train --resume \(saveTo)" : "gpt sample --checkpoint \(saveTo) --prompt …") + ")")
    }
}

/// Generated text on one line: a line break shows as ↵.
func oneLine(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ↵ ") }

/// "word", "character" or "BPE": what one token of this tokenizer is.
func unitName(_ tokenizer: any Tokenizer) -> String {
    tokenizer is WordTokenizer ? "word" : tokenizer is CharacterTokenizer ? "character" : "BPE"
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
