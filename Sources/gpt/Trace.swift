import Foundation
import TinyGPT

// gpt trace: one forward pass of a freshly initialised model, narrated stage by stage with the
// shape of every intermediate and the chapter that explains it.

let traceFlags = modelFlags + [
    FlagSpec(name: "prompt", defaultValue: "I drink coffee every", help: "the text to run through the model"),
    FlagSpec(name: "checkpoint", defaultValue: "", help: "trace a saved model (and its tokenizer) instead of an untrained one"),
    FlagSpec(name: "temperature", defaultValue: "1", help: "divide the last logits by this before softmax (chapter 14); shows the entropy"),
]

func trace(_ flags: Flags) throws {
    let prompt = flags.string("prompt")
    guard !prompt.allSatisfy(\.isWhitespace) else {
        throw CommandLineError.usage("--prompt is empty: give some text, e.g. --prompt \"I drink coffee every\"")
    }
    let temperature = try flags.number("temperature", in: 0.01...100)
    let (model, tokenizer, source) = try traceModel(flags)
    let config = model.config, trained = flags.isSet("checkpoint")
    Output.line(trained ? "gpt trace: one forward pass of the model saved in \(source), stage by stage"
                        : "gpt trace: one forward pass of an untrained model (seed \(flags.string("seed"))), stage by stage")
    Output.line("model: \(describe(config)); \(grouped(model.parameterCount)) parameters" + (trained ? "" : ", all random"))
    Output.line("convention: tokens are rows; [a, b] means a rows and b columns (docs/00-conventions.md)")
    Output.line()
    let ids = traceTokens(prompt, tokenizer, context: config.context, source: source)
    let labels = ids.map { visible(tokenizer.decode([$0])) }
    let (logits, saved) = model.forward(ids, windowLength: ids.count)
    stage("02 Embedding", "X = W_E[ids]: rows \(ids.map(String.init).joined(separator: ", ")) of W_E \(model.tokenEmbedding.weight.shape) → X [\(ids.count), \(config.width)], one row per token")
    more("row 0 (\(labels[0])) begins " + model.tokenEmbedding.weight.row(ids[0]).prefix(5).map { fixed($0, 3) }.joined(separator: " ") + " …")
    stage("03 Positions", "X₀ = X + P[0..<\(ids.count)]: P \(model.positionEmbedding.weight.shape) \(config.positions.rawValue) → X₀ \(saved.embedded.shape)")
    for l in model.blocks.indices { traceBlock(l, of: model, saved, labels: labels) }
    traceOutput(model, saved, logits, labels: labels, tokenizer: tokenizer, trained: trained, temperature: temperature)
}

/// The model and tokenizer to trace: a checkpoint's, or a fresh one from the model flags.
func traceModel(_ flags: Flags) throws -> (model: GPT, tokenizer: any Tokenizer, source: String) {
    try useThreads(flags)
    if flags.isSet("checkpoint") {
        if let modelFlag = modelFlags.map(\.name).first(where: { flags.isSet($0) && $0 != "threads" }) {
            throw CommandLineError.usage("--\(modelFlag) cannot be combined with --checkpoint: the checkpoint fixes the model and its tokenizer")
        }
        let checkpoint = try loadCheckpoint(flags.string("checkpoint"))
        return (checkpoint.model, checkpoint.tokenizer, flags.string("checkpoint"))
    }
    let corpus = try loadCorpus(flags)
    let config = try configuration(flags, vocabularySize: corpus.tokenizer.count)
    var random = RandomGenerator(seed: try seedFlag(flags))
    return (try GPT(config: config, random: &random), corpus.tokenizer, corpus.path)
}

private func stage(_ chapter: String, _ text: String) { Output.line(padded("[\(chapter)]", 17) + text) }
private func more(_ text: String) { Output.line(String(repeating: " ", count: 17) + text) }

/// Chapter 01: the prompt's pieces and IDs (the last `context` of them).
func traceTokens(_ prompt: String, _ tokenizer: any Tokenizer, context: Int, source: String) -> [Int] {
    let encoding = tokenizer.encode(prompt), pieces = tokenizer.pieces(of: prompt)
    var ids = encoding.ids
    stage("01 Tokens", "\"\(prompt)\" → \(pieces.count) tokens: " + pieces.map(visible).joined(separator: " | "))
    if !encoding.unknown.isEmpty {
        more("not in the vocabulary, so they became \(unknownPiece) (ID 0): " + encoding.unknown.map(visible).joined(separator: ", "))
    }
    if ids.count > context {
        more("longer than the context (\(context)): only the last \(context) tokens are used")
        ids = Array(ids.suffix(context))
    }
    more("token IDs: " + ids.map(String.init).joined(separator: " ") + "   (vocabulary of \(tokenizer.count) from \(source))")
    return ids
}

