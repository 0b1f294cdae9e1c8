// MARK: - Chapter 11: Backprop (docs/11-backprop.md)
//
// The chain rule, applied to chapter 09's forward pass read from the bottom up. Each step takes
// dL/d(its output) and returns dL/d(its input), adding dL/d(its parameters) into `gradient`:
//   dlogits = (p − onehot(y)) / N                       chapter 10
//   logits = Z·Uᵀ             →  dZ = dlogits·U,  dU += dlogitsᵀ·Z
//   Z = LN_f(X_L)             →  dX_L = LN_f'(dZ)        chapter 06
//   X_l = Block_l(X_{l−1})    →  dX_{l−1} = Block_l'(dX_l), l = L…1   chapter 08
//   X₀ = W_E[ids] + P         →  dW_E[ids] += dX₀,  dP += dX₀          chapters 02, 03
// Gradients are added (+=), never assigned: a parameter used twice (a tied W_E is both the
// embedding and the unembedding) collects both contributions. So a fresh `gradient` starts at 0.

extension GPT {
    /// dlogits [B·T, V] → gradients of every parameter (a GPT of the same shape), and dX₀ [B·T, C].
    public func backward(_ dLogits: Matrix, _ saved: Saved, windowLength T: Int) -> (gradient: Gradients, dEmbedded: Matrix) {
        var gradient = zeroed()
        // logits = Z·Uᵀ  →  dZ = dlogits·U,  dU += dlogitsᵀ·Z
        var dx = dLogits.times(unembedding)
        let dUnembedding = dLogits.transposedTimes(saved.final)
        if untiedUnembedding != nil { gradient.untiedUnembedding! += dUnembedding } else { gradient.tokenEmbedding.weight += dUnembedding }
        // Z = LN_f(X_L)  →  dX_L = LN_f'(dZ)
        if let finalNorm, let finalNormSaved = saved.finalNorm {
            dx = finalNorm.backward(dx, finalNormSaved, into: &gradient.finalNorm!)
        }
        // X_l = Block_l(X_{l−1}), undone from the last block to the first
        for l in blocks.indices.reversed() {
            dx = blocks[l].backward(dx, saved.blocks[l], windowLength: T, into: &gradient.blocks[l])
        }
        // X₀ = W_E[ids] + P  →  dW_E[ids] += dX₀,  dP += dX₀
        positionEmbedding.backward(dx, windowLength: T, into: &gradient.positionEmbedding)
        tokenEmbedding.backward(dx, ids: saved.ids, into: &gradient.tokenEmbedding)
        return (gradient, dx)
    }

    /// One forward and one backward: the mean loss over the batch and every parameter's gradient.
    /// ids and targets are [B·T]; targets[i] is the token that follows ids[i]. When these rows are
    /// one part of a larger batch (chapter 13's shards), `share` is their part of its rows: the
    /// loss and dlogits are scaled by it, so that the parts' results add up to the whole batch's.
    public func lossAndGradient(ids: [Int], targets: [Int], windowLength T: Int, share: Float = 1) -> (loss: Float, gradient: Gradients) {
        let (logits, saved) = forward(ids, windowLength: T)
        let (loss, lossSaved) = CrossEntropy.forward(logits, targets: targets)
        let (gradient, _) = backward(CrossEntropy.backward(lossSaved) * share, saved, windowLength: T)
        return (loss * share, gradient)
    }
}
