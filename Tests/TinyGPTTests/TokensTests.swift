import Testing
@testable import TinyGPT

// Chapter 01: text → IDs → text.

@Suite struct TokenizerTests {
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
}
