import Foundation

// MARK: - Chapter 07: FeedForward (docs/07-feedforward.md)
//
// After attention has blended context into each token, every token is processed on its own:
//   F = X·W_1 + b_1        expand   [T, C] → [T, 4C]: 4C feature detectors read the token
//   R = act(F)             gate     each detector passes (roughly its value) or stays near 0
//   Z = R·W_2 + b_2        recombine [T, 4C] → [T, C]: the detectors that fired write back
// act is ReLU, max(0, h), or GPT-2's GELU (tanh approximation):
//   gelu(h) = ½ h (1 + tanh(√(2/π) (h + 0.044715 h³)))

public enum Activation: String, Sendable, CaseIterable {
    case gelu, relu

    /// act(h)
    public func callAsFunction(_ h: Float) -> Float {
        switch self {
        case .relu: return max(0, h)
        case .gelu:
            let u = Activation.geluScale * (h + 0.044715 * h * h * h)
            return 0.5 * h * (1 + Activation.tanh(u))
        }
    }

    /// d act / dh at h
    public func derivative(_ h: Float) -> Float {
        switch self {
        case .relu: return h > 0 ? 1 : 0
        case .gelu:
            // ½(1 + tanh u) + ½ h (1 − tanh² u) · du/dh,  du/dh = √(2/π)(1 + 3·0.044715 h²)
            let u = Activation.geluScale * (h + 0.044715 * h * h * h)
            let tanhU = Activation.tanh(u)
            return 0.5 * (1 + tanhU) + 0.5 * h * (1 - tanhU * tanhU) * Activation.geluScale * (1 + 3 * 0.044715 * h * h)
        }
    }

    static let geluScale: Float = 0.797_884_56     // √(2/π)

    /// tanh u as a ratio of two polynomials in u², accurate to Float's rounding for |u| ≤ 7.9
    /// (beyond, tanh u is ±1 in Float anyway). The coefficients are the minimax fit the Eigen
    /// library uses. No exp and no library call: the loops that call it compile to SIMD code,
    /// several times faster than `Foundation.tanh`.
    static func tanh(_ u: Float) -> Float {
        let x = min(max(u, -7.905_311), 7.905_311), x2 = x * x
        var p: Float = -2.760_768_5e-16                              // numerator, Horner's rule
        p = p * x2 + 2.000_187_9e-13
        p = p * x2 - 8.604_671_5e-11
        p = p * x2 + 5.122_297_1e-8
        p = p * x2 + 1.485_722_4e-5
        p = p * x2 + 6.372_619_3e-4
        p = p * x2 + 4.893_524_6e-3
        var q: Float = 1.198_258_4e-6                                // denominator
        q = q * x2 + 1.185_347_1e-4
        q = q * x2 + 2.268_434_6e-3
        q = q * x2 + 4.893_525_2e-3
        return x * p / q
    }
}

public struct FeedForward: Sendable {
    public var expand: Linear     // W_1 [C, 4C], b_1 [1, 4C] (GPT-2: mlp.c_fc)
    public var contract: Linear   // W_2 [4C, C], b_2 [1, C] (GPT-2: mlp.c_proj)
    public let activation: Activation

    public init(expand: Linear, contract: Linear, activation: Activation) {
        self.expand = expand
        self.contract = contract
        self.activation = activation
    }

    public struct Saved: Sendable {
        public let input: Matrix       // X [N, C]
        public let expanded: Matrix    // F [N, 4C], before the activation
        public let activated: Matrix   // R [N, 4C]
    }

    /// X [N, C] → Z [N, C]
    public func forward(_ x: Matrix) -> (y: Matrix, saved: Saved) {
        let expanded = expand.forward(x)                                       // F = X·W_1 + b_1  [N, 4C]
        var activated = Matrix(rows: expanded.rows, cols: expanded.cols)
        for i in 0..<activated.values.count {
            activated.values[i] = activation(expanded.values[i])           // R = act(F), element by element
        }
        let z = contract.forward(activated)                                    // Z = R·W_2 + b_2  [N, C]
        return (z, Saved(input: x, expanded: expanded, activated: activated))
    }

    /// dZ [N, C] → dX [N, C]; adds into gradient.expand and gradient.contract.
    public func backward(_ dz: Matrix, _ saved: Saved, into gradient: inout FeedForward) -> Matrix {
        // Z = R·W_2 + b_2  →  dR = dZ·W_2ᵀ (and dW_2, db_2)
        let dr = contract.backward(dz, input: saved.activated, into: &gradient.contract)
        // R = act(F)  →  dF = dR ⊙ act'(F)
        var df = Matrix(rows: dr.rows, cols: dr.cols)
        for i in 0..<df.values.count {
            df.values[i] = dr.values[i] * activation.derivative(saved.expanded.values[i])
        }
        // F = X·W_1 + b_1  →  dX = dF·W_1ᵀ (and dW_1, db_1)
        return expand.backward(df, input: saved.input, into: &gradient.expand)
    }
}
