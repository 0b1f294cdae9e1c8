import Foundation
import Testing
@testable import TinyGPT

// Chapter 13: the loop learns, is deterministic, refuses to go on after a NaN; windows and shards.

func tinyTrainer(seed: UInt64 = 1) throws -> Trainer {
    let ids = (0..<200).map { ($0 * 7 + $0 / 13) % 13 }      // a patterned stream over 13 tokens
    let dataset = try TextDataset(ids: ids, windowLength: 8, heldOutFraction: 0.1)
    var settings = OptimizerSettings()
    settings.totalSteps = 40
    settings.warmupSteps = 5
    settings.learningRate = 1e-2
    return Trainer(model: try tinyModel(seed: seed), dataset: dataset, batchSize: 4, settings: settings,
                   random: RandomGenerator(seed: seed), shards: 2)
}

@Suite("13 Training", .serialized) struct TrainingTests {
    @Test("training lowers the loss: the last 5 steps average well below the first 5")
    func lossFalls() throws {
        var trainer = try tinyTrainer()
        var losses: [Float] = []
        for _ in 0..<40 { losses.append(try trainer.step().loss) }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        #expect(first > 2.2)                 // ≈ ln 13 = 2.56 at the start
        #expect(last < 0.6 * first)
    }

    @Test("same seed → bit-identical losses with 1 and 2 threads")
    func deterministicAcrossThreads() throws {
        let savedThreads = FastProduct.threads, savedThreshold = FastProduct.parallelThreshold
        defer { FastProduct.threads = savedThreads; FastProduct.parallelThreshold = savedThreshold }
        FastProduct.parallelThreshold = 0             // split even these tiny products
        var runs: [[Float]] = []
        for threads in [1, 2] {
            FastProduct.threads = threads
            var trainer = try tinyTrainer(seed: 3)
            runs.append(try (0..<4).map { _ in try trainer.step().loss })
            runs[runs.count - 1].append(trainer.heldOutLoss() ?? .nan)
        }
        #expect(runs[0] == runs[1])
        var other = try tinyTrainer(seed: 4)
        #expect(try other.step().loss != runs[0][0], "a different seed gives a different run")
    }

    /// The fast code paths (appendix A1's 6×16 or 6×32 tiles, A2's exp and sums) promise the same
    /// bits, so a short run's losses and final weights are pinned here bit for bit. CI builds both
    /// the AVX2 and, on a machine that has it, the AVX-512 package, and both must print these. Linux
    /// on x86-64 only: another platform's libm may round exp differently in the last bit.
    @Test("a short run's losses and final weights are the bits recorded (Linux x86-64; AVX2 and AVX-512 builds alike)")
    func recordedBits() throws {
        #if os(Linux) && arch(x86_64)
        var config = Configuration()
        (config.vocabularySize, config.context, config.width, config.layers, config.heads) = (13, 16, 48, 2, 3)
        var random = RandomGenerator(seed: 11)
        let model = try GPT(config: config, random: &random)    // products 48, 144 and 192 wide: whole tiles and edges
        let ids = (0..<300).map { ($0 * 5 + $0 / 11) % 13 }
        var settings = OptimizerSettings()
        (settings.totalSteps, settings.warmupSteps, settings.learningRate) = (6, 2, 1e-2)
        var trainer = Trainer(model: model, dataset: try TextDataset(ids: ids, windowLength: 16), batchSize: 6,
                              settings: settings, random: RandomGenerator(seed: 12), shards: 2)
        let losses = try (0..<6).map { _ in try trainer.step().loss.bitPattern }
        var hash: UInt64 = 14_695_981_039_346_656_037                 // FNV-1a over every weight's bits
        for parameter in trainer.model.parameters {
            for value in trainer.model[keyPath: parameter.path].values {
                hash = (hash ^ UInt64(value.bitPattern)) &* 1_099_511_628_211
            }
        }
        #expect(losses == [1076357498, 1075163962, 1074293869, 1074647515, 1073891325, 1072193006],
                "losses \(losses.map { Float(bitPattern: $0) })")
        #expect(hash == 6_231_965_394_373_317_597, "weights hash \(hash)")
        #endif
    }

    @Test("sharded loss and gradient equal the whole batch's (1e-6): shards only regroup the sum")
    func shardsRegroup() throws {
        let model = largeModel(try tinyModel(), seed: 2)
        let ids = randomIDs(4 * 6, vocabulary: 13, seed: 8), targets = randomIDs(4 * 6, vocabulary: 13, seed: 9)
        let (loss, gradient) = model.lossAndGradient(ids: ids, targets: targets, windowLength: 6)
        for shards in [2, 3, 4] {
            let (shardedLoss, sharded) = model.lossAndGradient(ids: ids, targets: targets, windowLength: 6, shards: shards)
            #expect(abs(shardedLoss - loss) < 1e-6)
            for parameter in model.parameters {
                #expect(maxDifference(sharded[keyPath: parameter.path].values, gradient[keyPath: parameter.path].values) < 1e-6,
                        "\(parameter.name), \(shards) shards")
            }
        }
    }

    @Test("a loss that is not finite stops training with an error, and the model is left as it was")
    func nanStops() throws {
        var trainer = try tinyTrainer()
        trainer.model.blocks[0].ln1.gamma.values[0] = .nan
        let before = trainer.model.tokenEmbedding.weight
        #expect(throws: TinyGPTError.self) { _ = try trainer.step() }
        #expect(trainer.model.tokenEmbedding.weight == before)
        #expect(trainer.optimizer.step == 0)
    }

    @Test("windows: targets are the inputs shifted by one; a too-short corpus is an error")
    func windows() throws {
        let dataset = try TextDataset(ids: Array(0..<100), windowLength: 5, heldOutFraction: 0.1)
        #expect(dataset.train.count == 90 && dataset.heldOut.count == 10)
        var random = RandomGenerator(seed: 1)
        let (ids, targets) = dataset.batch(windows: 3, random: &random)
        #expect(ids.count == 15)
        #expect(zip(ids, targets).allSatisfy { $1 == $0 + 1 })
        #expect(throws: TinyGPTError.self) { _ = try TextDataset(ids: [1, 2, 3], windowLength: 5) }
    }
}

