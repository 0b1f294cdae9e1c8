import Foundation
import Testing
@testable import TinyGPT

// Chapter 01: text → IDs → text. Words and characters; byte-level BPE: GPT-2's alphabet, its
// pre-split, merges by rank, learning merges, the round trip, and agreement with Hugging Face's
// GPT2Tokenizer. (GPT-2's files, vocab.json and merges.txt, are chapter 17's.)

/// GPT-2's pattern, run by ICU: the reference the hand-written pre-split is checked against.
/// ICU's \s is narrower than Unicode White_Space, so the pattern names White_Space outright.
func preSplitByRegex(_ text: String) throws -> [String] {
    let pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+"#
    let regex = try NSRegularExpression(pattern: pattern)
    let string = text as NSString
    return regex.matches(in: text, range: NSRange(location: 0, length: string.length)).map { string.substring(with: $0.range) }
}

/// Strings a tokenizer must survive.
let trickyStrings = [
    "", " ", "   ", "  leading spaces", "trailing spaces   ", "a  b   c", "\t", "tab\tseparated", "\n\n", "a\n b", " \n",
    "line one\nline two\n", "2026", "3.14", "1,000,000", "?!...", "don't", "I'll", "she's", "DON'T", "'s'",
    "café naïve résumé", "cafe\u{301}", "Ελληνικά", "中文", "👍🏽", "🇫🇷", "👨\u{200D}👩\u{200D}👧", "I drink coffee every morning.",
    "greenhouse gas (GHG)", "Hello, World!", "x\u{A0}=\u{A0}y", "\r\n", "<|endoftext|>", "\u{0}\u{7F}\u{AD}",
]

@Suite("01 Tokens") struct TokensTests {
    let corpus = "I drink coffee every morning .\nthe dog is cute , the cat is cute !\nApple announced earnings .\n"

    @Test("word tokenizer: punctuation and line breaks are tokens, case is kept, IDs follow first appearance")
    func wordPieces() {
        let tokenizer = WordTokenizer(corpus: corpus)
        #expect(tokenizer.vocabulary.prefix(4) == ["<unk>", "I", "drink", "coffee"])
        #expect(tokenizer.pieces(of: "the dog, the cat!\nApple") == ["the", "dog", ",", "the", "cat", "!", "\n", "Apple"])
        #expect(tokenizer.encode("I drink coffee").ids == [1, 2, 3])
    }

    @Test("word tokenizer round trip: decode(encode(text)) gives the text back for corpus-style text")
    func wordRoundTrip() {
        let tokenizer = WordTokenizer(corpus: corpus)
        for line in ["I drink coffee every morning .", "the dog is cute , the cat is cute !", "Apple announced earnings .\nthe cat"] {
            // Our decoder writes no space before punctuation: compare with that spelling.
            let expected = line.replacingOccurrences(of: " .", with: ".").replacingOccurrences(of: " ,", with: ",")
                .replacingOccurrences(of: " !", with: "!")
            #expect(tokenizer.decode(tokenizer.encode(line).ids) == expected)
            #expect(tokenizer.encode(tokenizer.decode(tokenizer.encode(line).ids)).ids == tokenizer.encode(line).ids)
        }
    }

    @Test("unknown words become <unk> (ID 0) and are reported, in order")
    func unknownWords() {
        let tokenizer = WordTokenizer(corpus: corpus)
        let encoding = tokenizer.encode("I drink tea every evening")
        #expect(encoding.ids == [1, 2, 0, 4, 0])
        #expect(encoding.unknown == ["tea", "evening"])
        #expect(tokenizer.decode(encoding.ids) == "I drink <unk> every <unk>")
    }

    @Test("character tokenizer round trip is exact for text made of known characters")
    func characterRoundTrip() {
        let tokenizer = CharacterTokenizer(corpus: corpus)
        let text = "the cat is cute.\nI drink coffee!"
        let encoding = tokenizer.encode(text)
        #expect(encoding.unknown.isEmpty)
        #expect(encoding.ids.count == text.count)
        #expect(tokenizer.decode(encoding.ids) == text)
        #expect(tokenizer.encode("z").unknown == ["z"])
    }

