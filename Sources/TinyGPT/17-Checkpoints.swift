import Foundation

// MARK: - Chapter 17: Checkpoints (docs/17-checkpoints.md)
//
// A trained model outlives the process as a directory, in the layout Hugging Face writes for GPT-2:
//   config.json                  the shape, by GPT-2's keys (n_embd, n_layer, …), plus our switches
//   model.safetensors            every parameter by GPT-2's name, stored [in, out] as we hold it
//   vocab.json + merges.txt      GPT-2's BPE (chapter 01); or tinygpt_tokenizer.json for word/char
//   optimizer.safetensors        AdamW's m and v (chapter 12)          } only when training
//   trainer_state.json           step, schedule, random state, losses  } can resume
// Every file format of the program is here (the tensors' own, safetensors, is chapter 16's): a JSON
// reader that names the bad key, config.json, the parameters by GPT-2's names, GPT-2's tokenizer
// files, the training state, and the directory written so that a reader never sees half of it.

// MARK: JSON files

/// A JSON object read from `file`, with readers that say which key is missing or wrong.
struct JSONObject {
    let file: String
    let values: [String: Any]

    init(_ data: Data, file: String) throws {
        guard let values = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TinyGPTError(file: file, message: "not a JSON object")
        }
        self.file = file
        self.values = values
    }

    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
        if !has(key), let fallback { return fallback }
        guard let value = values[key] as? Int else { throw TinyGPTError(file: file, message: "\(key) must be a whole number") }
        return value
    }

    func number(_ key: String, default fallback: Double? = nil) throws -> Double {
        if !has(key), let fallback { return fallback }
        guard let value = values[key] as? Double else { throw TinyGPTError(file: file, message: "\(key) must be a number") }
        return value
    }

    func string(_ key: String, default fallback: String? = nil) throws -> String {
        if !has(key), let fallback { return fallback }
        guard let value = values[key] as? String else { throw TinyGPTError(file: file, message: "\(key) must be a string") }
        return value
    }

    func boolean(_ key: String, default fallback: Bool) throws -> Bool {
        guard has(key) else { return fallback }
        guard let value = values[key] as? Bool else { throw TinyGPTError(file: file, message: "\(key) must be true or false") }
        return value
    }
}

/// `x` as JSON writes it back: a Float's shortest decimal ("0.006", not 0.006000000052154064).
func decimal(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }

// MARK: config.json

extension Configuration {
    /// True when Hugging Face's GPT2LMHeadModel computes exactly this model: Pre-LN, learned
    /// positions, and none of the exercises' switches turned off.
    public var isGPT2: Bool { norm == .pre && positions == .learned && masked && scaled && residual && layerNorm }

    /// config.json's keys. GPT-2's, plus ours (tinygpt_*) for the switches GPT-2 does not have; a model
    /// that GPT-2 cannot compute gets model_type "tinygpt", so Hugging Face refuses it instead of
    /// silently computing something else.
    func json(tokenizer: String, endOfText: Int?) -> [String: Any] {
        [
            "model_type": isGPT2 ? "gpt2" : "tinygpt",
            "architectures": [isGPT2 ? "GPT2LMHeadModel" : "TinyGPT"],
            "vocab_size": vocabularySize, "n_positions": context, "n_embd": width, "n_layer": layers, "n_head": heads,
            "n_inner": NSNull(),                                            // null: 4·n_embd
            "activation_function": activation == .gelu ? "gelu_new" : "relu",
            "layer_norm_epsilon": decimal(layerNormEpsilon),
            "tie_word_embeddings": tied,
            "bos_token_id": endOfText ?? NSNull(), "eos_token_id": endOfText ?? NSNull(),   // GPT-2's <|endoftext|>, if any
            "tinygpt_norm": norm.rawValue, "tinygpt_positions": positions.rawValue, "tinygpt_tokenizer": tokenizer,
            "tinygpt_mask": masked, "tinygpt_scale": scaled, "tinygpt_residual": residual, "tinygpt_layernorm": layerNorm,
        ]
    }

