// MARK: - Chapter 09: Model (docs/09-model.md)
//
// The whole forward pass, top to bottom:
//   X₀ = W_E[ids] + P                 embedding + positions           [B·T, C]   (chapters 02, 03)
//   X_l = Block_l(X_{l−1})            l = 1…L                         [B·T, C]   (chapter 08)
//   Z = LN_f(X_L)                     Pre-LN only; Post-LN ends normalised already
//   logits = Z·Uᵀ                     U = W_E (tied) or its own [V, C] [B·T, V]: row t scores every candidate next token
// Unembedding compares each final row with every vocabulary row by a dot product: the larger,
// the better the match. Softmax (chapter 04) turns a row of logits into next-token probabilities.

/// Everything that fixes the model's shape. `validate()` says which value to change.
public struct Configuration: Equatable, Sendable {
    public var vocabularySize: Int            // V (GPT-2: vocab_size)
    public var context: Int                   // longest window T (n_positions)
    public var width: Int                     // C (n_embd)
    public var layers: Int                    // L (n_layer)
    public var heads: Int                     // H (n_head)
    public var norm: NormOrder
    public var activation: Activation
    public var positions: PositionKind
    public var tied: Bool                     // unembedding U = W_E (tie_word_embeddings)
    public var layerNormEpsilon: Float
    // Switches for the exercises (docs/exercises.md): each turns off one part of GPT-2.
    public var masked = true                  // the causal mask (chapter 05; --no-mask)
    public var scaled = true                  // scores divided by √D (chapter 05; --no-scale)
    public var residual = true                // the residual adds (chapter 08; --no-residual)
    public var layerNorm = true               // every LayerNorm (chapters 06, 08, 09; --no-layernorm)

    public init(vocabularySize: Int = 256, context: Int = 32, width: Int = 64, layers: Int = 2, heads: Int = 4,
                norm: NormOrder = .pre, activation: Activation = .gelu, positions: PositionKind = .learned,
                tied: Bool = true, layerNormEpsilon: Float = 1e-5) {
        (self.vocabularySize, self.context, self.width, self.layers, self.heads) = (vocabularySize, context, width, layers, heads)
        (self.norm, self.activation, self.positions, self.tied) = (norm, activation, positions, tied)
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// D = C / H
    public var headWidth: Int { width / heads }

    /// Throws a `TinyGPTError` naming the value to change.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw TinyGPTError(.configuration, message) }
        }
        try require(vocabularySize >= 2, "vocabulary size \(vocabularySize) is too small: it needs at least 2 entries")
        try require(context >= 1, "context \(context) must be at least 1 (--context)")
        try require(width >= 1, "width \(width) must be at least 1 (--width)")
        try require(layers >= 1, "layers \(layers) must be at least 1 (--layers)")
        try require(heads >= 1, "heads \(heads) must be at least 1 (--heads)")
        try require(width % heads == 0,
                    "width \(width) is not divisible by heads \(heads): choose --width a multiple of --heads (e.g. \(max(heads, width / heads * heads)))")
        try require(positions != .sinusoidal || width % 2 == 0,
                    "sinusoidal positions need an even width, got \(width): change --width")
        try require(layerNormEpsilon > 0, "layer_norm_epsilon must be positive")
        // The numbers the model will hold (parameters, and the position table): counted in Double so
        // that absurd sizes give this message instead of an integer overflow.
        let (v, t, c, l) = (Double(vocabularySize), Double(context), Double(width), Double(layers))
        let numbers = v * c * (tied ? 1 : 2) + t * c + l * (12 * c * c + 13 * c) + 2 * c
        try require(numbers <= 1e9, "a model of \(Int(min(numbers, 1e18))) numbers does not fit in memory: make --width, --layers, --context or the vocabulary smaller")
    }
}

/// A set of numbers shaped like a model's parameters that is not a model: a gradient (chapter 11)
/// or one of AdamW's moments (chapter 12). It is the same type, so one parameter list (below)
/// walks a model, its gradient and its moments alike.
public typealias Gradients = GPT

