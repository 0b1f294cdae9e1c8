import Foundation
import Testing

// Chapter 17 from the command line: train --save, sample, eval, train --stop-at / --resume, and
// checkpoints that cannot be used (one line on stderr, a non-zero exit).

let tinyTraining = ["--width", "16", "--heads", "2", "--layers", "1", "--context", "8", "--batch", "2"]

/// "step 4  loss 5.1092  held-out loss 5.104" from each step line: the parts that do not depend on the clock.
func lossLines(_ stdout: String) -> [String] {
    stdout.split(separator: "\n").filter { $0.hasPrefix("step ") }.map { line in
        line.components(separatedBy: "  lr ").first ?? String(line)
    }
}

@Suite struct CheckpointCommandTests {
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
        #expect(sampled.status == 0 && sampled.stderr.isEmpty, "\(sampled.stderr)")
        #expect(sampled.stdout.hasPrefix("the dog") && sampled.stdout.hasSuffix("\n"))
        #expect(sampled.stdout.split(separator: " ").count == 7, "the prompt's 2 words and 5 new tokens: \(sampled.stdout)")

        let unknown = try runGPT(["sample", "--checkpoint", "model", "--prompt", "the zebra", "--tokens", "2"], in: folder)
        #expect(unknown.status == 0)
        #expect(unknown.stderr == "note: not in the vocabulary (became <unk>): zebra\n")
        #expect(unknown.stdout.hasPrefix("the <unk>"))

        let evaluated = try runGPT(["eval", "--checkpoint", "model", "--text", "corpus.txt"], in: folder)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let words = evaluated.stdout.split(separator: " ")
        #expect(words.first == "loss" && Double(words[1]) != nil, "\(evaluated.stdout)")
        #expect(evaluated.stdout.contains("perplexity "))
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
        #expect(sampled.status == 0 && sampled.stderr.isEmpty, "\(sampled.stderr)")
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

        let run = try runGPT(arguments, in: folder)
        #expect(run.status == status, "\(arguments): exit \(run.status), stderr \(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.hasPrefix("gpt: ") && run.stderr.contains(message),
                "\(arguments): \(run.stderr)")
        #expect(run.stdout.isEmpty, "\(arguments): \(run.stdout)")
    }
}
