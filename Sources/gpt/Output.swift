import Foundation

// Printing and files: the only place that touches stdout, stderr and the disk.

enum Output {
    /// True when stdout is a terminal: progress is then one line rewritten in place.
    static let isTerminal = isatty(STDOUT_FILENO) != 0

    static func line(_ text: String = "") { emit(text + "\n") }

    /// Unbuffered: each line reaches a pipe or a terminal as soon as it is printed.
    static func emit(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    /// Rewrites the current terminal line (only on a terminal).
    static func progress(_ text: String) {
        guard isTerminal else { return }
        emit("\r\u{1B}[K" + text)
    }

    static func endProgress() {
        if isTerminal { emit("\r\u{1B}[K") }
    }

    static func error(_ text: String) {
        endProgress()
        FileHandle.standardError.write(Data(("gpt: " + text + "\n").utf8))
    }

    /// A remark that is not the command's output (stderr), so stdout stays clean for a pipe.
    static func note(_ text: String) {
        endProgress()
        FileHandle.standardError.write(Data(("note: " + text + "\n").utf8))
    }

    /// Writes through a temporary file and a rename: a reader sees the old file or the whole new one.
    /// Through a symbolic link it writes the link's target; it never replaces what is not a regular file.
    static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        try checkWritable(url.path, flag: "cannot write", isFolder: false, status: 1)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw CommandLineError.failure("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Before any work: one line saying why `path` (a folder to write into, or a file) could not be
    /// written later. It creates nothing. `flag` opens the message ("--out", "--logits").
    static func checkWritable(_ path: String, flag: String, isFolder: Bool, status: Int32 = 2) throws {
        func refuse(_ why: String) -> CommandLineError { CommandLineError(description: "\(flag) \(path): \(why)", status: status) }
        let files = FileManager.default, resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: resolved.path, isDirectory: &isDirectory) {
            let type = (try? files.attributesOfItem(atPath: resolved.path))?[.type] as? FileAttributeType
            if isFolder && !isDirectory.boolValue { throw refuse("is a file, not a folder: give a folder") }
            if !isFolder && type != .typeRegular { throw refuse("is not a regular file (a folder or a device): give a file's path") }
            guard isFolder ? canCreate(in: resolved) : files.isWritableFile(atPath: resolved.path) else {
                throw refuse("cannot be written by this user")
            }
            return
        }
        var ancestor = resolved.deletingLastPathComponent()
        while !files.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) { ancestor = ancestor.deletingLastPathComponent() }
        guard isDirectory.boolValue, canCreate(in: ancestor) else {
            throw refuse("cannot be made: \(ancestor.path) is not a folder this user can write in")
        }
    }

    /// Whether a file can be made in `folder`: by making one and removing it (permissions alone do
    /// not tell, e.g. for root on a read-only or virtual file system).
    private static func canCreate(in folder: URL) -> Bool {
        let probe = folder.appendingPathComponent(".gpt-probe-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: probe.path, contents: nil) else { return false }
        try? FileManager.default.removeItem(at: probe)
        return true
    }
}

/// Reads a text corpus, or says in one line why it cannot be used.
func readCorpus(_ path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw CommandLineError.failure("cannot read corpus '\(path)': no such file (pass --corpus PATH)")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandLineError.failure("cannot read corpus '\(path)': permission denied or unreadable")
    }
    guard !data.withUnsafeBytes({ $0.contains(0) }), let text = String(data: data, encoding: .utf8) else {
        throw CommandLineError.failure("corpus '\(path)' is not UTF-8 text (is it a binary file?)")
    }
    guard !text.allSatisfy(\.isWhitespace) else {
        throw CommandLineError.failure("corpus '\(path)' is empty: give it some text")
    }
    return text
}

/// "12345" → "12,345"
func grouped(_ n: Int) -> String {
    let digits = String(n)
    var result = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 && ch != "-" { result += "," }
        result.append(ch)
    }
    return result
}

func fixed(_ x: Float, _ decimals: Int) -> String { String(format: "%.\(decimals)f", Double(x)) }
func fixed(_ x: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", x) }

/// Pads or cuts to a width (for tables).
func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
}

/// A piece as a person reads it: a line break shows as ↵.
func visible(_ piece: String) -> String { piece == "\n" ? "↵" : piece }

/// Values as a one-line chart of ▁▂▃▄▅▆▇█, on a log scale (loss falls over orders of magnitude).
func sparkline(_ values: [Float], width: Int = 60) -> String {
    guard !values.isEmpty else { return "" }
    let bars = Array("▁▂▃▄▅▆▇█")
    let logs = values.map { Foundation.log(Double(max($0, 1e-6))) }
    let low = logs.min()!, high = logs.max()!
    let count = min(width, logs.count)
    return String((0..<count).map { i in
        let value = logs[i * logs.count / count]
        let level = high > low ? Int(Double(bars.count - 1) * (value - low) / (high - low) + 0.5) : 0
        return bars[level]
    })
}
