import Foundation
import Testing

// Prose and code stay paired: every source file of the module has its chapter and the reverse;
// every Swift block a chapter quotes appears, verbatim, in the source file it explains; the
// book reads forward: no chapter's code uses a type, function or member that a later chapter
// declares first; and the tests mirror the book, one file and one suite per chapter.

struct Chapter {
    let number: String            // "05" or "A1"
    let source: URL               // Sources/TinyGPT/05-Attention.swift
    let doc: URL?                 // docs/05-attention.md
}

func chapterNumber(_ name: String) -> String? {
    let prefix = name.prefix { $0 != "-" }
    return prefix.count == 2 && name.contains("-") ? String(prefix) : nil
}

func listing(_ folder: String, ending: String) -> [URL] {
    let url = Repository.url(folder)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
    return names.filter { $0.hasSuffix(ending) && chapterNumber($0) != nil }.sorted().map { url.appendingPathComponent($0) }
}

/// The ```swift blocks of a markdown file.
func swiftBlocks(_ markdown: String) -> [String] {
    var blocks: [String] = [], current: [String]? = nil
    for line in markdown.components(separatedBy: "\n") {
        if current == nil, line.trimmingCharacters(in: .whitespaces) == "```swift" {
            current = []
        } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
            blocks.append(current!.joined(separator: "\n"))
            current = nil
        } else if current != nil {
            current!.append(line)
        }
    }
    return blocks
}

/// A source file as the compiler reads it: comments dropped, string literals emptied to "" (an
/// interpolation \( … ) inside one is code, and stays), line breaks kept.
func codeOnly(_ text: String) -> String {
    enum Mode { case code(interpolationDepth: Int?), string(multiline: Bool, hashes: Int) }
    let s = Array(text.unicodeScalars)
    func at(_ i: Int) -> Unicode.Scalar? { i < s.count ? s[i] : nil }
    func starts(_ literal: String, at i: Int) -> Bool {
        literal.unicodeScalars.enumerated().allSatisfy { at(i + $0.offset) == $0.element }
    }
    var out = String.UnicodeScalarView(), stack: [Mode] = [.code(interpolationDepth: nil)], i = 0
    while i < s.count {
        let c = s[i]
        switch stack[stack.count - 1] {
        case .code(let depth):
            if c == "/" && at(i + 1) == "/" {
                while i < s.count && s[i] != "\n" { i += 1 }
                continue
            }
            if c == "/" && at(i + 1) == "*" {
                var nesting = 0
                repeat {
                    if starts("/*", at: i) { nesting += 1; i += 2 }
                    else if starts("*/", at: i) { nesting -= 1; i += 2 }
                    else { if s[i] == "\n" { out.append("\n") }; i += 1 }
                } while nesting > 0 && i < s.count
                continue
            }
            var hashes = 0
            while at(i + hashes) == "#" { hashes += 1 }
            if at(i + hashes) == "\"" {                                       // "…", """…""", #"…"#
                let multiline = starts("\"\"\"", at: i + hashes)
                stack.append(.string(multiline: multiline, hashes: hashes))
                out.append("\"")
                i += hashes + (multiline ? 3 : 1)
                continue
            }
            if let depth {                                                    // inside \( … ): its ) ends it
                if c == ")" && depth == 0 { stack.removeLast(); out.append(")"); i += 1; continue }
                if c == "(" || c == ")" { stack[stack.count - 1] = .code(interpolationDepth: depth + (c == "(" ? 1 : -1)) }
            }
            out.append(c)
            i += 1
        case .string(let multiline, let hashes):
            let quotes = multiline ? 3 : 1
            if c == "\\" && (0..<hashes).allSatisfy({ at(i + 1 + $0) == "#" }) {
                if at(i + 1 + hashes) == "(" {
                    stack.append(.code(interpolationDepth: 0))
                    out.append("(")
                }
                i += hashes + 2                                               // \( opens code; \n, \" … are skipped
                continue
            }
            if (0..<quotes).allSatisfy({ at(i + $0) == "\"" }) && (0..<hashes).allSatisfy({ at(i + quotes + $0) == "#" }) {
                stack.removeLast()
                out.append("\"")
                i += quotes + hashes
                continue
            }
            if c == "\n" { out.append("\n") }
            i += 1
        }
    }
    return String(out)
}

