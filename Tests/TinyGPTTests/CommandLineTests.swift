import Foundation
import Testing

// The executable: `swift test` builds the `gpt` product next to the test bundle; these tests run it.
// Bad input: one line on stderr, a non-zero exit, no trap, nothing written. gpt tokenize, trace and
// train; train --save, sample, eval, train --stop-at / --resume, and checkpoints that cannot be used.

struct Run {
    let status: Int32
    let stdout: String
    let stderr: String
}

func gptBinary() -> URL {
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // On Linux the tests run from <build>/debug/TinyGPTPackageTests.xctest; on macOS from inside the bundle.
    while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("gpt").path), folder.path != "/" {
        folder = folder.deletingLastPathComponent()
    }
    return folder.appendingPathComponent("gpt")
}

func runGPT(_ arguments: [String], in directory: URL = Repository.root) throws -> Run {
    let process = Process()
    process.executableURL = gptBinary()
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
               stderr: String(decoding: errData, as: UTF8.self))
}

/// A scratch folder with the files a case needs.
func scratch(_ files: [String: Data]) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
    return folder
}

let smallCorpus = Data(String(repeating: "the dog is cute . the cat is cute . i drink coffee every morning .\n", count: 3).utf8)

let tinyTraining = ["--width", "16", "--heads", "2", "--layers", "1", "--context", "8", "--batch", "2"]

/// "step 4  loss 5.1092  held-out loss 5.104" from each step line: the parts that do not depend on the clock.
func lossLines(_ stdout: String) -> [String] {
    stdout.split(separator: "\n").filter { $0.hasPrefix("step ") }.map { line in
        line.components(separatedBy: "  lr ").first ?? String(line)
    }
}

@Suite("gpt, the command line") struct CommandLineTests {
    @Test("the gpt binary is built beside the tests")
    func binaryExists() {
        #expect(FileManager.default.isExecutableFile(atPath: gptBinary().path), "\(gptBinary().path)")
    }

