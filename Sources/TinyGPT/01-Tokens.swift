import Foundation

// MARK: - Chapter 01: Tokens (docs/01-tokens.md)
//
// text → tokens → token IDs → text. A tokenizer cuts text into pieces it has a number for.
// The model never sees letters: only the IDs, which pick rows of the embedding matrix (chapter 02).
// Three ways to cut, in the chapter's order: words, characters, and GPT-2's bytes + merges (BPE).
//
// Unknown pieces: the vocabulary is learned from a corpus. A piece that the corpus never had maps
// to ID 0, `<unk>`, and `Encoding.unknown` lists which pieces those were, so a caller can say so.
// Byte-level BPE has no `<unk>`: every byte is a token, so any text can be spelled.
// How a tokenizer is kept on disk (GPT-2's vocab.json and merges.txt) is chapter 17's.

/// What encoding a text gives: the IDs, and the pieces the vocabulary did not know.
public struct Encoding: Equatable, Sendable {
    public var ids: [Int]
    public var unknown: [String]   // pieces the vocabulary lacks, written as ID 0, in order of appearance
}

/// text ↔ IDs. `vocabulary[id]` is the piece with that ID. Word and character tokenizers keep
/// ID 0 for `<unk>`; byte-level BPE has a token for every byte, so nothing is unknown to it.
public protocol Tokenizer: Sendable {
    var vocabulary: [String] { get }
    /// The pieces of `text`, before they become numbers.
    func pieces(of text: String) -> [String]
    /// text → IDs (below: the pieces looked up one by one).
    func encode(_ text: String) -> Encoding
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
/// Case is kept ("Apple" and "apple" would be two tokens); corpus.txt writes apple in lowercase in both
/// senses, the fruit and the company, so that one row of W_E serves both (chapter 15).
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
    let index: [Int32]                       // index[c] = the ID of the character numbered c (Unicode), 0 if none

    public init(corpus: String) {
        var seen = [Bool](repeating: false, count: 0x11_0000), order: [Unicode.Scalar] = []
        for scalar in corpus.unicodeScalars where !seen[Int(scalar.value)] {                 // in order of first appearance
            seen[Int(scalar.value)] = true
            order.append(scalar)
        }
        self.init(vocabulary: [unknownPiece] + order.map { String($0) })
    }

    public init(vocabulary: [String]) {
        self.vocabulary = vocabulary
        var index = [Int32](repeating: 0, count: 0x11_0000)          // one number per possible character: 4 MB
        for (id, piece) in vocabulary.enumerated().dropFirst().reversed() where piece.unicodeScalars.count == 1 {
            index[Int(piece.unicodeScalars.first!.value)] = Int32(id)                       // the first ID wins
        }
        self.index = index
    }

    public func pieces(of text: String) -> [String] { text.unicodeScalars.map { String($0) } }

    /// text → IDs, one per character, as the general `encode` above does it but looking each
    /// character up as it is, without making a String of it first (a 50 MB text in a second or two).
    public func encode(_ text: String) -> Encoding {
        var encoding = Encoding(ids: [], unknown: [])
        encoding.ids.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let id = Int(index[Int(scalar.value)])
            if id > 0 {
                encoding.ids.append(id)
            } else {
                encoding.ids.append(0)
                encoding.unknown.append(String(scalar))
            }
        }
        return encoding
    }

    public func decode(_ ids: [Int]) -> String {
        ids.map { $0 >= 0 && $0 < vocabulary.count ? vocabulary[$0] : unknownPiece }.joined()
    }
}

// MARK: Byte-level BPE (GPT-2)
// Start from bytes, so any text can be spelled, then glue the most frequent neighbours into
// longer tokens: "c o f f e e" → "co f f e e" → … → "coffee". Each glue step is a merge; the
// merges, in the order they were learned (their rank), are the tokenizer.

/// The bytes GPT-2 shows as themselves: "!"…"~", "¡"…"¬", "®"…"ÿ" (188 of 256).
let printableBytes = Array(33...126) + Array(161...172) + Array(174...255)

/// All 256 bytes in GPT-2's listing order: the 188 printable ones, then the other 68 in byte
/// order. A BPE vocabulary starts with their symbols in this order: ID 0 is "!", "Ġ" (space) 220.
public let bytesInGPT2Order: [UInt8] = (printableBytes + (0...255).filter { !printableBytes.contains($0) }).map { UInt8($0) }

/// GPT-2's byte alphabet (`bytes_to_unicode`): byte b → one printable character, so every token is
/// a readable string. Printable bytes stand for themselves; the other 68 take U+0100, U+0101, … in
/// byte order: byte 0 is "Ā", a newline (10) "Ċ", a space (32) "Ġ".
public let symbolForByte: [Unicode.Scalar] = {
    var symbols = (0...255).map { Unicode.Scalar(UInt8($0)) }
    var next: UInt32 = 0x100
    for byte in 0...255 where !printableBytes.contains(byte) {
        symbols[byte] = Unicode.Scalar(next)!     // U+0100…U+0143: always a valid scalar
        next += 1
    }
    return symbols
}()