    /// Reads config.json: ours, or one Hugging Face wrote for GPT-2 (its many other keys are ignored,
    /// except those that would change what the model computes).
    init(json: JSONObject) throws {
        func fail(_ message: String) -> TinyGPTError { TinyGPTError(file: json.file, message: message) }
        self.init()
        let modelType = try json.string("model_type", default: "gpt2")
        guard modelType == "gpt2" || modelType == "tinygpt" else { throw fail("model_type '\(modelType)' is not GPT-2's") }
        vocabularySize = try json.integer("vocab_size")
        context = try json.integer("n_positions")
        width = try json.integer("n_embd")
        layers = try json.integer("n_layer")
        heads = try json.integer("n_head")
        guard try json.integer("n_inner", default: 4 * width) == 4 * width else {
            throw fail("n_inner \(try json.integer("n_inner")) is not 4 · n_embd: TinyGPT's feed-forward expands to 4 · n_embd")
        }
        switch try json.string("activation_function", default: "gelu_new") {
        case "gelu_new", "gelu_pytorch_tanh": activation = .gelu       // both are GELU's tanh form (chapter 07)
        case "relu": activation = .relu
        case let other: throw fail("unknown activation_function '\(other)': TinyGPT has gelu_new (GELU, tanh form) and relu")
        }
        layerNormEpsilon = Float(try json.number("layer_norm_epsilon", default: 1e-5))
        tied = try json.boolean("tie_word_embeddings", default: true)
        guard let norm = NormOrder(rawValue: try json.string("tinygpt_norm", default: "pre")) else {
            throw fail("tinygpt_norm must be pre or post")
        }
        guard let positions = PositionKind(rawValue: try json.string("tinygpt_positions", default: "learned")) else {
            throw fail("tinygpt_positions must be learned, sinusoidal or none")
        }
        self.norm = norm
        self.positions = positions
        masked = try json.boolean("tinygpt_mask", default: true)
        scaled = try json.boolean("tinygpt_scale", default: true)
        residual = try json.boolean("tinygpt_residual", default: true)
        layerNorm = try json.boolean("tinygpt_layernorm", default: true)
        for (key, expected) in [("scale_attn_weights", true), ("scale_attn_by_inverse_layer_idx", false), ("add_cross_attention", false)]
        where try json.boolean(key, default: expected) != expected {
            throw fail("\(key) is \(!expected): TinyGPT's attention cannot do that")
        }
        do { try validate() } catch let error as TinyGPTError { throw fail(error.description) }
    }
}

// MARK: Parameters ↔ tensors

extension GPT {
    /// The name a parameter has in GPT-2's files: "transformer." + ours, except lm_head.
    static func fileName(_ name: String) -> String { name == "lm_head.weight" ? name : "transformer." + name }

    /// Every parameter as a tensor by its GPT-2 name. Vectors (biases, γ, β: the parameters that do
    /// not decay) are 1-D, as GPT-2 stores them; matrices keep [rows, cols], W [in, out] as in Conv1D.
    /// A tied model stores W_E once, as Hugging Face does.
    public var tensors: [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for parameter in parameters {
            let matrix = self[keyPath: parameter.path]
            let shape = parameter.decays ? [matrix.rows, matrix.cols] : [matrix.cols]
            tensors[GPT.fileName(parameter.name)] = Tensor(shape: shape, values: matrix.values)
        }
        return tensors
    }

