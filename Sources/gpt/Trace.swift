import Foundation
import TinyGPT

// gpt trace: one forward pass of a freshly initialised model, narrated stage by stage with the
// shape of every intermediate and the chapter that explains it.

let traceFlags = modelFlags + [
    FlagSpec(name: "prompt", defaultValue: "I drink coffee every", help: "the text to run through the model"),
    FlagSpec(name: "checkpoint", defaultValue: "", help: "trace a saved model (and its tokenizer) instead of an untrained one"),
]

func trace(_ flags: Flags) throws {
    let prompt = flags.string("prompt")
    guard !prompt.allSatisfy(\.isWhitespace) else {
        throw CommandLineError.usage("--prompt is empty: give some text, e.g. --prompt \"I drink coffee every\"")
    }
    let model: GPT, tokenizer: any Tokenizer, source: String
    if flags.isSet("checkpoint") {
        if let modelFlag = modelFlags.map(\.name).first(where: { flags.isSet($0) && $0 != "threads" }) {
            throw CommandLineError.usage("--\(modelFlag) cannot be combined with --checkpoint: the checkpoint fixes the model and its tokenizer")
        }
        _ = try seedAndThreads(flags)
        let checkpoint = try loadCheckpoint(flags.string("checkpoint"))
        (model, tokenizer, source) = (checkpoint.model, checkpoint.tokenizer, flags.string("checkpoint"))
    } else {
        let corpus = try loadCorpus(flags)
        let config = try configuration(flags, vocabularySize: corpus.tokenizer.count)
        var random = RandomGenerator(seed: try seedAndThreads(flags))
        (model, tokenizer, source) = (try GPT(config: config, random: &random), corpus.tokenizer, corpus.path)
    }
    let config = model.config, trained = flags.isSet("checkpoint")
    let encoding = tokenizer.encode(prompt)
    var ids = encoding.ids
    let C = config.width, D = config.headWidth, H = config.heads

    func stage(_ chapter: String, _ text: String) { Output.line(padded("[\(chapter)]", 17) + text) }
    func more(_ text: String) { Output.line(String(repeating: " ", count: 17) + text) }

    Output.line(trained ? "gpt trace: one forward pass of the model saved in \(source), stage by stage"
                        : "gpt trace: one forward pass of an untrained model (seed \(flags.string("seed"))), stage by stage")
    Output.line("model: \(describe(config)); \(grouped(model.parameterCount)) parameters" + (trained ? "" : ", all random"))
    Output.line("convention: tokens are rows; [a, b] means a rows and b columns (docs/00-conventions.md)")
    Output.line()
    let pieces = tokenizer.pieces(of: prompt)
    stage("01 Tokens", "\"\(prompt)\" → \(pieces.count) tokens: " + pieces.map(visible).joined(separator: " | "))
    if !encoding.unknown.isEmpty {
        more("not in the vocabulary, so they became \(unknownPiece) (ID 0): " + encoding.unknown.map(visible).joined(separator: ", "))
    }
    if ids.count > config.context {
        more("longer than the context (\(config.context)): only the last \(config.context) tokens are used")
        ids = Array(ids.suffix(config.context))
    }
    let labels = ids.map { visible(tokenizer.decode([$0])) }
    let T = ids.count
    more("token IDs: " + ids.map(String.init).joined(separator: " ") + "   (vocabulary of \(tokenizer.count) from \(source))")

    let (logits, saved) = model.forward(ids, windowLength: T)
    stage("02 Embedding", "X = W_E[ids]: rows \(ids.map(String.init).joined(separator: ", ")) of W_E \(model.tokenEmbedding.weight.shape) → X [\(T), \(C)], one row per token")
    more("row 0 (\(labels[0])) begins " + model.tokenEmbedding.weight.row(ids[0]).prefix(5).map { fixed($0, 3) }.joined(separator: " ") + " …")
    stage("03 Positions", "X₀ = X + P[0..<\(T)]: P \(model.positionEmbedding.weight.shape) \(config.positions.rawValue) → X₀ \(saved.embedded.shape)")

    for (l, block) in model.blocks.enumerated() {
        let s = saved.blocks[l]
        Output.line()
        stage("08 Block", "block \(l + 1) of \(config.layers) (GPT-2: h.\(l)), \(config.norm == .pre ? "Pre-LN" : "Post-LN") order")
        if config.norm == .pre { stage("06 LayerNorm", "LN₁(X): each row to mean 0, variance 1, then γ ⊙ x̂ + β → [\(T), \(C)]") }
        stage("05 Attention", "[Q | K | V] = X·W_QKV + b: [\(T), \(C)]·\(block.attention.queryKeyValue.weight.shape) → \(s.attention.qkv.shape)")
        more("\(H) heads of width D = \(C)/\(H) = \(D): head h takes columns h·\(D)..<(h+1)·\(D) of Q, K and V → Q_h, K_h, V_h [\(T), \(D)] each")
        more("scores S = Q_h·K_hᵀ / √\(D) → [\(T), \(T)]; causal mask: row i keeps columns 0…i")
        more("weights A = softmax of each row (chapter 04) → [\(T), \(T)], each row sums to 1; head 0:")
        printWeights(s.attention.weights[0], labels: labels)
        more("Y_h = A·V_h → [\(T), \(D)] per head; concatenated [Y_0 | … | Y_\(H - 1)] → \(s.attention.concatenated.shape)")
        more("out = Y·W_O + b: \(s.attention.concatenated.shape)·\(block.attention.outputProjection.weight.shape) → [\(T), \(C)]   (W_O is not W_E)")
        if config.norm == .pre {
            stage("08 Residual", "X₁ = X + attention → \(s.afterAttention.shape)")
            stage("06 LayerNorm", "LN₂(X₁) → [\(T), \(C)]")
        } else {
            stage("08 Residual", "X + attention, then LN₁ (chapter 06) → X₁ \(s.afterAttention.shape)")
        }
        stage("07 FeedForward", "expand F = X·W_1 + b_1: [\(T), \(C)]·\(block.feedForward.expand.weight.shape) → \(s.feedForward.expanded.shape)")
        let active = s.feedForward.activated.values.filter { $0 > 0.01 }.count
        more("gate R = \(config.activation.rawValue.uppercased())(F) → \(s.feedForward.activated.shape): \(active) of \(s.feedForward.activated.values.count) detectors above 0.01")
        more("recombine Z = R·W_2 + b_2: \(s.feedForward.activated.shape)·\(block.feedForward.contract.weight.shape) → [\(T), \(C)]")
        if config.norm == .pre {
            stage("08 Residual", "X₂ = X₁ + Z → \(saved.blockOutputs[l].shape)")
        } else {
            stage("08 Residual", "X₁ + Z, then LN₂ → \(saved.blockOutputs[l].shape)")
        }
    }
    Output.line()
    if config.norm == .pre { stage("09 Model", "final LayerNorm LN_f(X_\(config.layers)) → \(saved.final.shape)") }
    stage("09 Model", "logits = Z·Uᵀ: \(saved.final.shape)·\(model.unembedding.shape)ᵀ → \(logits.shape)  (U = \(config.tied ? "W_E, tied" : "lm_head, untied"))")
    more("row t holds a score for every candidate token after position t")
    let probabilities = softmax(logits.row(T - 1))
    stage("04 Softmax", "p = softmax(last row) over \(tokenizer.count) candidates after \"\(labels[T - 1])\"; top 5:")
    let top = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(5)
    for id in top {
        more("  \(padded(visible(tokenizer.decode([id])), 14)) \(fixed(probabilities[id], 4))")
    }
    if !trained {
        more("untrained, every candidate is near 1/\(tokenizer.count) = \(fixed(1 / Float(tokenizer.count), 4)); `gpt train` changes that")
    }
}

/// A [T, T] weight matrix with the tokens as row and column labels; the masked future shows as ·.
func printWeights(_ weights: Matrix, labels: [String]) {
    let shown = min(weights.rows, 10)
    let labelWidth = min(12, (labels.prefix(shown).map(\.count).max() ?? 4) + 1)
    let cell = max(6, min(9, labelWidth))
    let indent = String(repeating: " ", count: 19)
    Output.line(indent + String(repeating: " ", count: labelWidth) + labels.prefix(shown).map { padded($0, cell) }.joined())
    for i in 0..<shown {
        var row = indent + padded(labels[i], labelWidth)
        for j in 0..<shown { row += padded(j <= i ? fixed(weights[i, j], 2) : "·", cell) }
        Output.line(row)
    }
    if weights.rows > shown { Output.line(indent + "(first \(shown) of \(weights.rows) tokens shown)") }
}
