import Foundation
import TinyGPT

// gpt tokenize: watch byte-level BPE learn (chapter 01). It learns merges from the corpus, prints
// the first ones, then cuts a text with more and more of them, so "coffee" visibly becomes one token.

let tokenizeFlags: [FlagSpec] = [
    FlagSpec(name: "corpus", defaultValue: "corpus.txt", help: "text to learn the merges from"),
    FlagSpec(name: "vocab-size", defaultValue: "512", help: "vocabulary entries, 256 bytes + merges"),
    FlagSpec(name: "text", defaultValue: "I drink coffee every morning", help: "the text to cut into tokens"),
]

/// Pads to a width with spaces, never cutting (a long token stays whole), and always ends in a space.
private func atLeast(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(1, width - text.count))
}

func tokenize(_ flags: Flags) throws {
    let vocabularySize = try flags.integer("vocab-size", atLeast: 256)
    let text = flags.string("text")
    guard !text.isEmpty else { throw CommandLineError.usage("--text is empty: give it some words, like --text \"I drink coffee\"") }
    let path = flags.string("corpus")
    let corpus = try readCorpus(path)
    let words = BytePairTokenizer.preSplit(corpus)
    Output.line("corpus   \(path): \(grouped(corpus.utf8.count)) bytes, \(grouped(words.count)) words after GPT-2's pre-split "
        + "(\(grouped(Set(words).count)) different)")

    let learned = BytePairTokenizer.learnMerges(from: corpus, vocabularySize: vocabularySize)
    let full = BytePairTokenizer(merges: learned.map(\.merge))
    let stoppedEarly = full.count < vocabularySize ? " (stopped early: no pair left that occurs twice)" : ""
    Output.line("learned  \(grouped(learned.count)) merges: vocabulary \(grouped(full.count)) = 256 bytes + \(grouped(full.count - 256)) merged tokens\(stoppedEarly)")
    Output.line("         Ġ is a space: GPT-2 gives every byte a printable character, and a word keeps the space before it")
    Output.line()

    Output.line("the first merges, most frequent pair first (× how often the pair occurred when it was merged):")
    for (n, (merge, occurrences)) in learned.prefix(10).enumerated() {
        let number = padded("\(n + 1).", 4)
        Output.line("  \(number) \(atLeast(merge.left + " " + merge.right, 12)) → \(atLeast(merge.result, 10)) ×\(grouped(occurrences))")
    }
    Output.line()

    printStages(of: text, learned)
    Output.line("wrote    nothing (tokenize only prints; gpt train --tokenizer bpe --vocab-size \(vocabularySize) trains on these tokens)")
}

/// The same text after 0, 10, 50, 100, … merges and after all of them; then when each of its
/// words became one token (the merge whose result is the whole word).
func printStages(of text: String, _ learned: [(merge: Merge, occurrences: Int)]) {
    Output.line("\"\(text)\" cut with the first n merges:")
    var stages = [0, 10, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].filter { $0 < learned.count }
    stages.append(learned.count)
    let width = String(learned.count).count
    for n in stages {
        let tokens = BytePairTokenizer(merges: learned.prefix(n).map(\.merge)).pieces(of: text)
        let label = String(repeating: " ", count: width - String(n).count) + "\(n) merges"
        Output.line("  \(label)  \(atLeast("\(tokens.count) tokens", 10))  " + tokens.map(visible).joined(separator: " | "))
    }
    var wholeWords: [String] = [], seen: Set<String> = []
    for word in BytePairTokenizer.preSplit(text) where word.utf8.count > 1 && !seen.contains(word) {
        seen.insert(word)
        let spelled = BytePairTokenizer(merges: []).pieces(of: word).joined()     // "Ġcoffee"
        guard let m = learned.firstIndex(where: { $0.merge.result == spelled }) else { continue }
        let tokens = BytePairTokenizer(merges: learned.prefix(m + 1).map(\.merge)).pieces(of: word)
        if tokens.count == 1 { wholeWords.append("\(spelled) at merge \(m + 1)") }
    }
    if !wholeWords.isEmpty { Output.line("one token from: " + wholeWords.joined(separator: " · ")) }
}