public struct GPT: Sendable {
    public let config: Configuration
    public var tokenEmbedding: Embedding       // W_E [V, C] (GPT-2: wte)
    public var positionEmbedding: Positions    // P [context, C] (GPT-2: wpe; fixed when sinusoidal)
    public var blocks: [Block]                 // L blocks (GPT-2: h.0, h.1, …)
    public var finalNorm: LayerNorm?           // final LayerNorm, Pre-LN only (GPT-2: ln_f)
    public var untiedUnembedding: Matrix?      // U [V, C] when untied (GPT-2: lm_head); nil when U = W_E

    /// A fresh model with GPT-2's initialisation: weights N(0, 0.02²); the two projections that
    /// write into the residual stream (attn.c_proj, mlp.c_proj) N(0, (0.02/√(2L))²); biases 0; γ 1, β 0.
    /// (`std` 0: every weight 0 and no draws, for a loader that fills them, chapter 17.)
    public init(config: Configuration, random: inout RandomGenerator, std: Float = 0.02) throws {
        try config.validate()
        let C = config.width
        let residualStd = std / Float(2 * config.layers).squareRoot()
        self.config = config
        tokenEmbedding = Embedding(weight: Matrix.random(rows: config.vocabularySize, cols: C, std: std, random: &random))
        positionEmbedding = Positions(kind: config.positions, context: config.context, width: C, std: std, random: &random)
        blocks = []
        for _ in 0..<config.layers {
            let attention = Attention(
                queryKeyValue: Linear(inputs: C, outputs: 3 * C, std: std, random: &random),
                outputProjection: Linear(inputs: C, outputs: C, std: residualStd, random: &random),
                heads: config.heads, masked: config.masked, scaled: config.scaled)
            let feedForward = FeedForward(
                expand: Linear(inputs: C, outputs: 4 * C, std: std, random: &random),
                contract: Linear(inputs: 4 * C, outputs: C, std: residualStd, random: &random),
                activation: config.activation)
            blocks.append(Block(ln1: LayerNorm(width: C, epsilon: config.layerNormEpsilon, normalizes: config.layerNorm),
                                attention: attention,
                                ln2: LayerNorm(width: C, epsilon: config.layerNormEpsilon, normalizes: config.layerNorm),
                                feedForward: feedForward, order: config.norm, residual: config.residual))
        }
        finalNorm = config.norm == .pre ? LayerNorm(width: C, epsilon: config.layerNormEpsilon, normalizes: config.layerNorm) : nil
        untiedUnembedding = config.tied ? nil : Matrix.random(rows: config.vocabularySize, cols: C, std: std, random: &random)
    }

    /// U [V, C]: row v is the vector that candidate token v is matched against.
    public var unembedding: Matrix { untiedUnembedding ?? tokenEmbedding.weight }

    public struct Saved: Sendable {
        public let ids: [Int]                 // [B·T]
        public let embedded: Matrix           // X₀ = W_E[ids] + P [B·T, C]
        public let blocks: [Block.Saved]      // one per block
        public let blockOutputs: [Matrix]     // X_1 … X_L [B·T, C]
        public let finalNorm: LayerNorm.Saved?
        public let final: Matrix              // Z [B·T, C], the rows that meet U
    }

    /// ids [B·T] (B windows of T tokens, one after another) → logits [B·T, V].
    /// Row b·T + t holds the scores for the token after position t of window b. With `caches`
    /// (generation, chapter 14: one per block), ids are the newest tokens of one window. Without
    /// `saving` (evaluation, generation: no backward follows) each block's saved rows are let go
    /// as soon as the next block has run, and `saved` holds no blocks.
    public func forward(_ ids: [Int], windowLength T: Int, caches: [AttentionCache]? = nil, saving: Bool = true) -> (logits: Matrix, saved: Saved) {
        let seen = caches?.first?.qkv.rows ?? 0                                       // tokens before these (generation)
        precondition(T >= 1 && seen + T <= config.context && ids.count % T == 0, "windows of \(T) tokens from \(ids.count) IDs")
        let tokens = tokenEmbedding.forward(ids)                                     // W_E[ids]  [B·T, C]
        var x = positionEmbedding.forward(tokens, windowLength: T, first: seen)          // X₀ = W_E[ids] + P
        let embedded = x
        var blockSaved: [Block.Saved] = [], blockOutputs: [Matrix] = []
        for (l, block) in blocks.enumerated() {
            let (y, saved) = block.forward(x, windowLength: T, cache: caches?[l])      // X_l = Block_l(X_{l−1})
            if saving {
                blockSaved.append(saved)
                blockOutputs.append(y)
            }
            x = y
        }
        var finalNormSaved: LayerNorm.Saved? = nil
        if let finalNorm {
            let (z, saved) = finalNorm.forward(x)                               // Z = LN_f(X_L)
            finalNormSaved = saved
            x = z
        }
        let logits = x.timesTransposed(unembedding)                       // logits = Z·Uᵀ  [B·T, V]
        return (logits, Saved(ids: ids, embedded: embedded, blocks: blockSaved, blockOutputs: blockOutputs,
                              finalNorm: finalNormSaved, final: x))
    }
}

