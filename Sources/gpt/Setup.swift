import Foundation
import TinyGPT

// What every command shares: the corpus, the tokenizer and the model's configuration from flags.

enum TokenizerKind: String, CaseIterable {
    case word, char, bpe
}

let cores = ProcessInfo.processInfo.activeProcessorCount

let modelFlags: [FlagSpec] = [
    FlagSpec(name: "corpus", defaultValue: "corpus.txt", help: "text to learn the vocabulary from (and to train on)"),
    FlagSpec(name: "tokenizer", defaultValue: "word", help: "word, char or bpe (chapter 01)"),
    FlagSpec(name: "vocab-size", defaultValue: "512", help: "BPE only: vocabulary entries, 256 bytes + merges"),
    FlagSpec(name: "width", defaultValue: "64", help: "C, components per token vector"),
    FlagSpec(name: "layers", defaultValue: "2", help: "L, transformer blocks"),
    FlagSpec(name: "heads", defaultValue: "4", help: "H, attention heads (must divide --width)"),
    FlagSpec(name: "context", defaultValue: "32", help: "T, tokens per window"),
    FlagSpec(name: "norm", defaultValue: "pre", help: "pre (GPT-2) or post (2017 Transformer) LayerNorm"),
    FlagSpec(name: "activation", defaultValue: "gelu", help: "gelu or relu (chapter 07)"),
    FlagSpec(name: "positions", defaultValue: "learned", help: "learned, sinusoidal or none (chapter 03)"),
    FlagSpec(name: "untied", defaultValue: "", help: "give the unembedding its own matrix instead of W_E", isSwitch: true),
    FlagSpec(name: "no-mask", defaultValue: "", help: "exercise: no causal mask, attention sees the future (chapter 05)", isSwitch: true),
    FlagSpec(name: "no-scale", defaultValue: "", help: "exercise: scores not divided by √D (chapter 05)", isSwitch: true),
    FlagSpec(name: "no-residual", defaultValue: "", help: "exercise: drop the residual adds X + … (chapter 08)", isSwitch: true),
    FlagSpec(name: "no-layernorm", defaultValue: "", help: "exercise: every LayerNorm becomes y = x (chapter 06)", isSwitch: true),
    FlagSpec(name: "seed", defaultValue: "1", help: "seed of the one random generator"),
    threadsFlag,
]

/// The one --threads flag, shared by every command that computes.
let threadsFlag = FlagSpec(name: "threads", defaultValue: String(cores), help: "threads for large matrix products (results do not change)")

/// Sets the product's threads from --threads (appendix A1).
func useThreads(_ flags: Flags) throws {
    FastProduct.threads = min(try flags.integer("threads", atLeast: 1), 64)
}

/// The corpus, its tokenizer and its IDs.
struct Corpus {
    let path: String
    let tokenizer: any Tokenizer
    let ids: [Int]
}

func loadCorpus(_ flags: Flags) throws -> Corpus {
    let path = flags.string("corpus")
    let kind = try flags.choice("tokenizer", as: TokenizerKind.self)
    let vocabularySize = kind == .bpe ? try flags.integer("vocab-size", atLeast: 256) : 0
    let text = try readCorpus(path)
    Output.progress("tokenizing \(path) (\(grouped(text.utf8.count)) bytes, \(kind.rawValue) tokens) …")   // a live line on a terminal
    defer { Output.endProgress() }
    let tokenizer: any Tokenizer
    switch kind {
    case .word: tokenizer = WordTokenizer(corpus: text)
    case .char: tokenizer = CharacterTokenizer(corpus: text)
    case .bpe: tokenizer = try BytePairTokenizer(learningFrom: text, vocabularySize: vocabularySize)
    }
    return Corpus(path: path, tokenizer: tokenizer, ids: tokenizer.encode(text).ids)
}

/// The model's configuration from flags; an impossible one is a TinyGPTError of kind .configuration (exit 2).
func configuration(_ flags: Flags, vocabularySize: Int) throws -> Configuration {
    var config = Configuration(vocabularySize: vocabularySize, context: try flags.integer("context", atLeast: 1),
                               width: try flags.integer("width", atLeast: 1), layers: try flags.integer("layers", atLeast: 1),
                               heads: try flags.integer("heads", atLeast: 1), norm: try flags.choice("norm", as: NormOrder.self),
                               activation: try flags.choice("activation", as: Activation.self),
                               positions: try flags.choice("positions", as: PositionKind.self), tied: !flags.flag("untied"))
    (config.masked, config.scaled) = (!flags.flag("no-mask"), !flags.flag("no-scale"))
    (config.residual, config.layerNorm) = (!flags.flag("no-residual"), !flags.flag("no-layernorm"))
    try config.validate()
    return config
}

func seedFlag(_ flags: Flags) throws -> UInt64 {
    let text = flags.string("seed")
    guard let seed = UInt64(text) else { throw CommandLineError.usage("--seed takes a whole number ≥ 0, got '\(text)'") }
    return seed
}

/// "2 layers · 4 heads · width 64 · context 32 · Pre-LN · GELU · learned positions · tied", and
/// any exercise switch that is off ("· no mask · no residual").
func describe(_ config: Configuration) -> String {
    let off = [(config.masked, "no mask"), (config.scaled, "no 1/√D"), (config.residual, "no residual"), (config.layerNorm, "no LayerNorm")]
        .filter { !$0.0 }.map { " · " + $0.1 }.joined()
    return "\(config.layers) layer\(config.layers == 1 ? "" : "s") · \(config.heads) head\(config.heads == 1 ? "" : "s") · width \(config.width) · context \(config.context) · "
        + "\(config.norm == .pre ? "Pre-LN" : "Post-LN") · \(config.activation.rawValue.uppercased()) · "
        + (config.positions == .none ? "no positions" : "\(config.positions.rawValue) positions")
        + " · \(config.tied ? "tied" : "untied") unembedding" + off
}
