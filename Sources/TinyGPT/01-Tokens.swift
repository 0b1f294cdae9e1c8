// MARK: - Chapter 01: Tokens (docs/01-tokens.md)
//
// text → tokens → token IDs → text. A tokenizer cuts text into pieces it has a number for.
// The model never sees letters: only the IDs, which pick rows of the embedding matrix (chapter 02).
//
// Unknown pieces: the vocabulary is learned from a corpus. A piece that the corpus never had maps
// to ID 0, `<unk>`, and `Encoding.unknown` lists which pieces those were, so a caller can say so.

/// What encoding a text gives: the IDs, and the pieces the vocabulary did not know.
public struct Encoding: Equatable, Sendable {
    public var ids: [Int]
    public var unknown: [String]   // pieces that became `<unk>` (ID 0), in order of appearance
}

/// text ↔ IDs. `vocabulary[id]` is the piece with that ID; ID 0 is always `<unk>`.
public protocol Tokenizer: Sendable {
    var vocabulary: [String] { get }
    /// The pieces of `text`, before they become numbers.
    func pieces(of text: String) -> [String]
    /// IDs back to text.
    func decode(_ ids: [Int]) -> String
}

extension Tokenizer {
    /// Number of entries: V, the rows of W_E.
    public var count: Int { vocabulary.count }

    /// text → IDs, with unknown pieces mapped to 0 and reported.
    public func encode(_ text: String) -> Encoding {
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        var encoding = Encoding(ids: [], unknown: [])
        for piece in pieces(of: text) {
            if let id = index[piece] {
                encoding.ids.append(id)
            } else {
                encoding.ids.append(0)
                encoding.unknown.append(piece)
            }
        }
        return encoding
    }
}

/// The name written for ID 0.
public let unknownPiece = "<unk>"

/// Vocabulary in order of first appearance, after `<unk>`: the first words of the corpus get the
/// smallest IDs, which makes printed IDs easy to follow.
func vocabularyInOrder(of pieces: [String]) -> [String] {
    var seen: Set<String> = [unknownPiece]
    var vocabulary = [unknownPiece]
    for piece in pieces where !seen.contains(piece) {
        seen.insert(piece)
        vocabulary.append(piece)
    }
    return vocabulary
}

// MARK: Word-level
/// One token per word. Letters, digits and apostrophes make words; each other visible character
/// (". , ? !") is a token of its own; a line break is the token "\n"; spaces only separate.
/// Case is kept: "Apple" (the company) and "apple" (the fruit) are different tokens.
public struct WordTokenizer: Tokenizer {
    public let vocabulary: [String]

    /// Learns the vocabulary from a corpus.
    public init(corpus: String) {
        vocabulary = vocabularyInOrder(of: WordTokenizer.split(corpus))
    }

    public init(vocabulary: [String]) { self.vocabulary = vocabulary }

    public func pieces(of text: String) -> [String] { WordTokenizer.split(text) }

    static func split(_ text: String) -> [String] {
        var pieces: [String] = []
        var word = ""
        func endWord() {
            if !word.isEmpty { pieces.append(word); word = "" }
        }
        for character in text {
            if character.isLetter || character.isNumber || character == "'" {
                word.append(character)
            } else if character.isNewline {
                endWord(); pieces.append("\n")
            } else if character.isWhitespace {
                endWord()
            } else {
                endWord(); pieces.append(String(character))
            }
        }
        endWord()
        return pieces
    }

    /// Words joined by spaces, with no space before punctuation or after a line break.
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        for id in ids {
            let piece = id >= 0 && id < vocabulary.count ? vocabulary[id] : unknownPiece
            let attaches = piece.count == 1 && ".,?!;:".contains(piece)
            if !text.isEmpty && !text.hasSuffix("\n") && piece != "\n" && !attaches { text += " " }
            text += piece
        }
        return text
    }
}

// MARK: Character-level
/// One token per character (spaces and line breaks included). Tiny vocabulary, long sequences:
/// the model must learn spelling before words.
public struct CharacterTokenizer: Tokenizer {
    public let vocabulary: [String]

    public init(corpus: String) {
        vocabulary = vocabularyInOrder(of: corpus.map { String($0) })
    }

    public init(vocabulary: [String]) { self.vocabulary = vocabulary }

    public func pieces(of text: String) -> [String] { text.map { String($0) } }

    public func decode(_ ids: [Int]) -> String {
        ids.map { $0 >= 0 && $0 < vocabulary.count ? vocabulary[$0] : unknownPiece }.joined()
    }
}
