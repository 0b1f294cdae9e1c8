import Foundation

// MARK: - Chapter 13: Training (docs/13-training.md)
//
// Next-token prediction on the corpus. From the token stream, cut a window of T + 1 tokens at a
// random place: its first T are the input, its last T (shifted by one) the targets, so every
// position learns at once to predict its successor from what came before it (teacher forcing:
// the true tokens are fed in, never the model's own guesses). B windows stack into [B·T] rows.
// One step: forward → loss → backward → AdamW. The last part of the stream is held out: it is
// never trained on, and its loss says how much of what was learned carries to unseen text.

/// The token stream, split into a training part and a held-out tail.
public struct TextDataset: Sendable {
    public let train: [Int]
    public let heldOut: [Int]
    public let windowLength: Int     // T
    public let heldOutFraction: Double

    /// Keeps the last `heldOutFraction` of the tokens apart (when at least one window fits there).
    public init(ids: [Int], windowLength T: Int, heldOutFraction: Double = 0.1) throws {
        guard ids.count >= T + 1 else {
            throw TinyGPTError(.training, "the corpus has \(ids.count) tokens but training needs at least \(T + 1) "
                                          + "(one window of --context plus the token after it): use a longer corpus or a smaller --context")
        }
        var split = ids.count - Int(Double(ids.count) * heldOutFraction)
        if ids.count - split < T + 1 || split < T + 1 { split = ids.count }   // too short to hold out: none
        train = Array(ids[..<split])
        heldOut = Array(ids[split...])
        windowLength = T
        self.heldOutFraction = heldOutFraction
    }

    /// B random windows from the training part: ids [B·T] and targets [B·T], targets[i] = the token after ids[i].
    public func batch(windows B: Int, random: inout RandomGenerator) -> (ids: [Int], targets: [Int]) {
        var ids: [Int] = [], targets: [Int] = []
        for _ in 0..<B {
            let start = random.integer(below: train.count - windowLength)    // window train[start ..< start + T + 1]
            ids += train[start ..< start + windowLength]
            targets += train[start + 1 ..< start + windowLength + 1]         // shifted by one
        }
        return (ids, targets)
    }

    /// The lowest mean loss any model could reach on random training windows: at position t a
    /// window has seen only its own t + 1 tokens, and where those same tokens are followed by
    /// different words elsewhere in the text, no model can know which. For each t, group every
    /// window by its first t + 1 tokens (a running hash of them, so each t costs one pass) and add
    /// the entropy of what follows: n·H(next | context) = n log n − Σ c log c over the followers' counts.
    /// Nil on a corpus too large to memorise (over `limit` window positions), where it says nothing.
    public func lossFloor(limit: Int = 4_000_000) -> Double? {
        let T = windowLength, starts = train.count - T
        guard starts > 0 else { return 0 }
        guard starts * T <= limit else { return nil }
        struct Follower: Hashable { let context: UInt64, next: Int }
        var hashes = [UInt64](repeating: 0xCBF2_9CE4_8422_2325, count: starts)    // FNV-1a of train[start ... start + t]
        var total = 0.0
        func nLogN(_ n: Int) -> Double { Double(n) * log(Double(n)) }
        for t in 0..<T {
            var contexts: [UInt64: Int] = [:], followers: [Follower: Int] = [:]
            for start in 0..<starts {
                hashes[start] = (hashes[start] ^ UInt64(truncatingIfNeeded: train[start + t])) &* 0x100_0000_01B3
                contexts[hashes[start], default: 0] += 1
                followers[Follower(context: hashes[start], next: train[start + t + 1]), default: 0] += 1
            }
            total += contexts.values.reduce(0) { $0 + nLogN($1) } - followers.values.reduce(0) { $0 + nLogN($1) }
        }
        return total / Double(T * starts)
    }

    /// The starts of the held-out windows, side by side without overlap: at most `limit` of them,
    /// evenly spread over the held-out part (empty if nothing is held out).
    public func heldOutStarts(limit: Int = 256) -> [Int] {
        let all = Array(stride(from: 0, through: heldOut.count - windowLength - 1, by: windowLength))
        return all.count <= limit ? all : (0..<limit).map { all[$0 * all.count / limit] }
    }
}

extension GPT {
    /// lossAndGradient (chapter 11) over B windows, computed in `shards` groups of whole windows
    /// that can run on different cores (appendix A1). The loss is a mean over all B·T rows, so a
    /// group of n rows counts n / (B·T): chapter 11's `share`. The groups' gradients are added in
    /// order, so the bits depend on the number of shards, never on threads.
    public func lossAndGradient(ids: [Int], targets: [Int], windowLength T: Int, shards: Int) -> (loss: Float, gradient: Gradients) {
        let windows = ids.count / T, groups = max(1, min(shards, windows))
        var results = FastProduct.map(groups) { g in
            let rows = windows * g / groups * T ..< windows * (g + 1) / groups * T      // whole windows
            return lossAndGradient(ids: Array(ids[rows]), targets: Array(targets[rows]), windowLength: T,
                                   share: groups == 1 ? 1 : Float(rows.count) / Float(ids.count))
        }
        var (loss, gradient) = results.removeFirst()     // moved out, not shared: the += below writes in place
        for (groupLoss, groupGradient) in results {
            loss += groupLoss
            for parameter in parameters { gradient.modify(parameter.path) { $0 += groupGradient[keyPath: parameter.path] } }
        }
        return (loss, gradient)
    }
}