    @Test("the byte alphabet: 256 distinct printable symbols, Ġ for a space, Ċ for a newline, and back")
    func byteAlphabet() {
        #expect(symbolForByte.count == 256 && Set(symbolForByte).count == 256)
        #expect(symbolForByte[32] == "Ġ" && symbolForByte[10] == "Ċ" && symbolForByte[0] == "Ā")
        #expect(symbolForByte[Int(UInt8(ascii: "a"))] == "a" && symbolForByte[0xFF] == "ÿ" && symbolForByte[0xAD] == "Ń")
        for byte in 0...255 { #expect(byteForSymbol[symbolForByte[byte]] == UInt8(byte)) }
        #expect(bytesInGPT2Order.count == 256 && Set(bytesInGPT2Order).count == 256)
        #expect(bytesInGPT2Order.first == UInt8(ascii: "!") && bytesInGPT2Order[220] == 32)   // "!" is ID 0, "Ġ" ID 220
        for symbol in symbolForByte { #expect(!symbol.properties.isWhitespace && symbol.properties.generalCategory != .control) }
    }

    @Test("pre-split: contractions, digits, punctuation, spaces, newlines, accents, emoji (checked by hand)",
          arguments: [
            ("I drink coffee every morning.", ["I", " drink", " coffee", " every", " morning", "."]),
            ("don't", ["don", "'t"]),
            ("I'll", ["I", "'ll"]),
            ("we're they've I'm he'd she's", ["we", "'re", " they", "'ve", " I", "'m", " he", "'d", " she", "'s"]),
            ("DON'T", ["DON", "'", "T"]),
            ("'s'", ["'s", "'"]),
            ("it 's", ["it", " '", "s"]),
            ("1,000,000", ["1", ",", "000", ",", "000"]),
            ("3.14 in 2026", ["3", ".", "14", " in", " 2026"]),
            ("?!...", ["?!..."]),
            ("Hello, World!", ["Hello", ",", " World", "!"]),
            ("greenhouse gas (GHG)", ["greenhouse", " gas", " (", "GHG", ")"]),
            ("a  b   c", ["a", " ", " b", "  ", " c"]),
            ("  leading", [" ", " leading"]),
            ("trailing   ", ["trailing", "   "]),
            ("line one\nline two\n", ["line", " one", "\n", "line", " two", "\n"]),
            ("a\n b", ["a", "\n", " b"]),
            ("a\n\nb", ["a", "\n", "\n", "b"]),
            ("\n\n", ["\n\n"]),
            ("tab\tvalues", ["tab", "\t", "values"]),
            ("x\u{A0}=\u{A0}y", ["x", "\u{A0}", "=", "\u{A0}", "y"]),
            ("naïve résumé", ["naïve", " résumé"]),
            ("cafe\u{301}", ["cafe", "\u{301}"]),                    // a combining accent is not a letter
            ("I ☕ coffee 👍🏽", ["I", " ☕", " coffee", " 👍🏽"]),
            ("", []),
          ])
    func preSplit(text: String, words: [String]) throws {
        #expect(BytePairTokenizer.preSplit(text) == words)
        #expect(try preSplitByRegex(text) == words, "the hand-checked expectation agrees with the regex")
    }

    @Test("pre-split agrees with GPT-2's regular expression on random strings of tricky characters")
    func preSplitMatchesRegex() throws {
        let alphabet = ["a", "Z", "é", "e", "\u{301}", "1", "٣", "Ⅻ", "½", " ", " ", " ", "\n", "\t", "\u{A0}", "\u{0B}",
                        "\u{85}", "\u{2028}", "'", "s", "t", "r", "l", "d", "m", "v", ".", ",", "!", "👍", "🏽", "中", "\r"]
        var random = RandomGenerator(seed: 11)
        for _ in 0..<500 {
            let text = (0..<random.integer(below: 16)).map { _ in alphabet[random.integer(below: alphabet.count)] }.joined()
            let words = BytePairTokenizer.preSplit(text)
            #expect(words == (try preSplitByRegex(text)), "\(text.debugDescription)")
            #expect(words.joined() == text)
        }
    }

    @Test("merges apply by rank: the same merges in another order cut the word differently")
    func mergesByRank() {
        let merges = [Merge("f", "f"), Merge("e", "e"), Merge("c", "o"), Merge("co", "ff"), Merge("coff", "ee"), Merge("o", "f")]
        let tokenizer = BytePairTokenizer(merges: merges)
        #expect(tokenizer.pieces(of: "coffee") == ["coffee"])
        #expect(tokenizer.pieces(of: "toffee") == ["t", "o", "ff", "ee"])     // "o f" ranks below "f f": never reached
        let ofFirst = BytePairTokenizer(merges: [Merge("o", "f")] + merges.dropLast())
        #expect(ofFirst.pieces(of: "coffee") == ["c", "of", "f", "ee"])      // "o f" wins, and "f f" finds no pair left
        #expect(tokenizer.pieces(of: "ffff") == ["ff", "ff"])                 // every occurrence, left to right
        #expect(tokenizer.pieces(of: "fff") == ["ff", "f"])
        #expect(tokenizer.pieces(of: " coffee") == ["Ġ", "coffee"])          // no "Ġ c" merge: the space stays alone
        #expect(tokenizer.vocabulary.count == 256 + 6)
        #expect(tokenizer.vocabulary[256...] == ["ff", "ee", "co", "coff", "coffee", "of"])
    }

    @Test("learning: the most frequent pair first, ties to the pair seen first, stop when no pair occurs twice")
    func learningByHand() throws {
        // Words: "coffee" once, " coffee" twice, " tea" once. Every pair of "coffee" occurs 3 times;
        // c o is seen first. "Ġ coffee" occurs twice; the pairs of " tea" once, so learning stops.
        let learned = BytePairTokenizer.learnMerges(from: "coffee coffee coffee tea", vocabularySize: 1000)
        #expect(learned.map(\.merge) == [Merge("c", "o"), Merge("co", "f"), Merge("cof", "f"), Merge("coff", "e"),
                                         Merge("coffe", "e"), Merge("Ġ", "coffee")])
        #expect(learned.map(\.occurrences) == [3, 3, 3, 3, 3, 2])
        let tokenizer = try BytePairTokenizer(learningFrom: "coffee coffee coffee tea", vocabularySize: 1000)
        #expect(tokenizer.count == 262 && tokenizer.vocabulary.last == "Ġcoffee")
        #expect(tokenizer.pieces(of: "coffee coffee tea") == ["coffee", "Ġcoffee", "Ġ", "t", "e", "a"])
        let small = try BytePairTokenizer(learningFrom: "coffee coffee coffee tea", vocabularySize: 258)
        #expect(small.merges == [Merge("c", "o"), Merge("co", "f")] && small.count == 258)
    }

