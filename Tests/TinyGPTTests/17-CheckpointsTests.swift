import Foundation
import Testing
@testable import TinyGPT

// Chapter 17: checkpoints, and GPT-2's tokenizer files. Round trips are exact (==, no tolerance); a Hugging Face GPT-2
// directory, written by Tests/Fixtures/make_hf_fixtures.py with transformers, loads and gives its logits;
// every malformed file gives an error that names the file and what is wrong.

/// A fresh scratch directory, removed by the caller.
func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A copy of Tests/Fixtures/hf-tiny to corrupt.
func copyOfHuggingFaceFixture() throws -> URL {
    let folder = try scratchDirectory().appendingPathComponent("hf-tiny")
    try FileManager.default.copyItem(at: Repository.url("Tests/Fixtures/hf-tiny"), to: folder)
    return folder
}

/// The error message loading `directory` throws ("" if it loads).
func loadError(_ directory: URL) -> String {
    do {
        _ = try Checkpoint.load(from: directory)
        return ""
    } catch {
        return "\(error)"
    }
}

let checkpointCorpus = String(repeating: "the dog is cute . the cat is cute . I drink coffee every morning .\n", count: 4)

@Suite("17 Checkpoints") struct CheckpointsTests {
    @Test("save → load: bit-identical parameters and logits, the same tokenizer, in all four switch combinations",
          arguments: [(NormOrder.pre, Activation.gelu, PositionKind.learned, true),
                      (.post, .relu, .sinusoidal, false), (.pre, .relu, .sinusoidal, false), (.post, .gelu, .learned, true)])
    func roundTrip(norm: NormOrder, activation: Activation, positions: PositionKind, tied: Bool) throws {
        let tokenizer = WordTokenizer(corpus: checkpointCorpus)
        let model = try tinyModel(norm: norm, activation: activation, positions: positions, tied: tied, seed: 11)
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("model")
        try Checkpoint(model: model, tokenizer: tokenizer).save(to: directory)
        let loaded = try Checkpoint.load(from: directory)
        #expect(loaded.model.config == model.config)
        #expect(loaded.training == nil)
        #expect(loaded.tokenizer.vocabulary == tokenizer.vocabulary && loaded.tokenizer is WordTokenizer)
        for parameter in model.parameters {
            #expect(loaded.model[keyPath: parameter.path] == model[keyPath: parameter.path], "\(parameter.name)")
        }
        let ids = randomIDs(8, vocabulary: 13, seed: 3)
        #expect(loaded.model.forward(ids, windowLength: 8).logits == model.forward(ids, windowLength: 8).logits)
        let config = try String(contentsOf: directory.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("\"model_type\" : \"\(norm == .pre && positions == .learned ? "gpt2" : "tinygpt")\""))
        #expect(config.contains("\"activation_function\" : \"\(activation == .gelu ? "gelu_new" : "relu")\""))
    }