extension GPT {
    /// The mean loss per predicted token over a whole text (nats), and how many tokens were predicted.
    /// Windows of up to T + 1 tokens start at 0, T, 2T, …, so every token after the first is
    /// predicted once, from up to T tokens before it; the last window may be shorter. Whole windows
    /// go through the model a batch at a time, as many as keep the logits near 32 MB; `progress`
    /// hears (windows done, windows in all) after each batch.
    public func meanLoss(over ids: [Int], progress: (Int, Int) -> Void = { _, _ in }) -> (loss: Double, predicted: Int) {
        let T = config.context, starts = Array(stride(from: 0, to: ids.count - 1, by: T))
        let perBatch = max(1, min(64, 8_000_000 / (T * config.vocabularySize)))
        var total = 0.0, predicted = 0, done = 0
        while done < starts.count {
            let end = min(starts[done] + T, ids.count - 1), length = end - starts[done]      // a short last window goes alone
            let batch = length < T ? [starts[done]] : Array(starts[done ..< min(done + perBatch, starts.count)]).filter { $0 + T < ids.count }
            let inputs = batch.flatMap { ids[$0 ..< $0 + length] }, targets = batch.flatMap { ids[$0 + 1 ... $0 + length] }
            let (logits, _) = forward(inputs, windowLength: length, saving: false)
            let loss = CrossEntropy.forward(logits, targets: targets).loss
            total += Double(loss) * Double(inputs.count)                          // the batch's mean, back to a sum
            predicted += inputs.count
            done += batch.count
            progress(done, starts.count)
        }
        return (predicted > 0 ? total / Double(predicted) : 0, predicted)
    }
}

// MARK: What a run needs in memory

/// An estimate, in bytes, of what training a model of `config` on B windows at a time holds at
/// once: the parameters, AdamW's two moments (chapter 12), one gradient per shard and one matrix's
/// worth of temporaries per parameter (adding the shards' gradients, clipping); and what the
/// forward pass saves for backward (chapter 11), per token of the batch: each block's normalised
/// rows, [Q | K | V] (3C), the H attention weights over T keys, the concatenated heads, the 4C
/// expanded and 4C activated features, the residual stream, about 20C + 2·H·T numbers with
/// backward's largest temporaries; and the logits, their probabilities and their gradient (3V).
public struct MemoryEstimate: Sendable {
    public let weights: Double             // θ, m, v, the gradients and their temporaries
    public let activations: Double
    public var total: Double { weights + activations }

    public init(config: Configuration, batch: Int, shards: Int = 1) {
        let (V, T, C, L, H) = (Double(config.vocabularySize), Double(config.context), Double(config.width),
                               Double(config.layers), Double(config.heads))
        let parameters = V * C * (config.tied ? 1 : 2) + T * C + L * (12 * C * C + 13 * C) + 2 * C
        weights = 4 * parameters * Double(4 + max(1, shards))
        activations = 4 * Double(batch) * T * (L * (20 * C + 2 * H * T) + 3 * V + 4 * C)
    }

    /// Throws, before any work, if the estimate is more than `limit` bytes (the machine's memory).
    public func check(limit: Double) throws {
        guard total > limit else { return }
        func gb(_ bytes: Double) -> String { String(format: "%.1f GB", bytes / 1e9) }
        throw TinyGPTError(.configuration, "training this needs about \(gb(total)) (\(gb(weights)) for the parameters, their gradients "
                           + "and AdamW's moments, \(gb(activations)) saved for backward) but \(gb(limit)) is all there is: "
                           + "lower --batch, --context, --width or --layers")
    }
}

/// One point of a loss curve.
public struct LossPoint: Equatable, Sendable {
    public let step: Int
    public let loss: Float

    public init(step: Int, loss: Float) {
        self.step = step
        self.loss = loss
    }
}

/// What one step did.
public struct StepReport: Sendable {
    public let step: Int              // from 1
    public let loss: Float            // mean cross-entropy of this batch, before the update
    public let learningRate: Float
    public let gradientNorm: Float    // before clipping
}

/// How often `Trainer.run` looks up from the steps: every `evaluateEvery` steps (and at the
/// schedule's last step) it measures the held-out loss; every `saveEvery` steps it saves.
public struct Cadence: Sendable {
    public var evaluateEvery: Int
    public var saveEvery: Int?

    public init(evaluateEvery: Int, saveEvery: Int? = nil) {
        self.evaluateEvery = max(1, evaluateEvery)
        self.saveEvery = saveEvery
    }
}

/// What `Trainer.run` reports after every step.
public struct TrainingProgress: Sendable {
    public let report: StepReport
    public let stepsThisRun: Int
    public let seconds: Double             // spent in steps during this run (evaluating and saving not counted)
    public let tokensPerSecond: Double
    public let evaluation: Evaluation?     // on the cadence's evaluation steps, else nil

