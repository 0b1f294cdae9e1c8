import Foundation
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

// MARK: Principal components and contextual vectors
extension GeometryTests {
    @Test("principal components of points spread 3 along (1, 1, 0)/√2 and 1 along (0, 0, 1): those two directions, in that order, largest entry positive (1e-4); coordinates are the projections of the centred rows (1e-4)")
    func principalComponentsOfAKnownSpread() {
        let s = Float(0.5).squareRoot()
        let u1: [Float] = [s, s, 0], u2: [Float] = [0, 0, 1]
        var rows: [Float] = []
        for (a, b) in [(3.0, 1.0), (-3.0, 1.0), (3.0, -1.0), (-3.0, -1.0), (1.5, 0.0), (-1.5, 0.0)] as [(Float, Float)] {
            for c in 0..<3 { rows.append(2 + a * u1[c] + b * u2[c]) }                   // centred at (2, 2, 2)
        }
        let vectors = Matrix(rows: 6, cols: 3, values: rows)
        let (components, coordinates) = principalComponents(of: vectors, count: 2)
        #expect(maxDifference(components[0], u1) < 1e-4 && maxDifference(components[1], u2) < 1e-4)
        #expect(abs(coordinates[0, 0] - 3) < 1e-4 && abs(coordinates[0, 1] - 1) < 1e-4)
        #expect(abs(coordinates[4, 0] - 1.5) < 1e-4 && abs(coordinates[4, 1]) < 1e-4)
    }

    @Test("projection is the dot product with the direction; its sign says the side (hand-made vectors, 1e-6)")
    func projectionSides() {
        let d = direction(from: 0, to: 1, in: vectors)                   // cats − cat = (0, 1, 0)
        #expect(abs(projection([0.3, 2, 0.1], onto: d) - 2) < 1e-6)
        #expect(projection(vectors.row(2), onto: d) < projection(vectors.row(3), onto: d))   // dog before dogs
    }

    @Test("a word's contextual vectors in two sentences: equal at the input X₀ (the same token at the same position, bit for bit), different after the first block (attention mixed in the neighbours)")
    func contextDecidesAfterAttention() throws {
        var random = RandomGenerator(seed: 6)
        let model = largeModel(try GPT(config: Configuration(vocabularySize: 13, context: 8, width: 16, layers: 2, heads: 2), random: &random), seed: 3)
        let fruit = model.contextualVectors([4, 5, 9, 6], at: 2), company = model.contextualVectors([7, 8, 9, 6], at: 2)   // word 9 at position 2
        #expect(fruit.count == 3)
        #expect(fruit[0] == company[0])
        #expect(maxDifference(fruit[1], company[1]) > 1e-3)
    }
}