    @Test("resume after N steps equals training N + M steps straight: bit-identical losses and parameters")
    func resumeIsExact() throws {
        let tokenizer = WordTokenizer(corpus: checkpointCorpus)
        let ids = tokenizer.encode(checkpointCorpus).ids
        let dataset = try TextDataset(ids: ids, windowLength: 8, heldOutFraction: 0.1)
        var settings = OptimizerSettings()
        settings.totalSteps = 6
        settings.warmupSteps = 2
        var config = try tinyModel().config
        config.vocabularySize = tokenizer.count
        var random = RandomGenerator(seed: 5)
        let model = try GPT(config: config, random: &random)
        func trainer() -> Trainer {
            Trainer(model: model, dataset: dataset, batchSize: 3, settings: settings, random: random, shards: 2)
        }
        var straight = trainer()
        let straightLosses = try (0..<6).map { _ in try straight.step().loss }

        var first = trainer()
        let firstLosses = try (0..<3).map { _ in try first.step().loss }
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = TrainingState(optimizer: first.optimizer, random: first.random, batchSize: 3, shards: 2, heldOutFraction: 0.1,
                                  windowLength: dataset.windowLength, corpus: "corpus.txt", corpusFingerprint: TrainingState.fingerprint(ids),
                                  history: firstLosses.enumerated().map { LossPoint(step: $0.offset + 1, loss: $0.element) })
        try Checkpoint(model: first.model, tokenizer: tokenizer, training: state).save(to: folder.appendingPathComponent("run"))

        let loaded = try Checkpoint.load(from: folder.appendingPathComponent("run"))
        let resumedState = try #require(loaded.training)
        #expect(resumedState.optimizer.step == 3 && resumedState.history == state.history)
        #expect(resumedState.optimizer.settings == settings)
        #expect(TrainingState.fingerprint(ids) == resumedState.corpusFingerprint)
        var resumed = Trainer(model: loaded.model, dataset: dataset, batchSize: resumedState.batchSize,
                              settings: resumedState.optimizer.settings, random: resumedState.random, shards: resumedState.shards)
        resumed.optimizer = resumedState.optimizer
        let resumedLosses = try (0..<3).map { _ in try resumed.step().loss }
        #expect(firstLosses + resumedLosses == straightLosses)
        for parameter in model.parameters {
            #expect(resumed.model[keyPath: parameter.path] == straight.model[keyPath: parameter.path], "\(parameter.name)")
        }
    }

    @Test("saving replaces an existing checkpoint in one step, leaves no temporary folder, removes those an interrupted save left, and refuses a folder that is not one")
    func savingIsWholeOrNothing() throws {
        let tokenizer = WordTokenizer(corpus: checkpointCorpus)
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("model")
        try Checkpoint(model: try tinyModel(seed: 1), tokenizer: tokenizer).save(to: directory)
        // A leftover of a save that was interrupted before its rename: the checkpoint still loads.
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(".model.saving-interrupted"), withIntermediateDirectories: true)
        #expect(loadError(directory) == "")
        let second = try tinyModel(seed: 2)
        try Checkpoint(model: second, tokenizer: tokenizer).save(to: directory)
        #expect(try Checkpoint.load(from: directory).model.tokenEmbedding.weight == second.tokenEmbedding.weight)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["model"])                                           // the leftover went with the next save