    /// A model of `config` with its parameters taken from `tensors`. Every tensor must be used,
    /// except Hugging Face's causal-mask buffers (h.N.attn.bias, h.N.attn.masked_bias: chapter 05
    /// builds the mask itself) and a tied lm_head.weight equal to tokenEmbedding.weight.
    public init(config: Configuration, tensors: [String: Tensor], file: String) throws {
        func fail(_ message: String) -> TinyGPTError { TinyGPTError(file: file, message: message) }
        var random = RandomGenerator(seed: 0)
        self = try GPT(config: config, random: &random, std: 0)            // zeros, no draws: every value below is replaced
        var unused = Set(tensors.keys)
        func take(_ name: String) -> Tensor? {                              // "transformer." is optional
            for key in [GPT.fileName(name), name] where tensors[key] != nil {
                unused.remove(key)
                return tensors[key]
            }
            return nil
        }
        for parameter in parameters {
            let matrix = self[keyPath: parameter.path]
            let shape = parameter.decays ? [matrix.rows, matrix.cols] : [matrix.cols]
            guard let tensor = take(parameter.name) else {
                throw fail("no tensor \(GPT.fileName(parameter.name)) (config.json: n_layer \(config.layers), tie_word_embeddings \(config.tied))")
            }
            guard tensor.shape == shape else {
                throw fail("\(GPT.fileName(parameter.name)) has shape \(tensor.shape) but config.json needs \(shape)")
            }
            guard tensor.values.allSatisfy(\.isFinite) else {
                throw fail("\(GPT.fileName(parameter.name)) holds NaN or infinite numbers: the run that saved it had diverged; use an earlier checkpoint")
            }
            self[keyPath: parameter.path] = Matrix(rows: matrix.rows, cols: matrix.cols, values: tensor.values)
        }
        if config.tied, let head = take("lm_head.weight"), head.values != tokenEmbedding.weight.values {
            throw fail("lm_head.weight differs from wte.weight, but config.json says tie_word_embeddings is true")
        }
        let maskBuffers = Set(blocks.indices.flatMap { ["h.\($0).attn.bias", "h.\($0).attn.masked_bias"] })
        for name in unused where !maskBuffers.contains(name) && !maskBuffers.contains(String(name.dropFirst("transformer.".count))) {
            throw fail("holds \(name), which a model of this config.json does not have")
        }
    }
}

// MARK: vocab.json and merges.txt: GPT-2's tokenizer files (chapter 01's BPE)

extension BytePairTokenizer {
    /// Reads GPT-2's two files: vocab.json, a JSON object token → ID with IDs exactly 0..<n, and
    /// merges.txt, an optional "#version: 0.2" line, then one merge per line, "left right", in rank order.
    public init(vocabJSON: Data, mergesText: String) throws {
        let entries: [String: Int]
        do {
            entries = try JSONDecoder().decode([String: Int].self, from: vocabJSON)
        } catch {
            throw TinyGPTError(.checkpoint, "vocab.json is not a JSON object of token → whole-number ID, like {\"!\": 0, \"\\\"\": 1, …}")
        }
        guard !entries.isEmpty else { throw TinyGPTError(.checkpoint, "vocab.json has no tokens") }
        var vocabulary = [String?](repeating: nil, count: entries.count)
        for (token, id) in entries.sorted(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
            guard id >= 0 && id < entries.count else {
                throw TinyGPTError(.checkpoint, "vocab.json: the IDs must be 0…\(entries.count - 1), one per token with no gaps, but \"\(token)\" has ID \(id)")
            }
            if let other = vocabulary[id] {
                throw TinyGPTError(.checkpoint, "vocab.json: ID \(id) is given twice, to \"\(other)\" and \"\(token)\"; each ID must appear once")
            }
            vocabulary[id] = token
        }
        let tokens = vocabulary.compactMap { $0 }             // every slot is filled: n distinct IDs in 0..<n
        let known = Set(tokens)
        var merges: [Merge] = []
        for (index, line) in mergesText.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.isEmpty || (index == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TinyGPTError(.checkpoint, "merges.txt line \(index + 1): expected two tokens and one space, like \"Ġ c\", got \"\(line)\"")
            }
            let merge = Merge(String(parts[0]), String(parts[1]))
            for part in [merge.left, merge.right, merge.result] where !known.contains(part) {
                throw TinyGPTError(.checkpoint, "merges.txt line \(index + 1): \"\(merge.left) \(merge.right)\" needs \"\(part)\", which vocab.json does not have")
            }
            merges.append(merge)
        }
        self.init(vocabulary: tokens, merges: merges)
    }

    /// vocab.json's contents: {"token": ID, …}, one entry per line, in ID order.
    public func vocabJSON() -> Data {
        let lines = vocabulary.enumerated().map { "  \(BytePairTokenizer.quoted($1)): \($0)" }
        return Data(("{\n" + lines.joined(separator: ",\n") + "\n}\n").utf8)
    }

    /// merges.txt's contents: "#version: 0.2", then one merge per line in rank order.
    public func mergesText() -> String {
        (["#version: 0.2"] + merges.map { "\($0.left) \($0.right)" }).joined(separator: "\n") + "\n"
    }

    /// A JSON string: quotes and backslashes escaped, control characters as \u00XX.
    static func quoted(_ text: String) -> String {
        var json = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        return json + "\""
    }
}

