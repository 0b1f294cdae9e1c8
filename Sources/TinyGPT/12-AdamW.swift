import Foundation

// MARK: - Chapter 12: AdamW (docs/12-adamw.md)
//
// Gradient descent moves each parameter a little against its gradient: θ ← θ − η·g.
// AdamW (Loshchilov & Hutter, 2019) keeps two running averages per number and decays weights
// separately from the gradient. At step t (from 1), for each parameter θ with gradient g:
//   m ← β₁ m + (1 − β₁) g              first moment: the gradient's recent direction
//   v ← β₂ v + (1 − β₂) g²             second moment: its recent size
//   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   bias correction: m and v start at 0
//   θ ← θ − η λ θ                      decoupled weight decay (matrices only, not biases, γ, β)
//   θ ← θ − η m̂ / (√v̂ + ε)
// Before the update all gradients together are clipped to a global L2 norm of at most `clip`,
// and η follows a schedule: linear warm-up, then a cosine down to a floor.
// For comparison (`--optimizer sgd`, an exercise), plain gradient descent with momentum μ:
//   u ← μ u + g,   θ ← θ − η λ θ − η u       one running sum per number, no per-number step size

/// How an update uses the gradient: AdamW, or SGD with momentum.
public enum OptimizerMethod: String, Sendable, CaseIterable {
    case adamw, sgd
}

public struct OptimizerSettings: Equatable, Sendable {
    public var learningRate: Float = 3e-3       // η at its peak
    public var minLearningRate: Float = 3e-4    // η at the end of the cosine
    public var warmupSteps = 20
    public var totalSteps = 600
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.1         // λ
    public var clip: Float = 1.0                // largest global gradient norm
    public var method: OptimizerMethod = .adamw
    public var momentum: Float = 0.9            // μ, SGD only

    public init() {}

    /// Throws a TinyGPTError naming the flag (and trainer_state.json's key) of the first value out
    /// of range: the same check for a value given as a flag and one read from a file.
    public func validate() throws {
        func require(_ value: Float, in range: ClosedRange<Float>, _ flag: String, _ key: String) throws {
            guard value.isFinite && range.contains(value) else {
                throw TinyGPTError(.configuration, "--\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value) (trainer_state.json: \(key))")
            }
        }
        try require(learningRate, in: 1e-8...10, "lr", "learning_rate")
        try require(minLearningRate, in: 0...learningRate, "min-lr", "min_learning_rate")
        try require(weightDecay, in: 0...10, "weight-decay", "weight_decay")
        try require(clip, in: 1e-6...1e6, "clip", "clip")
        try require(beta1, in: 0...0.9999, "beta1", "beta1")
        try require(beta2, in: 0...0.9999, "beta2", "beta2")
        try require(epsilon, in: 1e-12...1, "eps", "epsilon")
        try require(momentum, in: 0...0.999, "momentum", "momentum")
        guard warmupSteps >= 0, totalSteps >= 1 else {
            throw TinyGPTError(.configuration, "--warmup must be at least 0 and --steps at least 1, got \(warmupSteps) and \(totalSteps) (trainer_state.json: warmup_steps, total_steps)")
        }
    }

