import Foundation

// MARK: - Chapter 10: Loss (docs/10-loss.md)
//
// Cross-entropy: how surprised the model is by the true next token, averaged over the N rows:
//   p_t = softmax(logits_t)            L = −(1/N) Σ_t log p_t[y_t]
// A perfect prediction (p = 1) costs 0; p = 1/V (a uniform guess) costs log V.
// Its gradient is short enough to remember:
//   dL/dlogits_t = (p_t − onehot(y_t)) / N

public struct CrossEntropy: Sendable {
    public struct Saved: Sendable {
        public let probabilities: Matrix   // p [N, V], each row sums to 1
        public let targets: [Int]          // y [N]
    }

    /// logits [N, V], targets [N] → mean loss (nats)
    public static func forward(_ logits: Matrix, targets: [Int]) -> (loss: Float, saved: Saved) {
        precondition(targets.count == logits.rows, "\(targets.count) targets for \(logits.rows) rows of logits")
        let V = logits.cols
        var probabilities = logits
        var total: Double = 0
        for t in 0..<logits.rows {
            // p_t = softmax(logits_t): chapter 04's softmax on row t, which hands back its largest score and total
            let (largest, sum) = softmax(&probabilities.values, t * V ..< (t + 1) * V)
            // log p_t[y] = s_y − max − log Σ_v exp(s_v − max): finite even when p_t[y] rounds to 0
            total -= Double(logits[t, targets[t]] - largest) - log(sum)    // −log p_t[y_t]
        }
        return (Float(total / Double(logits.rows)), Saved(probabilities: probabilities, targets: targets))
    }

    /// → dL/dlogits [N, V]
    public static func backward(_ saved: Saved) -> Matrix {
        // L = −(1/N) Σ_t log softmax(logits_t)[y_t]  →  dlogits_t = (p_t − onehot(y_t)) / N
        var dLogits = saved.probabilities
        for (t, y) in saved.targets.enumerated() { dLogits[t, y] -= 1 }
        let n = Float(dLogits.rows)
        for i in dLogits.values.indices { dLogits.values[i] /= n }
        return dLogits
    }
}
