import Foundation

// MARK: - Chapter 04: Softmax (docs/04-softmax.md)
//
// Any list of scores → weights that are positive and sum to 1:
//   p_i = exp(s_i / τ) / Σ_j exp(s_j / τ)          τ: temperature
// τ < 1 sharpens (towards one-hot on the largest score), τ > 1 flattens (towards uniform).
// Subtracting the largest score first changes nothing mathematically (it cancels above and
// below) but keeps exp from overflowing: exp(1000) is infinite in Float, exp(0) is 1.
// Attention (chapter 05) uses it on scores; the output (chapter 10) on logits.

/// The softmax of scores[range], written over them in place: afterwards they are positive and sum
/// to 1. temperature > 0. Attention (chapter 05) calls it on the visible part of each row of
/// scores, the loss (chapter 10) on each row of logits. Returns the largest score and the total
/// Σ_j exp((s_j − max) / τ), added in Double too: the loss needs both to take log p precisely.
@discardableResult
public func softmax(_ scores: inout [Float], _ range: Range<Int>, temperature: Float = 1) -> (largest: Float, total: Double) {
    var largest = -Float.infinity
    for i in range { largest = max(largest, scores[i]) }
    for i in range { scores[i] = (scores[i] - largest) / temperature }    // (s_i − max) / τ, each ≤ 0
    scores.exponentiate(range)                                           // exp of each, in (0, 1] (appendix A2)
    var total: Float = 0, preciseTotal: Double = 0
    for i in range {
        total += scores[i]                                                // Σ_j, at least 1
        preciseTotal += Double(scores[i])                                 // the same sum in Double, for the loss's log
    }
    for i in range { scores[i] /= total }
    return (largest, preciseTotal)
}

/// scores [n] → probabilities [n], Σ = 1: the softmax above, on a copy of the whole list.
public func softmax(_ scores: [Float], temperature: Float = 1) -> [Float] {
    var p = scores
    softmax(&p, p.indices, temperature: temperature)
    return p
}

/// The gradient through that softmax, in place: gradient[range] holds dp on entry and ds on
/// return, given the probabilities p[range] that softmax wrote.
///   ∂p_i/∂s_j = p_i (δ_ij − p_j) / τ   →   ds_j = p_j (dp_j − Σ_i p_i dp_i) / τ
public func softmaxBackward(_ gradient: inout [Float], probabilities p: [Float], _ range: Range<Int>, temperature: Float = 1) {
    var dot: Float = 0
    for i in range { dot += p[i] * gradient[i] }                          // Σ_i p_i dp_i
    for j in range { gradient[j] = p[j] * (gradient[j] - dot) / temperature }
}
