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
    public let normalizes: Bool // false: `--no-layernorm`, an exercise: y = x, and γ, β stay as they are

    public init(gamma: Matrix, beta: Matrix, epsilon: Float = 1e-5, normalizes: Bool = true) {
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
        self.normalizes = normalizes
    }

    /// γ = 1, β = 0: the identity on an already normalised row.
    public init(width: Int, epsilon: Float = 1e-5, normalizes: Bool = true) {
        self.init(gamma: Matrix(rows: 1, cols: width, values: [Float](repeating: 1, count: width)),
                  beta: Matrix(rows: 1, cols: width), epsilon: epsilon, normalizes: normalizes)
    }

    public struct Saved: Sendable {
        public let normalized: Matrix    // x̂ [N, C]
        public let inverseStd: [Float]   // 1/√(σ² + ε) [N], one per row
    }

    /// x [N, C] → y [N, C]
    public func forward(_ x: Matrix) -> (y: Matrix, saved: Saved) {
        guard normalizes else { return (x, Saved(normalized: x, inverseStd: [])) }    // --no-layernorm: y = x
        let width = x.cols, n = Float(width)
        // Sums along each row, c = 0, 1, 2… in order (eight rows side by side: appendix A2)
        let mean = rowSums(rows: x.rows, cols: width) { t, c in x[t, c] }.map { $0 / n }             // μ, one per row
        let variance = rowSums(rows: x.rows, cols: width) { t, c in (x[t, c] - mean[t]) * (x[t, c] - mean[t]) }
            .map { $0 / n }                                                                          // σ²
        let inverseStd = variance.map { 1 / ($0 + epsilon).squareRoot() }                           // 1/√(σ² + ε)
        var normalized = Matrix(rows: x.rows, cols: width), y = Matrix(rows: x.rows, cols: width)
        for t in 0..<x.rows {
            let mu = mean[t], s = inverseStd[t]
            for c in 0..<width { normalized[t, c] = (x[t, c] - mu) * s }                          // x̂
            for c in 0..<width { y[t, c] = gamma[0, c] * normalized[t, c] + beta[0, c] }          // γ ⊙ x̂ + β
        }
        return (y, Saved(normalized: normalized, inverseStd: inverseStd))
    }

    /// dy [N, C] → dx [N, C]; adds into gradient.gamma and gradient.beta [1, C].
    public func backward(_ dy: Matrix, _ saved: Saved, into gradient: inout LayerNorm) -> Matrix {
        guard normalizes else { return dy }                                            // y = x  →  dx = dy
        let width = dy.cols, n = Float(width), xHat = saved.normalized
        // y = γ ⊙ x̂ + β  →  dx̂ = dy ⊙ γ, and per row the two means the formula below needs
        let meanDxHat = rowSums(rows: dy.rows, cols: width) { t, c in dy[t, c] * gamma[0, c] }.map { $0 / n }
        let meanDxHatTimesXHat = rowSums(rows: dy.rows, cols: width) { t, c in dy[t, c] * gamma[0, c] * xHat[t, c] }
            .map { $0 / n }
        var dx = Matrix(rows: dy.rows, cols: width)
        for t in 0..<dy.rows {
            for c in 0..<width {
                gradient.gamma[0, c] += dy[t, c] * xHat[t, c]      // dγ += dy ⊙ x̂ (every row uses the same γ)
                gradient.beta[0, c] += dy[t, c]                    // dβ += dy
            }
            // x̂ = (x − μ) / √(σ² + ε)  →  dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) / √(σ² + ε)
            let mean1 = meanDxHat[t], mean2 = meanDxHatTimesXHat[t], inverseStd = saved.inverseStd[t]   // row t's
            for c in 0..<width {
                let dxHat = dy[t, c] * gamma[0, c]
                dx[t, c] = (dxHat - mean1 - xHat[t, c] * mean2) * inverseStd
            }
        }
        return dx
    }
}