    @Test("learning on coffee sentences: \"coffee\" becomes one token after a few merges; IDs start as GPT-2's")
    func learningCoffee() throws {
        let tokenizer = try BytePairTokenizer(learningFrom: coffeeCorpus, vocabularySize: 320)
        #expect(tokenizer.vocabulary[0] == "!" && tokenizer.vocabulary[220] == "Ġ" && tokenizer.count <= 320)
        #expect(tokenizer.pieces(of: "I drink coffee every morning") == ["I", "Ġdrink", "Ġcoffee", "Ġevery", "Ġmorning"])
        let learned = BytePairTokenizer.learnMerges(from: coffeeCorpus, vocabularySize: 320)
        // Each learned pair was the most frequent at its step, so the counts never rise.
        for (earlier, later) in zip(learned, learned.dropFirst()) { #expect(earlier.occurrences >= later.occurrences) }
        let stages = (0...learned.count).map { n in BytePairTokenizer(merges: learned.prefix(n).map(\.merge)).pieces(of: " coffee") }
        #expect(stages[0] == ["Ġ", "c", "o", "f", "f", "e", "e"])
        let first = try #require(stages.firstIndex(of: ["Ġcoffee"]))
        #expect(first > 1 && first < 60, "one token after \(first) merges")
        // An early stage keeps the IDs of the full tokenizer.
        let early = BytePairTokenizer(merges: learned.prefix(10).map(\.merge))
        #expect(Array(tokenizer.vocabulary.prefix(early.count)) == early.vocabulary)
    }

    @Test("a vocabulary size below 256 is an error naming --vocab-size")
    func tooSmall() {
        let error = #expect(throws: TinyGPTError.self) { try BytePairTokenizer(learningFrom: "coffee", vocabularySize: 100) }
        #expect(error?.description.contains("--vocab-size must be at least 256") == true)
        #expect(error?.description.contains("100") == true)
    }

    @Test("decode(encode(text)) == text for tricky strings and random valid UTF-8; nothing is unknown")
    func roundTrip() throws {
        let tokenizers = [BytePairTokenizer(merges: []), try BytePairTokenizer(learningFrom: coffeeCorpus, vocabularySize: 300)]
        var random = RandomGenerator(seed: 5)
        var texts = trickyStrings
        for _ in 0..<200 {   // random bytes, invalid sequences replaced by U+FFFD: valid UTF-8 of every length
            texts.append(String(decoding: (0..<random.integer(below: 24)).map { _ in UInt8(random.integer(below: 256)) }, as: UTF8.self))
        }
        for _ in 0..<100 {   // random scalars from the whole range
            var text = String.UnicodeScalarView()
            for _ in 0..<random.integer(below: 12) {
                if let scalar = Unicode.Scalar(UInt32(random.integer(below: 0x110000))) { text.append(scalar) }
            }
            texts.append(String(text))
        }
        for tokenizer in tokenizers {
            for text in texts {
                let encoding = tokenizer.encode(text)
                #expect(encoding.unknown.isEmpty)
                #expect(tokenizer.decode(encoding.ids) == text, "\(text.debugDescription)")
            }
        }
    }

    @Test("decode: a character cut between tokens becomes U+FFFD, as in GPT-2; so does an ID outside the vocabulary")
    func decodeInvalid() {
        let tokenizer = BytePairTokenizer(merges: [])
        let ids = tokenizer.encode("é").ids                                   // two bytes, two tokens
        #expect(ids.count == 2)
        #expect(tokenizer.decode([ids[0]]) == "\u{FFFD}")
        #expect(tokenizer.decode([ids[0], tokenizer.encode("a").ids[0]]) == "\u{FFFD}a")
        #expect(tokenizer.decode([-1, 999]) == "\u{FFFD}\u{FFFD}")
    }

    @Test("a vocabulary without some byte reports it as unknown (ID 0) through encode")
    func missingByte() {
        let tokenizer = BytePairTokenizer(vocabulary: ["a", "b", "Ġ"], merges: [])
        let encoding = tokenizer.encode("ab z")
        #expect(encoding.ids == [0, 1, 2, 0])
        #expect(encoding.unknown == ["z"])
    }

    @Test("agrees with Hugging Face's GPT2Tokenizer on Tests/Fixtures/bpe_cases.json (IDs, tokens, decoding)")
    func huggingFaceCases() throws {
        let json = try fixture("bpe_cases.json")
        let vocab = try Data(contentsOf: Repository.url("Tests/Fixtures/\(json["vocab"] as? String ?? "hf-tiny/vocab.json")"))
        let merges = try String(contentsOf: Repository.url("Tests/Fixtures/\(json["merges"] as? String ?? "hf-tiny/merges.txt")"),
                                encoding: .utf8)
        let tokenizer = try BytePairTokenizer(vocabJSON: vocab, mergesText: merges)
        let examples = json["cases"] as? [[String: Any]] ?? []
        #expect(examples.count >= 10)
        for example in examples {
            let text = try #require(example["text"] as? String)
            let encoding = tokenizer.encode(text)
            #expect(encoding.ids == integers(example["ids"]), "\(text.debugDescription)")
            #expect(tokenizer.pieces(of: text) == (example["tokens"] as? [String] ?? []), "\(text.debugDescription)")
            #expect(encoding.unknown.isEmpty, "\(text.debugDescription)")
            #expect(tokenizer.decode(encoding.ids) == text, "\(text.debugDescription)")
        }
    }
}