        let notACheckpoint = folder.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: notACheckpoint, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: notACheckpoint.appendingPathComponent("todo.txt"))
        #expect(throws: TinyGPTError.self) { try Checkpoint(model: second, tokenizer: tokenizer).save(to: notACheckpoint) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: notACheckpoint.path) == ["todo.txt"])
    }

    @Test("a Hugging Face GPT-2 directory loads: HF's logits to 1e-4, its greedy continuation token for token, its eval loss to 1e-4")
    func huggingFaceCheckpoint() throws {
        let expected = try fixture("hf_tiny_expected.json")
        let checkpoint = try Checkpoint.load(from: Repository.url("Tests/Fixtures/hf-tiny"))
        #expect(checkpoint.tokenizer is BytePairTokenizer)
        let promptIDs = integers(expected["prompt_ids"])
        #expect(checkpoint.tokenizer.encode(expected["prompt"] as? String ?? "").ids == promptIDs)
        let logits = checkpoint.model.forward(promptIDs, windowLength: promptIDs.count).logits
        #expect(logits.rows == promptIDs.count && logits.cols == (expected["cols"] as? Int))
        #expect(maxDifference(logits.values, floats(expected["logits"])) <= 1e-4)

        var random = RandomGenerator(seed: 0)
        let greedy = integers(expected["greedy_ids"])
        let ours = checkpoint.model.generate(prompt: promptIDs, count: greedy.count - promptIDs.count,
                                             settings: SamplingSettings(temperature: 0), random: &random)
        #expect(ours == greedy)
        #expect(checkpoint.tokenizer.decode(ours) == (expected["greedy_text"] as? String))

        let eval = expected["eval"] as? [String: Any] ?? [:]
        let evalIDs = checkpoint.tokenizer.encode(eval["text"] as? String ?? "").ids
        #expect(evalIDs == integers(eval["ids"]))
        #expect(abs(checkpoint.model.meanLoss(over: evalIDs).loss - Double(number(eval["loss"]))) <= 1e-4)
    }

    @Test("older GPT-2 files load too: names without 'transformer.', causal-mask buffers, a tied lm_head equal to wte")
    func olderLayouts() throws {
        let directory = try copyOfHuggingFaceFixture()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let modelFile = directory.appendingPathComponent("model.safetensors")
        let original = try Safetensors.decode(try Data(contentsOf: modelFile), file: "model.safetensors")
        var older: [String: Tensor] = [:]
        for (name, tensor) in original { older[String(name.dropFirst("transformer.".count))] = tensor }
        older["h.0.attn.bias"] = Tensor(shape: [1, 1, 2, 2], values: [1, 0, 1, 1])
        older["h.1.attn.masked_bias"] = Tensor(shape: [], values: [-1e4])
        older["lm_head.weight"] = original["transformer.wte.weight"]
        try Safetensors.encode(older).write(to: modelFile)
        let reference = try Checkpoint.load(from: Repository.url("Tests/Fixtures/hf-tiny")).model
        let loaded = try Checkpoint.load(from: directory).model
        for parameter in reference.parameters {
            #expect(loaded[keyPath: parameter.path] == reference[keyPath: parameter.path], "\(parameter.name)")
        }
        older["lm_head.weight"] = Tensor(shape: [400, 16], values: [Float](repeating: 0, count: 6400))
        try Safetensors.encode(older).write(to: modelFile)
        #expect(loadError(directory).contains("lm_head.weight differs from wte.weight"))
    }

    @Test("a word vocabulary that lists a piece twice is refused, not trusted")
    func duplicatePieces() throws {
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("model")
        try Checkpoint(model: try tinyModel(), tokenizer: WordTokenizer(vocabulary: (0..<13).map { "w\($0)" })).save(to: directory)
        let file = directory.appendingPathComponent("tinygpt_tokenizer.json")
        try Data(try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\"w2\"", with: "\"w1\"").utf8).write(to: file)
        #expect(loadError(directory).contains("tinygpt_tokenizer.json: lists a piece twice"))
    }

    @Test("a malformed checkpoint throws one message naming the file and what is wrong",
          arguments: [
            ("missing directory", "no such checkpoint directory"),
            ("header length past the end", "runs past the end of the file"),
            ("truncated data", "outside the"),
            ("header not JSON", "the header is not a JSON object"),
            ("offsets out of range", "outside the"),
            ("wrong dtype", "has dtype I64"),
            ("a shape too large to count", "has an impossible shape"),
            ("missing tensor", "no tensor transformer.h.1.mlp.c_fc.weight"),
            ("shape disagrees with config.json", "has shape [16, 40] but config.json needs [16, 48]"),
            ("unknown activation", "unknown activation_function 'swish'"),
            ("config.json not JSON", "config.json: not a JSON object"),
            ("extra tensor", "holds transformer.h.0.attn.extra"),
            ("merges.txt names a token vocab.json lacks", "merges.txt"),
          ])
    func malformed(case name: String, message: String) throws {
        let directory = try copyOfHuggingFaceFixture()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let modelFile = directory.appendingPathComponent("model.safetensors")
        let original = try Data(contentsOf: modelFile)
        var tensors = try Safetensors.decode(original, file: "model.safetensors")
        let headerLength = Int(original[0]) | Int(original[1]) << 8 | Int(original[2]) << 16
        func rewriteHeader(_ change: (String) -> String) throws {             // the same data after a changed header
            let header = Data(change(String(decoding: original[8..<(8 + headerLength)], as: UTF8.self)).utf8)
            let length = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
            try (Data(length) + header + original[(8 + headerLength)...]).write(to: modelFile)
        }
        func editConfig(_ change: (String) -> String) throws {
            let file = directory.appendingPathComponent("config.json")
            try Data(change(try String(contentsOf: file, encoding: .utf8)).utf8).write(to: file)
        }
        var target = directory
        var file = "model.safetensors"
        switch name {
        case "missing directory": target = directory.appendingPathComponent("nothing-here"); file = "nothing-here"
        case "header length past the end": try (Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + original[8...]).write(to: modelFile)
        case "truncated data": try original.prefix(original.count - 100).write(to: modelFile)
        case "header not JSON": try rewriteHeader { "{" + $0.dropFirst(2) }
        case "offsets out of range": try rewriteHeader { $0.replacingOccurrences(of: "\"data_offsets\":[0,", with: "\"data_offsets\":[90000000,") }
        case "wrong dtype": try rewriteHeader { $0.replacingOccurrences(of: "\"F32\"", with: "\"I64\"") }
        case "a shape too large to count":
            try rewriteHeader { $0.replacingOccurrences(of: "\"shape\":[16,48]", with: "\"shape\":[4611686018427387904,4]") }
        case "missing tensor":
            tensors["transformer.h.1.mlp.c_fc.weight"] = nil
            try Safetensors.encode(tensors).write(to: modelFile)
        case "shape disagrees with config.json":
            tensors["transformer.h.0.attn.c_attn.weight"] = Tensor(shape: [16, 40], values: [Float](repeating: 0, count: 640))
            try Safetensors.encode(tensors).write(to: modelFile)
        case "unknown activation": try editConfig { $0.replacingOccurrences(of: "\"gelu_new\"", with: "\"swish\"") }; file = "config.json"
        case "config.json not JSON": try editConfig { String($0.dropLast(3)) }; file = "config.json"
        case "extra tensor":
            tensors["transformer.h.0.attn.extra"] = Tensor(shape: [1], values: [0])
            try Safetensors.encode(tensors).write(to: modelFile)
        default:
            let merges = directory.appendingPathComponent("merges.txt")
            try Data((try String(contentsOf: merges, encoding: .utf8) + "zzqq xxyy\n").utf8).write(to: merges)
            file = "hf-tiny"
        }
        let error = loadError(target)
        #expect(error.contains(file), "\(name): \(error)")
        #expect(error.contains(message), "\(name): \(error)")
        #expect(!error.contains("\n"), "one line: \(error)")
    }

    @Test("files: vocab.json and merges.txt written and read back give the same IDs; special tokens are kept but never produced")
    func fileRoundTrip() throws {
        let learned = try BytePairTokenizer(learningFrom: coffeeCorpus, vocabularySize: 300)
        let withSpecial = BytePairTokenizer(vocabulary: learned.vocabulary + ["<|endoftext|>"], merges: learned.merges)
        let text = withSpecial.mergesText()
        #expect(text.hasPrefix("#version: 0.2\n") && text.hasSuffix("\n"))
        #expect(text.split(separator: "\n").count == 1 + learned.merges.count)
        let read = try BytePairTokenizer(vocabJSON: withSpecial.vocabJSON(), mergesText: text)
        #expect(read.vocabulary == withSpecial.vocabulary && read.merges == withSpecial.merges)
        let sample = "I drink coffee every morning.\n<|endoftext|> \"quoted\" \\ back"
        #expect(read.encode(sample).ids == learned.encode(sample).ids)
        #expect(!read.encode(sample).ids.contains(read.count - 1))            // plain text never gives <|endoftext|>
        #expect(read.decode([read.count - 1]) == "<|endoftext|>")
        // The written JSON is plain JSON: another reader sees the same object.
        let object = try JSONSerialization.jsonObject(with: withSpecial.vocabJSON()) as? [String: Int]
        #expect(object?["\""] == 1 && object?["Ġ"] == 220 && object?["<|endoftext|>"] == withSpecial.count - 1)
        // Without the header line, with Windows line ends: read the same.
        let plain = learned.merges.map { "\($0.left) \($0.right)" }.joined(separator: "\r\n")
        #expect(try BytePairTokenizer(vocabJSON: learned.vocabJSON(), mergesText: plain).merges == learned.merges)
    }

    @Test("bad files throw one line saying what is wrong",
          arguments: [
            (#"{"a": 0, "b": 0}"#, "", "ID 0 is given twice"),
            (#"{"a": 0, "b": 2}"#, "", "\"b\" has ID 2"),
            (#"{"a": 1, "b": 2}"#, "", "the IDs must be 0…1"),
            (#"{"a": -1}"#, "", "has ID -1"),
            (#"{"a": 0, "b": 1, "ab": 2}"#, "#version: 0.2\na b\nb c\n", "line 3: \"b c\" needs \"c\""),
            (#"{"a": 0, "b": 1}"#, "a b\n", "line 1: \"a b\" needs \"ab\""),
            (#"{"a": 0, "b": 1, "ab": 2}"#, "a  b\n", "expected two tokens and one space"),
            (#"{"a": 0, "b": 1, "ab": 2}"#, "ab\n", "line 1: expected two tokens"),
            ("not json", "", "vocab.json is not a JSON object"),
            (#"["a", "b"]"#, "", "vocab.json is not a JSON object"),
            (#"{"a": "zero"}"#, "", "vocab.json is not a JSON object"),
            (#"{"a": 0.5}"#, "", "vocab.json is not a JSON object"),
            ("{}", "", "no tokens"),
          ])
    func badFiles(vocab: String, merges: String, message: String) {
        let error = #expect(throws: TinyGPTError.self) { try BytePairTokenizer(vocabJSON: Data(vocab.utf8), mergesText: merges) }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "no error")")
        #expect(error?.description.contains("\n") == false)
    }
}

// MARK: The exercises' switches survive a checkpoint
extension CheckpointsTests {
    @Test("every exercise switch off, and SGD: config.json and trainer_state.json keep them (model_type tinygpt), the loaded model computes the same logits bit for bit, and the optimizer is SGD again")
    func switchesRoundTrip() throws {
        let tokenizer = WordTokenizer(corpus: checkpointCorpus)
        var config = Configuration(vocabularySize: tokenizer.count, context: 8, width: 16, layers: 2, heads: 2, positions: .none)
        (config.masked, config.scaled, config.residual, config.layerNorm) = (false, false, false, false)
        var random = RandomGenerator(seed: 2)
        let model = try GPT(config: config, random: &random)
        var settings = OptimizerSettings()
        (settings.method, settings.momentum, settings.totalSteps) = (.sgd, 0.7, 4)
        let ids = tokenizer.encode(checkpointCorpus).ids
        var trainer = Trainer(model: model, dataset: try TextDataset(ids: ids, windowLength: 8), batchSize: 2, settings: settings, random: random)
        _ = try trainer.step()
        let folder = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("model")
        try Checkpoint(model: trainer.model, tokenizer: tokenizer, training: TrainingState(trainer, corpus: "c", ids: ids)).save(to: directory)
        let loaded = try Checkpoint.load(from: directory)
        #expect(loaded.model.config == config)
        #expect(!loaded.model.config.isGPT2)
        let window = Array(ids.prefix(8))
        #expect(loaded.model.forward(window, windowLength: 8).logits == trainer.model.forward(window, windowLength: 8).logits)
        let state = try #require(loaded.training)
        #expect(state.optimizer.settings.method == .sgd && state.optimizer.settings.momentum == 0.7)
        let json = try String(contentsOf: directory.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(json.contains("\"model_type\" : \"tinygpt\"") && json.contains("\"tinygpt_mask\" : false"))
    }
}
