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
