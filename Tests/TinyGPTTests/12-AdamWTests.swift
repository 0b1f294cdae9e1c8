import Foundation
import Testing
@testable import TinyGPT

// Chapter 12: AdamW's update by hand and against torch.optim.AdamW, the learning-rate schedule,
// clipping and weight decay. One whole step (forward, backward, clip, AdamW) agrees with PyTorch to 1e-5.

@Suite("12 AdamW") struct AdamWTests {
    @Test("one whole training step (forward, backward, clip, AdamW) agrees with PyTorch (1e-5)", arguments: modelFixtures)
    func trainingStep(name: String) throws {
        let json = try fixture(name)
        var model = try fixtureModel(json)
        let step = json["step"] as? [String: Any] ?? [:]
        var settings = OptimizerSettings()
        settings.learningRate = number(step["lr"])
        settings.warmupSteps = 0                                     // constant learning rate for one step
        settings.minLearningRate = settings.learningRate
        settings.beta1 = number(step["beta1"])
        settings.beta2 = number(step["beta2"])
        settings.epsilon = number(step["eps"])
        settings.weightDecay = number(step["weight_decay"])
        settings.clip = number(step["clip"])
        #expect(settings.learningRate(step: 0) == settings.learningRate)
        let (loss, gradient) = model.lossAndGradient(ids: integers(json["tokens"]), targets: integers(json["targets"]),
                                                     windowLength: json["time"] as? Int ?? 0)
        #expect(abs(loss - number(json["loss"])) < 1e-5)
        var optimizer = AdamW(model: model, settings: settings)
        let (norm, _) = optimizer.update(&model, gradient: gradient)
        #expect(abs(norm - number(step["grad_norm"])) < 1e-4 * max(1, number(step["grad_norm"])))
        let after = step["params_after"] as? [String: Any] ?? [:]
        let C = model.config.width
        for parameter in model.parameters {
            var mine = model[keyPath: parameter.path].values, theirs = floats(after[parameter.name])
            if parameter.name.hasSuffix("attn.c_attn.bias") {
                // K's bias adds the same q·b_K to every score of a row, which softmax ignores: its true
                // gradient is exactly 0. PyTorch's float64 gives ~1e-17, our Float ~1e-9, and Adam's
                // first step g/(|g| + ε) turns either into an arbitrary fraction of lr. Compare the rest.
                #expect(gradient[keyPath: parameter.path].values[C..<2 * C].allSatisfy { abs($0) < 1e-6 })
                mine.removeSubrange(C..<2 * C)
                theirs.removeSubrange(C..<2 * C)
            }
            let difference = maxDifference(mine, theirs)
            #expect(difference < 1e-5, "\(parameter.name): \(difference)")
        }
    }

    @Test("AdamW: 10 steps with warm-up, cosine, clipping and weight decay agree with torch.optim.AdamW (1e-6 relative)")
    func adamW() throws {
        let json = try fixture("adamw.json")
        let schedule = json["schedule"] as? [String: Any] ?? [:]
        var settings = OptimizerSettings()
        settings.learningRate = number(schedule["max_lr"])
        settings.minLearningRate = number(schedule["min_lr"])
        settings.warmupSteps = schedule["warmup"] as? Int ?? 0
        settings.totalSteps = schedule["total"] as? Int ?? 0
        settings.beta1 = number(json["beta1"])
        settings.beta2 = number(json["beta2"])
        settings.epsilon = number(json["eps"])
        settings.weightDecay = number(json["weight_decay"])
        settings.clip = number(json["clip"])
        let initial = json["initial"] as? [String: Any] ?? [:]
        var matrix = Matrix(rows: 3, cols: 4, values: floats(initial["matrix"]))
        var vector = Matrix(rows: 1, cols: 4, values: floats(initial["vector"]))
        var m1 = Matrix(rows: 3, cols: 4), v1 = m1, m2 = Matrix(rows: 1, cols: 4), v2 = m2
        let lrs = floats(json["lrs"]), norms = floats(json["grad_norms"])
        let grads = json["grads"] as? [[String: Any]] ?? [], after = json["after"] as? [[String: Any]] ?? []
        #expect(grads.count == 10 && after.count == 10)
        var clipped = 0
        for s in 0..<min(grads.count, after.count) {
            let eta = settings.learningRate(step: s)
            #expect(abs(eta - lrs[s]) <= 1e-6 * lrs[s])
            var gMatrix = Matrix(rows: 3, cols: 4, values: floats(grads[s]["matrix"]))
            var gVector = Matrix(rows: 1, cols: 4, values: floats(grads[s]["vector"]))
            let norm = globalNorm([gMatrix, gVector])
            #expect(abs(norm - norms[s]) <= 1e-6 * norms[s])
            let factor = clipFactor(norm: norm, clip: settings.clip)
            if factor < 1 { clipped += 1 }
            gMatrix = gMatrix * factor
            gVector = gVector * factor
            adamWUpdate(&matrix, gradient: gMatrix, m: &m1, v: &v1, step: s + 1, learningRate: eta, decays: true, settings: settings)
            adamWUpdate(&vector, gradient: gVector, m: &m2, v: &v2, step: s + 1, learningRate: eta, decays: false, settings: settings)
            for (mine, theirs) in zip(matrix.values + vector.values, floats(after[s]["matrix"]) + floats(after[s]["vector"])) {
                #expect(abs(mine - theirs) <= 1e-6 * max(abs(theirs), 0.1), "step \(s + 1): \(mine) vs \(theirs)")
            }
        }
        #expect(clipped > 0 && clipped < 10, "the fixture exercises clipping on some steps, not all")
    }

