// MARK: - Chapter 06: LayerNorm (docs/06-layernorm.md)
//
// Each row (one token) is normalised over its own C components, then scaled and shifted:
//   μ = mean of the row,  σ² = mean of (x − μ)²,  x̂ = (x − μ) / √(σ² + ε)
//   y = γ ⊙ x̂ + β          ⊙: multiply component by component
// Tokens never mix here: row t's output depends on row t only.

public struct LayerNorm: Sendable {
    public var gamma: Matrix    // γ [1, C], starts at 1 (GPT-2: ln_1.weight, ln_2.weight, ln_f.weight)
    public var beta: Matrix     // β [1, C], starts at 0 (GPT-2: ln_1.bias, …)
    public let epsilon: Float   // ε: keeps 1/√(σ² + ε) finite for a constant row (GPT-2: 1e-5)

    public init(gamma: Matrix, beta: Matrix, epsilon: Float = 1e-5) {
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
    }

    /// γ = 1, β = 0: the identity on an already normalised row.
    public init(width: Int, epsilon: Float = 1e-5) {
        self.init(gamma: Matrix(rows: 1, cols: width, values: [Float](repeating: 1, count: width)),
                  beta: Matrix(rows: 1, cols: width), epsilon: epsilon)
    }

    public struct Saved: Sendable {
        public let normalized: Matrix    // x̂ [N, C]
        public let inverseStd: [Float]   // 1/√(σ² + ε) [N], one per row
    }

    /// x [N, C] → y [N, C]
    public func forward(_ x: Matrix) -> (y: Matrix, saved: Saved) {
        let width = x.cols
        var normalized = Matrix(rows: x.rows, cols: width), y = normalized
        var inverseStd = [Float](repeating: 0, count: x.rows)
        for t in 0..<x.rows {
            var mean: Float = 0
            for c in 0..<width { mean += x[t, c] }
            mean /= Float(width)                                           // μ
            var variance: Float = 0
            for c in 0..<width { variance += (x[t, c] - mean) * (x[t, c] - mean) }
            variance /= Float(width)                                       // σ²
            inverseStd[t] = 1 / (variance + epsilon).squareRoot()          // 1/√(σ² + ε)
            for c in 0..<width {
                normalized[t, c] = (x[t, c] - mean) * inverseStd[t]        // x̂
                y[t, c] = gamma[0, c] * normalized[t, c] + beta[0, c]      // γ ⊙ x̂ + β
            }
        }
        return (y, Saved(normalized: normalized, inverseStd: inverseStd))
    }

    /// dy [N, C] → dx [N, C]; adds into gradient.gamma and gradient.beta [1, C].
    public func backward(_ dy: Matrix, _ saved: Saved, into gradient: inout LayerNorm) -> Matrix {
        let width = dy.cols
        var dx = Matrix(rows: dy.rows, cols: width)
        for t in 0..<dy.rows {
            // y = γ ⊙ x̂ + β  →  dγ += dy ⊙ x̂,  dβ += dy,  dx̂ = dy ⊙ γ
            var meanDxHat: Float = 0, meanDxHatTimesXHat: Float = 0
            for c in 0..<width {
                let xHat = saved.normalized[t, c], dxHat = dy[t, c] * gamma[0, c]
                gradient.gamma[0, c] += dy[t, c] * xHat
                gradient.beta[0, c] += dy[t, c]
                meanDxHat += dxHat
                meanDxHatTimesXHat += dxHat * xHat
            }
            meanDxHat /= Float(width)
            meanDxHatTimesXHat /= Float(width)
            // x̂ = (x − μ) / √(σ² + ε)  →  dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) / √(σ² + ε)
            for c in 0..<width {
                let xHat = saved.normalized[t, c], dxHat = dy[t, c] * gamma[0, c]
                dx[t, c] = (dxHat - meanDxHat - xHat * meanDxHatTimesXHat) * saved.inverseStd[t]
            }
        }
        return dx
    }
}
