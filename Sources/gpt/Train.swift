import Foundation
import TinyGPT

// gpt train (and gpt demo, which is train with the demo's prompts): reads its flags, hands the
// loop to chapter 13's Trainer, prints what the Trainer reports as the loss falls, samples, and
// writes out/loss.svg (and the checkpoint).

let trainingFlags: [FlagSpec] = [
    FlagSpec(name: "batch", defaultValue: "16", help: "B, windows per step"),
    FlagSpec(name: "shards", defaultValue: "2", help: "groups of windows that may run on separate cores (fixes the bits, unlike --threads)"),
    FlagSpec(name: "steps", defaultValue: "600", help: "training steps"),
    FlagSpec(name: "lr", defaultValue: "6e-3", help: "peak learning rate (after warm-up)"),
    FlagSpec(name: "min-lr", defaultValue: "6e-4", help: "learning rate at the end of the cosine"),
    FlagSpec(name: "warmup", defaultValue: "20", help: "steps of linear warm-up"),
    FlagSpec(name: "weight-decay", defaultValue: "0.1", help: "AdamW's decoupled decay on matrices"),
    FlagSpec(name: "optimizer", defaultValue: "adamw", help: "adamw, or sgd (with momentum) to compare (chapter 12)"),
    FlagSpec(name: "beta1", defaultValue: "0.9", help: "AdamW's β₁: how long the mean of the gradient remembers"),
    FlagSpec(name: "beta2", defaultValue: "0.95", help: "AdamW's β₂, how long the mean of g² remembers (nanoGPT's default and GPT-3's: 0.95; nanoGPT's Shakespeare: 0.99)"),
    FlagSpec(name: "eps", defaultValue: "1e-8", help: "AdamW's ε, added to √v̂"),
    FlagSpec(name: "momentum", defaultValue: "0.9", help: "SGD only: μ, how much of the last update carries on"),
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
    FlagSpec(name: "init-from", defaultValue: "", help: "start from a saved model (ours or Hugging Face's GPT-2) and fine-tune it on --corpus"),
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
let demoPrompts = ["I drink", "the dog is", "feed the", "my aunt", "the company apple", "greenhouse gas"]

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
                         "untied", "no-mask", "no-scale", "no-residual", "no-layernorm", "seed", "batch", "shards", "lr", "min-lr",
                         "warmup", "weight-decay", "optimizer", "momentum", "beta1", "beta2", "eps", "clip", "held-out"]

/// What a run trains: the corpus, chapter 13's Trainer, and where it came from.
struct Run {
    let corpus: Corpus
    var trainer: Trainer
    let seed: UInt64                   // of the samples drawn at the end
    let resumedFrom: String?           // the checkpoint directory, when resuming
    var initializedFrom: String? = nil // the checkpoint whose weights a fine-tuning run starts from
    let savedTotalSteps: Int           // the schedule's length before this run (resuming) or now (fresh)
}

/// What a run may use: the machine's memory, less a tenth for everything else.
let memoryLimit = 0.9 * Double(ProcessInfo.processInfo.physicalMemory)

/// AdamW's settings and the schedule from the flags (chapter 12).
func optimizerSettings(_ flags: Flags) throws -> OptimizerSettings {
    var settings = OptimizerSettings()
    settings.totalSteps = try flags.integer("steps", atLeast: 1)
    settings.warmupSteps = try flags.integer("warmup", atLeast: 0)
    settings.learningRate = try flags.number("lr")                   // ranges: OptimizerSettings.validate (chapter 12)
    settings.minLearningRate = min(settings.learningRate, try flags.number("min-lr"))
    settings.weightDecay = try flags.number("weight-decay")
    settings.clip = try flags.number("clip")
    settings.method = try flags.choice("optimizer", as: OptimizerMethod.self)
    settings.momentum = try flags.number("momentum")
    (settings.beta1, settings.beta2, settings.epsilon) = (try flags.number("beta1"), try flags.number("beta2"), try flags.number("eps"))
    if let adamOnly = ["beta1", "beta2", "eps"].first(where: flags.isSet), settings.method == .sgd {
        throw CommandLineError.usage("--\(adamOnly) is AdamW's: SGD has only --momentum")
    }
    if flags.isSet("momentum") && settings.method != .sgd { throw CommandLineError.usage("--momentum goes with --optimizer sgd (AdamW keeps two running averages of its own, chapter 12)") }
    try settings.validate()
    return settings
}

