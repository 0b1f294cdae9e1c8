import Foundation
import TinyGPT

// gpt sample and gpt eval: a saved model (ours, or GPT-2's from Hugging Face) used again
// (docs/17-checkpoints.md). Also how every command loads and saves a checkpoint directory.

let sampleFlags: [FlagSpec] = [
    FlagSpec(name: "checkpoint", defaultValue: "out/checkpoint", help: "checkpoint directory (gpt train --save, or Hugging Face GPT-2)"),
    FlagSpec(name: "prompt", defaultValue: "", help: "the text to continue"),
] + samplingFlags + [
    FlagSpec(name: "seed", defaultValue: "1", help: "seed of the draws"),
    FlagSpec(name: "no-cache", defaultValue: "", help: "run the whole window for every new token (chapter 14's key/value cache off)", isSwitch: true),
    threadsFlag,
]

let evalFlags: [FlagSpec] = [
    FlagSpec(name: "checkpoint", defaultValue: "out/checkpoint", help: "checkpoint directory"),
    FlagSpec(name: "text", defaultValue: "", help: "UTF-8 text file to measure the model on"),
    FlagSpec(name: "logits", defaultValue: "", help: "also write the first window's IDs and logits as JSON to this file"),
    threadsFlag,
]

/// Loads a checkpoint directory, or says in one line which file is wrong and how.
func loadCheckpoint(_ path: String) throws -> Checkpoint {
    try Checkpoint.load(from: URL(fileURLWithPath: path))
}

func saveCheckpoint(_ checkpoint: Checkpoint, to path: String) throws {
    try checkpoint.save(to: URL(fileURLWithPath: path))
}

/// The prompt's IDs; words outside the vocabulary are named on stderr.
func promptIDs(_ prompt: String, _ tokenizer: any Tokenizer) throws -> [Int] {
    let encoding = tokenizer.encode(prompt)
    guard !encoding.ids.isEmpty else { throw CommandLineError.usage("--prompt is empty: give some text to continue, e.g. --prompt \"I drink\"") }
    if !encoding.unknown.isEmpty {
        Output.note("not in the vocabulary (became \(unknownPiece)): " + encoding.unknown.map(visible).joined(separator: ", "))
    }
    return encoding.ids
}

/// gpt sample: the prompt and its continuation on stdout, and nothing else there.
func sample(_ flags: Flags) throws {
    let settings = try samplingSettings(flags)
    let count = try flags.integer("tokens", atLeast: 1)
    let seed = try seedFlag(flags)
    try useThreads(flags)
    let checkpoint = try loadCheckpoint(flags.string("checkpoint"))
    let prompt = try promptIDs(flags.string("prompt"), checkpoint.tokenizer)
    var random = RandomGenerator(seed: seed)
    let cached = !flags.flag("no-cache"), start = ContinuousClock.now
    let ids = checkpoint.model.generate(prompt: prompt, count: count, settings: settings, random: &random, cached: cached)
    let elapsed = seconds(ContinuousClock.now - start), made = ids.count - prompt.count
    Output.emit(checkpoint.tokenizer.decode(ids) + "\n")
    Output.note("sampled \(made) tokens in \(fixed(elapsed, 2)) s (\(fixed(Double(made) / max(elapsed, 1e-9), 1)) tokens/s; "
                + "key/value cache \(cached ? "on" : "off, --no-cache"))")
}

/// gpt eval: the mean cross-entropy per token of a text, and its perplexity.
func evaluate(_ flags: Flags) throws {
    guard flags.isSet("text") else { throw CommandLineError.usage("gpt eval needs --text FILE: the text to measure the model on") }
    try useThreads(flags)
    if flags.isSet("logits") { try Output.checkWritable(flags.string("logits"), flag: "--logits", isFolder: false) }
    let path = flags.string("text")
    let checkpoint = try loadCheckpoint(flags.string("checkpoint"))
    let encoding = checkpoint.tokenizer.encode(try readCorpus(path))
    guard encoding.ids.count >= 2 else { throw CommandLineError.failure("\(path) gives \(encoding.ids.count) token: eval needs at least 2") }
    if !encoding.unknown.isEmpty {
        Output.note("\(encoding.unknown.count) pieces of \(path) are not in the vocabulary and count as \(unknownPiece)")
    }
    let start = ContinuousClock.now
    let (loss, predicted) = checkpoint.model.meanLoss(over: encoding.ids) { done, all in
        Output.progress("eval     \(grouped(done)) of \(grouped(all)) windows")
    }
    let elapsed = seconds(ContinuousClock.now - start)
    Output.endProgress()
    Output.line("loss \(fixed(loss, 4)) nats per token, perplexity \(fixed(exp(loss), 2)) (\(grouped(predicted)) tokens of \(path) predicted)")
    Output.note("evaluated \(grouped(predicted)) tokens in \(fixed(elapsed, 2)) s (\(grouped(Int(Double(predicted) / max(elapsed, 1e-9)))) tokens/s)")
    if flags.isSet("logits") {
        let ids = Array(encoding.ids.prefix(checkpoint.model.config.context))
        let logits = checkpoint.model.forward(ids, windowLength: ids.count).logits
        let json: [String: Any] = ["ids": ids, "rows": logits.rows, "cols": logits.cols, "logits": logits.values.map(Double.init)]
        let data = try JSONSerialization.data(withJSONObject: json)
        try Output.write(String(decoding: data, as: UTF8.self), to: flags.string("logits"))
        Output.line("wrote \(flags.string("logits")) (the logits [\(logits.rows), \(logits.cols)] of the first \(ids.count) tokens)")
    }
}
