import Foundation

// MARK: - Chapter 05: Attention (docs/05-attention.md)
//
// Each token looks back at the tokens before it and blends in what it finds useful.
// For one head h of width D = C / H, in one window of T tokens (X [T, C], tokens are rows):
//   Q_h = X·W_Q[:, h]  K_h = X·W_K[:, h]  V_h = X·W_V[:, h]       each [T, D]
//   S   = Q_h·K_hᵀ / √D                                            [T, T]: row i = query i, column j = key j
//   A   = softmax of each row of S over keys j ≤ i (causal mask)   [T, T]: row i sums to 1
//   Y_h = A·V_h                                                    [T, D]: row i blends the values it attends to
// then the heads sit side by side, Y = [Y_0 | Y_1 | … | Y_{H−1}] [T, C], and W_O mixes them:
//   out = Y·W_O + b                                                [T, C]
// Head h owns columns h·D ..< (h+1)·D of W_Q, W_K and W_V. GPT-2 keeps all three in one matrix,
// c_attn.weight [C, 3C] = [W_Q | W_K | W_V], so one product makes Q, K and V for every head.

/// scores S [T, T] → weights A [T, T], in place. Row i is chapter 04's softmax over keys 0...i;
/// keys j > i (the future) get weight exactly 0: the lower triangle, diagonal included, is kept.
/// With `masked` false (`--no-mask`, an exercise), row i sees all T keys, the future too.
/// (Generating with a cache, chapter 14, the rows are the newest queries: row i is token
/// `firstQuery` + i, and sees keys 0 ... firstQuery + i.)
public func causalSoftmax(_ scores: inout Matrix, masked: Bool = true, firstQuery: Int = 0) {
    let T = scores.cols
    for i in 0..<scores.rows {
        let seen = masked ? firstQuery + i + 1 : T                    // row i sees keys j = 0 ..< seen
        softmax(&scores.values, i * T ..< i * T + seen)
        for j in seen ..< T { scores[i, j] = 0 }                      // the future: weight 0
    }
}

/// dA [T, T] → dS [T, T], in place, given the weights A that causalSoftmax wrote.
public func causalSoftmaxBackward(_ dWeights: inout Matrix, weights: Matrix, masked: Bool = true) {
    let T = weights.cols
    for i in 0..<weights.rows {
        // A[i, 0...i] = softmax(S[i, 0...i])  →  chapter 04's softmaxBackward on the same keys;
        // the masked entries had no effect on anything, so their gradient is 0
        let seen = masked ? i + 1 : T
        softmaxBackward(&dWeights.values, probabilities: weights.values, i * T ..< i * T + seen)
        for j in seen ..< T { dWeights[i, j] = 0 }
    }
}

/// The [Q | K | V] rows of every token a generation has seen so far (chapter 14's key/value
/// cache): a new token needs its own query and every earlier token's key and value, which do not
/// change when it arrives.
public final class AttentionCache {
    public var qkv = Matrix(rows: 0, cols: 0)       // [t, 3C], the oldest token first
    public init() {}
}

public struct Attention: Sendable {
    public var queryKeyValue: Linear      // [W_Q | W_K | W_V] [C, 3C] and their biases [1, 3C] (GPT-2: attn.c_attn)
    public var outputProjection: Linear   // W_O [C, C] and bias [1, C] (GPT-2: attn.c_proj)
    public let heads: Int                 // H
    public let masked: Bool               // the causal mask (false: --no-mask, attention sees the future)
    public let scaled: Bool               // S divided by √D (false: --no-scale)

    public init(queryKeyValue: Linear, outputProjection: Linear, heads: Int, masked: Bool = true, scaled: Bool = true) {
        self.queryKeyValue = queryKeyValue
        self.outputProjection = outputProjection
        self.heads = heads
        self.masked = masked
        self.scaled = scaled
    }

    /// C: the width of Q, K and V (a third of c_attn's outputs).
    public var width: Int { queryKeyValue.weight.cols / 3 }
    /// D = C / H: the width of one head's Q, K and V.
    public var headWidth: Int { width / heads }

    public struct Saved: Sendable {
        public let input: Matrix          // X [B·T, C], the rows attention read
        public let qkv: Matrix            // [Q | K | V] [B·T, 3C]
        public let weights: [Matrix]      // A [T, T] for window b and head h at index b·H + h
        public let concatenated: Matrix   // [Y_0 | … | Y_{H−1}] [B·T, C], before W_O
    }

    /// The columns of Q, K or V (part 0, 1 or 2 of c_attn's output) that head h owns.
    func columns(part: Int, head h: Int) -> Range<Int> {
        part * width + h * headWidth ..< part * width + (h + 1) * headWidth
    }

    /// X [B·T, C] → out [B·T, C]. Windows of T rows never look at each other. With a `cache`
    /// (generation, one window): X holds only the newest tokens, and the keys are every token's.
    public func forward(_ x: Matrix, windowLength T: Int, cache: AttentionCache? = nil) -> (y: Matrix, saved: Saved) {
        var qkv = queryKeyValue.forward(x)                                        // [Q | K | V] = X·[W_Q | W_K | W_V] + b  [B·T, 3C]
        if let cache {                                                            // the earlier tokens' rows, then these
            cache.qkv = cache.qkv.rows == 0 ? qkv : Matrix(rows: cache.qkv.rows + qkv.rows, cols: qkv.cols,
                                                             values: cache.qkv.values + qkv.values)
            qkv = cache.qkv
        }
        // Each window on its own (several windows at once on several cores: appendix A1)
        let windows = cache != nil ? [attend(qkv, rows: qkv.rows - x.rows ..< qkv.rows, keys: 0..<qkv.rows)]
                                   : FastProduct.map(x.rows / T) { b in attend(qkv, rows: b * T ..< (b + 1) * T) }
        var concatenated = Matrix(rows: x.rows, cols: width)
        for (b, window) in windows.enumerated() { concatenated.setBlock(window.y, row: b * T, col: 0) }
        let out = outputProjection.forward(concatenated)                             // out = Y·W_O + b  [B·T, C]
        return (out, Saved(input: x, qkv: qkv, weights: windows.flatMap(\.weights), concatenated: concatenated))
    }

