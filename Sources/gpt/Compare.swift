import Foundation
import TinyGPT

// gpt compare --a "FLAGS" --b "FLAGS": two fresh runs of chapter 13's loop on the same corpus and
// seed, one setting changed (docs/exercises.md). Prints both loss curves as one table, a sample
// from each, and writes out/compare.svg with the four curves labelled A and B.

/// Train's flags, minus those that save or resume (a comparison keeps nothing but its picture).
let compareFlags: [FlagSpec] = [
    FlagSpec(name: "a", defaultValue: "", help: "flags of run A, as for gpt train, in one string (e.g. \"--no-mask\")"),
    FlagSpec(name: "b", defaultValue: "", help: "flags of run B (empty: train's defaults)"),
] + trainFlags.filter { !["save", "save-every", "stop-at", "resume", "init-from", "prompt"].contains($0.name) } + [
    FlagSpec(name: "prompt", defaultValue: "", help: "the text both runs continue (default: the first of the demo's prompts the corpus has)"),
]

/// "--lr 1e-3 --prompt \"the dog\"" → ["--lr", "1e-3", "--prompt", "the dog"]: spaces split, quotes group.
func splitArguments(_ text: String) throws -> [String] {
    var words: [String] = [], word = "", quote: Character? = nil, inWord = false
    for character in text {
        if let open = quote {
            if character == open { quote = nil } else { word.append(character) }
        } else if character == "\"" || character == "'" {
            (quote, inWord) = (character, true)
        } else if character.isWhitespace {
            if inWord { words.append(word) }
            (word, inWord) = ("", false)
        } else {
            word.append(character)
            inWord = true
        }
    }
    guard quote == nil else { throw CommandLineError.usage("a quote is not closed in '\(text)'") }
    if inWord { words.append(word) }
    return words
}

func compare(_ flags: Flags) throws {
    let common = flags.arguments(without: ["a", "b"])
    let sides = try ["a", "b"].map { side in
        let extra = try splitArguments(flags.string(side))
        if let bad = extra.first(where: { ["--a", "--b", "--save", "--save-every", "--stop-at", "--resume"].contains($0) }) {
            throw CommandLineError.usage("--\(side) cannot hold \(bad): a comparison trains two fresh runs and keeps only its picture")
        }
        do {
            return try Flags(command: "compare --\(side)", specs: compareFlags, arguments: common + extra)
        } catch let error as CommandLineError { throw CommandLineError.usage("--\(side) \"\(flags.string(side))\": \(error)") }
    }
    var runs = try sides.map(freshRun)          // every flag of both sides is checked before either trains
    let plans = try zip(sides, runs).map { try trainPlan($0, $1, demo: false) }
    Output.line("compare  A: \(label(flags.string("a")))   B: \(label(flags.string("b")))   (the same corpus, seed and batches)")
    for (name, run) in zip(["A", "B"], runs) {
        Output.line("  \(name)  \(describe(run.trainer.model.config)) = \(grouped(run.trainer.model.parameterCount)) parameters")
    }
    var stopped = [false, false]
    for i in runs.indices {
        let name = i == 0 ? "A" : "B"
        do {
            try runs[i].trainer.run(through: plans[i].lastStep, cadence: plans[i].cadence, report: { progress, trainer in
                Output.progress("\(name) step \(progress.report.step)/\(trainer.optimizer.settings.totalSteps)  loss \(fixed(progress.report.loss, 4))")
            })
        } catch let error as TinyGPTError where error.kind == .training {
            Output.endProgress()                                          // a diverged run is a result too
            Output.line("  \(name) stopped: \(error.description)")
            stopped[i] = true
        }
        Output.endProgress()
    }
    printCurves(runs[0].trainer, runs[1].trainer)
    try printComparedSamples(runs, plans, flags, stopped: stopped)
    try writeComparison(runs, flags)
}

/// A side's flags as the table shows them: "(defaults)" when empty.
func label(_ sideFlags: String) -> String { sideFlags.isEmpty ? "(train's defaults)" : sideFlags }

/// Both runs' training loss (the mean since the last row) and held-out loss, step by step.
func printCurves(_ a: Trainer, _ b: Trainer) {
    Output.line("step     A loss     B loss     A held-out  B held-out")
    let steps = Array(Set(a.heldOutHistory.map(\.step) + b.heldOutHistory.map(\.step))).sorted()
    for (index, step) in steps.enumerated() {
        let previous = index == 0 ? 0 : steps[index - 1]
        func mean(_ trainer: Trainer) -> String {
            let losses = trainer.history.filter { $0.step > previous && $0.step <= step }.map(\.loss)
            return losses.isEmpty ? "     -" : fixed(losses.reduce(0, +) / Float(losses.count), 4)
        }
        func heldOut(_ trainer: Trainer) -> String { trainer.heldOutHistory.first { $0.step == step }.map { fixed($0.loss, 4) } ?? "     -" }
        Output.line(padded(String(step), 8) + " " + padded(mean(a), 10) + " " + padded(mean(b), 10) + " "
                    + padded(heldOut(a), 11) + " " + heldOut(b))
    }
    Output.line("curves   A " + sparkline(a.history.map(\.loss), width: 30) + "   B " + sparkline(b.history.map(\.loss), width: 30))
}

/// One continuation of --prompt (default: the first demo prompt each corpus can encode) from each run.
func printComparedSamples(_ runs: [Run], _ plans: [TrainPlan], _ flags: Flags, stopped: [Bool]) throws {
    for (i, (name, (run, plan))) in zip(["A", "B"], zip(runs, plans)).enumerated() {
        guard !stopped[i] else { Output.line("sample \(name): none, the run stopped"); continue }
        let tokenizer = run.corpus.tokenizer
        let prompt = flags.isSet("prompt") ? flags.string("prompt")
                                           : demoPrompts.first { !tokenizer.encode($0).ids.isEmpty && tokenizer.encode($0).unknown.isEmpty } ?? ""
        let ids = tokenizer.encode(prompt).ids
        guard !ids.isEmpty else { continue }
        var random = RandomGenerator(seed: run.seed &+ 1)
        let continuation = run.trainer.model.generate(prompt: ids, count: plan.sampleLength, settings: plan.sampling, random: &random)
        Output.line("sample \(name) (temperature \(flags.string("temperature")))  " + oneLine(tokenizer.decode(continuation)))
    }
}

/// out/compare.svg: A's curves blue, B's orange; train solid, held-out dashed.
func writeComparison(_ runs: [Run], _ flags: Flags) throws {
    var curves: [LossChart.Curve] = []
    for (name, (run, color)) in zip(["A", "B"], zip(runs, ["#1f6feb", "#e36209"])) {
        curves.append(LossChart.Curve(label: "\(name) train", points: run.trainer.history, color: color, dash: "none"))
        if !run.trainer.heldOutHistory.isEmpty {
            curves.append(LossChart.Curve(label: "\(name) held-out", points: run.trainer.heldOutHistory, color: color, dash: "6 4"))
        }
    }
    let path = (flags.string("out") as NSString).appendingPathComponent("compare.svg")
    let chart = LossChart(curves: curves, title: "A: \(label(flags.string("a")))   B: \(label(flags.string("b")))",
                          subtitle: "gpt compare on \((runs[0].corpus.path as NSString).lastPathComponent), seed \(runs[0].seed)",
                          floor: nil)
    try Output.write(chart.svg(), to: path)
    Output.line("wrote    \(path) (A and B: train and held-out loss against step)")
}