/// A fresh run: corpus, tokenizer, model and optimizer from the flags.
func freshRun(_ flags: Flags) throws -> Run {
    let corpus = try loadCorpus(flags)
    let config = try configuration(flags, vocabularySize: corpus.tokenizer.count)
    let seed = try seedFlag(flags)
    try useThreads(flags)
    let settings = try optimizerSettings(flags)
    let batch = try flags.integer("batch", atLeast: 1), shards = try flags.integer("shards", atLeast: 1)
    try MemoryEstimate(config: config, batch: batch, shards: shards).check(limit: memoryLimit)
    let dataset = try trainingData(corpus, windowLength: config.context, heldOutFraction: Double(try flags.number("held-out", in: 0...0.9)))
    var random = RandomGenerator(seed: seed)
    let model = try GPT(config: config, random: &random)
    let trainer = Trainer(model: model, dataset: dataset, batchSize: batch, settings: settings, random: random, shards: shards)
    return Run(corpus: corpus, trainer: trainer, seed: seed, resumedFrom: nil, savedTotalSteps: settings.totalSteps)
}

/// A resumed run: model, tokenizer, optimizer, schedule, curves and the batches' random state from DIR.
func resumedRun(_ flags: Flags, from directory: String) throws -> Run {
    if let fixed = fixedWhenResuming.first(where: flags.isSet) {
        throw CommandLineError.usage("--\(fixed) cannot change when resuming: \(directory) fixes it (see its trainer_state.json and config.json)")
    }
    try useThreads(flags)
    let checkpoint = try loadCheckpoint(directory)
    guard var state = checkpoint.training else {
        throw CommandLineError.failure("\(directory) holds a model but no trainer_state.json, so it cannot resume; sample from it with gpt sample --checkpoint \(directory)")
    }
    try MemoryEstimate(config: checkpoint.model.config, batch: state.batchSize, shards: state.shards).check(limit: memoryLimit)
    let savedTotalSteps = state.optimizer.settings.totalSteps
    if flags.isSet("steps") { state.optimizer.settings.totalSteps = try flags.integer("steps", atLeast: 1) }
    guard state.optimizer.step < state.optimizer.settings.totalSteps else {
        throw CommandLineError.usage("\(directory) has already trained \(state.optimizer.step) of its \(state.optimizer.settings.totalSteps) steps: pass a larger --steps to go on")
    }
    let path = flags.isSet("corpus") ? flags.string("corpus") : state.corpus
    let corpus = Corpus(path: path, tokenizer: checkpoint.tokenizer, ids: checkpoint.tokenizer.encode(try readCorpus(path)).ids)
    if TrainingState.fingerprint(corpus.ids) != state.corpusFingerprint {
        Output.note("\(path) is not the text \(directory) was trained on (\(state.corpus)): training goes on with it")
    }
    let dataset = try trainingData(corpus, windowLength: state.windowLength, heldOutFraction: state.heldOutFraction)
    return Run(corpus: corpus, trainer: Trainer(model: checkpoint.model, resuming: state, dataset: dataset),
               seed: (try? seedFlag(flags)) ?? 1, resumedFrom: directory, savedTotalSteps: savedTotalSteps)
}

/// Flags that a model fixes: a run that starts from one (--init-from) takes them from its config.json.
/// --context is not among them: it may shorten the training windows (the model keeps its positions).
let fixedByTheModel = ["tokenizer", "vocab-size", "width", "layers", "heads", "norm", "activation", "positions",
                       "untied", "no-mask", "no-scale", "no-residual", "no-layernorm"]

