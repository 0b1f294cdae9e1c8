import Foundation

// MARK: - Chapter 03: Positions (docs/03-positions.md)
//
// Attention (chapter 05) compares tokens as a set: without help, "dog bites man" and
// "man bites dog" look alike. So each position t in the window gets a vector P[t] of width C,
// added to the token's embedding: X[t] = W_E[id_t] + P[t]. Two ways to get P:
//   learned:    P is a parameter [context, C], trained like W_E (GPT-2: wpe)
//   sinusoidal: P[t, 2i] = sin(t / 10000^(2i/C)),  P[t, 2i+1] = cos(t / 10000^(2i/C))  (fixed)
//   none:       P = 0 (`--positions none`, an exercise: the model sees its window as a set)

public enum PositionKind: String, Sendable, CaseIterable {
    case learned, sinusoidal, none
}

public struct Positions: Sendable {
    public let kind: PositionKind
    public var weight: Matrix   // P [context, C]: row t is position t's vector (GPT-2: wpe when learned)

    public init(kind: PositionKind, weight: Matrix) {
        self.kind = kind
        self.weight = weight
    }

    /// Learned positions start random, N(0, std²); sinusoidal ones are the fixed table; none are zeros.
    public init(kind: PositionKind, context: Int, width: Int, std: Float, random: inout RandomGenerator) {
        switch kind {
        case .learned: self.init(kind: kind, weight: Matrix.random(rows: context, cols: width, std: std, random: &random))
        case .sinusoidal: self.init(kind: kind, weight: Positions.sinusoidalTable(context: context, width: width))
        case .none: self.init(kind: kind, weight: Matrix(rows: context, cols: width))
        }
    }

    /// The fixed table: even columns sine, odd columns cosine, wavelengths from 2π to 10000·2π.
    public static func sinusoidalTable(context: Int, width: Int) -> Matrix {
        var table = Matrix(rows: context, cols: width)
        for t in 0..<context {
            for c in 0..<width {
                let pair = Double(c / 2 * 2)                                 // 2i for both columns of a pair
                let angle = Double(t) / pow(10000, pair / Double(width))     // t / 10000^(2i/C)
                table[t, c] = Float(c % 2 == 0 ? sin(angle) : cos(angle))
            }
        }
        return table
    }

    /// X [B·T, C] → X + P [B·T, C]: row b·T + t gets P[t]. Each window starts again at position 0
    /// (or, generating with a cache, at `first`: the newest tokens sit after the earlier ones).
    public func forward(_ x: Matrix, windowLength: Int, first: Int = 0) -> Matrix {
        var y = x
        for row in 0..<x.rows {
            let t = first + row % windowLength
            for c in 0..<x.cols { y[row, c] += weight[t, c] }          // X[t] + P[t]
        }
        return y
    }

    /// dY [B·T, C]: the gradient passes to X unchanged (dX = dY); learned positions add into
    /// gradient.weight [context, C]; sinusoidal ones (and none) have nothing to learn.
    public func backward(_ dy: Matrix, windowLength: Int, into gradient: inout Positions) {
        guard kind == .learned else { return }
        for row in 0..<dy.rows {
            // Y[t] = X[t] + P[t]  →  dP[t] += dY[t], summed over every window
            for c in 0..<dy.cols { gradient.weight[row % windowLength, c] += dy[row, c] }
        }
    }
}