    /// One window's rows of [Q | K | V] → its heads side by side, [Y_0 | … | Y_{H−1}] [T, C],
    /// and each head's weights A [T, T]. (With a cache the queries are the last rows and the
    /// keys all of them: A is [new tokens, all tokens].)
    func attend(_ qkv: Matrix, rows: Range<Int>, keys: Range<Int>? = nil) -> (y: Matrix, weights: [Matrix]) {
        let keys = keys ?? rows, firstQuery = rows.lowerBound - keys.lowerBound
        let D = headWidth, scale = scaled ? 1 / Float(D).squareRoot() : 1
        let square = masked && firstQuery == 0
        let future: Triangle = square ? .aboveDiagonalOfResult : .none, zeros: Triangle = square ? .aboveDiagonalOfSelf : .none
        var y = Matrix(rows: rows.count, cols: width)
        var weights: [Matrix] = []
        for h in 0..<heads {
            let q = qkv.view(rows: rows, cols: columns(part: 0, head: h))        // Q_h [T, D], read in place
            let k = qkv.view(rows: keys, cols: columns(part: 1, head: h))        // K_h [T, D]
            let v = qkv.view(rows: keys, cols: columns(part: 2, head: h))        // V_h [T, D]
            // (Above the diagonal, S is not needed and A is 0: the products skip that triangle.)
            var a = q.timesTransposed(k, skipping: future) * scale               // S = Q_h·K_hᵀ / √D  [T, T]
            causalSoftmax(&a, masked: masked, firstQuery: firstQuery)             // A [T, T], row i sums to 1 over j ≤ i
            y.setBlock(a.times(v, skipping: zeros), row: 0, col: h * D)           // Y_h = A·V_h [T, D], in head h's columns
            weights.append(a)
        }
        return (y, weights)
    }

    /// dOut [B·T, C] → dX [B·T, C]; adds into gradient.queryKeyValue and gradient.outputProjection.
    public func backward(_ dOut: Matrix, _ saved: Saved, windowLength T: Int, into gradient: inout Attention) -> Matrix {
        // out = Y·W_O + b  →  dY = dOut·W_Oᵀ (and dW_O, db)
        let dConcatenated = outputProjection.backward(dOut, input: saved.concatenated, into: &gradient.outputProjection)
        let dWindows = FastProduct.map(dOut.rows / T) { b in
            attendBackward(dConcatenated, saved, window: b, rows: b * T ..< (b + 1) * T)
        }
        var dqkv = Matrix(rows: dOut.rows, cols: 3 * width)
        for (b, window) in dWindows.enumerated() { dqkv.setBlock(window, row: b * T, col: 0) }
        // [Q | K | V] = X·[W_Q | W_K | W_V] + b  →  dX = dQKV·W_QKVᵀ (and dW_QKV, db)
        return queryKeyValue.backward(dqkv, input: saved.input, into: &gradient.queryKeyValue)
    }

    /// One window: dY [T, C] (its rows of dConcatenated) → its rows of d[Q | K | V] [T, 3C].
    func attendBackward(_ dConcatenated: Matrix, _ saved: Saved, window b: Int, rows: Range<Int>) -> Matrix {
        let D = headWidth, scale = scaled ? 1 / Float(D).squareRoot() : 1
        let future: Triangle = masked ? .aboveDiagonalOfResult : .none, zeros: Triangle = masked ? .aboveDiagonalOfSelf : .none
        var dqkv = Matrix(rows: rows.count, cols: 3 * width)
        for h in 0..<heads {
            let q = saved.qkv.view(rows: rows, cols: columns(part: 0, head: h))
            let k = saved.qkv.view(rows: rows, cols: columns(part: 1, head: h))
            let v = saved.qkv.view(rows: rows, cols: columns(part: 2, head: h))
            let a = saved.weights[b * heads + h]
            let dY = dConcatenated.view(rows: rows, cols: h * D ..< (h + 1) * D)
            // Y_h = A·V_h  →  dA = dY_h·V_hᵀ,  dV_h = Aᵀ·dY_h  (dA above the diagonal is never used)
            var dScores = dY.timesTransposed(v, skipping: future)
            let dV = a.transposedTimes(dY, skipping: zeros)
            // A = causal softmax(S)  →  dS, row by row over j ≤ i (dA becomes dS in place)
            causalSoftmaxBackward(&dScores, weights: a, masked: masked)
            // S = Q_h·K_hᵀ / √D  →  dQ_h = dS·K_h / √D,  dK_h = dSᵀ·Q_h / √D
            let dQ = dScores.times(k, skipping: zeros) * scale
            let dK = dScores.transposedTimes(q, skipping: zeros) * scale
            dqkv.setBlock(dQ, row: 0, col: columns(part: 0, head: h).lowerBound)
            dqkv.setBlock(dK, row: 0, col: columns(part: 1, head: h).lowerBound)
            dqkv.setBlock(dV, row: 0, col: columns(part: 2, head: h).lowerBound)
        }
        return dqkv
    }
}
