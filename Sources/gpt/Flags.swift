import Foundation

// The command line's flags: `--name value` or `--switch`, each with a default that --help shows.

/// What the command line refuses: one line on stderr, and the exit status that says whose fault
/// it was: 2 for bad usage (a flag, a value), 1 for a failure while running (a file, a diverged run).
struct CommandLineError: Error, CustomStringConvertible {
    let description: String
    let status: Int32

    static func usage(_ message: String) -> CommandLineError { CommandLineError(description: message, status: 2) }
    static func failure(_ message: String) -> CommandLineError { CommandLineError(description: message, status: 1) }
}

struct FlagSpec {
    let name: String          // without the dashes
    let defaultValue: String  // "" for a switch
    let help: String
    var isSwitch = false
}

/// Parsed flags of one command. Reading a flag converts and checks it, or throws a UsageError.
struct Flags {
    let command: String
    let specs: [FlagSpec]
    private var values: [String: String] = [:]
    private var given: [(name: String, value: String?)] = []     // in the order given, for `arguments(without:)`
    private(set) var words: [String] = []                        // arguments that are not flags (gpt explore's)

    init(command: String, specs: [FlagSpec], arguments: [String], takesWords: Bool = false) throws {
        self.command = command
        self.specs = specs
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if takesWords && !argument.hasPrefix("--") {
                words.append(argument)
                i += 1
                continue
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw CommandLineError.usage("unexpected argument '\(argument)': flags look like --name value (see gpt \(command) --help)")
            }
            let name = String(argument.dropFirst(2))
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw CommandLineError.usage("unknown flag --\(name) for 'gpt \(command)' (see gpt \(command) --help)")
            }
            if spec.isSwitch {
                values[name] = "true"
                given.append((name, nil))
                i += 1
            } else {
                guard i + 1 < arguments.count else { throw CommandLineError.usage("--\(name) needs a value (default: \(spec.defaultValue))") }
                values[name] = arguments[i + 1]
                given.append((name, arguments[i + 1]))
                i += 2
            }
        }
    }

    func string(_ name: String) -> String {
        values[name] ?? specs.first { $0.name == name }?.defaultValue ?? ""
    }

    func isSet(_ name: String) -> Bool { values[name] != nil }

    /// Every value of a flag that may be given more than once, in order (`--in "…" --in "…"`).
    func all(_ name: String) -> [String] { given.filter { $0.name == name }.compactMap(\.value) }

    /// The arguments as they were given, without the named flags (and their values).
    func arguments(without names: [String]) -> [String] {
        given.filter { !names.contains($0.name) }.flatMap { ["--" + $0.name] + ($0.value.map { [$0] } ?? []) }
    }

    func flag(_ name: String) -> Bool { values[name] == "true" }

    func integer(_ name: String, atLeast minimum: Int) throws -> Int {
        let text = string(name)
        guard let value = Int(text) else { throw CommandLineError.usage("--\(name) takes a whole number, got '\(text)'") }
        guard value >= minimum else { throw CommandLineError.usage("--\(name) must be at least \(minimum), got \(value)") }
        return value
    }

    func number(_ name: String, in range: ClosedRange<Float> = -Float.greatestFiniteMagnitude...Float.greatestFiniteMagnitude) throws -> Float {
        let text = string(name)
        guard let value = Float(text), value.isFinite else { throw CommandLineError.usage("--\(name) takes a number, got '\(text)'") }
        guard range.contains(value) else {
            throw CommandLineError.usage("--\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(text)")
        }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws -> T where T.RawValue == String {
        let text = string(name)
        guard let value = T(rawValue: text) else {
            throw CommandLineError.usage("--\(name) takes one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
        }
        return value
    }

    var usage: String {
        let width = (specs.map { $0.name.count + ($0.isSwitch ? 0 : 6) }.max() ?? 0) + 4
        return specs.map { spec in
            let left = "  --\(spec.name)" + (spec.isSwitch ? "" : " VALUE")
            let pad = String(repeating: " ", count: max(1, width - left.count + 2))
            let shown = spec.isSwitch ? "" : "  (default: \(spec.defaultValue.isEmpty ? "none" : spec.defaultValue))"
            return left + pad + spec.help + shown
        }.joined(separator: "\n")
    }
}
