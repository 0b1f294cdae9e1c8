import Testing
@testable import TinyGPT

// Chapter 02: the embedding is a lookup, and its backward adds each row of dX into the row of W_E it came from.

@Suite("02 Embedding") struct EmbeddingTests {
    let table = Matrix(rows: 4, cols: 3, values: [0, 1, 2,
                                                  10, 11, 12,
                                                  20, 21, 22,
                                                  30, 31, 32])

    @Test("forward is a lookup: row t of X is row ids[t] of W_E; a repeated ID gives the same row again (exact)")
    func lookup() {
        let x = Embedding(weight: table).forward([2, 0, 2, 3])
        #expect(x.rows == 4 && x.cols == 3)
        #expect(x.values == [20, 21, 22,
                             0, 1, 2,
                             20, 21, 22,
                             30, 31, 32])
    }

    @Test("backward scatter-adds dX into the rows used: a repeated ID collects all its rows, an unused row gets 0, a second backward adds on (exact)")
    func scatterAdd() {
        let dx = Matrix(rows: 4, cols: 3, values: [1, 2, 3,
                                                   0.5, 0.25, -1,
                                                   10, 20, 30,
                                                   -4, 0, 8])
        let embedding = Embedding(weight: table)
        var gradient = Embedding(weight: Matrix(rows: 4, cols: 3))
        embedding.backward(dx, ids: [2, 0, 2, 2], into: &gradient)
        #expect(gradient.weight.row(2) == [7, 22, 41])                 // rows 0, 2 and 3 of dX: 1 + 10 − 4, 2 + 20 + 0, 3 + 30 + 8
        #expect(gradient.weight.row(0) == [0.5, 0.25, -1])                          // row 1 of dX
        #expect(gradient.weight.row(1) == [0, 0, 0] && gradient.weight.row(3) == [0, 0, 0])
        // += , not =: what the gradient held stays (a tied W_E also collects the unembedding's part, chapter 11)
        embedding.backward(dx, ids: [2, 0, 2, 2], into: &gradient)
        #expect(gradient.weight.row(2) == [14, 44, 82] && gradient.weight.row(0) == [1, 0.5, -2])
    }

    @Test("backward matches finite differences of L = Σ upstream ⊙ X with respect to W_E, repeated IDs included (2e-2 relative + 2e-4)")
    func finiteDifferences() {
        var random = RandomGenerator(seed: 21)
        let embedding = Embedding(weight: Matrix.random(rows: 6, cols: 4, std: 1, random: &random))
        let ids = [5, 1, 5, 0, 1, 5]
        let upstream = Matrix.random(rows: ids.count, cols: 4, std: 1, random: &random)
        var gradient = Embedding(weight: Matrix(rows: 6, cols: 4))
        embedding.backward(upstream, ids: ids, into: &gradient)
        expectClose(centralDifferences(embedding.weight) { dot(Embedding(weight: $0).forward(ids), upstream) },
                    gradient.weight.values, "dW_E")
        #expect(gradient.weight.row(2) == [0, 0, 0, 0], "ID 2 is not in the batch: its row gets nothing")
        #expect(gradient.weight.row(5) != [0, 0, 0, 0])
    }
}
