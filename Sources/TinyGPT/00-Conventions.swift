import Foundation

// MARK: - Chapter 00: Conventions (docs/00-conventions.md)
//
// The letters used in every chapter:
//   T  tokens in one window (the context)      B  windows in a batch
//   C  width: meaning components of a token    V  entries in the vocabulary
//   H  attention heads                         D  head width = C / H
//
// One convention, everywhere: TOKENS ARE ROWS. A matrix is [rows, cols], stored row-major.
// A hidden state X is [tokens, width]: row t is token t's vector. A linear step is
//   Y = X·W + b     X [T, in] · W [in, out] → Y [T, out]
// Papers write the column form y = W x with W stored [out, in]: that is the transpose of ours,
// Yᵀ = Wᵀ·Xᵀ. GPT-2's checkpoints store W as [in, out], like us; PyTorch's nn.Linear stores [out, in].

/// A grid of Float numbers, `[rows, cols]`, row-major: element (r, c) lives at `values[r * cols + c]`.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public var values: [Float]

    /// A `[rows, cols]` matrix of zeros.
    public init(rows: Int, cols: Int) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: 0, count: rows * cols))
    }

    /// A `[rows, cols]` matrix from row-major values (row 0 first).
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "Matrix: \(values.count) values for [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// Element in row `r`, column `c`.
    public subscript(r: Int, c: Int) -> Float {
        get { values[r * cols + c] }
        set { values[r * cols + c] = newValue }
    }

    /// Row `r` as an array: one token's vector when rows are tokens.
    public func row(_ r: Int) -> [Float] {
        Array(values[r * cols ..< (r + 1) * cols])
    }

    /// The shape as a learner reads it: "[3, 64]".
    public var shape: String { "[\(rows), \(cols)]" }

    /// [rows, cols] → [cols, rows]: row r becomes column r.
    public func transposed() -> Matrix {
        var result = Matrix(rows: cols, cols: rows)
        for r in 0..<rows {
            for c in 0..<cols { result[c, r] = self[r, c] }
        }
        return result
    }

    /// A copy of the block `rowRange × colRange`. (To read a block without copying it: `view`, below.)
    public func block(rows rowRange: Range<Int>, cols colRange: Range<Int>) -> Matrix {
        var result = Matrix(rows: rowRange.count, cols: colRange.count)
        for r in 0..<rowRange.count {
            for c in 0..<colRange.count { result[r, c] = self[rowRange.lowerBound + r, colRange.lowerBound + c] }
        }
        return result
    }

    /// The block `rowRange × colRange` read where it lies, without a copy: for example one head's
    /// columns of one window's rows of [Q | K | V] (chapter 05).
    public func view(rows rowRange: Range<Int>, cols colRange: Range<Int>) -> MatrixView {
        precondition(rowRange.upperBound <= rows && colRange.upperBound <= cols, "block \(rowRange) × \(colRange) of \(shape)")
        return MatrixView(matrix: self, rowRange: rowRange, colRange: colRange)
    }

    /// Writes `source` into this matrix with its top-left corner at (`row`, `col`).
    public mutating func setBlock(_ source: Matrix, row: Int, col: Int) {
        for r in 0..<source.rows {
            for c in 0..<source.cols { self[row + r, col + c] = source[r, c] }
        }
    }

    /// Element-wise sum: the residual add `X + Y`.
    public static func + (left: Matrix, right: Matrix) -> Matrix {
        precondition(left.rows == right.rows && left.cols == right.cols, "shapes \(left.shape) + \(right.shape)")
        var result = left
        for i in 0..<result.values.count { result.values[i] += right.values[i] }
        return result
    }

    /// Element-wise `+=`: how gradients accumulate.
    @inline(never)   // speed: compiled on its own this loop is SIMD code; inlined, it reloaded the array per number
    public static func += (left: inout Matrix, right: Matrix) {
        precondition(left.rows == right.rows && left.cols == right.cols, "shapes \(left.shape) += \(right.shape)")
        for i in 0..<left.values.count { left.values[i] += right.values[i] }
    }

    /// Every element times `scale`.
    public static func * (matrix: consuming Matrix, scale: Float) -> Matrix {
        var result = matrix          // speed: `consuming` scales a temporary on the left in place, not a copy
        for i in 0..<result.values.count { result.values[i] *= scale }
        return result
    }
}

