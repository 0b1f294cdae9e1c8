import Foundation
import TinyGPT

// gpt bench: training steps (forward + backward + AdamW) per second on random tokens, and the
// matrix product alone. Timings live here, never in the tests.

let benchFlags: [FlagSpec] = [
    FlagSpec(name: "preset", defaultValue: "all", help: "demo, baby, small, or all"),
    threadsFlag,
    FlagSpec(name: "shards", defaultValue: "2", help: "groups of windows that may run on separate cores"),
    FlagSpec(name: "steps", defaultValue: "", help: "timed steps per run (default: about 1 s of work per run)"),
    FlagSpec(name: "runs", defaultValue: "5", help: "timed runs; the median is reported"),
    FlagSpec(name: "kernel", defaultValue: "", help: "time the matrix product alone (and the FMA peak)", isSwitch: true),
    FlagSpec(name: "shapes", defaultValue: "768x128x512,512x512x512",
             help: "with --kernel: comma list of NxKxM ([N, K]·[K, M]); a t after N or M reads A or B transposed"),
    FlagSpec(name: "json", defaultValue: "", help: "print one JSON object per line", isSwitch: true),
]

struct Preset {
    let name: String
    let config: Configuration
    let batch: Int

    /// FLOPs per trained token: 6·N_mm + 12·L·C·T, N_mm = 12·L·C² + V·C (matmul weights only).
    var flopsPerToken: Double {
        let (L, C, T, V) = (Double(config.layers), Double(config.width), Double(config.context), Double(config.vocabularySize))
        return 6 * (12 * L * C * C + V * C) + 12 * L * C * T
    }
}

let presets = [
    Preset(name: "demo", config: Configuration(vocabularySize: 200, context: 32, width: 64, layers: 2, heads: 4), batch: 16),
    Preset(name: "baby", config: Configuration(vocabularySize: 65, context: 64, width: 128, layers: 4, heads: 4), batch: 12),
    Preset(name: "small", config: Configuration(vocabularySize: 65, context: 256, width: 384, layers: 6, heads: 6), batch: 8),
]

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func bench(_ flags: Flags) throws {
    try useThreads(flags)
    let runs = try flags.integer("runs", atLeast: 1)
    let shards = try flags.integer("shards", atLeast: 1)
    let json = flags.flag("json")
    if flags.flag("kernel") { return try benchKernel(shapes: try kernelShapes(flags.string("shapes")), runs: runs, json: json) }
    if flags.isSet("shapes") { throw CommandLineError.usage("--shapes goes with --kernel (the training presets have shapes of their own)") }
    let name = flags.string("preset")
    let chosen = name == "all" ? presets : presets.filter { $0.name == name }
    guard !chosen.isEmpty else {
        throw CommandLineError.usage("--preset takes one of demo, baby, small, all, got '\(name)'")
    }
    let steps = flags.isSet("steps") ? try flags.integer("steps", atLeast: 1) : nil
    if !json {
        Output.line("gpt bench: training steps (forward + backward + AdamW) on random tokens, \(FastProduct.threads) thread(s), median of \(runs) runs")
        Output.line("preset  V    T    L  H  C    B    params      ms/step  tokens/s   GFLOP/s")
    }
    for preset in chosen {
        let (perStep, parameters) = try timeSteps(preset, runs: runs, steps: steps, shards: shards)
        let tokensPerSecond = Double(preset.batch * preset.config.context) / perStep
        let gflops = tokensPerSecond * preset.flopsPerToken / 1e9
        if json {
            Output.line("{\"preset\": \"\(preset.name)\", \"threads\": \(FastProduct.threads), \"tokens_per_s\": \(fixed(tokensPerSecond, 1)), "
                        + "\"gflops\": \(fixed(gflops, 3)), \"ms_per_step\": \(fixed(perStep * 1000, 3)), \"parameters\": \(parameters)}")
        } else {
            let c = preset.config
            Output.line(padded(preset.name, 8) + padded("\(c.vocabularySize)", 5) + padded("\(c.context)", 5)
                        + padded("\(c.layers)", 3) + padded("\(c.heads)", 3) + padded("\(c.width)", 5)
                        + padded("\(preset.batch)", 5) + padded(grouped(parameters), 12)
                        + padded(fixed(perStep * 1000, 2), 9) + padded(grouped(Int(tokensPerSecond)), 11) + fixed(gflops, 1))
        }
    }
}

/// The median seconds per training step of a preset over `runs` runs of `steps` steps (default:
/// about one second of work per run), after two warm-up steps; and the model's parameter count.
func timeSteps(_ preset: Preset, runs: Int, steps: Int?, shards: Int) throws -> (seconds: Double, parameters: Int) {
    var random = RandomGenerator(seed: 1)
    let model = try GPT(config: preset.config, random: &random)
    let ids = (0..<(preset.config.context * 64 + 1)).map { _ in random.integer(below: preset.config.vocabularySize) }
    let dataset = try TextDataset(ids: ids, windowLength: preset.config.context, heldOutFraction: 0)
    var trainer = Trainer(model: model, dataset: dataset, batchSize: preset.batch, settings: OptimizerSettings(),
                          random: random, shards: shards)
    let clock = ContinuousClock()
    // Warm-up: two steps (first allocations, caches), and a guess of the step time.
    let warm = clock.now
    for _ in 0..<2 { _ = try trainer.step() }
    let guess = max(seconds(clock.now - warm) / 2, 1e-4)
    let steps = steps ?? max(2, Int(1.0 / guess))
    var timings: [Double] = []
    for _ in 0..<runs {
        let started = clock.now
        for _ in 0..<steps { _ = try trainer.step() }
        timings.append(seconds(clock.now - started) / Double(steps))
    }
    return (median(timings), model.parameterCount)
}