/// Code as tokens: identifiers, numbers, and single punctuation marks; a run of dots ("...", "..<")
/// is one token, so that only a lone "." reads as a member access.
func tokens(_ code: String) -> [String] {
    let s = Array(code.unicodeScalars)
    func isIdentifierPart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c) }
    var result: [String] = [], i = 0
    while i < s.count {
        let c = s[i]
        if c.properties.isWhitespace || c == "`" { i += 1; continue }
        var j = i + 1
        if isIdentifierPart(c) {
            while j < s.count && isIdentifierPart(s[j]) { j += 1 }
        } else if c == "." {
            while j < s.count && s[j] == "." { j += 1 }
        }
        var token = String.UnicodeScalarView()
        token.append(contentsOf: s[i..<j])
        result.append(String(token))
        i = j
    }
    return result
}

/// Where each name of the library is declared first, chapter by chapter, and which chapters use one
/// a later chapter declares. Two kinds of name:
///   top level: types, free functions and constants at a file's top level. Used by name.
///   members: what types and extensions declare inside their braces (methods, properties, static
///     members, enum cases, nested types), and the labels of returned tuples. Used after a dot:
///     `.name(`, `.name`, `Outer.Inner`. A member's home is the first chapter that declares the name
///     at all, so names many chapters declare (forward, backward, weight, Saved) are at home early.
/// Declarations inside function bodies (local variables, local functions) are neither.
struct ReadingOrder {
    let files: [String]
    let topLevelHome: [String: Int]              // name → index of the first chapter declaring it at top level
    let memberHome: [String: Int]                // name → index of the first chapter declaring it anywhere
    let bareUses: [Set<String>]                  // per chapter: identifiers not after a dot
    let dotUses: [Set<String>]                   // per chapter: identifiers after a dot

    /// Members Swift's standard library and Foundation have too (`values.count`, `blocks.append`,
    /// `elapsed.components`): after a dot in an earlier chapter, they are the library's, not the later
    /// chapter's. When a chapter declares another such name, the test below names the clash; if the
    /// earlier chapter's `.name` is the standard library's, add the name here.
    static let libraryNames: Set<String> = [
        "allSatisfy", "append", "components", "contains", "count", "data", "description", "dropFirst", "dropLast", "enumerated",
        "filter", "first", "firstIndex", "flatMap", "compactMap", "forEach", "indices", "insert", "isEmpty", "joined", "keys",
        "last", "map", "max", "min", "path", "prefix", "reduce", "remove", "removeFirst", "removeLast", "reversed", "seconds",
        "sort", "sorted", "split", "string", "suffix", "sum", "values", "write",
    ]