/// Rows `rowRange` and columns `colRange` of a matrix, read in place. It holds the matrix itself,
/// which shares the numbers (a Swift array is copied only when one of its holders writes to it).
public struct MatrixView: Sendable {
    public let matrix: Matrix
    public let rowRange: Range<Int>
    public let colRange: Range<Int>

    public var rows: Int { rowRange.count }
    public var cols: Int { colRange.count }

    /// Element (r, c) of the block: (rowRange.lowerBound + r, colRange.lowerBound + c) of the matrix.
    public subscript(r: Int, c: Int) -> Float { matrix[rowRange.lowerBound + r, colRange.lowerBound + c] }
}

// MARK: The matrix product
// (A·B)[i, j] = Σₖ A[i, k] · B[k, j]. Row i of the result mixes the rows of B with the weights in row i of A.

/// The definition, three loops: `a [n, k] · b [k, m] → [n, m]`. Every layer calls the fast product
/// in appendix A1 (docs/A1-speed.md) instead; the tests check the two agree.
public func definitionProduct(_ a: Matrix, _ b: Matrix) -> Matrix {
    precondition(a.cols == b.rows, "product of \(a.shape) and \(b.shape)")
    var result = Matrix(rows: a.rows, cols: b.cols)
    for i in 0..<a.rows {
        for j in 0..<b.cols {
            var sum: Float = 0
            for k in 0..<a.cols { sum += a[i, k] * b[k, j] }
            result[i, j] = sum
        }
    }
    return result
}

/// A triangle of zeros a product may skip. Attention's causal mask (chapter 05) makes its
/// weights zero above the diagonal, and leaves its scores there unused; skipping them halves that
/// work (how: appendix A1) and changes no bit of what is kept: a skipped step would be s + 0·b,
/// and for a finite b that is s exactly.
public enum Triangle: Sendable {
    case none
    case aboveDiagonalOfSelf     // self[i, j] = 0 for j > i (self as stored, before any transpose)
    case aboveDiagonalOfResult   // only result[i, j] with j ≤ i is wanted; the rest comes out 0
}

/// What a product takes: a whole matrix, or a view of a block of one.
public protocol MatrixOperand {
    var asView: MatrixView { get }
}

extension Matrix: MatrixOperand {
    public var asView: MatrixView { MatrixView(matrix: self, rowRange: 0..<rows, colRange: 0..<cols) }
}

extension MatrixView: MatrixOperand {
    public var asView: MatrixView { self }
}

extension MatrixOperand {
    /// `self [n, k] · other [k, m] → [n, m]`. Forward of a linear step: X·W.
    public func times(_ other: some MatrixOperand, skipping triangle: Triangle = .none) -> Matrix {
        let (a, b) = (asView, other.asView)
        precondition(a.cols == b.rows, "product of [\(a.rows), \(a.cols)] and [\(b.rows), \(b.cols)]")
        return FastProduct.multiply(a, b, skipping: triangle)
    }

    /// `self [n, k] · otherᵀ → [n, m]` where other is `[m, k]`. Scores Q·Kᵀ, logits X·W_Eᵀ, and dX = dY·Wᵀ.
    public func timesTransposed(_ other: some MatrixOperand, skipping triangle: Triangle = .none) -> Matrix {
        let (a, b) = (asView, other.asView)
        precondition(a.cols == b.cols, "product of [\(a.rows), \(a.cols)] and the transpose of [\(b.rows), \(b.cols)]")
        return FastProduct.multiply(a, b, transposingB: true, skipping: triangle)
    }

