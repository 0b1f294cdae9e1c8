// MARK: - Chapter 08: Block (docs/08-block.md)
//
// One transformer block: attention, then the feed-forward, each added back onto its input
// (the residual add: "keep what I had, plus a correction"). Where LayerNorm goes has two orders:
//   Pre-LN (GPT-2):                    Post-LN (the original 2017 Transformer):
//     X₁ = X  + Attention(LN₁(X))        X₁ = LN₁(X  + Attention(X))
//     Y  = X₁ + FeedForward(LN₂(X₁))     Y  = LN₂(X₁ + FeedForward(X₁))
// Pre-LN leaves the residual path X → Y untouched by any normalisation; Post-LN normalises it
// after every add. Without the residual (`--no-residual`, an exercise), each "X +" is dropped:
// the block's output is only what its two halves compute, and nothing carries X past them.

public enum NormOrder: String, Sendable, CaseIterable {
    case pre, post
}

public struct Block: Sendable {
    public var ln1: LayerNorm              // GPT-2: ln_1
    public var attention: Attention        // GPT-2: attn
    public var ln2: LayerNorm              // GPT-2: ln_2
    public var feedForward: FeedForward    // GPT-2: mlp
    public let order: NormOrder
    public let residual: Bool              // false: --no-residual

    public init(ln1: LayerNorm, attention: Attention, ln2: LayerNorm, feedForward: FeedForward, order: NormOrder,
                residual: Bool = true) {
        self.ln1 = ln1
        self.attention = attention
        self.ln2 = ln2
        self.feedForward = feedForward
        self.order = order
        self.residual = residual
    }

    /// The residual add, X + F(X): keep what was there, plus a correction (just F(X) without it).
    func add(_ x: Matrix, _ correction: Matrix) -> Matrix { residual ? x + correction : correction }

    public struct Saved: Sendable {
        public let ln1: LayerNorm.Saved
        public let attention: Attention.Saved
        public let afterAttention: Matrix      // X₁ [B·T, C], the residual stream between the two halves
        public let ln2: LayerNorm.Saved
        public let feedForward: FeedForward.Saved
    }

    /// X [B·T, C] → Y [B·T, C]
    public func forward(_ x: Matrix, windowLength T: Int, cache: AttentionCache? = nil) -> (y: Matrix, saved: Saved) {
        switch order {
        case .pre:
            let (attentionInput, ln1Saved) = ln1.forward(x)                 // LN₁(X)
            let (attended, attentionSaved) = attention.forward(attentionInput, windowLength: T, cache: cache)
            let x1 = add(x, attended)                                       // X₁ = X + Attention(LN₁(X))
            let (feedForwardInput, ln2Saved) = ln2.forward(x1)              // LN₂(X₁)
            let (fed, feedForwardSaved) = feedForward.forward(feedForwardInput)
            let y = add(x1, fed)                                            // Y = X₁ + FeedForward(LN₂(X₁))
            return (y, Saved(ln1: ln1Saved, attention: attentionSaved, afterAttention: x1,
                             ln2: ln2Saved, feedForward: feedForwardSaved))
        case .post:
            let (attended, attentionSaved) = attention.forward(x, windowLength: T, cache: cache)
            let (x1, ln1Saved) = ln1.forward(add(x, attended))              // X₁ = LN₁(X + Attention(X))
            let (fed, feedForwardSaved) = feedForward.forward(x1)
            let (y, ln2Saved) = ln2.forward(add(x1, fed))                   // Y = LN₂(X₁ + FeedForward(X₁))
            return (y, Saved(ln1: ln1Saved, attention: attentionSaved, afterAttention: x1,
                             ln2: ln2Saved, feedForward: feedForwardSaved))
        }
    }

    /// dY [B·T, C] → dX [B·T, C]; adds into every parameter's gradient in `gradient`.
    /// A residual add passes its gradient to both of its inputs unchanged (`add` again: without
    /// the residual, only the correction's path gets it).
    public func backward(_ dy: Matrix, _ saved: Saved, windowLength T: Int, into gradient: inout Block) -> Matrix {
        switch order {
        case .pre:
            // Y = X₁ + FeedForward(LN₂(X₁))  →  dX₁ = dY + LN₂'(FeedForward'(dY))
            let dFeedForwardInput = feedForward.backward(dy, saved.feedForward, into: &gradient.feedForward)
            let dx1 = add(dy, ln2.backward(dFeedForwardInput, saved.ln2, into: &gradient.ln2))
            // X₁ = X + Attention(LN₁(X))  →  dX = dX₁ + LN₁'(Attention'(dX₁))
            let dAttentionInput = attention.backward(dx1, saved.attention, windowLength: T, into: &gradient.attention)
            return add(dx1, ln1.backward(dAttentionInput, saved.ln1, into: &gradient.ln1))
        case .post:
            // Y = LN₂(X₁ + FeedForward(X₁))  →  dS₂ = LN₂'(dY),  dX₁ = dS₂ + FeedForward'(dS₂)
            let dSum2 = ln2.backward(dy, saved.ln2, into: &gradient.ln2)
            let dx1 = add(dSum2, feedForward.backward(dSum2, saved.feedForward, into: &gradient.feedForward))
            // X₁ = LN₁(X + Attention(X))  →  dS₁ = LN₁'(dX₁),  dX = dS₁ + Attention'(dS₁)
            let dSum1 = ln1.backward(dx1, saved.ln1, into: &gradient.ln1)
            return add(dSum1, attention.backward(dSum1, saved.attention, windowLength: T, into: &gradient.attention))
        }
    }
}