    @Test("bad input: one line on stderr naming the problem, the right exit status, no trap",
          arguments: [
            (["trace", "--prompt", ""], Int32(2), "prompt"),
            (["trace", "--prompt", "   "], 2, "prompt"),
            (["trace", "--bogus", "1"], 2, "unknown flag --bogus"),
            (["trace", "--width", "30", "--heads", "4"], 2, "width 30 is not divisible by heads 4"),
            (["trace", "--width", "abc"], 2, "--width takes a whole number"),
            (["trace", "stray"], 2, "unexpected argument"),
            (["frobnicate"], 2, "unknown command"),
            (["train", "--steps", "ten"], 2, "--steps takes a whole number"),
            (["train", "--lr", "-1"], 2, "--lr must be between"),
            (["train", "--top-p", "0"], 2, "--top-p"),
            (["train", "--tokenizer", "wordpiece"], 2, "--tokenizer takes one of word, char, bpe"),
            (["train", "--tokenizer", "bpe", "--vocab-size", "100"], 2, "--vocab-size must be at least 256"),
            (["train", "--corpus", "missing.txt"], 1, "no such file"),
            (["train", "--corpus", "empty.txt"], 1, "is empty"),
            (["train", "--corpus", "binary.bin"], 1, "not UTF-8 text"),
            (["train", "--corpus", "short.txt", "--context", "32"], 1, "tokens"),
            (["train", "--steps"], 2, "--steps needs a value"),
            (["bench", "--preset", "huge"], 2, "--preset takes one of demo, baby, small, all"),
            (["bench", "--kernel", "--shapes", "64x0x64"], 2, "--shapes takes NxKxM items"),
            (["bench", "--kernel", "--shapes", "64x64"], 2, "--shapes takes NxKxM items"),
            (["bench", "--shapes", "64x64x64"], 2, "--shapes goes with --kernel"),
            (["train", "--positions", "nowhere"], 2, "--positions takes one of learned, sinusoidal, none"),
            (["train", "--optimizer", "adam"], 2, "--optimizer takes one of adamw, sgd"),
            (["train", "--optimizer", "sgd", "--momentum", "1.5"], 2, "--momentum must be between"),
            (["train", "--momentum", "0.5"], 2, "--momentum goes with --optimizer sgd"),
            (["train", "--no-mask", "yes"], 2, "unexpected argument"),
            (["train", "--beta2", "1.5"], 2, "--beta2 must be between"),
            (["train", "--init-from", "nowhere"], 1, "nowhere"),
            (["train", "--init-from", "a", "--resume", "b"], 2, "exclude each other"),
            (["train", "--eps", "0"], 2, "--eps must be between"),
            (["train", "--optimizer", "sgd", "--beta1", "0.8"], 2, "--beta1 is AdamW's"),
            (["compare", "--a", "--bogus 1"], 2, "unknown flag --bogus"),
            (["compare", "--b", "--lr abc"], 2, "--lr takes a number"),
            (["compare", "--a", "--prompt \"the dog"], 2, "a quote is not closed"),
            (["compare", "--a", "--save x"], 2, "cannot hold --save"),
            (["explore"], 2, "gpt explore needs a question"),
            (["explore", "riddle"], 2, "has no question 'riddle'"),
            (["explore", "analogy", "a", "b"], 2, "takes A B C"),
            (["explore", "neighbours", "dog", "--checkpoint", "nowhere"], 1, "nowhere"),
            (["attention", "--checkpoint", "nowhere"], 1, "nowhere"),
          ])
    func badInput(arguments: [String], status: Int32, message: String) throws {
        let folder = try scratch([
            "empty.txt": Data(),
            "binary.bin": Data([0x7F, 0x45, 0x4C, 0x46, 0, 1, 2, 0xFF, 0xFE]),
            "short.txt": Data("the dog is cute .".utf8),
            "corpus.txt": smallCorpus,
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGPT(arguments, in: folder)
        #expect(run.status == status, "\(arguments): exit \(run.status), stderr \(run.stderr)")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): stderr was \(run.stderr)")
        #expect(run.stderr.hasPrefix("gpt: ") && run.stderr.contains(message), "\(arguments): \(run.stderr)")
        #expect(!run.stderr.contains("Fatal error") && !run.stdout.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path), "nothing written")
    }

    @Test("trace names the words outside the vocabulary and prints every stage with its chapter")
    func traceUnknownWords() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGPT(["trace", "--prompt", "i drink tea every", "--width", "16", "--heads", "2", "--layers", "1"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("became <unk> (ID 0): tea"))
        for chapter in ["01 Tokens", "02 Embedding", "03 Positions", "05 Attention", "06 LayerNorm", "07 FeedForward",
                        "08 Residual", "09 Model", "04 Softmax"] {
            #expect(run.stdout.contains("[\(chapter)]"), "missing stage \(chapter)")
        }
        #expect(run.stdout.contains("Q_h, K_h, V_h [4, 8] each"))
        #expect(run.stdout.contains("[4, 16]·[16, 48] → [4, 48]"))
    }

    @Test("train on a tiny corpus: loss lines a script can follow, and the chart written whole")
    func trainWritesChart() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGPT(["train", "--steps", "6", "--width", "16", "--heads", "2", "--layers", "1", "--context", "8",
                              "--batch", "2", "--held-out", "0", "--prompt", "the dog", "--tokens", "4", "--temperature", "0"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").filter { $0.hasPrefix("step ") && $0.contains(" loss ") }.count >= 6)
        #expect(run.stdout.contains("  the dog"))
        let svg = try String(contentsOf: folder.appendingPathComponent("out/loss.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n") && svg.contains("training step"))
        #expect(run.stdout.hasSuffix("wrote    out/loss.svg (train and held-out loss against step)\n"))
    }

    @Test("gpt tokenize: the first merges, the text after more and more merges, coffee whole at the end, nothing written")
    func tokenizeCommand() throws {
        let folder = try scratch(["corpus.txt": Data(coffeeCorpus.utf8)])
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGPT(["tokenize", "--vocab-size", "320"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("  1.") && $0.contains(" → ") && $0.contains("×") })
        #expect(lines.contains { $0.contains("Ġ is a space") })
        #expect(lines.contains { $0.contains(" 0 merges  28 tokens") })
        let last = try #require(lines.last { $0.contains("merges  ") })
        #expect(last.contains("5 tokens") && last.hasSuffix("I | Ġdrink | Ġcoffee | Ġevery | Ġmorning"), "\(last)")
        #expect(lines.last?.hasPrefix("wrote    nothing") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["corpus.txt"])
        let bad = try runGPT(["tokenize", "--vocab-size", "100"], in: folder)
        #expect(bad.status == 2 && bad.stderr.contains("--vocab-size must be at least 256"))
    }

    @Test("train --save, then sample writes only the text to stdout, and eval prints one line with the loss")
    func saveSampleEval() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try runGPT(["train", "--steps", "4", "--save", "model"] + tinyTraining, in: folder)
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stdout.hasSuffix("wrote    model (checkpoint at step 4: gpt sample --checkpoint model --prompt …)\n"))
        for name in ["config.json", "model.safetensors", "tinygpt_tokenizer.json", "optimizer.safetensors", "trainer_state.json"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model/\(name)").path), "\(name)")
        }

        let sampled = try runGPT(["sample", "--checkpoint", "model", "--prompt", "the dog", "--tokens", "5", "--temperature", "0"], in: folder)
        #expect(sampled.status == 0 && sampled.stderr.hasPrefix("note: sampled 5 tokens in ") && sampled.stderr.split(separator: "\n").count == 1,
                "only the time goes to stderr: \(sampled.stderr)")
        #expect(sampled.stdout.hasPrefix("the dog") && sampled.stdout.hasSuffix("\n"))
        #expect(sampled.stdout.split(separator: " ").count == 7, "the prompt's 2 words and 5 new tokens: \(sampled.stdout)")

        let unknown = try runGPT(["sample", "--checkpoint", "model", "--prompt", "the zebra", "--tokens", "2"], in: folder)
        #expect(unknown.status == 0)
        #expect(unknown.stderr.hasPrefix("note: not in the vocabulary (became <unk>): zebra\nnote: sampled 2 tokens in "), "\(unknown.stderr)")
        #expect(unknown.stdout.hasPrefix("the <unk>"))

        let evaluated = try runGPT(["eval", "--checkpoint", "model", "--text", "corpus.txt"], in: folder)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let words = evaluated.stdout.split(separator: " ")
        #expect(words.first == "loss" && Double(words[1]) != nil, "\(evaluated.stdout)")
        #expect(evaluated.stdout.contains("perplexity "))
        #expect(evaluated.stderr.hasPrefix("note: evaluated ") && evaluated.stderr.contains(" tokens/s)"), "\(evaluated.stderr)")
    }