// MARK: Training state: what --resume needs besides the model

/// Everything that makes a resumed run continue exactly as an uninterrupted one would.
public struct TrainingState: Sendable {
    public var optimizer: AdamW               // settings (the whole schedule), m, v, step
    public var random: RandomGenerator        // where the batches' draws continue
    public var batchSize: Int
    public var shards: Int
    public var heldOutFraction: Double
    public var windowLength: Int              // T of the training windows: the model's context, or less (--init-from --context)
    public var corpus: String                 // the corpus path, as given
    public var corpusFingerprint: UInt64      // of its token IDs: tells whether a resume reads the same text
    public var history: [LossPoint] = []      // train loss at every step so far
    public var heldOutHistory: [LossPoint] = []

}

extension TrainingState {
    /// Where `trainer` stands, for a checkpoint of a run on `corpus` (its path and its token IDs).
    public init(_ trainer: Trainer, corpus: String, ids: [Int]) {
        self.init(optimizer: trainer.optimizer, random: trainer.random, batchSize: trainer.batchSize, shards: trainer.shards,
                  heldOutFraction: trainer.dataset.heldOutFraction, windowLength: trainer.dataset.windowLength, corpus: corpus,
                  corpusFingerprint: TrainingState.fingerprint(ids), history: trainer.history, heldOutHistory: trainer.heldOutHistory)
    }

    /// FNV-1a over the IDs: equal streams give equal fingerprints; different ones almost surely differ.
    public static func fingerprint(_ ids: [Int]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in ids { hash = (hash ^ UInt64(truncatingIfNeeded: id)) &* 0x100_0000_01B3 }
        return hash
    }

    /// trainer_state.json. Floats are written widened to Double, exactly, so a resume is bit-identical.
    func json() -> [String: Any] {
        let s = optimizer.settings
        func curve(_ points: [LossPoint]) -> [[String: Any]] { points.map { ["step": $0.step, "loss": Double($0.loss)] } }
        return [
            "step": optimizer.step, "total_steps": s.totalSteps, "warmup_steps": s.warmupSteps,
            "learning_rate": Double(s.learningRate), "min_learning_rate": Double(s.minLearningRate),
            "beta1": Double(s.beta1), "beta2": Double(s.beta2), "epsilon": Double(s.epsilon),
            "weight_decay": Double(s.weightDecay), "clip": Double(s.clip),
            "optimizer": s.method.rawValue, "momentum": Double(s.momentum),
            "batch_size": batchSize, "shards": shards, "held_out_fraction": heldOutFraction, "window_length": windowLength,
            "random_state": String(random.state), "corpus": corpus, "corpus_fingerprint": String(corpusFingerprint),
            "log_history": curve(history), "held_out_history": curve(heldOutHistory),
        ]
    }

