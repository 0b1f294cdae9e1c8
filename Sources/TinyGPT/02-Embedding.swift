// MARK: - Chapter 02: Embedding (docs/02-embedding.md)
//
// Each token ID picks one row of the embedding matrix W_E: that row is the token's starting
// vector, its "meaning coordinates" before any context. There is no multiplication: a lookup.
// (In the column form the vectors are the columns of a [C, V] matrix; ours is its transpose.)
//   forward:  X[t] = W_E[id_t]
//   backward: dW_E[id_t] += dX[t]   (a row used twice gets both gradients)

public struct Embedding: Sendable {
    public var weight: Matrix   // W_E [V, C]: row v is token v's vector (GPT-2: wte)

    public init(weight: Matrix) { self.weight = weight }

    /// ids [N] → X [N, C]: row t is row ids[t] of W_E.
    public func forward(_ ids: [Int]) -> Matrix {
        var x = Matrix(rows: ids.count, cols: weight.cols)
        for (t, id) in ids.enumerated() {
            for c in 0..<weight.cols { x[t, c] = weight[id, c] }      // X[t] = W_E[id_t]
        }
        return x
    }

    /// dX [N, C] → nothing to pass back (IDs are not numbers to differentiate);
    /// adds into gradient.weight [V, C].
    public func backward(_ dx: Matrix, ids: [Int], into gradient: inout Embedding) {
        for (t, id) in ids.enumerated() {
            // X[t] = W_E[id_t]  →  dW_E[id_t] += dX[t]
            for c in 0..<weight.cols { gradient.weight[id, c] += dx[t, c] }
        }
    }
}