    init(chapters: [(file: String, text: String)]) {
        let typeKeywords: Set = ["struct", "enum", "class", "protocol", "extension", "actor"]
        let introducers: Set = ["func", "var", "let", "struct", "enum", "class", "protocol", "typealias", "case", "actor"]
        let tupleType = try! NSRegularExpression(pattern: #"(?:->|:)\s*\[?\(([^()]*)\)"#)
        let label = try! NSRegularExpression(pattern: #"([A-Za-z_][A-Za-z0-9_]*)\s*:"#)
        var topLevelHome: [String: Int] = [:], memberHome: [String: Int] = [:]
        var bareUses: [Set<String>] = [], dotUses: [Set<String>] = []
        for (index, chapter) in chapters.enumerated() {
            let code = codeOnly(chapter.text), words = tokens(code)
            var bodies: [Bool] = []                  // each open brace: does it open a type's or an extension's body?
            var opensType = false, expecting: String? = nil, previous = ""
            var bare: Set<String> = [], dotted: Set<String> = []
            func declare(_ name: String) {
                if bodies.isEmpty { topLevelHome[name] = topLevelHome[name] ?? index }
                memberHome[name] = memberHome[name] ?? index
            }
            for word in words {
                defer { previous = word }
                let isName = word.unicodeScalars.first.map { $0 == "_" || $0.properties.isAlphabetic } ?? false
                if isName { if previous == "." { dotted.insert(word) } else { bare.insert(word) } }
                if word == "{" { bodies.append(opensType); opensType = false; expecting = nil; continue }
                if word == "}" { _ = bodies.popLast(); expecting = nil; continue }
                if previous != "." && typeKeywords.contains(word) { opensType = true }
                if let keyword = expecting {
                    expecting = nil
                    if keyword == "case," && word == "," { expecting = "case"; continue }      // case a, b, c
                    if keyword != "case," && isName && !introducers.contains(word) {
                        declare(word)
                        if keyword == "case" { expecting = "case," }
                        continue
                    }
                }
                if (bodies.last ?? true) && previous != "." && introducers.contains(word) { expecting = word }
            }
            let range = NSRange(code.startIndex..., in: code)
            for match in tupleType.matches(in: code, range: range) {
                let inside = (code as NSString).substring(with: match.range(at: 1))
                for name in label.matches(in: inside, range: NSRange(inside.startIndex..., in: inside)) {
                    let labelName = (inside as NSString).substring(with: name.range(at: 1))
                    memberHome[labelName] = memberHome[labelName] ?? index
                }
            }
            bareUses.append(bare)
            dotUses.append(dotted)
        }
        files = chapters.map(\.file)
        (self.topLevelHome, self.memberHome, self.bareUses, self.dotUses) = (topLevelHome, memberHome, bareUses, dotUses)
    }

    func index(of number: String) -> Int? { files.firstIndex { chapterNumber($0) == number } }

    /// The appendices come last but explain code every chapter calls (the fast product, exp, row sums):
    /// the one exception to reading forward.
    func isAppendix(_ index: Int) -> Bool { files[index].hasPrefix("A") }

    /// One line per use of a name that a later chapter declares first.
    func lookAheads() -> [String] {
        var found: [String] = []
        for index in files.indices {
            for (name, home) in topLevelHome where home > index && !isAppendix(home) && bareUses[index].contains(name) {
                found.append("\(files[index]) uses \(name), declared first in \(files[home])")
            }
            for (name, home) in memberHome where home > index && !isAppendix(home) && !ReadingOrder.libraryNames.contains(name)
                && dotUses[index].contains(name) {
                found.append("\(files[index]) uses .\(name), a member first declared in \(files[home])")
            }
        }
        return found.sorted()
    }
}

@Suite struct DocsTests {
    let sources = listing("Sources/TinyGPT", ending: ".swift")
    let docs = listing("docs", ending: ".md")

    @Test("every source file has its chapter with the same number, and every chapter its source file")
    func pairing() {
        #expect(sources.count >= 15)
        let sourceNumbers = Set(sources.map { chapterNumber($0.lastPathComponent)! })
        let docNumbers = Set(docs.map { chapterNumber($0.lastPathComponent)! })
        #expect(sourceNumbers == docNumbers, "sources without a chapter: \(sourceNumbers.subtracting(docNumbers).sorted()); chapters without a source: \(docNumbers.subtracting(sourceNumbers).sorted())")
        for source in sources {
            let number = chapterNumber(source.lastPathComponent)!
            let sameName = source.deletingPathExtension().lastPathComponent.lowercased()
            #expect(docs.contains { $0.deletingPathExtension().lastPathComponent.lowercased() == sameName },
                    "docs/\(sameName).md should pair with \(source.lastPathComponent) (chapter \(number))")
        }
    }

    @Test("every quoted Swift block appears verbatim in the chapter's source file")
    func quotesAreVerbatim() throws {
        var quoted = 0
        for doc in docs {
            let number = chapterNumber(doc.lastPathComponent)!
            guard let source = sources.first(where: { chapterNumber($0.lastPathComponent) == number }) else { continue }
            let code = try String(contentsOf: source, encoding: .utf8)
            let blocks = swiftBlocks(try String(contentsOf: doc, encoding: .utf8))
            #expect(!blocks.isEmpty, "\(doc.lastPathComponent) quotes no code from \(source.lastPathComponent)")
            for block in blocks {
                quoted += 1
                #expect(code.contains(block), "\(doc.lastPathComponent) quotes code that is not in \(source.lastPathComponent):\n\(block.prefix(300))")
            }
        }
        #expect(quoted >= docs.count)
    }

    @Test("the book reads forward: no chapter uses a type, a free function or a member (method, property, case, nested type) that a later chapter declares first")
    func readsForward() throws {
        let order = ReadingOrder(chapters: try sources.map { ($0.lastPathComponent, try String(contentsOf: $0, encoding: .utf8)) })
        #expect(order.topLevelHome.count >= 40 && order.memberHome.count >= 150, "the scan found the declarations")
        #expect(order.memberHome["forward"] == 0 && order.memberHome["lossAndGradient"] == order.index(of: "11"),
                "Linear.forward is chapter 00's; lossAndGradient is chapter 11's (chapter 13 declares another)")
        let found = order.lookAheads()
        #expect(found.isEmpty, """
            \(found.joined(separator: "\n"))
            (a member whose name the standard library has too, used in the earlier chapter as the standard library's: \
            add it to ReadingOrder.libraryNames)
            """)
    }

    @Test("the forward-reading check can fail: a call in chapter 05 of a member only chapter 13 declares is reported, and so is a type of chapter 13")
    func readsForwardCatchesLookAheads() throws {
        let chapters = try sources.map { ($0.lastPathComponent, try String(contentsOf: $0, encoding: .utf8)) }
        let order = ReadingOrder(chapters: chapters)
        let five = try #require(order.index(of: "05")), thirteen = try #require(order.index(of: "13"))
        let member = try #require(order.memberHome.filter { $0.value == thirteen && order.topLevelHome[$0.key] == nil
                                                             && !ReadingOrder.libraryNames.contains($0.key) }.keys.sorted().first)
        let type = try #require(order.topLevelHome.filter { $0.value == thirteen }.keys.sorted().first)
        let before = Set(order.lookAheads())
        var planted = chapters
        planted[five].1 += "\nfunc planted(_ x: Attention) {\n    _ = x.\(member)(1)   // \(type) in a comment does not count\n}\n"
        var found = Set(ReadingOrder(chapters: planted).lookAheads()).subtracting(before)
        #expect(found == ["\(chapters[five].0) uses .\(member), a member first declared in \(chapters[thirteen].0)"], "\(found)")
        planted[five].1 += "\nlet plantedName = \"\(type)\"   // nor in a string\nfunc plantedType() -> Any.Type { \(type).self }\n"
        found = Set(ReadingOrder(chapters: planted).lookAheads()).subtracting(before)
        #expect(found.count == 2 && found.contains("\(chapters[five].0) uses \(type), declared first in \(chapters[thirteen].0)"), "\(found)")
    }

    @Test("the tests mirror the book: each chapter and appendix has one test file, NN-NameTests.swift, with one suite, \"NN …\"")
    func testsMirrorTheBook() throws {
        let tests = listing("Tests/TinyGPTTests", ending: "Tests.swift")
        for source in sources {
            let number = chapterNumber(source.lastPathComponent)!
            let stem = source.deletingPathExtension().lastPathComponent
            let expected = number + "-" + stem.dropFirst(number.count + 1).replacingOccurrences(of: "-", with: "") + "Tests.swift"
            guard let file = tests.first(where: { $0.lastPathComponent == expected }) else {
                Issue.record("\(source.lastPathComponent) has no Tests/TinyGPTTests/\(expected)")
                continue
            }
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.components(separatedBy: "@Suite(").count == 2 && text.contains("@Suite(\"\(number) "),
                    "\(expected): one @Suite(\"\(number) …\")")
            #expect(text.contains("@Test("), "\(expected) has no test")
        }
        let numbers = Set(sources.map { chapterNumber($0.lastPathComponent)! })
        let strays = tests.filter { !numbers.contains(chapterNumber($0.lastPathComponent)!) }.map(\.lastPathComponent)
        #expect(strays.isEmpty && tests.count == sources.count, "test files without a chapter, or two for one: \(tests.map(\.lastPathComponent))")
    }
}