    init(json: JSONObject, model: GPT, moments tensors: [String: Tensor], momentsFile: String) throws {
        var settings = OptimizerSettings()
        settings.totalSteps = try json.integer("total_steps")
        settings.warmupSteps = try json.integer("warmup_steps")
        settings.learningRate = Float(try json.number("learning_rate"))
        settings.minLearningRate = Float(try json.number("min_learning_rate"))
        settings.beta1 = Float(try json.number("beta1"))
        settings.beta2 = Float(try json.number("beta2"))
        settings.epsilon = Float(try json.number("epsilon"))
        settings.weightDecay = Float(try json.number("weight_decay"))
        settings.clip = Float(try json.number("clip"))
        settings.momentum = Float(try json.number("momentum", default: 0.9))
        guard let method = OptimizerMethod(rawValue: try json.string("optimizer", default: "adamw")) else {
            throw TinyGPTError(file: json.file, message: "optimizer must be adamw or sgd")
        }
        settings.method = method
        do { try settings.validate() } catch let error as TinyGPTError { throw TinyGPTError(file: json.file, message: error.description) }
        guard let state = UInt64(try json.string("random_state")), let fingerprint = UInt64(try json.string("corpus_fingerprint")) else {
            throw TinyGPTError(file: json.file, message: "random_state and corpus_fingerprint must be whole numbers written as strings")
        }
        func curve(_ key: String) throws -> [LossPoint] {
            guard let points = json.values[key] as? [[String: Any]] else { return [] }
            return try points.map { point in
                guard let step = point["step"] as? Int, let loss = point["loss"] as? Double else {
                    throw TinyGPTError(file: json.file, message: "\(key) holds a point without a step and a loss")
                }
                return LossPoint(step: step, loss: Float(loss))
            }
        }
        var optimizer = AdamW(model: model, settings: settings)
        optimizer.step = try json.integer("step")
        for parameter in model.parameters {                                  // m and v: the model's own shapes
            let moments: [(String, WritableKeyPath<AdamW, GPT>)] = [("exp_avg.", \AdamW.m), ("exp_avg_sq.", \AdamW.v)]
            for (prefix, path) in moments {
                let name = prefix + GPT.fileName(parameter.name)
                let expected = model[keyPath: parameter.path]
                guard let tensor = tensors[name], tensor.values.count == expected.values.count else {
                    throw TinyGPTError(file: momentsFile, message: "no tensor \(name) with \(expected.values.count) values")
                }
                optimizer[keyPath: path.appending(path: parameter.path)] =
                    Matrix(rows: expected.rows, cols: expected.cols, values: tensor.values)
            }
        }
        let (batchSize, shards, heldOut) = (try json.integer("batch_size"), try json.integer("shards"), try json.number("held_out_fraction"))
        let windowLength = try json.integer("window_length", default: model.config.context)
        guard batchSize >= 1, shards >= 1, (0...0.9).contains(heldOut), optimizer.step >= 0, settings.totalSteps >= 1, settings.warmupSteps >= 0 else {
            throw TinyGPTError(file: json.file, message: "batch_size, shards, total_steps must be at least 1, step and warmup_steps at least 0, held_out_fraction in 0…0.9")
        }
        guard (1...model.config.context).contains(windowLength) else {
            throw TinyGPTError(file: json.file, message: "window_length must be 1…\(model.config.context) (the model's n_positions), got \(windowLength)")
        }
        self.init(optimizer: optimizer, random: RandomGenerator(seed: state), batchSize: batchSize, shards: shards, heldOutFraction: heldOut,
                  windowLength: windowLength,
                  corpus: try json.string("corpus"), corpusFingerprint: fingerprint,
                  history: try curve("log_history"), heldOutHistory: try curve("held_out_history"))
    }

    /// optimizer.safetensors: m and v by PyTorch's names, exp_avg.NAME and exp_avg_sq.NAME.
    var moments: [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in optimizer.m.tensors { tensors["exp_avg." + name] = tensor }
        for (name, tensor) in optimizer.v.tensors { tensors["exp_avg_sq." + name] = tensor }
        return tensors
    }
}

extension Trainer {
    /// The trainer a checkpoint's state describes, on `dataset`: the same optimizer, batches and curves.
    public init(model: GPT, resuming state: TrainingState, dataset: TextDataset) {
        self.init(model: model, optimizer: state.optimizer, dataset: dataset, batchSize: state.batchSize, shards: state.shards,
                  random: state.random, history: state.history, heldOutHistory: state.heldOutHistory)
    }
}

// MARK: The directory

public struct Checkpoint: Sendable {
    public var model: GPT
    public var tokenizer: any Tokenizer
    public var training: TrainingState?       // nil: a model to sample from, not to resume

    public init(model: GPT, tokenizer: any Tokenizer, training: TrainingState? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.training = training
    }