/// Chapters 05–08: one block, stage by stage, with head 0's attention weights.
func traceBlock(_ l: Int, of model: GPT, _ saved: GPT.Saved, labels: [String]) {
    let config = model.config, block = model.blocks[l], s = saved.blocks[l], pre = config.norm == .pre
    let T = labels.count, C = config.width, D = config.headWidth, H = config.heads
    Output.line()
    stage("08 Block", "block \(l + 1) of \(config.layers) (GPT-2: h.\(l)), \(pre ? "Pre-LN" : "Post-LN") order")
    let ln = config.layerNorm ? "" : " (--no-layernorm: LN(x) = x)", plus = config.residual ? "X + " : "", plus1 = config.residual ? "X₁ + " : ""
    if pre { stage("06 LayerNorm", "LN₁(X): each row to mean 0, variance 1, then γ ⊙ x̂ + β → [\(T), \(C)]" + ln) }
    stage("05 Attention", "[Q | K | V] = X·W_QKV + b: [\(T), \(C)]·\(block.attention.queryKeyValue.weight.shape) → \(s.attention.qkv.shape)")
    more("\(H) head\(H == 1 ? "" : "s") of width D = \(C)/\(H) = \(D): head h takes columns h·\(D)..<(h+1)·\(D) of Q, K and V → Q_h, K_h, V_h [\(T), \(D)] each")
    more((config.scaled ? "scores S = Q_h·K_hᵀ / √\(D)" : "scores S = Q_h·K_hᵀ, not scaled (--no-scale)") + " → [\(T), \(T)]; "
         + (config.masked ? "causal mask: row i keeps columns 0…i" : "no mask (--no-mask): row i sees all \(T) columns, the future too"))
    more("weights A = softmax of each row (chapter 04) → [\(T), \(T)], each row sums to 1; head 0:")
    printWeights(s.attention.weights[0], labels: labels, masked: config.masked)
    if l == 0 { more("(every head of every block as a picture: gpt attention --checkpoint DIR --prompt \"…\")") }
    more("Y_h = A·V_h → [\(T), \(D)] per head; concatenated \(H == 1 ? "[Y_0]" : "[Y_0 | … | Y_\(H - 1)]") → \(s.attention.concatenated.shape)")
    more("out = Y·W_O + b: \(s.attention.concatenated.shape)·\(block.attention.outputProjection.weight.shape) → [\(T), \(C)]   (W_O is not W_E)")
    if !config.residual { more("--no-residual: no X + below, each half's output replaces its input") }
    stage("08 Residual", pre ? "X₁ = \(plus)attention → \(s.afterAttention.shape)" : "\(plus)attention, then LN₁ (chapter 06) → X₁ \(s.afterAttention.shape)")
    if pre { stage("06 LayerNorm", "LN₂(X₁) → [\(T), \(C)]" + ln) }
    stage("07 FeedForward", "expand F = X·W_1 + b_1: [\(T), \(C)]·\(block.feedForward.expand.weight.shape) → \(s.feedForward.expanded.shape)")
    let activated = s.feedForward.activated, active = activated.values.filter { $0 > 0.01 }.count
    more("gate R = \(config.activation.rawValue.uppercased())(F) → \(activated.shape): \(active) of \(activated.values.count) detectors above 0.01")
    more("recombine Z = R·W_2 + b_2: \(activated.shape)·\(block.feedForward.contract.weight.shape) → [\(T), \(C)]")
    stage("08 Residual", pre ? "X₂ = \(plus1)Z → \(saved.blockOutputs[l].shape)" : "\(plus1)Z, then LN₂ → \(saved.blockOutputs[l].shape)")
}

/// Chapters 09 and 04: the final LayerNorm, the logits, and the five likeliest next tokens.
func traceOutput(_ model: GPT, _ saved: GPT.Saved, _ logits: Matrix, labels: [String], tokenizer: any Tokenizer, trained: Bool,
                 temperature: Float) {
    let config = model.config, T = labels.count
    Output.line()
    if config.norm == .pre { stage("09 Model", "final LayerNorm LN_f(X_\(config.layers)) → \(saved.final.shape)") }
    stage("09 Model", "logits = Z·Uᵀ: \(saved.final.shape)·\(model.unembedding.shape)ᵀ → \(logits.shape)  (U = \(config.tied ? "W_E, tied" : "lm_head, untied"))")
    more("row t holds a score for every candidate token after position t")
    let probabilities = softmax(logits.row(T - 1), temperature: temperature)
    let scaled = temperature == 1 ? "last row" : "last row / \(fixed(temperature, 2))"
    stage("04 Softmax", "p = softmax(\(scaled)) over \(tokenizer.count) candidates after \"\(labels[T - 1])\"; top 5:")
    for id in probabilities.indices.sorted(by: { probabilities[$0] > probabilities[$1] }).prefix(5) {
        more("  \(padded(visible(tokenizer.decode([id])), 14)) \(fixed(probabilities[id], 4))")
    }
    let entropy = -probabilities.reduce(0.0) { $1 > 0 ? $0 + Double($1) * log(Double($1)) : $0 }
    more("entropy −Σ p ln p = \(fixed(entropy, 3)) nats (0: one sure token; ln \(tokenizer.count) = \(fixed(log(Double(tokenizer.count)), 3)): all alike)")
    if !trained {
        more("untrained, every candidate is near 1/\(tokenizer.count) = \(fixed(1 / Float(tokenizer.count), 4)); `gpt train` changes that")
    }
}

/// A [T, T] weight matrix with the tokens as row and column labels; the masked future shows as ·.
func printWeights(_ weights: Matrix, labels: [String], masked: Bool = true) {
    let shown = min(weights.rows, 10)
    let labelWidth = min(12, (labels.prefix(shown).map(\.count).max() ?? 4) + 1)
    let cell = max(6, min(9, labelWidth))
    let indent = String(repeating: " ", count: 19)
    Output.line(indent + String(repeating: " ", count: labelWidth) + labels.prefix(shown).map { padded($0, cell) }.joined())
    for i in 0..<shown {
        var row = indent + padded(labels[i], labelWidth)
        for j in 0..<shown { row += padded(j <= i || !masked ? fixed(weights[i, j], 2) : "·", cell) }
        Output.line(row)
    }
    if weights.rows > shown { Output.line(indent + "(first \(shown) of \(weights.rows) tokens shown)") }
}
