import Foundation
import TinyGPT

// gpt: the command line over the TinyGPT library. It parses flags, calls the library, prints,
// and writes files. `swift run -c release` with no arguments runs the demo.

let overview = """
gpt: a GPT you read like a book (the book: docs/README.md)

usage: gpt [COMMAND] [--flag value …]      (no command: demo)

commands, in the order a learner meets them:
  tokenize  watch GPT-2's byte-level BPE learn merges from a corpus and cut a text (docs/01-tokens.md)
  trace     run one forward pass of an untrained model on a prompt, narrating every shape
  train     train on a corpus with a live loss, then sample
  demo      train on corpus.txt with the demo's settings and sample from the notes' prompts
  sample    continue a prompt with a saved model (gpt train --save, the demo's out/checkpoint, or GPT-2's)
  eval      the loss and perplexity of a saved model on a text
  explore   what a trained model's vectors encode: neighbours, analogies, directions, words in context
  attention draw every head's attention weights on a prompt as heat maps (attention.svg)
  compare   train two settings side by side (an exercise: --a "--no-mask" --b ""), one table, one picture
  bench     measure training speed (tokens/s, GFLOP/s) and the matrix product (docs/A1-speed.md)

gpt COMMAND --help lists the command's flags and their defaults.
"""

struct Command {
    let name: String
    let summary: String
    let flags: [FlagSpec]
    var takesWords = false                 // words after the command that are not flags (gpt explore neighbours dog)
    let run: (Flags) throws -> Void
}

let commands = [
    Command(name: "tokenize", summary: "learn BPE merges from a corpus and watch a text's tokens merge; writes nothing",
            flags: tokenizeFlags, run: tokenize),
    Command(name: "trace", summary: "one forward pass of an untrained model, narrated", flags: traceFlags, run: trace),
    Command(name: "train", summary: "train on a corpus, print the loss as it falls, sample", flags: trainFlags,
            run: { try train($0, demo: false) }),
    Command(name: "demo", summary: "train on corpus.txt and sample from the notes' prompts", flags: trainFlags,
            run: { try train($0, demo: true) }),
    Command(name: "sample", summary: "continue a prompt with a saved model; only the text goes to stdout", flags: sampleFlags, run: sample),
    Command(name: "eval", summary: "mean cross-entropy (nats per token) and perplexity of a saved model on a text", flags: evalFlags,
            run: evaluate),
    Command(name: "explore", summary: "what a trained model's vectors encode: neighbours, analogy, direction, context",
            flags: exploreFlags, takesWords: true, run: exploreCommand),
    Command(name: "attention", summary: "draw every attention head of a saved model on a prompt (attention.svg)",
            flags: attentionFlags, run: attentionCommand),
    Command(name: "compare", summary: "train two settings on the same corpus and seed; print both curves, write compare.svg",
            flags: compareFlags, run: compare),
    Command(name: "bench", summary: "training tokens/s and GFLOP/s on fixed presets; --kernel: the product alone",
            flags: benchFlags, run: bench),
]

#if os(Linux)
/// glibc's malloc tuning call (from malloc.h, which Swift's Glibc module does not import).
@_silgen_name("mallopt") func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Every training step allocates and frees the same large arrays. By default glibc hands arrays
/// over 128 KB back to the kernel at once and faults them in again page by page next step (a
/// fifth of a demo step's time, measured with perf stat). Keep them in the heap for reuse.
func keepFreedMemoryForReuse() {
    #if os(Linux)
    _ = mallopt(-3, 1 << 30)   // M_MMAP_THRESHOLD: serve blocks below 1 GiB from the heap
    _ = mallopt(-1, 1 << 30)   // M_TRIM_THRESHOLD: keep up to 1 GiB of freed heap
    #endif
}

@MainActor func main() -> Int32 {
    keepFreedMemoryForReuse()
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "--help" || arguments.first == "-h" || arguments.first == "help" {
        print(overview)
        print("\nflags of train and demo:")
        print((try? Flags(command: "train", specs: trainFlags, arguments: []).usage) ?? "")
        return 0
    }
    var name = "demo"
    if let first = arguments.first, !first.hasPrefix("-") {
        name = first
        arguments.removeFirst()
    }
    guard let command = commands.first(where: { $0.name == name }) else {
        Output.error("unknown command '\(name)': choose one of \(commands.map(\.name).joined(separator: ", ")) (see gpt --help)")
        return 2
    }
    if arguments.contains("--help") || arguments.contains("-h") {
        print("gpt \(command.name): \(command.summary)\n\nflags:")
        print((try? Flags(command: command.name, specs: command.flags, arguments: []).usage) ?? "")
        return 0
    }
    do {
        try command.run(try Flags(command: command.name, specs: command.flags, arguments: arguments, takesWords: command.takesWords))
        return 0
    } catch let error as CommandLineError {
        Output.error(error.description)
        return error.status
    } catch let error as TinyGPTError {
        Output.error(error.description)
        return error.kind == .configuration ? 2 : 1          // a configuration comes from the flags
    } catch {
        Output.error("\(error)")
        return 1
    }
}

exit(main())