    /// The tokenizer's files: GPT-2's vocab.json + merges.txt for BPE, our own small JSON for
    /// word and character tokenizers: {"kind": "word", "vocabulary": ["<unk>", "I", …]} (index = ID).
    static func tokenizerFiles(_ tokenizer: any Tokenizer) -> (kind: String, files: [String: Data]) {
        if let bpe = tokenizer as? BytePairTokenizer {
            return ("bpe", ["vocab.json": bpe.vocabJSON(), "merges.txt": Data(bpe.mergesText().utf8)])
        }
        let kind = tokenizer is CharacterTokenizer ? "char" : "word"
        let json: [String: Any] = ["kind": kind, "vocabulary": tokenizer.vocabulary]
        return (kind, ["tinygpt_tokenizer.json": (try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])) ?? Data()])
    }

    /// Writes the directory whole or not at all: every file goes into a fresh sibling directory,
    /// which then takes the place of `directory` in one atomic step. An interrupted save leaves
    /// the previous checkpoint as it was. Refuses to replace a directory that is not a checkpoint.
    public func save(to given: URL) throws {
        let directory = given.resolvingSymlinksInPath()                    // through a link, into its target
        let files = FileManager.default, path = directory.path
        let exists = try Checkpoint.mayBeReplaced(directory)
        let (kind, tokenizerFiles) = Checkpoint.tokenizerFiles(tokenizer)
        var contents = tokenizerFiles
        contents["config.json"] = try? JSONSerialization.data(withJSONObject: model.config.json(tokenizer: kind, endOfText: tokenizer.vocabulary.firstIndex(of: "<|endoftext|>")), options: [.prettyPrinted, .sortedKeys])
        contents["model.safetensors"] = Safetensors.encode(model.tensors)
        if let training {
            contents["optimizer.safetensors"] = Safetensors.encode(training.moments)
            contents["trainer_state.json"] = try? JSONSerialization.data(withJSONObject: training.json(), options: [.prettyPrinted, .sortedKeys])
        }
        let parent = directory.deletingLastPathComponent(), prefix = ".\(directory.lastPathComponent).saving-"
        for stale in (try? files.contentsOfDirectory(atPath: parent.path)) ?? [] where stale.hasPrefix(prefix) {
            try? files.removeItem(at: parent.appendingPathComponent(stale))    // left by a save that was interrupted
        }
        let temporary = parent.appendingPathComponent(prefix + UUID().uuidString)
        do {
            try files.createDirectory(at: temporary, withIntermediateDirectories: true)
            for (name, data) in contents { try data.write(to: temporary.appendingPathComponent(name)) }
            if exists {
                try exchange(temporary, directory)                          // now `temporary` holds the old one
                try? files.removeItem(at: temporary)
            } else {
                try files.moveItem(at: temporary, to: directory)
            }
        } catch {
            try? files.removeItem(at: temporary)
            throw TinyGPTError(file: path, message: "cannot save: \(error.localizedDescription)")
        }
    }

    /// Whether `directory` exists; throws if it exists but is not a checkpoint that saving may replace.
    @discardableResult
    public static func mayBeReplaced(_ directory: URL) throws -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else { return false }
        guard isDirectory.boolValue, FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else {
            throw TinyGPTError(file: directory.path, message: "exists and is not a checkpoint (no config.json): choose another directory")
        }
        return true
    }

    /// Reads a checkpoint directory: ours, or one Hugging Face wrote for GPT2LMHeadModel.
    public static func load(from directory: URL) throws -> Checkpoint {
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        func read(_ name: String) throws -> Data { Data(try bytes(name)) }     // the small JSON files
        func bytes(_ name: String) throws -> [UInt8] {                    // read straight into an array: one copy in memory
            guard let handle = FileHandle(forReadingAtPath: file(name).path) else {
                throw TinyGPTError(file: file(name).path, message: "missing or unreadable")
            }
            defer { try? handle.close() }
            let size = Int((try? handle.seekToEnd()) ?? 0)
            try? handle.seek(toOffset: 0)
            var count = 0
            let result = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                while count < size {
                    let got = Foundation.read(handle.fileDescriptor, buffer.baseAddress! + count, size - count)
                    if got <= 0 { break }
                    count += got
                }
                initialized = count
            }
            guard count == size else { throw TinyGPTError(file: file(name).path, message: "could not be read to its end (\(count) of \(size) bytes)") }
            return result
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TinyGPTError(file: directory.path, message: "no such checkpoint directory")
        }
        let config = try Configuration(json: JSONObject(try read("config.json"), file: file("config.json").path))
        let tokenizer: any Tokenizer
        if FileManager.default.fileExists(atPath: file("tinygpt_tokenizer.json").path) {
            let json = try JSONObject(try read("tinygpt_tokenizer.json"), file: file("tinygpt_tokenizer.json").path)
            guard let vocabulary = json.values["vocabulary"] as? [String], !vocabulary.isEmpty else {
                throw TinyGPTError(file: json.file, message: "needs a non-empty list of strings under \"vocabulary\"")
            }
            guard Set(vocabulary).count == vocabulary.count else {
                throw TinyGPTError(file: json.file, message: "lists a piece twice: each piece has one ID")
            }
            switch try json.string("kind") {
            case "word": tokenizer = WordTokenizer(vocabulary: vocabulary)
            case "char": tokenizer = CharacterTokenizer(vocabulary: vocabulary)
            case let other: throw TinyGPTError(file: json.file, message: "unknown tokenizer kind '\(other)' (word or char)")
            }
        } else {
            do {
                tokenizer = try BytePairTokenizer(vocabJSON: try read("vocab.json"), mergesText: String(decoding: try read("merges.txt"), as: UTF8.self))
            } catch let error as TinyGPTError {
                throw TinyGPTError(file: directory.path, message: "vocab.json + merges.txt: \(error)")
            }
        }
        guard tokenizer.count <= config.vocabularySize else {
            throw TinyGPTError(file: file("config.json").path, message: "vocab_size \(config.vocabularySize) is smaller than the tokenizer's \(tokenizer.count) entries")
        }
        let modelFile = file("model.safetensors").path
        let tensors = try Safetensors.decode(try bytes("model.safetensors"), file: modelFile)     // the file's bytes are let go here
        let model = try GPT(config: config, tensors: tensors, file: modelFile)
        var training: TrainingState? = nil
        if FileManager.default.fileExists(atPath: file("trainer_state.json").path) {
            let momentsFile = file("optimizer.safetensors").path
            training = try TrainingState(json: JSONObject(try read("trainer_state.json"), file: file("trainer_state.json").path), model: model,
                                         moments: try Safetensors.decode(try bytes("optimizer.safetensors"), file: momentsFile), momentsFile: momentsFile)
        }
        return Checkpoint(model: model, tokenizer: tokenizer, training: training)
    }
}