// MARK: The parameters, by GPT-2's names
// One list names every trained matrix, so counting, the optimizer (chapter 12) and checkpoints
// walk the same list. Vectors (biases, γ, β) are [1, n] matrices.

public struct Parameter {
    public let name: String                          // GPT-2's name, e.g. "h.0.attn.c_attn.weight"
    public let path: WritableKeyPath<GPT, Matrix>
    public let decays: Bool                          // weight decay applies (chapter 12): matrices, not vectors
}

extension GPT {
    public var parameters: [Parameter] {
        var list = [Parameter(name: "wte.weight", path: \GPT.tokenEmbedding.weight, decays: true)]
        if positionEmbedding.kind == .learned { list.append(Parameter(name: "wpe.weight", path: \GPT.positionEmbedding.weight, decays: true)) }
        for l in blocks.indices {
            let block: WritableKeyPath<GPT, Block> = \GPT.blocks[l]
            func add(_ name: String, _ path: WritableKeyPath<Block, Matrix>, decays: Bool) {
                list.append(Parameter(name: "h.\(l).\(name)", path: block.appending(path: path), decays: decays))
            }
            add("ln_1.weight", \Block.ln1.gamma, decays: false)
            add("ln_1.bias", \Block.ln1.beta, decays: false)
            add("attn.c_attn.weight", \Block.attention.queryKeyValue.weight, decays: true)
            add("attn.c_attn.bias", \Block.attention.queryKeyValue.bias, decays: false)
            add("attn.c_proj.weight", \Block.attention.outputProjection.weight, decays: true)
            add("attn.c_proj.bias", \Block.attention.outputProjection.bias, decays: false)
            add("ln_2.weight", \Block.ln2.gamma, decays: false)
            add("ln_2.bias", \Block.ln2.beta, decays: false)
            add("mlp.c_fc.weight", \Block.feedForward.expand.weight, decays: true)
            add("mlp.c_fc.bias", \Block.feedForward.expand.bias, decays: false)
            add("mlp.c_proj.weight", \Block.feedForward.contract.weight, decays: true)
            add("mlp.c_proj.bias", \Block.feedForward.contract.bias, decays: false)
        }
        if finalNorm != nil {
            list.append(Parameter(name: "ln_f.weight", path: \GPT.finalNorm!.gamma, decays: false))
            list.append(Parameter(name: "ln_f.bias", path: \GPT.finalNorm!.beta, decays: false))
        }
        if untiedUnembedding != nil { list.append(Parameter(name: "lm_head.weight", path: \GPT.untiedUnembedding!, decays: true)) }
        return list
    }

    /// How many numbers training adjusts (a tied W_E counts once).
    public var parameterCount: Int {
        parameters.reduce(0) { $0 + self[keyPath: $1.path].values.count }
    }

    /// Changes the parameter at `path` in place. (Speed, and why it is not `&model[keyPath: path]`:
    /// through `blocks[l]` that holds a second reference to the matrix while it writes, so every number was copied.)
    public mutating func modify(_ path: WritableKeyPath<GPT, Matrix>, _ change: (inout Matrix) -> Void) {
        var matrix = self[keyPath: path]
        self[keyPath: path] = Matrix(rows: 0, cols: 0)
        change(&matrix)
        self[keyPath: path] = matrix
    }

    /// Every parameter of the same shape set to 0: where a gradient (chapter 11) or a moment of
    /// AdamW (chapter 12) starts.
    public func zeroed() -> Gradients {
        var copy = self
        for parameter in parameters {
            let old = copy[keyPath: parameter.path]
            copy[keyPath: parameter.path] = Matrix(rows: old.rows, cols: old.cols)
        }
        return copy
    }
}
