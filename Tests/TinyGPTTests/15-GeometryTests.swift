import Testing
@testable import TinyGPT

// Chapter 15: similarity, neighbours, analogies and directions on vectors whose answer we know.

@Suite("15 Geometry") struct GeometryTests {
    // Rows: 0 cat, 1 cats, 2 dog, 3 dogs, 4 coffee. Axis 0 "animal", axis 1 "plural", axis 2 "drink".
    let vectors = Matrix(rows: 5, cols: 3, values: [1.0, 0.0, 0.1,
                                                    1.0, 1.0, 0.1,
                                                    0.9, 0.0, 0.0,
                                                    0.9, 1.0, 0.0,
                                                    0.0, 0.1, 1.0])

    @Test("cosine: 1 for the same direction whatever the length, 0 perpendicular, −1 opposite")
    func cosine() {
        #expect(abs(cosineSimilarity([1, 2, 3], [2, 4, 6]) - 1) < 1e-6)
        #expect(cosineSimilarity([1, 0], [0, 5]) == 0)
        #expect(abs(cosineSimilarity([1, 1], [-1, -1]) + 1) < 1e-6)
        #expect(cosineSimilarity([0, 0], [1, 1]) == 0)
    }

    @Test("neighbours: the most similar rows first, the query itself left out")
    func neighbours() {
        let near = nearestRows(to: vectors.row(0), in: vectors, count: 2, excluding: [0])
        #expect(near.map(\.id) == [2, 1])                    // cat: dog, then cats; coffee last
    }

    @Test("analogy: cat → cats as dog → dogs; the plural direction separates plurals from singulars")
    func analogyAndDirection() {
        #expect(analogy(0, 1, 2, in: vectors).first?.id == 3)
        let plural = direction(from: 0, to: 1, in: vectors)
        #expect(projection(vectors.row(3), onto: plural) > 0 && projection(vectors.row(2), onto: plural) == 0)
    }
}