    @Test("learning rate: linear warm-up to the peak, cosine down to the floor")
    func schedule() {
        var settings = OptimizerSettings()
        settings.learningRate = 1
        settings.minLearningRate = 0.1
        settings.warmupSteps = 4
        settings.totalSteps = 14
        #expect(settings.learningRate(step: 0) == 0.25)
        #expect(settings.learningRate(step: 3) == 1)
        #expect(abs(settings.learningRate(step: 9) - 0.55) < 1e-6)     // half-way down the cosine
        #expect(abs(settings.learningRate(step: 14) - 0.1) < 1e-6)
    }

    @Test("schedule: η climbs by peak/warm-up per warm-up step, is the peak right after, never rises, reaches the floor at totalSteps and stays there (1e-6 relative)")
    func scheduleShape() {
        var settings = OptimizerSettings()
        (settings.learningRate, settings.minLearningRate, settings.warmupSteps, settings.totalSteps) = (2e-3, 2e-4, 5, 25)
        for s in 0..<5 { #expect(abs(settings.learningRate(step: s) - 2e-3 * Float(s + 1) / 5) <= 2e-9, "warm-up step \(s)") }
        let after = (5...40).map { settings.learningRate(step: $0) }
        #expect(abs(after[0] - 2e-3) <= 2e-9, "the peak right after the warm-up")
        #expect(zip(after, after.dropFirst()).allSatisfy { $0 >= $1 }, "\(after)")
        #expect(after[1] < after[0] && after[10] < after[1], "the cosine comes down")
        for s in 25...40 { #expect(abs(settings.learningRate(step: s) - 2e-4) <= 2e-10, "step \(s) stays at the floor") }
        settings.warmupSteps = 0
        #expect(abs(settings.learningRate(step: 0) - 2e-3) <= 2e-9, "no warm-up: the first step has the peak")
    }

    @Test("one AdamW step on a 2×2 matrix is the hand computation: m = 0.1g, v = 0.05g², θ ← 0.999θ − 0.01·g/|g|; a second, on a bias, with bias correction and no decay (1e-6)")
    func stepsByHand() {
        var settings = OptimizerSettings()
        (settings.beta1, settings.beta2, settings.epsilon, settings.weightDecay) = (0.9, 0.95, 1e-8, 0.1)
        var theta = Matrix(rows: 2, cols: 2, values: [1, -2, 0.5, 3])
        let g = Matrix(rows: 2, cols: 2, values: [0.1, -0.2, 0.3, 0])
        var m = Matrix(rows: 2, cols: 2), v = Matrix(rows: 2, cols: 2)
        adamWUpdate(&theta, gradient: g, m: &m, v: &v, step: 1, learningRate: 0.01, decays: true, settings: settings)
        // Step 1: m̂ = m / (1 − 0.9) = g and v̂ = v / (1 − 0.95) = g², so θ moves by η·g/(|g| + ε) = ±0.01
        // (0 where g = 0), after the decay θ·(1 − ηλ) = 0.999θ.
        #expect(maxDifference(m.values, [0.01, -0.02, 0.03, 0]) < 1e-7)     // Float: 1 − 0.9 and 1 − 0.95 round
        #expect(maxDifference(v.values, [0.0005, 0.002, 0.0045, 0]) < 1e-8)
        #expect(maxDifference(theta.values, [0.999 - 0.01, -1.998 + 0.01, 0.4995 - 0.01, 2.997]) < 1e-6)
        // Step 2, as a bias (no decay), with g₂: m = 0.9m + 0.1g₂, v = 0.95v + 0.05g₂², m̂ = m/(1 − 0.9²), v̂ = v/(1 − 0.95²)
        let g2: [Double] = [0.3, 0.1, -0.3, 0.2], m1: [Double] = [0.01, -0.02, 0.03, 0], v1: [Double] = [0.0005, 0.002, 0.0045, 0]
        let theta1: [Double] = [0.989, -1.988, 0.4895, 2.997]
        adamWUpdate(&theta, gradient: Matrix(rows: 2, cols: 2, values: g2.map(Float.init)), m: &m, v: &v, step: 2,
                    learningRate: 0.01, decays: false, settings: settings)
        for i in 0..<4 {
            let m2 = 0.9 * m1[i] + 0.1 * g2[i], v2 = 0.95 * v1[i] + 0.05 * g2[i] * g2[i]
            let expected = theta1[i] - 0.01 * (m2 / 0.19) / ((v2 / 0.0975).squareRoot() + 1e-8)
            #expect(abs(Double(theta.values[i]) - expected) < 1e-6, "θ[\(i)]: \(theta.values[i]) vs \(expected)")
        }
    }

    @Test("clipping: the factor brings a norm above clip down to it and leaves a shorter one alone (1e-6); update scales the whole gradient by that one factor (m bit for bit)")
    func clipping() throws {
        #expect(abs(clipFactor(norm: 5, clip: 1) - 0.2) < 1e-6)
        #expect(clipFactor(norm: 0.5, clip: 1) == 1 && clipFactor(norm: 0, clip: 1) == 1)
        #expect(globalNorm([Matrix(rows: 1, cols: 2, values: [3, 0]), Matrix(rows: 2, cols: 1, values: [0, -4])]) == 5)
        let model = try tinyModel()
        let (_, gradient) = model.lossAndGradient(ids: randomIDs(16, vocabulary: 13, seed: 1), targets: randomIDs(16, vocabulary: 13, seed: 2),
                                                  windowLength: 8)
        var long = gradient
        for parameter in model.parameters { long[keyPath: parameter.path] = gradient[keyPath: parameter.path] * 100 }
        let norm = globalNorm(model.parameters.map { long[keyPath: $0.path] })
        var settings = OptimizerSettings()
        settings.clip = 0.5
        let factor = clipFactor(norm: norm, clip: 0.5)
        #expect(factor < 0.5, "norm \(norm): the case clips")
        var clipped = model, optimizer = AdamW(model: model, settings: settings)
        let (reported, _) = optimizer.update(&clipped, gradient: long)
        #expect(reported == norm, "update reports the norm before clipping")
        // the same update with the gradient scaled beforehand and no clipping
        var scaled = long
        for parameter in model.parameters { scaled[keyPath: parameter.path] = long[keyPath: parameter.path] * factor }
        settings.clip = .infinity
        var byHand = model, reference = AdamW(model: model, settings: settings)
        reference.update(&byHand, gradient: scaled)
        for parameter in model.parameters {
            #expect(optimizer.m[keyPath: parameter.path] == reference.m[keyPath: parameter.path], "\(parameter.name)")
            #expect(clipped[keyPath: parameter.path] == byHand[keyPath: parameter.path], "\(parameter.name)")
            let m = optimizer.m[keyPath: parameter.path].values, g = long[keyPath: parameter.path].values
            #expect(zip(m, g).allSatisfy { abs($0 - 0.1 * factor * $1) <= 1e-6 * abs(0.1 * factor * $1) + 1e-12 }, "\(parameter.name): m = (1 − β₁)·factor·g")
        }
    }

    @Test("weight decay: with a zero gradient only the decay moves θ; matrices shrink by exactly (1 − ηλ), biases, γ and β stay as they are")
    func decayOnlyMatrices() throws {
        var model = largeModel(try tinyModel(), seed: 3)
        let before = model
        var settings = OptimizerSettings()
        (settings.learningRate, settings.warmupSteps, settings.weightDecay) = (0.5, 0, 0.1)
        var optimizer = AdamW(model: model, settings: settings)
        let (_, eta) = optimizer.update(&model, gradient: model.zeroed())
        #expect(abs(eta - 0.5) < 1e-6)
        var decayed = 0
        for parameter in model.parameters {
            let old = before[keyPath: parameter.path].values, new = model[keyPath: parameter.path].values
            if parameter.decays {
                #expect(new == old.map { $0 * (1 - eta * 0.1) }, "\(parameter.name) shrinks")
                decayed += 1
            } else {
                #expect(new == old, "\(parameter.name) does not decay")
            }
        }
        #expect(decayed == 1 + 1 + 2 * 4, "wte, wpe and four matrices per block")
    }
}

// MARK: The exercise --optimizer sgd (docs/exercises.md)
extension AdamWTests {
    @Test("SGD with momentum by hand: u ← μ u + g, θ ← θ(1 − ηλ) − η u, two steps (1e-6); v stays 0")
    func sgdByHand() {
        var settings = OptimizerSettings()
        (settings.method, settings.momentum, settings.weightDecay) = (.sgd, 0.5, 0.1)
        var theta = Matrix(rows: 1, cols: 2, values: [1, -2]), u = Matrix(rows: 1, cols: 2)
        let g = Matrix(rows: 1, cols: 2, values: [0.5, 1])
        sgdUpdate(&theta, gradient: g, velocity: &u, learningRate: 0.1, decays: true, settings: settings)
        sgdUpdate(&theta, gradient: g, velocity: &u, learningRate: 0.1, decays: true, settings: settings)
        // step 1: u = g = [0.5, 1]; θ = [1·0.99 − 0.05, −2·0.99 − 0.1] = [0.94, −2.08]
        // step 2: u = 0.5 u + g = [0.75, 1.5]; θ = [0.94·0.99 − 0.075, −2.08·0.99 − 0.15] = [0.8556, −2.2092]
        #expect(abs(theta[0, 0] - 0.8556) < 1e-6 && abs(theta[0, 1] + 2.2092) < 1e-6)
        #expect(abs(u[0, 0] - 0.75) < 1e-6 && abs(u[0, 1] - 1.5) < 1e-6)
    }

    @Test("--optimizer sgd trains (the loss falls from ln V), and at AdamW's small learning rate it falls far less than AdamW does (80 steps, the demo's corpus)")
    func sgdAgainstAdamW() throws {
        let (ids, vocabulary) = try demoCorpusIDs()
        let config = Configuration(vocabularySize: vocabulary, context: 8, width: 16, layers: 1, heads: 2)
        let adamW = try lossAfterTraining(config, ids: ids, steps: 80)
        let sgdSlow = try lossAfterTraining(config, ids: ids, steps: 80, method: .sgd)
        let sgdFast = try lossAfterTraining(config, ids: ids, steps: 80, learningRate: 0.5, method: .sgd)
        #expect(sgdFast < log(Float(vocabulary)) - 0.5)
        #expect(sgdSlow > adamW + 0.5, "sgd at 6e-3 \(sgdSlow), AdamW \(adamW)")
    }
}

extension AdamWTests {
    @Test("validate names the flag and trainer_state.json's key of a value out of range, and passes the defaults",
          arguments: [("lr", Float(-1)), ("lr", .nan), ("min-lr", -0.5), ("clip", 0), ("eps", 0), ("momentum", 1.5), ("weight-decay", 20)])
    func settingsOutOfRange(flag: String, value: Float) {
        var settings = OptimizerSettings()
        try? settings.validate()
        switch flag {
        case "lr": settings.learningRate = value
        case "min-lr": settings.minLearningRate = value
        case "clip": settings.clip = value
        case "eps": settings.epsilon = value
        case "momentum": settings.momentum = value
        default: settings.weightDecay = value
        }
        #expect(throws: TinyGPTError.self) { try settings.validate() }
        do { try settings.validate() } catch let error as TinyGPTError {
            #expect(error.description.hasPrefix("--\(flag) must be between") && error.description.contains("trainer_state.json"))
        } catch { Issue.record("\(error)") }
        #expect(throws: Never.self) { try OptimizerSettings().validate() }
    }
}
