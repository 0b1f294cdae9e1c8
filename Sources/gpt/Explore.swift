import Foundation
import TinyGPT

// What the demo prints after training: what the rows of W_E came to encode (chapter 15).

/// What the trained embedding rows encode (chapter 15), for the words of the notes that the corpus has.
func explore(_ embedding: Matrix, _ tokenizer: any Tokenizer) {
    let index = Dictionary(uniqueKeysWithValues: tokenizer.vocabulary.enumerated().map { ($1, $0) })
    func name(_ id: Int) -> String { visible(tokenizer.vocabulary[id]) }
    Output.line("embeddings  what training put in the rows of W_E (chapter 15; cosine similarity, 1 = same direction)")
    for word in ["dog", "cat", "coffee", "ghg", "apple", "Apple", "aunt"] {
        guard let id = index[word] else { continue }
        let neighbours = nearestRows(to: embedding.row(id), in: embedding, count: 4, excluding: [id])
        Output.line("  nearest to \(padded(word, 7)) " + neighbours.map { "\(name($0.id)) \(fixed($0.similarity, 2))" }.joined(separator: ", "))
    }
    for (a, b, c, expected) in [("cat", "cats", "dog", "dogs"), ("uncle", "aunt", "man", "woman"), ("man", "woman", "king", "queen")] {
        guard let ia = index[a], let ib = index[b], let ic = index[c] else { continue }
        let answers = analogy(ia, ib, ic, in: embedding, count: 3)
        let mark = answers.first.map { name($0.id) == expected ? "✓" : "✗ (hoped for \(expected))" } ?? ""
        Output.line("  \(a) → \(b) as \(c) → " + answers.map { "\(name($0.id)) \(fixed($0.similarity, 2))" }.joined(separator: ", ") + "  " + mark)
    }
    // Singular → plural pairs the vocabulary has, as (singular ID, plural ID).
    let pairs = [("cat", "cats"), ("dog", "dogs"), ("puppy", "puppies"), ("kitten", "kittens"), ("apple", "apples")]
        .compactMap { pair in index[pair.0].flatMap { s in index[pair.1].map { (s, $0) } } }
    if let (singular, plural) = pairs.first, pairs.count >= 2 {
        let plurality = direction(from: singular, to: plural, in: embedding)
        func along(_ id: Int) -> Float { projection(embedding.row(id), onto: plurality) }
        let others = pairs.dropFirst()
        let agreeing = others.filter { along($0.1) > along($0.0) }.count
        Output.line("  plural direction \(name(plural)) − \(name(singular)): \(agreeing) of \(others.count) other pairs lie further along it as plurals ("
                    + others.map { "\(name($0.1)) \(fixed(along($0.1), 2)) vs \(name($0.0)) \(fixed(along($0.0), 2))" }.joined(separator: "; ") + ")")
    }
}
