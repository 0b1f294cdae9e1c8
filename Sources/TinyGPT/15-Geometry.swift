// MARK: - Chapter 15: Geometry (docs/15-geometry.md)
//
// After training, each row of W_E is a token's learned vector. Nothing placed them: words that
// fill the same slots ("I have a dog", "I have a cat") received similar gradients step after step,
// and so drifted to similar places. Three ways to look:
//   similarity   cos(a, b) = a·b / (|a| |b|)          1: same direction, 0: unrelated, −1: opposite
//   neighbours   the rows with the largest cosine to a row
//   analogy      b − a + c ≈ d  ("cat is to cats as dog is to ?": cats − cat + dog ≈ dogs)
//   direction    d = E(cats) − E(cat); w·d > 0 leans plural, < 0 leans singular

/// cos(a, b) = a·b / (|a| |b|), 0 if either vector is all zeros.
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0, aa: Float = 0, bb: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        aa += a[i] * a[i]
        bb += b[i] * b[i]
    }
    return aa > 0 && bb > 0 ? dot / (aa.squareRoot() * bb.squareRoot()) : 0
}

/// The `count` rows of `vectors` [V, C] most similar to `query` [C], best first, skipping `excluded` IDs.
public func nearestRows(to query: [Float], in vectors: Matrix, count: Int, excluding excluded: Set<Int> = [])
    -> [(id: Int, similarity: Float)] {
    var scored: [(id: Int, similarity: Float)] = []
    for id in 0..<vectors.rows where !excluded.contains(id) {
        scored.append((id, cosineSimilarity(query, vectors.row(id))))
    }
    scored.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.id < $1.id }
    return Array(scored.prefix(count))
}

/// "a is to b as c is to ?": the rows nearest to E(b) − E(a) + E(c), excluding a, b and c.
public func analogy(_ a: Int, _ b: Int, _ c: Int, in vectors: Matrix, count: Int = 3) -> [(id: Int, similarity: Float)] {
    let (ea, eb, ec) = (vectors.row(a), vectors.row(b), vectors.row(c))
    let target = ea.indices.map { eb[$0] - ea[$0] + ec[$0] }
    return nearestRows(to: target, in: vectors, count: count, excluding: [a, b, c])
}

/// The direction E(to) − E(from), e.g. singular → plural.
public func direction(from: Int, to: Int, in vectors: Matrix) -> [Float] {
    let (start, end) = (vectors.row(from), vectors.row(to))
    return start.indices.map { end[$0] - start[$0] }
}

/// w·d: how far a vector leans along a direction (the sign says which side).
public func projection(_ vector: [Float], onto direction: [Float]) -> Float {
    var dot: Float = 0
    for i in vector.indices { dot += vector[i] * direction[i] }
    return dot
}

// MARK: Contextual vectors: a token's row after each layer
// W_E holds one row per token, whatever the sentence: "apple" the fruit and "apple" the company
// start from the same vector. Attention (chapter 05) then mixes in the neighbours, so the same
// token's row after block l depends on the sentence. Before the first block it cannot: X₀[t] is
// W_E[id_t] + P[t], the token and its position only.

extension GPT {
    /// The row of position t at the model's input (X₀) and after every block (X_1 … X_L): L + 1
    /// vectors [C] of the token at `position` in one window `ids`.
    public func contextualVectors(_ ids: [Int], at position: Int) -> [[Float]] {
        precondition(position >= 0 && position < ids.count && ids.count <= config.context, "position \(position) of \(ids.count) tokens")
        let saved = forward(ids, windowLength: ids.count).saved
        return ([saved.embedded] + saved.blockOutputs).map { $0.row(position) }
    }
}

// MARK: A picture of W_E: the two directions along which the rows spread most
// C numbers per token cannot be drawn; two can. The principal components are the directions of
// largest spread of the rows around their mean: the eigenvectors of the covariance
//   Σ = (W − μ)ᵀ(W − μ) / V        [C, C],  μ the mean row
// with the largest eigenvalues. Each row's coordinates along them place the token on a page.

/// The `count` principal components of the rows of `vectors` [V, C], largest spread first, each a
/// unit vector [C]; and every row's coordinates along them, [V, count]. Found by power iteration
/// on Σ (v ← Σ·v / |Σ·v|, 500 times), removing each component's share of Σ before the next.
/// Sign convention (a component and its negative are equally good): its largest entry is positive.
public func principalComponents(of vectors: Matrix, count: Int = 2) -> (components: [[Float]], coordinates: Matrix) {
    let (V, C) = (vectors.rows, vectors.cols)
    var mean = [Double](repeating: 0, count: C)
    for v in 0..<V { for c in 0..<C { mean[c] += Double(vectors[v, c]) / Double(V) } }
    var sigma = [[Double]](repeating: [Double](repeating: 0, count: C), count: C)   // Σ, in Double
    for v in 0..<V {
        let centred = (0..<C).map { Double(vectors[v, $0]) - mean[$0] }
        for i in 0..<C { for j in 0..<C { sigma[i][j] += centred[i] * centred[j] / Double(V) } }
    }
    var components: [[Float]] = []
    for _ in 0..<min(count, C) {
        var u = (0..<C).map { 1 + Double($0) / Double(C) }                   // a fixed start, not random
        for _ in 0..<500 {
            let next = (0..<C).map { i in (0..<C).reduce(0.0) { $0 + sigma[i][$1] * u[$1] } }   // Σ·u
            let length = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard length > 1e-30 else { break }                               // nothing left to spread
            u = next.map { $0 / length }
        }
        if let largest = u.indices.max(by: { abs(u[$0]) < abs(u[$1]) }), u[largest] < 0 { u = u.map { -$0 } }
        let lambda = (0..<C).reduce(0.0) { sum, i in sum + u[i] * (0..<C).reduce(0.0) { $0 + sigma[i][$1] * u[$1] } }   // uᵀΣu
        for i in 0..<C { for j in 0..<C { sigma[i][j] -= lambda * u[i] * u[j] } }                                 // Σ − λ u uᵀ
        components.append(u.map(Float.init))
    }
    var coordinates = Matrix(rows: V, cols: components.count)
    for v in 0..<V {
        for (k, component) in components.enumerated() {
            coordinates[v, k] = Float((0..<C).reduce(0.0) { $0 + (Double(vectors[v, $1]) - mean[$1]) * Double(component[$1]) })
        }
    }
    return (components, coordinates)
}