/// A fine-tuning run: a saved model's weights, configuration and tokenizer; a fresh AdamW and
/// schedule from the flags; the batches of --corpus, cut by the model's own tokenizer.
func fineTuningRun(_ flags: Flags, from directory: String) throws -> Run {
    if let fixed = fixedByTheModel.first(where: flags.isSet) {
        throw CommandLineError.usage("--\(fixed) cannot be set with --init-from: \(directory) fixes it (see its config.json)")
    }
    let seed = try seedFlag(flags)
    try useThreads(flags)
    let settings = try optimizerSettings(flags)
    let batch = try flags.integer("batch", atLeast: 1), shards = try flags.integer("shards", atLeast: 1)
    let heldOut = Double(try flags.number("held-out", in: 0...0.9))
    let context = flags.isSet("context") ? try flags.integer("context", atLeast: 1) : nil
    let checkpoint = try loadCheckpoint(directory)
    var windows = checkpoint.model.config                                  // the training windows' shape
    if let context {
        windows.context = context
        guard windows.context <= checkpoint.model.config.context else {
            throw CommandLineError.usage("--context \(windows.context) is longer than \(directory)'s n_positions, \(checkpoint.model.config.context): "
                                         + "train on windows of at most that many tokens")
        }
    }
    try MemoryEstimate(config: windows, batch: batch, shards: shards).check(limit: memoryLimit)
    let path = flags.string("corpus"), encoding = checkpoint.tokenizer.encode(try readCorpus(path))
    if !encoding.unknown.isEmpty {
        Output.note("\(encoding.unknown.count) pieces of \(path) are not in \(directory)'s vocabulary and train as \(unknownPiece)")
    }
    let corpus = Corpus(path: path, tokenizer: checkpoint.tokenizer, ids: encoding.ids)
    let dataset = try trainingData(corpus, windowLength: windows.context, heldOutFraction: heldOut)
    let trainer = Trainer(model: checkpoint.model, dataset: dataset, batchSize: batch, settings: settings,
                          random: RandomGenerator(seed: seed), shards: shards)
    return Run(corpus: corpus, trainer: trainer, seed: seed, resumedFrom: nil, initializedFrom: directory,
               savedTotalSteps: settings.totalSteps)
}

/// The corpus split into training windows and a held-out tail, or one line saying why it cannot be.
func trainingData(_ corpus: Corpus, windowLength: Int, heldOutFraction: Double) throws -> TextDataset {
    do {
        return try TextDataset(ids: corpus.ids, windowLength: windowLength, heldOutFraction: heldOutFraction)
    } catch let error as TinyGPTError { throw CommandLineError.failure("\(corpus.path): \(error)") }
}

/// What train does besides the steps, read and checked from the flags before any work.
struct TrainPlan {
    let lastStep: Int                  // --stop-at, or the schedule's end
    let saveTo: String?
    let cadence: Cadence
    let outFolder: String
    let sampling: SamplingSettings
    let sampleCount: Int
    let sampleLength: Int
    let demo: Bool
}

func trainPlan(_ flags: Flags, _ run: Run, demo: Bool) throws -> TrainPlan {
    let settings = run.trainer.optimizer.settings, outFolder = flags.string("out")
    let saveTo = flags.isSet("save") ? flags.string("save")
                                     : run.resumedFrom ?? (demo ? (outFolder as NSString).appendingPathComponent("checkpoint") : nil)
    let saveEvery = flags.isSet("save-every") ? try flags.integer("save-every", atLeast: 1) : nil
    let lastStep = flags.isSet("stop-at") ? min(try flags.integer("stop-at", atLeast: run.trainer.optimizer.step + 1), settings.totalSteps)
                                          : settings.totalSteps
    try Output.checkWritable(outFolder, flag: "--out", isFolder: true)
    try Output.checkWritable((outFolder as NSString).appendingPathComponent("loss.svg"), flag: "--out", isFolder: false)
    if let saveTo {
        do { try Checkpoint.mayBeReplaced(URL(fileURLWithPath: saveTo)) } catch let error as TinyGPTError {
            throw CommandLineError.usage("--save \(error)")
        }
        try Output.checkWritable(saveTo, flag: "--save", isFolder: true)
    }
    if saveEvery != nil && saveTo == nil { throw CommandLineError.usage("--save-every needs --save DIR: where to save") }
    if lastStep < settings.totalSteps && saveTo == nil {
        throw CommandLineError.usage("--stop-at without --save would throw the run away: add --save DIR, then continue with --resume DIR")
    }
    if flags.isSet("prompt") && run.corpus.tokenizer.encode(flags.string("prompt")).ids.isEmpty {
        throw CommandLineError.usage("--prompt is empty: give some text to continue")
    }
    return TrainPlan(lastStep: lastStep, saveTo: saveTo, cadence: Cadence(evaluateEvery: settings.totalSteps / 12, saveEvery: saveEvery),
                     outFolder: outFolder, sampling: try samplingSettings(flags), sampleCount: try flags.integer("samples", atLeast: 0),
                     sampleLength: try flags.integer("tokens", atLeast: 1), demo: demo)
}