// MARK: Real sizes: the floor, bounded evaluation, the memory estimate
extension TrainingTests {
    /// The floor by its definition: for each t, group windows by their first t + 1 tokens (exact
    /// slices) and add n·H(next | context).
    static func bruteForceFloor(_ train: [Int], T: Int) -> Double {
        let starts = train.count - T
        var total = 0.0
        for t in 0..<T {
            var followers: [ArraySlice<Int>: [Int: Int]] = [:]
            for start in 0..<starts { followers[train[start ... start + t], default: [:]][train[start + t + 1], default: 0] += 1 }
            for counts in followers.values {
                let n = Double(counts.values.reduce(0, +))
                for c in counts.values { total -= Double(c) * log(Double(c) / n) }
            }
        }
        return total / Double(T * starts)
    }

    @Test("the loss floor in one pass per position equals its definition (1e-9) on random and repetitive texts; past the limit it is not computed (nil)")
    func lossFloorIsItsDefinition() throws {
        let texts = [randomIDs(400, vocabulary: 5, seed: 1), Array(repeating: [1, 2, 3, 1, 2, 4], count: 30).flatMap { $0 }]
        for ids in texts {
            let dataset = try TextDataset(ids: ids, windowLength: 6, heldOutFraction: 0)
            let floor = try #require(dataset.lossFloor())
            #expect(abs(floor - TrainingTests.bruteForceFloor(dataset.train, T: 6)) < 1e-9)
            #expect(dataset.lossFloor(limit: 100) == nil)
        }
    }

    @Test("held-out windows: all of them when few, at most the limit, evenly spread, when many; each a whole window inside the held-out part")
    func heldOutStartsAreBounded() throws {
        let dataset = try TextDataset(ids: Array(0..<10_000), windowLength: 8, heldOutFraction: 0.5)
        let all = dataset.heldOutStarts(limit: 10_000), some = dataset.heldOutStarts(limit: 16)
        #expect(all.count == (5_000 - 1) / 8 && all.first == 0)
        #expect(some.count == 16 && Set(some).isSubset(of: Set(all)) && some == some.sorted())
        #expect(some.last! > all[all.count * 3 / 4])                           // spread to the end, not the first 16
        #expect(all.allSatisfy { $0 + 8 < dataset.heldOut.count })
    }

    @Test("meanLoss in batches of whole windows equals the window-by-window mean (1e-6), short last window included")
    func meanLossInBatches() throws {
        let model = try tinyModel(seed: 2)
        let ids = randomIDs(8 * 7 + 3, vocabulary: 13, seed: 4)
        var total = 0.0, predicted = 0
        for start in stride(from: 0, to: ids.count - 1, by: 8) {
            let end = min(start + 8, ids.count - 1)
            let logits = model.forward(Array(ids[start..<end]), windowLength: end - start).logits
            total += Double(CrossEntropy.forward(logits, targets: Array(ids[start + 1 ... end])).loss) * Double(end - start)
            predicted += end - start
        }
        var reports: [(Int, Int)] = []
        let (loss, count) = model.meanLoss(over: ids) { reports.append(($0, $1)) }
        #expect(count == predicted && abs(loss - total / Double(predicted)) < 1e-6)
        #expect(reports.last! == (8, 8))
    }

    @Test("the memory estimate: 4 bytes × ((4 + shards)·parameters + B·T·(L·(20C + 2HT) + 3V + 4C)) exactly; check refuses above the limit with one line naming what to lower, and passes below it")
    func memoryEstimate() throws {
        let config = Configuration(vocabularySize: 10, context: 4, width: 8, layers: 1, heads: 2)
        var random = RandomGenerator(seed: 1)
        let parameters = Double(try GPT(config: config, random: &random).parameterCount)     // V·C + T·C + L(12C² + 13C) + 2C
        let perToken: Double = 20 * 8 + 2 * 2 * 4 + 3 * 10 + 4 * 8                              // L = 1
        let estimate = MemoryEstimate(config: config, batch: 3, shards: 2)
        #expect(estimate.weights == 4 * parameters * 6)
        #expect(estimate.activations == 4 * 3 * 4 * perToken)
        try estimate.check(limit: estimate.total)
        do {
            try MemoryEstimate(config: config, batch: 100_000).check(limit: 1e8)
            Issue.record("a batch of 100,000 (381 MB) passed a 100 MB limit")
        } catch let error as TinyGPTError {
            #expect(error.kind == .configuration && error.description.contains("lower --batch"))
        }
    }

}