/// The inverse: a symbol back to its byte.
public let byteForSymbol: [Unicode.Scalar: UInt8] = {
    var bytes: [Unicode.Scalar: UInt8] = [:]
    for byte in 0...255 { bytes[symbolForByte[byte]] = UInt8(byte) }
    return bytes
}()

/// One merge: two adjacent tokens that become one, `left + right` ("Ġc" + "offee" → "Ġcoffee").
public struct Merge: Hashable, Sendable {
    public let left: String
    public let right: String
    public var result: String { left + right }

    public init(_ left: String, _ right: String) {
        self.left = left
        self.right = right
    }
}

/// GPT-2's tokenizer: text → words (the pre-split) → each word's UTF-8 bytes as symbols → merges,
/// lowest rank first. Tokens are strings in the byte alphabet: "Ġcoffee" is " coffee".
/// Special tokens such as "<|endoftext|>" can sit in the vocabulary (GPT-2 has it as its last ID),
/// but plain text never produces them: the pre-split cuts "<|" and "|>" off every word.
public struct BytePairTokenizer: Tokenizer {
    public let vocabulary: [String]     // ID → token: the 256 byte symbols first, then merged tokens
    public let merges: [Merge]          // in rank order: merges[0] was learned first and applies first
    let rank: [Merge: Int]              // merge → its place in `merges`