    public struct Evaluation: Sendable {
        public let meanLoss: Float         // mean training loss of the steps since the previous evaluation
        public let heldOutLoss: Float?     // nil when nothing is held out
    }
}

/// The model, its optimizer, the batches' random source and the loss curves, advanced one step at a
/// time. (Its memberwise init, which chapter 17 uses to go on from a checkpoint, takes all of them.)
public struct Trainer: Sendable {
    public var model: GPT
    public var optimizer: AdamW
    public let dataset: TextDataset
    public let batchSize: Int          // B
    public let shards: Int             // groups of windows computed side by side (see above)
    public var random: RandomGenerator
    public var history: [LossPoint] = []          // training loss at every step
    public var heldOutHistory: [LossPoint] = []   // held-out loss at step 0 and on the cadence

    /// forward → loss → backward → AdamW on one fresh batch. Throws (and leaves the model as it was)
    /// if the loss is not a finite number.
    public mutating func step() throws -> StepReport {
        let (ids, targets) = dataset.batch(windows: batchSize, random: &random)
        let (loss, gradient) = model.lossAndGradient(ids: ids, targets: targets, windowLength: dataset.windowLength, shards: shards)
        guard loss.isFinite else {
            throw TinyGPTError(.training, "the loss became \(loss) at step \(optimizer.step + 1): training diverged; lower --lr, raise --warmup or lower --clip")
        }
        let (norm, eta) = optimizer.update(&model, gradient: gradient)
        history.append(LossPoint(step: optimizer.step, loss: loss))
        return StepReport(step: optimizer.step, loss: loss, learningRate: eta, gradientNorm: norm)
    }

    /// Mean loss over the held-out windows (nil if nothing is held out): at most 256 of them, spread
    /// over the held-out part, B at a time, so memory and time stay those of a few training steps.
    public func heldOutLoss() -> Float? {
        let starts = dataset.heldOutStarts(), T = dataset.windowLength
        guard !starts.isEmpty else { return nil }
        var total = 0.0
        for first in stride(from: 0, to: starts.count, by: batchSize) {
            let batch = starts[first ..< min(first + batchSize, starts.count)]
            let ids = batch.flatMap { dataset.heldOut[$0 ..< $0 + T] }, targets = batch.flatMap { dataset.heldOut[$0 + 1 ... $0 + T] }
            let loss = CrossEntropy.forward(model.forward(ids, windowLength: T, saving: false).logits, targets: targets).loss
            total += Double(loss) * Double(batch.count)                      // the batch's mean, back to a sum
        }
        return Float(total / Double(starts.count))
    }

    /// The loop: steps until `lastStep` (at most the schedule's end), measures the held-out loss and
    /// saves on the cadence, and hands `report` the progress and itself after every step. A fresh
    /// run first measures the held-out loss at step 0, so the curve starts where the model does.
    public mutating func run(through lastStep: Int, cadence: Cadence, save: (Trainer) throws -> Void = { _ in },
                             report: (TrainingProgress, Trainer) -> Void = { _, _ in }) throws {
        if optimizer.step == 0, heldOutHistory.isEmpty, let loss = heldOutLoss() { heldOutHistory.append(LossPoint(step: 0, loss: loss)) }
        let end = min(lastStep, optimizer.settings.totalSteps), tokensPerStep = Double(batchSize * dataset.windowLength)
        let clock = ContinuousClock()
        var seconds = 0.0, stepsThisRun = 0
        while optimizer.step < end {
            let started = clock.now
            let stepReport = try step()
            let elapsed = (clock.now - started).components
            seconds += Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            stepsThisRun += 1
            var evaluation: TrainingProgress.Evaluation? = nil
            if stepReport.step % cadence.evaluateEvery == 0 || stepReport.step == optimizer.settings.totalSteps {
                let recent = history.filter { $0.step > stepReport.step - cadence.evaluateEvery }.map(\.loss)
                let heldOut = heldOutLoss()
                if let heldOut { heldOutHistory.append(LossPoint(step: stepReport.step, loss: heldOut)) }
                evaluation = TrainingProgress.Evaluation(meanLoss: recent.reduce(0, +) / Float(recent.count), heldOutLoss: heldOut)
            }
            let progress = TrainingProgress(report: stepReport, stepsThisRun: stepsThisRun, seconds: seconds,
                                            tokensPerSecond: Double(stepsThisRun) * tokensPerStep / max(seconds, 1e-9),
                                            evaluation: evaluation)
            report(progress, self)
            if let every = cadence.saveEvery, stepReport.step % every == 0, stepReport.step < end { try save(self) }
        }
    }
}

extension Trainer {
    /// A fresh run: AdamW's moments at zero, empty curves.
    public init(model: GPT, dataset: TextDataset, batchSize: Int, settings: OptimizerSettings, random: RandomGenerator,
                shards: Int = 1) {
        self.init(model: model, optimizer: AdamW(model: model, settings: settings), dataset: dataset, batchSize: batchSize,
                  shards: shards, random: random)
    }
}
