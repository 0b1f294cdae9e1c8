import Foundation
import TinyGPT

// gpt explore: what a trained model's vectors encode (chapter 15), word by word. And what the
// demo prints after training about the rows of W_E.

let exploreFlags: [FlagSpec] = [
    FlagSpec(name: "checkpoint", defaultValue: "out/checkpoint", help: "the model to explore (gpt train --save, or the demo's)"),
    FlagSpec(name: "count", defaultValue: "5", help: "how many neighbours or answers"),
    FlagSpec(name: "project", defaultValue: "", help: "direction only: the words to place along it, e.g. \"dogs dog kittens kitten\""),
    FlagSpec(name: "in", defaultValue: "", help: "context only: a sentence that holds the word, or another word in [brackets] (give two or more)"),
    FlagSpec(name: "json", defaultValue: "", help: "print one JSON object instead of lines", isSwitch: true),
    threadsFlag,
]

let exploreUsage = "neighbours WORD, analogy A B C, direction A B --project \"W …\", or context WORD --in \"…\" --in \"…\""

/// The vectors of a checkpoint and how to name their rows.
struct Vocabulary {
    let tokenizer: any Tokenizer
    let index: [String: Int]

    init(_ tokenizer: any Tokenizer) {
        self.tokenizer = tokenizer
        index = Dictionary(tokenizer.vocabulary.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The ID of a word, or one line saying it is not in the vocabulary.
    func id(_ word: String) throws -> Int {
        if let id = index[word] { return id }
        let encoding = tokenizer.encode(word)                    // a BPE word may be one token spelled differently
        if encoding.ids.count == 1 && encoding.unknown.isEmpty { return encoding.ids[0] }
        throw CommandLineError.failure("'\(word)' is not one token of this vocabulary (\(tokenizer.count) entries): choose a word the corpus has")
    }

    func name(_ id: Int) -> String { visible(tokenizer.vocabulary[id]) }
}

func exploreCommand(_ flags: Flags) throws {
    guard let what = flags.words.first else { throw CommandLineError.usage("gpt explore needs a question: " + exploreUsage) }
    let words = Array(flags.words.dropFirst())
    let shapes = ["neighbours": (1, "one WORD"), "neighbors": (1, "one WORD"), "analogy": (3, "A B C (A is to B as C is to ?)"),
                  "direction": (2, "A B (the direction B − A)"), "context": (1, "one WORD")]
    guard let (n, shape) = shapes[what] else { throw CommandLineError.usage("gpt explore has no question '\(what)': ask " + exploreUsage) }
    guard words.count == n else { throw CommandLineError.usage("gpt explore \(what) takes \(shape), got \(words.count) word(s)") }
    try useThreads(flags)
    let count = try flags.integer("count", atLeast: 1), json = flags.flag("json")
    let checkpoint = try loadCheckpoint(flags.string("checkpoint"))
    let vocabulary = Vocabulary(checkpoint.tokenizer), embedding = checkpoint.model.tokenEmbedding.weight
    switch what {
    case "analogy":
        let (a, b, c) = (try vocabulary.id(words[0]), try vocabulary.id(words[1]), try vocabulary.id(words[2]))
        let found = analogy(a, b, c, in: embedding, count: count)
        report(json, ["question": "analogy", "a": words[0], "b": words[1], "c": words[2], "measure": "cosine to B − A + C",
                      "answers": ranked(found, vocabulary)],
               "\(words[0]) is to \(words[1]) as \(words[2]) is to: " + listed(found, vocabulary) + "  (cosine to B − A + C)")
    case "direction": try exploreDirection(words, flags, vocabulary, embedding)
    case "context": try exploreContext(words[0], flags.all("in"), checkpoint.model, vocabulary, json: json)
    default:
        let id = try vocabulary.id(words[0])
        let found = nearestRows(to: embedding.row(id), in: embedding, count: count, excluding: [id])
        report(json, ["question": "neighbours", "word": words[0], "measure": "cosine", "answers": ranked(found, vocabulary)],
               "nearest to \(words[0]) (cosine of rows of W_E): " + listed(found, vocabulary))
    }
}

/// "puppy 0.93, kitten 0.91, …"
func listed(_ found: [(id: Int, similarity: Float)], _ vocabulary: Vocabulary) -> String {
    found.map { "\(vocabulary.name($0.id)) \(fixed($0.similarity, 3))" }.joined(separator: ", ")
}

func ranked(_ found: [(id: Int, similarity: Float)], _ vocabulary: Vocabulary) -> [[String: Any]] {
    found.map { ["word": vocabulary.tokenizer.vocabulary[$0.id], "cosine": Double($0.similarity)] }
}

/// One JSON object (sorted keys) or the line(s) for a person.
func report(_ json: Bool, _ object: [String: Any], _ text: String) {
    if json, let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        Output.line(String(decoding: data, as: UTF8.self))
    } else {
        Output.line(text)
    }
}

/// Each word of --project along d = E(B) − E(A): the dot product w·d (its sign says which side) and
/// the cosine (the same, without the lengths).
func exploreDirection(_ words: [String], _ flags: Flags, _ vocabulary: Vocabulary, _ embedding: Matrix) throws {
    let d = direction(from: try vocabulary.id(words[0]), to: try vocabulary.id(words[1]), in: embedding)
    let project = flags.string("project").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
    guard !project.isEmpty else { throw CommandLineError.usage("gpt explore direction needs --project \"W …\": the words to place along it") }
    var placed: [[String: Any]] = [], lines = ["direction \(words[1]) − \(words[0]): dot product w·d (sign: which side), cosine"]
    for word in project {
        guard let id = try? vocabulary.id(word) else { Output.note("'\(word)' is not in the vocabulary: left out"); continue }
        let row = embedding.row(id), dot = projection(row, onto: d), cosine = cosineSimilarity(row, d)
        placed.append(["word": word, "dot": Double(dot), "cosine": Double(cosine)])
        lines.append("  \(padded(word, 12)) dot \(padded(fixed(dot, 3), 8)) cosine \(fixed(cosine, 3))")
    }
    placed.sort { ($0["dot"] as! Double) > ($1["dot"] as! Double) }
    report(flags.flag("json"), ["question": "direction", "from": words[0], "to": words[1], "words": placed], lines.joined(separator: "\n"))
}

/// The word's row at the input and after every block, in each sentence; the cosine between
/// sentences at each layer. Before block 1 the rows differ only by position.
func exploreContext(_ word: String, _ sentences: [String], _ model: GPT, _ vocabulary: Vocabulary, json: Bool) throws {
    guard sentences.count >= 2 else { throw CommandLineError.usage("gpt explore context needs two or more --in \"sentence\"") }
    var found: [(sentence: String, word: String, vectors: [[Float]])] = []
    for sentence in sentences {
        guard let (ids, position, compared) = try contextPosition(word, in: sentence, vocabulary, context: model.config.context) else {
            Output.note("'\(word)' is not in \"\(sentence)\" (and no word is in [brackets]): left out"); continue
        }
        found.append((sentence, compared, model.contextualVectors(ids, at: position)))
    }
    guard found.count >= 2 else { throw CommandLineError.failure("'\(word)' is in fewer than two of the sentences: nothing to compare") }
    var seen = Set<String>()
    let words = found.map(\.word).filter { seen.insert($0).inserted }.map { "'\($0)'" }.joined(separator: ", ")
    var layers: [[String: Any]] = [], lines = ["\(words) in \(found.count) sentences: cosine between the rows (layer 0 = X₀, before any block)"]
    for layer in 0...model.config.layers {
        var pairs: [[String: Any]] = [], cells: [String] = []
        for i in found.indices { for j in found.indices where j > i {
            let cosine = cosineSimilarity(found[i].vectors[layer], found[j].vectors[layer])
            pairs.append(["a": i + 1, "b": j + 1, "cosine": Double(cosine)])
            cells.append("\(i + 1)–\(j + 1) \(fixed(cosine, 3))")
        } }
        layers.append(["layer": layer, "pairs": pairs])
        lines.append("  layer \(layer)  " + cells.joined(separator: "  "))
    }
    for (n, entry) in found.enumerated() { lines.append("  \(n + 1): \(entry.sentence)" + (entry.word == word ? "" : "   ('\(entry.word)')")) }
    report(json, ["question": "context", "word": word, "sentences": found.map(\.sentence), "words": found.map(\.word), "layers": layers],
           lines.joined(separator: "\n"))
}

/// The window of `sentence` (brackets removed) and the position compared in it: the word in
/// [brackets] if there is one ("factories release [ghg] ."), else `word`'s last occurrence.
func contextPosition(_ word: String, in sentence: String, _ vocabulary: Vocabulary, context: Int) throws
    -> (ids: [Int], position: Int, word: String)? {
    if let open = sentence.firstIndex(of: "["), let close = sentence[open...].firstIndex(of: "]") {
        let marked = String(sentence[sentence.index(after: open)..<close])
        let id = try vocabulary.id(marked)
        let before = String(sentence[..<open]), plain = before + marked + String(sentence[sentence.index(after: close)...])
        let ids = Array(vocabulary.tokenizer.encode(plain).ids.prefix(context))
        let position = vocabulary.tokenizer.encode(before).ids.count       // the first token after the text before "["
        guard position < ids.count, ids[position] == id else {
            throw CommandLineError.failure("'[\(marked)]' in \"\(sentence)\" is not one token where it stands (or is beyond the context of \(context))")
        }
        return (ids, position, marked)
    }
    let id = try vocabulary.id(word)
    let ids = Array(vocabulary.tokenizer.encode(sentence).ids.prefix(context))
    guard let position = ids.lastIndex(of: id) else { return nil }
    return (ids, position, word)
}

/// What the trained embedding rows encode (chapter 15), for the words of the notes that the corpus has.
func explore(_ embedding: Matrix, _ tokenizer: any Tokenizer) {
    let index = Dictionary(uniqueKeysWithValues: tokenizer.vocabulary.enumerated().map { ($1, $0) })
    func name(_ id: Int) -> String { visible(tokenizer.vocabulary[id]) }
    Output.line("embeddings  what training put in the rows of W_E (chapter 15; cosine similarity, 1 = same direction)")
    for word in ["dog", "cat", "coffee", "ghg", "apple", "aunt"] {
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
    let pairs = [("cat", "cats"), ("dog", "dogs"), ("puppy", "puppies"), ("kitten", "kittens"), ("rabbit", "rabbits"), ("horse", "horses")]
        .compactMap { pair in index[pair.0].flatMap { s in index[pair.1].map { (s, $0) } } }
    if let (singular, plural) = pairs.first, pairs.count >= 2 {
        let plurality = direction(from: singular, to: plural, in: embedding)
        func along(_ id: Int) -> Float { projection(embedding.row(id), onto: plurality) }
        let others = pairs.dropFirst()
        let sided = others.filter { along($0.1) > 0 && along($0.0) < 0 }.count
        func signed(_ x: Float) -> String { (x >= 0 ? "+" : "") + fixed(x, 2) }
        Output.line("  plural direction d = \(name(plural)) − \(name(singular)), dot products w·d (not cosines): \(sided) of \(others.count) pairs "
                    + "have the plural on the + side and the singular on the − side")
        Output.line("    " + others.map { "\(name($0.1)) \(signed(along($0.1))) \(name($0.0)) \(signed(along($0.0)))" }.joined(separator: ", "))
    }
}
