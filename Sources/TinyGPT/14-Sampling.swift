// MARK: - Chapter 14: Sampling (docs/14-sampling.md)
//
// The model gives, for the last position, a probability for every candidate next token.
// Choosing one, appending it and running again is generation. The choice has knobs:
//   temperature τ: softmax(logits / τ); τ = 0 means greedy: always the most probable token
//   top-k:  keep only the k most probable tokens
//   top-p:  keep the smallest set of most probable tokens whose probabilities add up to ≥ p
// After filtering, the kept probabilities are divided by their sum, and one token is drawn.

public struct SamplingSettings: Equatable, Sendable {
    public var temperature: Float = 0.8    // 0 = greedy
    public var topK: Int? = nil            // nil = all tokens
    public var topP: Float? = nil          // nil = no nucleus cut; in (0, 1]

    public init(temperature: Float = 0.8, topK: Int? = nil, topP: Float? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }
}

/// logits [V] → the distribution the next token is drawn from [V] (zeros for filtered tokens).
public func nextTokenDistribution(_ logits: [Float], settings: SamplingSettings) -> [Float] {
    guard settings.temperature > 0 else {                                 // greedy: all mass on the argmax
        var oneHot = [Float](repeating: 0, count: logits.count)
        oneHot[argmax(logits)] = 1
        return oneHot
    }
    let p = softmax(logits, temperature: settings.temperature)
    // Most probable first; equal probabilities keep the lower ID first, so ties break the same way every run.
    let ranked = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
    var keep = ranked.count
    if let k = settings.topK { keep = min(keep, max(1, k)) }              // top-k
    if let topP = settings.topP {                                         // top-p: smallest prefix with mass ≥ p
        var mass: Float = 0
        for (n, id) in ranked.prefix(keep).enumerated() {
            mass += p[id]
            if mass >= topP { keep = n + 1; break }
        }
    }
    var filtered = [Float](repeating: 0, count: p.count)
    var total: Float = 0
    for id in ranked.prefix(keep) { filtered[id] = p[id]; total += p[id] }
    for id in ranked.prefix(keep) { filtered[id] /= total }               // renormalise
    return filtered
}

/// Index of the largest value (the first one on a tie).
public func argmax(_ values: [Float]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

/// Draws an index with the given probabilities: walk the running sum until it passes a uniform u.
public func drawToken(_ probabilities: [Float], random: inout RandomGenerator) -> Int {
    let u = Float(random.uniform())
    var cumulative: Float = 0
    var last = 0
    for (id, p) in probabilities.enumerated() where p > 0 {
        cumulative += p
        last = id
        if u < cumulative { return id }
    }
    return last                                                           // rounding left u past the end
}

extension GPT {
    /// prompt IDs (at least one) → prompt + `count` new IDs. Each step feeds the last `context`
    /// tokens back in. With `cached` (the key/value cache), a step runs only the newest token:
    /// its query meets every earlier token's key and value, kept from the steps before. That holds
    /// while the window grows; once it is full and slides, every position changes, and each step
    /// runs the whole window again, as without the cache. The tokens are the same either way.
    /// (Without the causal mask, an earlier token's keys would change as later ones arrive: no cache.)
    public func generate(prompt: [Int], count: Int, settings: SamplingSettings,
                         random: inout RandomGenerator, cached: Bool = true) -> [Int] {
        precondition(!prompt.isEmpty, "generation needs a prompt of at least one token")
        var ids = prompt
        var caches: [AttentionCache]? = nil                               // filled by the first step
        for _ in 0..<count {
            let logits: Matrix
            if cached && config.masked && ids.count <= config.context {
                let new = caches == nil ? ids : [ids[ids.count - 1]]      // the prompt first, then one token a step
                if caches == nil { caches = blocks.map { _ in AttentionCache() } }
                logits = forward(new, windowLength: new.count, caches: caches, saving: false).logits
            } else {
                let window = Array(ids.suffix(config.context))            // crop to the context
                logits = forward(window, windowLength: window.count, saving: false).logits
            }
            let last = logits.row(logits.rows - 1)                        // the prediction after the last token
            ids.append(drawToken(nextTokenDistribution(last, settings: settings), random: &random))
        }
        return ids
    }
}