    /// η for step s (from 0): warm-up over the first steps, then cosine to the floor.
    public func learningRate(step s: Int) -> Float {
        if s < warmupSteps { return learningRate * Float(s + 1) / Float(warmupSteps) }
        let progress = Double(s - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        let cosine = 0.5 * (1 + cos(Double.pi * min(1, progress)))       // 1 → 0
        return minLearningRate + Float(cosine) * (learningRate - minLearningRate)
    }
}

/// √(Σ over every matrix and every number of g²): the length of the whole gradient as one vector.
public func globalNorm(_ gradients: [Matrix]) -> Float {
    var squares = SumOfSquares()                   // Σ g², in Double, eight running sums at a time (appendix A2)
    for gradient in gradients { squares.add(gradient.values) }
    return Float(squares.total.squareRoot())
}

/// The factor that brings a gradient of length `norm` down to at most `clip` (1 when already shorter).
public func clipFactor(norm: Float, clip: Float) -> Float {
    min(1, clip / (norm + 1e-6))
}

/// One AdamW update of one parameter matrix θ, with its gradient g and moments m, v (same shape).
/// `step` counts from 1.
@inline(never)   // speed: compiled on its own, the loop is SIMD code; inlined into `update`, it was several times slower
public func adamWUpdate(_ theta: inout Matrix, gradient g: Matrix, m: inout Matrix, v: inout Matrix,
                        step: Int, learningRate eta: Float, decays: Bool, settings: OptimizerSettings) {
    let b1 = settings.beta1, b2 = settings.beta2
    let correction1 = 1 - pow(b1, Float(step))                           // 1 − β₁ᵗ
    let correction2 = 1 - pow(b2, Float(step))                           // 1 − β₂ᵗ
    let decay = decays ? 1 - eta * settings.weightDecay : 1              // θ ← θ − η λ θ
    for i in 0..<theta.values.count {
        m.values[i] = b1 * m.values[i] + (1 - b1) * g.values[i]                    // m ← β₁ m + (1 − β₁) g
        v.values[i] = b2 * v.values[i] + (1 - b2) * g.values[i] * g.values[i]      // v ← β₂ v + (1 − β₂) g²
        let mHat = m.values[i] / correction1, vHat = v.values[i] / correction2
        theta.values[i] = theta.values[i] * decay - eta * mHat / (vHat.squareRoot() + settings.epsilon)
    }
}

/// One SGD update of one parameter matrix θ with momentum u (same shape): u ← μ u + g, θ ← θ − η λ θ − η u.
@inline(never)   // speed: as adamWUpdate
public func sgdUpdate(_ theta: inout Matrix, gradient g: Matrix, velocity u: inout Matrix, learningRate eta: Float, decays: Bool,
                      settings: OptimizerSettings) {
    let decay = decays ? 1 - eta * settings.weightDecay : 1              // θ ← θ − η λ θ
    for i in 0..<theta.values.count {
        u.values[i] = settings.momentum * u.values[i] + g.values[i]                // u ← μ u + g
        theta.values[i] = theta.values[i] * decay - eta * u.values[i]              // θ ← θ − η u
    }
}

/// The optimizer's state for a whole model: m and v have the model's shape; `step` counts updates.
/// (SGD keeps its momentum u in m and leaves v at zero.)
public struct AdamW: Sendable {
    public var settings: OptimizerSettings
    public var m: Gradients
    public var v: Gradients
    public var step = 0

    public init(model: GPT, settings: OptimizerSettings) {
        self.settings = settings
        m = model.zeroed()
        v = model.zeroed()
    }

    /// Clips `gradient`, then updates every parameter of `model`. Returns the norm before clipping
    /// and the learning rate used.
    @discardableResult
    public mutating func update(_ model: inout GPT, gradient: Gradients) -> (gradientNorm: Float, learningRate: Float) {
        let parameters = model.parameters
        let norm = globalNorm(parameters.map { gradient[keyPath: $0.path] })
        let factor = clipFactor(norm: norm, clip: settings.clip)
        let eta = settings.learningRate(step: step)
        step += 1
        for parameter in parameters {
            let g = factor < 1 ? gradient[keyPath: parameter.path] * factor : gradient[keyPath: parameter.path]   // clipped
            model.modify(parameter.path) { theta in
                m.modify(parameter.path) { mean in
                    switch settings.method {
                    case .adamw:
                        v.modify(parameter.path) { square in
                            adamWUpdate(&theta, gradient: g, m: &mean, v: &square, step: step, learningRate: eta,
                                        decays: parameter.decays, settings: settings)
                        }
                    case .sgd:
                        sgdUpdate(&theta, gradient: g, velocity: &mean, learningRate: eta, decays: parameter.decays, settings: settings)
                    }
                }
            }
        }
        return (norm, eta)
    }
}