// The one atomic step: swap two directories' names (Linux renameat2 with RENAME_EXCHANGE, macOS
// renamex_np with RENAME_SWAP). Where neither exists, two renames, with a moment between them.
#if os(Linux)
/// A claim on a checkpoint directory for as long as a run may save into it: `.NAME.lock` beside it
/// holds the claiming process's ID. A second run that wants the same directory is refused while
/// that process lives; a lock whose process has died is taken over.
public final class CheckpointLock: Sendable {
    public let file: URL

    public init(_ directory: URL) throws {
        let resolved = directory.resolvingSymlinksInPath()
        file = resolved.deletingLastPathComponent().appendingPathComponent(".\(resolved.lastPathComponent).lock")
        for _ in 0..<2 {
            let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if descriptor >= 0 {
                let pid = Data("\(getpid())\n".utf8)
                _ = pid.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                close(descriptor)
                return
            }
            guard errno == EEXIST else { return }                          // no lock possible there: saving will say why
            let owner = (try? String(contentsOf: file, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let owner, owner != getpid(), kill(owner, 0) == 0 || errno == EPERM {
                throw TinyGPTError(file: resolved.path, message: "another run (process \(owner)) is saving here now: wait for it, or choose another directory")
            }
            try? FileManager.default.removeItem(at: file)                  // its process is gone: take it over
        }
    }

    deinit { try? FileManager.default.removeItem(at: file) }
}

@_silgen_name("renameat2") private func renameat2(_ oldDirectory: Int32, _ old: UnsafePointer<CChar>, _ newDirectory: Int32,
                                                  _ new: UnsafePointer<CChar>, _ flags: UInt32) -> Int32
#elseif canImport(Darwin)
@_silgen_name("renamex_np") private func renamex_np(_ old: UnsafePointer<CChar>, _ new: UnsafePointer<CChar>, _ flags: UInt32) -> Int32
#endif

private func exchange(_ a: URL, _ b: URL) throws {
    #if os(Linux)
    if renameat2(-100, a.path, -100, b.path, 2) == 0 { return }            // AT_FDCWD, RENAME_EXCHANGE
    #elseif canImport(Darwin)
    if renamex_np(a.path, b.path, 2) == 0 { return }                       // RENAME_SWAP
    #endif
    let aside = b.deletingLastPathComponent().appendingPathComponent(".\(b.lastPathComponent).old-\(UUID().uuidString)")
    try FileManager.default.moveItem(at: b, to: aside)
    try FileManager.default.moveItem(at: a, to: b)
    try FileManager.default.moveItem(at: aside, to: a)
}
