import Foundation
import Testing

// The executable on bad input: one line on stderr, a non-zero exit, no trap, nothing written.
// `swift test` builds the `gpt` product next to the test bundle; these tests run it.

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

@Suite struct CommandLineTests {
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
}