    /// A vocabulary and its merges as they are (GPT-2's files go through `init(vocabJSON:mergesText:)`).
    public init(vocabulary: [String], merges: [Merge]) {
        self.vocabulary = vocabulary
        self.merges = merges
        rank = Dictionary(merges.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The 256 byte symbols, then each merge's result in order (a result that is already a token,
    /// "a" + "bc" after "ab" + "c", adds no entry). With a prefix of learned merges this is the
    /// learned tokenizer at an early stage: same IDs, fewer merges.
    public init(merges: [Merge]) {
        var vocabulary = bytesInGPT2Order.map { String(symbolForByte[Int($0)]) }
        var known = Set(vocabulary)
        for merge in merges where !known.contains(merge.result) {
            vocabulary.append(merge.result)
            known.insert(merge.result)
        }
        self.init(vocabulary: vocabulary, merges: merges)
    }

    /// Learns merges from a corpus until the vocabulary has `vocabularySize` entries (256 bytes +
    /// merges), or until no pair of neighbours occurs twice.
    public init(learningFrom corpus: String, vocabularySize: Int) throws {
        guard vocabularySize >= 256 else {
            throw TinyGPTError(.tokenizer, "--vocab-size must be at least 256, one token per byte, got \(vocabularySize)")
        }
        let learned = BytePairTokenizer.learnMerges(from: corpus, vocabularySize: vocabularySize)
        self.init(merges: learned.map(\.merge))
    }

    public func pieces(of text: String) -> [String] {
        var pieces: [String] = []
        var seen: [String: [String]] = [:]      // word → its tokens, worked out once per call
        for word in BytePairTokenizer.preSplit(text) {
            let tokens = seen[word] ?? tokens(ofWord: word)
            seen[word] = tokens
            pieces += tokens
        }
        return pieces
    }

    /// One pre-split word → tokens: its bytes as symbols, then, again and again, the adjacent pair
    /// with the lowest rank is merged (everywhere in the word), until no adjacent pair has a rank.
    func tokens(ofWord word: String) -> [String] {
        var symbols = word.utf8.map { String(symbolForByte[Int($0)]) }
        while symbols.count > 1 {
            var best: Merge? = nil, bestRank = Int.max
            for i in 0..<symbols.count - 1 {
                let pair = Merge(symbols[i], symbols[i + 1])
                if let r = rank[pair], r < bestRank { best = pair; bestRank = r }
            }
            guard let merge = best else { break }
            symbols = BytePairTokenizer.applying(merge, to: symbols)
        }
        return symbols
    }

    /// Merges every occurrence of the pair, left to right: "e e e" with e+e → "ee e".
    static func applying(_ merge: Merge, to symbols: [String]) -> [String] {
        var merged: [String] = [], i = 0
        while i < symbols.count {
            if i + 1 < symbols.count && symbols[i] == merge.left && symbols[i + 1] == merge.right {
                merged.append(merge.result)
                i += 2
            } else {
                merged.append(symbols[i])
                i += 1
            }
        }
        return merged
    }

    /// IDs → tokens → their symbols' bytes → UTF-8 text. A byte sequence that is not valid UTF-8
    /// (a character cut between tokens, say) becomes "�", U+FFFD, as in GPT-2; so does an ID
    /// outside the vocabulary.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0 && id < vocabulary.count else { bytes += Array("\u{FFFD}".utf8); continue }
            for symbol in vocabulary[id].unicodeScalars {
                if let byte = byteForSymbol[symbol] {
                    bytes.append(byte)
                } else {
                    bytes += Array(String(symbol).utf8)     // outside the alphabet: only in special tokens
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

// MARK: The pre-split
extension BytePairTokenizer {
    /// The classes GPT-2's pattern uses: \p{L}, \p{N}, \s, and everything else.
    enum CharacterClass { case letter, number, whitespace, other }

    static func characterClass(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar.properties.isWhitespace { return .whitespace }                 // Unicode White_Space
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Text → words, before any merge: merges never cross a word boundary, so "coffee." can never
    /// become one token. Written by hand over Unicode scalars, it does what GPT-2's pattern does,
    ///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    /// trying the alternatives in that order at each position: a contraction; else one optional
    /// space and a run of letters, of numbers or of other visible characters; else a run of
    /// whitespace that leaves its last character to the word after it (so " coffee" keeps its space).
    public static func preSplit(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let classes = scalars.map(characterClass)
        func endOfRun(of wanted: CharacterClass, from start: Int) -> Int {
            var end = start
            while end < scalars.count && classes[end] == wanted { end += 1 }
            return end
        }
        func isContraction(_ suffix: String, at start: Int) -> Bool {
            let letters = Array(suffix.unicodeScalars)
            guard scalars[start] == "'" && start + letters.count < scalars.count else { return false }
            for (k, letter) in letters.enumerated() where scalars[start + 1 + k] != letter { return false }
            return true
        }
        var words: [String] = []
        var start = 0
        while start < scalars.count {
            var end: Int
            if let suffix = ["s", "t", "re", "ve", "m", "ll", "d"].first(where: { isContraction($0, at: start) }) {
                end = start + 1 + suffix.count                                       // 's 't 're 've 'm 'll 'd
            } else if classes[start] != .whitespace {
                end = endOfRun(of: classes[start], from: start)                      // \p{L}+, \p{N}+ or other+
            } else if scalars[start] == " " && start + 1 < scalars.count && classes[start + 1] != .whitespace {
                end = endOfRun(of: classes[start + 1], from: start + 1)              // " ?" + a run: the space joins
            } else {
                end = endOfRun(of: .whitespace, from: start)                         // \s+
                if end < scalars.count && end - start > 1 { end -= 1 }               // (?!\S): leave one for the next word
            }
            words.append(String(String.UnicodeScalarView(scalars[start..<end])))
            start = end
        }
        return words
    }
}

// MARK: Learning merges
extension BytePairTokenizer {
    /// Merges learned from a corpus, with how often each pair occurred when it was merged. Each step
    /// counts every adjacent pair of tokens inside the pre-split words (a word that occurs 30 times
    /// counts 30 times) and merges the most frequent pair everywhere; a tie goes to the pair seen
    /// first in the corpus. Stops when the vocabulary (256 bytes + one token per new result) reaches
    /// `vocabularySize`, or early when no pair occurs twice: merging it would only memorise one word.
    public static func learnMerges(from corpus: String, vocabularySize: Int) -> [(merge: Merge, occurrences: Int)] {
        var words: [[String]] = [], counts: [Int] = []      // each distinct word as symbols, and how often it occurs
        var slot: [String: Int] = [:]
        for word in preSplit(corpus) {
            if let i = slot[word] {
                counts[i] += 1
            } else {
                slot[word] = words.count
                words.append(word.utf8.map { String(symbolForByte[Int($0)]) })
                counts.append(1)
            }
        }
        var tokens = Set(symbolForByte.map { String($0) })
        var learned: [(merge: Merge, occurrences: Int)] = []
        while tokens.count < vocabularySize {
            var occurrences: [Merge: Int] = [:], firstSeen: [Merge] = []
            for (w, symbols) in words.enumerated() where symbols.count > 1 {
                for i in 0..<symbols.count - 1 {
                    let pair = Merge(symbols[i], symbols[i + 1])
                    if occurrences[pair] == nil { firstSeen.append(pair) }
                    occurrences[pair, default: 0] += counts[w]
                }
            }
            var best: Merge? = nil, bestCount = 1                // a pair must occur at least twice
            for pair in firstSeen where occurrences[pair, default: 0] > bestCount {
                best = pair
                bestCount = occurrences[pair, default: 0]
            }
            guard let merge = best else { break }
            learned.append((merge, bestCount))
            tokens.insert(merge.result)
            for w in words.indices { words[w] = applying(merge, to: words[w]) }
        }
        return learned
    }
}
