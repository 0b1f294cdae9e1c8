import Foundation

// MARK: - Chapter 04: Softmax (docs/04-softmax.md)
//
// Any list of scores → weights that are positive and sum to 1:
//   p_i = exp(s_i / τ) / Σ_j exp(s_j / τ)          τ: temperature
// τ < 1 sharpens (towards one-hot on the largest score), τ > 1 flattens (towards uniform).
// Subtracting the largest score first changes nothing mathematically (it cancels above and
// below) but keeps exp from overflowing: exp(1000) is infinite in Float, exp(0) is 1.
// Attention (chapter 05) uses it on scores; the output (chapter 10) on logits.

/// scores [n] → probabilities [n], Σ = 1. temperature > 0.
public func softmax(_ scores: [Float], temperature: Float = 1) -> [Float] {
    guard let largest = scores.max() else { return [] }
    var p = scores.map { exp(($0 - largest) / temperature) }      // exp((s_i − max) / τ), each in (0, 1]
    let total = p.reduce(0, +)                                     // Σ_j, at least 1
    for i in 0..<p.count { p[i] /= total }
    return p
}

/// dp [n] → ds [n], given the probabilities p that softmax returned.
///   ∂p_i/∂s_j = p_i (δ_ij − p_j) / τ   →   ds_j = p_j (dp_j − Σ_i p_i dp_i) / τ
public func softmaxBackward(_ dp: [Float], probabilities p: [Float], temperature: Float = 1) -> [Float] {
    var dot: Float = 0
    for i in 0..<p.count { dot += p[i] * dp[i] }                   // Σ_i p_i dp_i
    return (0..<p.count).map { j in p[j] * (dp[j] - dot) / temperature }
}

/// Softmax of every row: scores [N, n] → probabilities [N, n], each row sums to 1.
public func softmaxRows(_ scores: Matrix, temperature: Float = 1) -> Matrix {
    var p = scores
    for r in 0..<scores.rows {
        let row = softmax(scores.row(r), temperature: temperature)
        for c in 0..<scores.cols { p[r, c] = row[c] }
    }
    return p
}