/// One product to time: [n, k]·[k, m], with A stored as [k, n] or B as [m, k] when transposed.
struct KernelShape {
    let n: Int, k: Int, m: Int
    let transposingA: Bool, transposingB: Bool
    var name: String { "\(n)\(transposingA ? "t" : "")x\(k)x\(m)\(transposingB ? "t" : "")" }
}

/// "768x128x512,1024tx384x1152" → shapes; a `t` after N (or M) means A (or B) is read transposed.
func kernelShapes(_ text: String) throws -> [KernelShape] {
    try text.split(separator: ",").map { item in
        let parts = item.split(separator: "x", omittingEmptySubsequences: false).map(String.init)
        func size(_ part: String, _ mayTranspose: Bool) -> (Int, Bool)? {
            let transposed = mayTranspose && part.hasSuffix("t")
            guard let value = Int(transposed ? String(part.dropLast()) : part), value >= 1, value <= 8192 else { return nil }
            return (value, transposed)
        }
        guard parts.count == 3, let (n, ta) = size(parts[0], true), let (k, _) = size(parts[1], false),
              let (m, tb) = size(parts[2], true) else {
            throw CommandLineError.usage("--shapes takes NxKxM items (1 to 8192 each, optional t after N or M), got '\(item)'")
        }
        return KernelShape(n: n, k: k, m: m, transposingA: ta, transposingB: tb)
    }
}

/// GFLOP/s of the product alone on the given shapes, and of a loop that only does fused multiply-adds.
func benchKernel(shapes: [KernelShape], runs: Int, json: Bool) throws {
    var random = RandomGenerator(seed: 1)
    let clock = ContinuousClock()
    if !json {
        Output.line("gpt bench --kernel: C = A·B, \(FastProduct.threads) thread(s), median of \(runs) runs, "
                    + "\(FastProduct.tileRows)×\(FastProduct.tileCols) register tiles of SIMD\(FastProduct.Vector.scalarCount)")
    }
    for shape in shapes {
        let (n, k, m) = (shape.n, shape.k, shape.m)
        let a = shape.transposingA ? Matrix.random(rows: k, cols: n, std: 1, random: &random)
                                   : Matrix.random(rows: n, cols: k, std: 1, random: &random)
        let b = shape.transposingB ? Matrix.random(rows: m, cols: k, std: 1, random: &random)
                                   : Matrix.random(rows: k, cols: m, std: 1, random: &random)
        func product() -> Matrix {
            FastProduct.multiply(a.asView, b.asView, transposingA: shape.transposingA, transposingB: shape.transposingB)
        }
        _ = product()
        let flops = 2.0 * Double(n * k * m)
        let repeats = max(3, Int(0.3e9 / flops))
        var timings: [Double] = []
        for _ in 0..<runs {
            let started = clock.now
            for _ in 0..<repeats { _ = product() }
            timings.append(seconds(clock.now - started) / Double(repeats))
        }
        let gflops = flops / median(timings) / 1e9
        if json {
            Output.line("{\"kernel\": \"\(shape.name)\", \"threads\": \(FastProduct.threads), \"gflops\": \(fixed(gflops, 2))}")
        } else {
            let aText = shape.transposingA ? "[\(k), \(n)]ᵀ" : "[\(n), \(k)]"
            let bText = shape.transposingB ? "[\(m), \(k)]ᵀ" : "[\(k), \(m)]"
            Output.line("  \(aText)·\(bText)   \(fixed(gflops, 1)) GFLOP/s")
        }
    }
    let peak = fmaPeak(clock: clock)
    if json {
        Output.line("{\"kernel\": \"fma-peak-one-core\", \"threads\": 1, \"gflops\": \(fixed(peak, 2))}")
    } else {
        Output.line("  one core's FMA peak (12 independent SIMD\(PeakVector.scalarCount) multiply-add chains): \(fixed(peak, 1)) GFLOP/s")
    }
}

typealias PeakVector = FastProduct.Vector   // the widest register the build uses: 8 floats, or 16 with AVX-512

/// Twelve independent chains of fused multiply-adds on the widest register: as fast as this core can do FMAs.
func fmaPeak(clock: ContinuousClock) -> Double {
    var accumulators = [PeakVector](repeating: PeakVector(repeating: 1), count: 12)
    let x = PeakVector(repeating: 0.999_999), y = PeakVector(repeating: 1e-7)
    let iterations = 20_000_000
    var best = 0.0
    for _ in 0..<3 {
        let started = clock.now
        var a0 = accumulators[0], a1 = accumulators[1], a2 = accumulators[2], a3 = accumulators[3]
        var a4 = accumulators[4], a5 = accumulators[5], a6 = accumulators[6], a7 = accumulators[7]
        var a8 = accumulators[8], a9 = accumulators[9], a10 = accumulators[10], a11 = accumulators[11]
        for _ in 0..<iterations {
            a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x); a2 = y.addingProduct(a2, x); a3 = y.addingProduct(a3, x)
            a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x); a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x)
            a8 = y.addingProduct(a8, x); a9 = y.addingProduct(a9, x); a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
        }
        accumulators = [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11]
        let elapsed = seconds(clock.now - started)
        best = max(best, Double(iterations) * 12 * Double(PeakVector.scalarCount) * 2 / elapsed / 1e9)
    }
    if accumulators.reduce(0, { $0 + $1.sum() }) == 0 { Output.line("") }   // keeps the loop from being removed
    return best
}