    @Test("train --stop-at 3 --save, then --resume: the same losses, step for step, as 6 steps straight")
    func resumeMatchesStraightRun() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try runGPT(["train", "--steps", "6"] + tinyTraining, in: folder)
        let paused = try runGPT(["train", "--steps", "6", "--stop-at", "3", "--save", "run"] + tinyTraining, in: folder)
        #expect(paused.stdout.contains("paused   after step 3 of 6: continue with gpt train --resume run"))
        let resumed = try runGPT(["train", "--resume", "run"], in: folder)
        #expect(straight.status == 0 && paused.status == 0 && resumed.status == 0, "\(paused.stderr) \(resumed.stderr)")
        #expect(lossLines(straight.stdout).count == 6)
        #expect(lossLines(paused.stdout) + lossLines(resumed.stdout) == lossLines(straight.stdout))
    }

    @Test("gpt sample, eval and trace work on the directory Hugging Face wrote, as it is")
    func huggingFaceDirectory() throws {
        let expected = try fixture("hf_tiny_expected.json")
        let directory = Repository.url("Tests/Fixtures/hf-tiny").path
        let greedy = integers(expected["greedy_ids"]).count - integers(expected["prompt_ids"]).count
        let sampled = try runGPT(["sample", "--checkpoint", directory, "--prompt", expected["prompt"] as? String ?? "",
                                  "--temperature", "0", "--tokens", String(greedy)])
        #expect(sampled.status == 0 && sampled.stderr.hasPrefix("note: sampled \(greedy) tokens in "), "\(sampled.stderr)")
        #expect(sampled.stdout == (expected["greedy_text"] as? String ?? "") + "\n")

        let eval = expected["eval"] as? [String: Any] ?? [:]
        let folder = try scratch(["text.txt": Data((eval["text"] as? String ?? "").utf8)])
        defer { try? FileManager.default.removeItem(at: folder) }
        let evaluated = try runGPT(["eval", "--checkpoint", directory, "--text", "text.txt"], in: folder)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(evaluated.stdout.hasPrefix("loss \(String(format: "%.4f", Double(number(eval["loss"])))) nats per token"), "\(evaluated.stdout)")

        let traced = try runGPT(["trace", "--checkpoint", directory, "--prompt", "I drink coffee"])
        #expect(traced.status == 0, "\(traced.stderr)")
        #expect(traced.stdout.contains("[01 Tokens]      \"I drink coffee\" → 9 tokens: I | Ġd | r | in | k | Ġco | f | f | ee"))
        #expect(traced.stdout.contains("[09 Model]       logits = Z·Uᵀ: [9, 16]·[400, 16]ᵀ → [9, 400]"))
    }

    @Test("a checkpoint that cannot be used: one line on stderr, the right exit status",
          arguments: [
            (["sample", "--checkpoint", "nowhere", "--prompt", "the"], Int32(1), "nowhere: no such checkpoint directory"),
            (["eval", "--checkpoint", "broken", "--text", "corpus.txt"], 1, "model.safetensors: the header length"),
            (["sample", "--checkpoint", "swish", "--prompt", "the"], 1, "unknown activation_function 'swish'"),
            (["train", "--resume", "model", "--width", "32"], 2, "--width cannot change when resuming"),
            (["train", "--save", "corpus.txt"], 2, "exists and is not a checkpoint"),
            (["eval", "--checkpoint", "model"], 2, "needs --text"),
            (["train", "--init-from", "model", "--width", "32"], 2, "--width cannot be set with --init-from"),
            (["sample", "--checkpoint", "nan", "--prompt", "the"], 1, "holds NaN or infinite numbers"),
            (["eval", "--checkpoint", "nan", "--text", "corpus.txt"], 1, "holds NaN or infinite numbers"),
            (["train", "--resume", "badlr"], 1, "--lr must be between"),
            (["train", "--resume", "hugebatch"], 2, "needs about"),
            (["train"] + tinyTraining + ["--batch", "100000000"], 2, "needs about"),
            (["train", "--out", "corpus.txt"], 2, "--out corpus.txt: is a file, not a folder"),
            (["eval", "--checkpoint", "model", "--text", "corpus.txt", "--logits", "model"], 2, "is not a regular file"),
          ])
    func unusable(arguments: [String], status: Int32, message: String) throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try runGPT(["train", "--steps", "1", "--save", "model"] + tinyTraining, in: folder).status == 0)
        let files = FileManager.default
        try files.copyItem(at: folder.appendingPathComponent("model"), to: folder.appendingPathComponent("broken"))
        try Data([0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 1, 2]).write(to: folder.appendingPathComponent("broken/model.safetensors"))
        try files.copyItem(at: folder.appendingPathComponent("model"), to: folder.appendingPathComponent("swish"))
        let config = folder.appendingPathComponent("swish/config.json")
        try Data(try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "gelu_new", with: "swish").utf8).write(to: config)
        try files.copyItem(at: folder.appendingPathComponent("model"), to: folder.appendingPathComponent("nan"))
        var weights = try Data(contentsOf: folder.appendingPathComponent("nan/model.safetensors"))
        weights.replaceSubrange(weights.count - 4 ..< weights.count, with: [0x00, 0x00, 0xC0, 0x7F])    // the last number: NaN
        try weights.write(to: folder.appendingPathComponent("nan/model.safetensors"))
        for (name, key, value) in [("badlr", "learning_rate", "-1"), ("hugebatch", "batch_size", "100000000")] {
            try files.copyItem(at: folder.appendingPathComponent("model"), to: folder.appendingPathComponent(name))
            let state = folder.appendingPathComponent("\(name)/trainer_state.json")
            let text = try String(contentsOf: state, encoding: .utf8)
            let changed = text.replacingOccurrences(of: "\"\(key)\" : [0-9.e-]+", with: "\"\(key)\" : \(value)", options: .regularExpression)
            #expect(changed != text)
            try Data(changed.utf8).write(to: state)
        }

        let run = try runGPT(arguments, in: folder)
        #expect(run.status == status, "\(arguments): exit \(run.status), stderr \(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.hasPrefix("gpt: ") && run.stderr.contains(message),
                "\(arguments): \(run.stderr)")
        #expect(run.stdout.isEmpty, "\(arguments): \(run.stdout)")
    }

    @Test("--help of train and compare lists every exercise switch with its default")
    func helpListsTheSwitches() throws {
        for command in ["train", "compare", "trace"] {
            let help = try runGPT([command, "--help"])
            for flag in ["--no-mask", "--no-scale", "--no-residual", "--no-layernorm", "--positions VALUE"] {
                #expect(help.stdout.contains(flag), "\(command) --help lacks \(flag)")
            }
            if command != "trace" { #expect(help.stdout.contains("--optimizer VALUE") && help.stdout.contains("(default: adamw)")) }
        }
    }

    @Test("gpt compare: one table of both curves, a sample from each, and compare.svg that parses as XML and carries both labels")
    func compareTwoRuns() throws {
        let folder = try scratch(["corpus.txt": Data(try String(contentsOf: Repository.url("corpus.txt"), encoding: .utf8).utf8)])
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGPT(["compare", "--a", "--no-mask", "--b", "", "--steps", "4", "--tokens", "3"] + tinyTraining, in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("A: --no-mask") && run.stdout.contains("step     A loss     B loss"))
        #expect(run.stdout.contains("sample A") && run.stdout.contains("sample B"))
        let texts = try svgTexts(folder.appendingPathComponent("out/compare.svg"))
        for label in ["A train", "A held-out", "B train", "B held-out"] { #expect(texts.contains(label), "\(label) in \(texts)") }
    }

    @Test("a trained model explored: neighbours, analogy, direction (dot products and cosines) and context as lines and as JSON; attention.svg with every head and the prompt's tokens")
    func exploreAndAttention() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try runGPT(["train", "--steps", "6", "--save", "model"] + tinyTraining, in: folder)
        #expect(trained.status == 0, "\(trained.stderr)")
        let neighbours = try runGPT(["explore", "neighbours", "dog", "--checkpoint", "model", "--count", "3", "--json"], in: folder)
        let object = try JSONSerialization.jsonObject(with: Data(neighbours.stdout.utf8)) as? [String: Any]
        let answers = try #require(object?["answers"] as? [[String: Any]])
        #expect(answers.count == 3 && answers.allSatisfy { $0["word"] as? String != "dog" })
        let cosines = answers.compactMap { $0["cosine"] as? Double }
        #expect(cosines == cosines.sorted(by: >), "best first")
        let direction = try runGPT(["explore", "direction", "dog", "cat", "--project", "cat dog zebra", "--checkpoint", "model"], in: folder)
        #expect(direction.status == 0 && direction.stdout.contains("dot product") && direction.stdout.contains("cosine"))
        #expect(direction.stderr.contains("'zebra' is not in the vocabulary"))
        let context = try runGPT(["explore", "context", "dog", "--in", "the dog is cute .", "--in", "i drink the dog .",
                                  "--in", "the cat is cute .", "--checkpoint", "model"], in: folder)
        #expect(context.status == 0 && context.stdout.contains("layer 0") && context.stdout.contains("layer 1"))
        #expect(context.stderr.contains("'dog' is not in \"the cat is cute .\""))
        // A word in [brackets] is compared instead: "cat" at position 1 of one sentence against "dog" at 1 of another.
        let marked = try runGPT(["explore", "context", "dog", "--in", "the dog is cute .", "--in", "the [cat] is cute .",
                                 "--checkpoint", "model", "--json"], in: folder)
        let markedObject = try JSONSerialization.jsonObject(with: Data(marked.stdout.utf8)) as? [String: Any]
        #expect(marked.status == 0 && markedObject?["words"] as? [String] == ["dog", "cat"], "\(marked.stdout) \(marked.stderr)")
        let layers = try #require(markedObject?["layers"] as? [[String: Any]])
        #expect(layers.count == 2 && (layers[0]["pairs"] as? [[String: Any]])?.count == 1)
        let bad = try runGPT(["explore", "context", "dog", "--in", "the dog is cute .", "--in", "the [zebra] is cute .",
                              "--checkpoint", "model"], in: folder)
        #expect(bad.status != 0 && bad.stderr.contains("'zebra' is not one token"), "\(bad.stderr)")
        let attention = try runGPT(["attention", "--checkpoint", "model", "--prompt", "the dog is cute", "--out", "pictures"], in: folder)
        #expect(attention.status == 0, "\(attention.stderr)")
        let texts = try svgTexts(folder.appendingPathComponent("pictures/attention.svg"))
        for label in ["layer 1 · head 0", "layer 1 · head 1", "dog", "cute"] { #expect(texts.contains(label), "\(label)") }
    }

    @Test("the demo writes embeddings.svg (before and after, the notes' pairs labelled) and attention.svg beside loss.svg")
    func demoPictures() throws {
        let folder = try scratch(["corpus.txt": Data(try String(contentsOf: Repository.url("corpus.txt"), encoding: .utf8).utf8)])
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGPT(["demo", "--steps", "3", "--tokens", "2"] + tinyTraining, in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let texts = try svgTexts(folder.appendingPathComponent("out/embeddings.svg"))
        for label in ["step 0: random rows", "after 3 steps", "dog", "cat", "aunt", "uncle", "ghg", "greenhouse"] {
            #expect(texts.contains(label), "\(label)")
        }
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/attention.svg").path))
    }

    @Test("writes go through a symbolic link to its target and keep the link; a save removes the .saving- folders an interrupted save left; a second run saving the same directory is told so while the first lives")
    func safeWrites() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = FileManager.default
        try files.createDirectory(at: folder.appendingPathComponent("real"), withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: folder.appendingPathComponent("out").path, withDestinationPath: "real")
        try files.createDirectory(at: folder.appendingPathComponent(".model.saving-stale"), withIntermediateDirectories: true)
        let run = try runGPT(["train", "--steps", "2", "--save", "model"] + tinyTraining, in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect((try? files.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("out").path)) == "real")
        #expect(files.fileExists(atPath: folder.appendingPathComponent("real/loss.svg").path))
        #expect(!files.fileExists(atPath: folder.appendingPathComponent(".model.saving-stale").path))
        #expect(!files.fileExists(atPath: folder.appendingPathComponent(".model.lock").path), "the lock goes with the run")
        try files.createSymbolicLink(atPath: folder.appendingPathComponent("link").path, withDestinationPath: "model")
        #expect(try runGPT(["train", "--steps", "2", "--save", "link"] + tinyTraining, in: folder).status == 0)
        #expect((try? files.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("link").path)) == "model")
        try Data("\(getpid())\n".utf8).write(to: folder.appendingPathComponent(".model.lock"))     // a live process holds it
        let second = try runGPT(["train", "--steps", "2", "--save", "model"] + tinyTraining, in: folder)
        #expect(second.status != 0 && second.stderr.contains("another run (process \(getpid())) is saving here now"))
        #expect(second.stdout.isEmpty, "refused before any work")
    }

    @Test("train --init-from: the saved model's weights and tokenizer, a fresh AdamW at step 1, a new corpus; the first loss is the model's own, far below a fresh model's ln V, and the result is a checkpoint again")
    func fineTune() throws {
        let folder = try scratch(["corpus.txt": smallCorpus])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try runGPT(["train", "--steps", "30", "--save", "model", "--lr", "1e-2"] + tinyTraining, in: folder).status == 0)
        let tuned = try runGPT(["train", "--init-from", "model", "--steps", "2", "--warmup", "1", "--batch", "2", "--save", "tuned"], in: folder)
        #expect(tuned.status == 0, "\(tuned.stderr)")
        #expect(tuned.stdout.contains("start    from the weights of model, with a fresh AdamW"))
        let first = try #require(lossLines(tuned.stdout).first)
        let loss = try #require(Float(first.components(separatedBy: "loss ")[1].prefix(6)))
        #expect(first.hasPrefix("step 1 ") && loss < log(13) - 1, "\(first)")
        #expect(try runGPT(["sample", "--checkpoint", "tuned", "--prompt", "the dog", "--tokens", "3"], in: folder).status == 0)

        // --context shortens the training windows (nanoGPT's block_size below the model's); the saved
        // run keeps it, so --resume goes on with the same windows. Longer than n_positions is refused.
        let short = try runGPT(["train", "--init-from", "model", "--context", "4", "--steps", "2", "--warmup", "1", "--batch", "2",
                                "--stop-at", "1", "--save", "short"], in: folder)
        #expect(short.status == 0 && short.stdout.contains("windows × 4 tokens"), "\(short.stderr)\n\(short.stdout)")
        let state = try String(contentsOf: folder.appendingPathComponent("short/trainer_state.json"), encoding: .utf8)
        #expect(state.contains("\"window_length\" : 4"), "\(state)")
        let resumed = try runGPT(["train", "--resume", "short"], in: folder)
        #expect(resumed.status == 0 && resumed.stdout.contains("windows × 4 tokens"), "\(resumed.stderr)\n\(resumed.stdout)")
        let long = try runGPT(["train", "--init-from", "model", "--context", "9", "--steps", "2"], in: folder)
        #expect(long.status == 2 && long.stderr.contains("--context 9 is longer than model's n_positions, 8"), "\(long.stderr)")
        #expect(long.stdout.isEmpty)
    }
}