func train(_ flags: Flags, demo: Bool) throws {
    if flags.isSet("resume") && flags.isSet("init-from") {
        throw CommandLineError.usage("--resume and --init-from exclude each other: go on with a run, or start a new one from a model")
    }
    var run = try flags.isSet("resume") ? resumedRun(flags, from: flags.string("resume"))
                : flags.isSet("init-from") ? fineTuningRun(flags, from: flags.string("init-from")) : freshRun(flags)
    let plan = try trainPlan(flags, run, demo: demo)
    let lock = try plan.saveTo.map { try CheckpointLock(URL(fileURLWithPath: $0)) }   // held until train returns
    defer { withExtendedLifetime(lock) {} }
    printHeader(run, flags, demo: demo)
    let untrained = run.trainer.model.tokenEmbedding.weight            // for the demo's before/after picture
    var last: TrainingProgress? = nil
    let corpus = run.corpus
    try run.trainer.run(through: plan.lastStep, cadence: plan.cadence, save: { try save($0, corpus, to: plan.saveTo!) }) { progress, trainer in
        printProgress(progress, trainer)
        last = progress
    }
    let floor = run.trainer.dataset.lossFloor()
    printSummary(run, last, floor: floor)
    let paused = plan.lastStep < run.trainer.optimizer.settings.totalSteps
    if paused {
        Output.line("paused   after step \(plan.lastStep) of \(run.trainer.optimizer.settings.totalSteps): continue with gpt train --resume \(plan.saveTo ?? "DIR")")
    } else {
        try printSamples(run, plan, flags)
        if demo, let tokenizer = run.corpus.tokenizer as? WordTokenizer { explore(run.trainer.model.tokenEmbedding.weight, tokenizer) }
    }
    try writeFiles(run, plan, paused: paused, floor: floor)
    if demo && !paused { try writePictures(run, plan, untrained: untrained) }
}

/// The notes' pairs, joined by a line in embeddings.svg.
let notesPairs = [("dog", "cat"), ("aunt", "uncle"), ("woman", "man"), ("cat", "cats"), ("coffee", "tea"), ("ghg", "greenhouse")]

/// The demo's two pictures: W_E before and after training, and every head on one of the notes' sentences.
func writePictures(_ run: Run, _ plan: TrainPlan, untrained: Matrix) throws {
    let model = run.trainer.model, tokenizer = run.corpus.tokenizer, steps = run.trainer.optimizer.step
    let embeddings = EmbeddingPicture(panels: [("step 0: random rows", untrained), ("after \(steps) steps", model.tokenEmbedding.weight)],
                                      words: tokenizer.vocabulary, pairs: notesPairs,
                                      title: "W_E of the demo model, before and after training (chapter 15)")
    let embeddingsPath = (plan.outFolder as NSString).appendingPathComponent("embeddings.svg")
    try Output.write(embeddings.svg(), to: embeddingsPath)
    Output.line("wrote    \(embeddingsPath) (every token along W_E's two principal components, at step 0 and now; the notes' pairs joined)")
    let sentence = "I drink coffee every morning", ids = tokenizer.encode(sentence).ids
    guard !ids.isEmpty, tokenizer.encode(sentence).unknown.isEmpty else { return }
    let attention = AttentionPicture(model: model, ids: ids, tokenizer: tokenizer, title: "every head of the demo model on \"\(sentence)\"")
    let attentionPath = (plan.outFolder as NSString).appendingPathComponent("attention.svg")
    try Output.write(attention.svg(), to: attentionPath)
    Output.line("wrote    \(attentionPath) (each head's weights: row = query token, column = key; gpt attention draws any prompt)")
}