    /// `selfᵀ · other → [n, m]` where self is `[k, n]` and other `[k, m]`. Weight gradients dW = Xᵀ·dY.
    public func transposedTimes(_ other: some MatrixOperand, skipping triangle: Triangle = .none) -> Matrix {
        let (a, b) = (asView, other.asView)
        precondition(a.rows == b.rows, "product of the transpose of [\(a.rows), \(a.cols)] and [\(b.rows), \(b.cols)]")
        return FastProduct.multiply(a, b, transposingA: true, skipping: triangle)
    }
}

// MARK: - Linear: Y = X·W + b
// The one learned step every chapter uses: each output component is a weighted mix of the input
// components, plus a bias. GPT-2 calls it Conv1D and stores W as [in, out], as we do.
public struct Linear: Sendable {
    public var weight: Matrix   // W [in, out]: row i holds how input component i feeds each output
    public var bias: Matrix     // b [1, out]: added to every row (every token)

    public init(weight: Matrix, bias: Matrix) {
        precondition(bias.rows == 1 && bias.cols == weight.cols, "bias \(bias.shape) for weight \(weight.shape)")
        self.weight = weight
        self.bias = bias
    }

    /// Random weights N(0, std²) and zero bias (GPT-2's initialisation).
    public init(inputs: Int, outputs: Int, std: Float, random: inout RandomGenerator) {
        self.init(weight: Matrix.random(rows: inputs, cols: outputs, std: std, random: &random),
                  bias: Matrix(rows: 1, cols: outputs))
    }

    /// x [T, in] → y [T, out]
    public func forward(_ x: Matrix) -> Matrix {
        var y = x.times(weight)                                   // X·W
        for t in 0..<y.rows {
            for c in 0..<y.cols { y[t, c] += bias[0, c] }        // + b, the same for every token
        }
        return y
    }

    /// dy [T, out] → dx [T, in]; adds into gradient.weight [in, out] and gradient.bias [1, out].
    public func backward(_ dy: Matrix, input x: Matrix, into gradient: inout Linear) -> Matrix {
        // y = x·W + b  →  dW += xᵀ·dy,  db += Σ_t dy[t],  dx = dy·Wᵀ
        gradient.weight += x.transposedTimes(dy)
        for t in 0..<dy.rows {
            for c in 0..<dy.cols { gradient.bias[0, c] += dy[t, c] }
        }
        return dy.timesTransposed(weight)
    }
}

// MARK: - Randomness: one seeded generator
// SplitMix64: a 64-bit state, a fixed sequence per seed. The same seed gives the same model,
// batches and samples whatever the thread count (and on any machine whose math library rounds
// log and cos alike, which every common one does).
public struct RandomGenerator: Sendable {
    public private(set) var state: UInt64     // all there is to it: RandomGenerator(seed: state) continues from here

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A whole number in 0..<bound (bound ≥ 1).
    public mutating func integer(below bound: Int) -> Int {
        Int(uniform() * Double(bound))
    }

    /// N(0, 1) by Box–Muller: √(−2 ln u₁) · cos(2π u₂).
    public mutating func normal() -> Double {
        let u1 = 1 - uniform()                     // in (0, 1]: log stays finite
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension Matrix {
    /// A `[rows, cols]` matrix of N(0, std²) samples, drawn row by row.
    public static func random(rows: Int, cols: Int, std: Float, random: inout RandomGenerator) -> Matrix {
        var result = Matrix(rows: rows, cols: cols)
        guard std != 0 else { return result }                           // N(0, 0) is 0: nothing to draw
        for i in 0..<result.values.count { result.values[i] = Float(random.normal()) * std }
        return result
    }
}

// MARK: - What the library refuses
/// One error type for the whole library: a line that says what is wrong and what to change, and
/// which part refused (the command line turns a bad configuration into a usage error, exit 2).
public struct TinyGPTError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case configuration, tokenizer, training, checkpoint }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        description = message
    }

    /// A checkpoint file that cannot be used: "path: what is wrong with it".
    public init(file: String, message: String) {
        self.init(.checkpoint, "\(file): \(message)")
    }
}