/// What is about to happen: the corpus, the model, the schedule, and where a resumed run stands.
func printHeader(_ run: Run, _ flags: Flags, demo: Bool) {
    let corpus = run.corpus, trainer = run.trainer, config = trainer.model.config, settings = trainer.optimizer.settings
    if demo { Output.line("TinyGPT demo: a small GPT learns \(corpus.path) by heart, then writes from prompts") }
    Output.line("corpus   \(corpus.path): \(grouped(corpus.ids.count)) \(unitName(corpus.tokenizer)) tokens, vocabulary \(corpus.tokenizer.count) "
                + "(train \(grouped(trainer.dataset.train.count)), held out \(grouped(trainer.dataset.heldOut.count)))")
    Output.line("model    \(describe(config)) = \(grouped(trainer.model.parameterCount)) parameters")
    func spelled(_ flag: String, _ value: Float) -> String { run.resumedFrom == nil ? flags.string(flag) : "\(value)" }
    Output.line("training \(settings.totalSteps) steps of \(trainer.batchSize) windows × \(trainer.dataset.windowLength) tokens; \(settings.method == .sgd ? "SGD (momentum \(settings.momentum))" : "AdamW") "
                + "lr \(spelled("lr", settings.learningRate)) "
                + "(warm-up \(settings.warmupSteps), cosine to \(spelled("min-lr", settings.minLearningRate))), weight decay \(spelled("weight-decay", settings.weightDecay)); "
                + (run.resumedFrom == nil ? "seed \(run.seed); " : "") + "\(FastProduct.threads) thread\(FastProduct.threads == 1 ? "" : "s")")
    if let resumedFrom = run.resumedFrom {
        Output.line("resumed  \(resumedFrom) after step \(trainer.optimizer.step)"
                    + (trainer.history.last.map { " (loss \(fixed($0.loss, 4)))" } ?? "")
                    + (run.savedTotalSteps == settings.totalSteps ? "; the same batches and updates as an uninterrupted run"
                                                                  : "; the schedule now runs to step \(settings.totalSteps) instead of \(run.savedTotalSteps)"))
    } else if let initializedFrom = run.initializedFrom {
        Output.line("start    from the weights of \(initializedFrom), with a fresh AdamW: fine-tuning on \(corpus.path)")
    } else {
        Output.line("start    loss of a fresh model ≈ ln(\(corpus.tokenizer.count)) = \(fixed(log(Float(corpus.tokenizer.count)), 3)): every token equally likely")
    }
}

/// One step: the live line on a terminal; on the cadence's evaluation steps, a line that stays.
func printProgress(_ progress: TrainingProgress, _ trainer: Trainer) {
    let report = progress.report, history = trainer.history, totalSteps = trainer.optimizer.settings.totalSteps, speed = "\(grouped(Int(progress.tokensPerSecond))) tok/s  \(fixed(progress.seconds, 1)) s"
    Output.progress("step \(report.step)/\(totalSteps)  loss \(fixed(report.loss, 4))  \(speed)  " + sparkline(history.map(\.loss), width: 30))
    guard let evaluation = progress.evaluation else { return }
    var line = "step \(padded(String(report.step), String(totalSteps).count))  loss \(fixed(evaluation.meanLoss, 4))"
    if let heldOut = evaluation.heldOutLoss { line += "  held-out loss \(fixed(heldOut, 3))" }
    Output.endProgress()
    Output.line(line + "  lr \(String(format: "%.1e", Double(report.learningRate)))  \(speed)")
}

/// After the steps: how long they took, the curve, and the floor under the loss.
func printSummary(_ run: Run, _ last: TrainingProgress?, floor: Double?) {
    let final = run.trainer.history.suffix(20).map(\.loss)
    if let last {
        Output.line("trained  \(last.stepsThisRun) steps in \(fixed(last.seconds, 1)) s (\(grouped(Int(last.tokensPerSecond))) tokens/s); "
                    + "final train loss \(fixed(final.reduce(0, +) / Float(final.count), 4)) (mean of the last \(final.count) steps)")
    }
    Output.line("curve    " + sparkline(run.trainer.history.map(\.loss)) + "  (log scale, step 1 → \(run.trainer.optimizer.step))")
    if let floor {
        Output.line("floor    \(fixed(floor, 4)): the least any model can reach here, because a window's first "
                    + "tokens cannot see where in the text they are (chapter 13)")
    } else {
        Output.line("floor    not computed: a corpus this long cannot be learned by heart, so the floor says nothing here (chapter 13)")
    }
}

/// Continuations of --prompt, or in the demo of each of the notes' prompts, greedy and drawn.
func printSamples(_ run: Run, _ plan: TrainPlan, _ flags: Flags) throws {
    let model = run.trainer.model, tokenizer = run.corpus.tokenizer
    var random = RandomGenerator(seed: run.seed &+ 1)
    if flags.isSet("prompt") {
        let encoding = tokenizer.encode(flags.string("prompt"))
        if !encoding.unknown.isEmpty {
            Output.line("note     not in the vocabulary (became \(unknownPiece)): " + encoding.unknown.map(visible).joined(separator: ", "))
        }
        Output.line("samples  temperature \(flags.string("temperature"))"
                    + (plan.sampling.topK.map { ", top-k \($0)" } ?? "") + (plan.sampling.topP.map { ", top-p \($0)" } ?? ""))
        for _ in 0..<plan.sampleCount {
            let ids = model.generate(prompt: encoding.ids, count: plan.sampleLength, settings: plan.sampling, random: &random)
            Output.line("  " + oneLine(tokenizer.decode(ids)))
        }
    } else if plan.demo {
        for temperature: Float in [0, 0.8] {
            Output.line(temperature == 0 ? "samples  temperature 0 (greedy: always the most probable next token)"
                                         : "samples  temperature 0.8 (drawn at random, a little sharper than the model)")
            for prompt in demoPrompts {
                let encoding = tokenizer.encode(prompt)
                guard !encoding.ids.isEmpty, encoding.unknown.isEmpty else { continue }
                let ids = model.generate(prompt: encoding.ids, count: plan.sampleLength, settings: SamplingSettings(temperature: temperature),
                                         random: &random)
                Output.line("  " + oneLine(tokenizer.decode(ids)))
            }
        }
    }
}

/// loss.svg, then the checkpoint (when there is somewhere to save it).
func writeFiles(_ run: Run, _ plan: TrainPlan, paused: Bool, floor: Double?) throws {
    let trainer = run.trainer, config = trainer.model.config
    let chartPath = (plan.outFolder as NSString).appendingPathComponent("loss.svg")
    let chart = LossChart(train: trainer.history, heldOut: trainer.heldOutHistory,
                          title: "TinyGPT learning \((run.corpus.path as NSString).lastPathComponent)",
                          subtitle: describe(config) + "; \(trainer.batchSize) windows per step", floor: floor.map(Float.init))
    try Output.write(chart.svg(), to: chartPath)
    Output.line("wrote    \(chartPath) (train and held-out loss against step)")
    guard let saveTo = plan.saveTo else { return }
    try save(trainer, run.corpus, to: saveTo)
    Output.line("wrote    \(saveTo) (checkpoint at step \(trainer.optimizer.step): "
                + (paused ? "gpt train --resume \(saveTo)" : "gpt sample --checkpoint \(saveTo) --prompt …") + ")")
}

/// A checkpoint of the run: the model, its tokenizer, and where training stands (chapter 17).
func save(_ trainer: Trainer, _ corpus: Corpus, to directory: String) throws {
    let state = TrainingState(trainer, corpus: corpus.path, ids: corpus.ids)
    try saveCheckpoint(Checkpoint(model: trainer.model, tokenizer: corpus.tokenizer, training: state), to: directory)
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
