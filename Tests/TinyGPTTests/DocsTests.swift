import Foundation
import Testing

// Prose and code stay paired: every source file of the module has its chapter and the reverse;
// every Swift block a chapter quotes appears, verbatim, in the source file it explains; and the
// book reads forward: no chapter's code uses a type or function that a later chapter defines.

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

    @Test("the book reads forward: no chapter uses a type or free function defined in a later chapter")
    func readsForward() throws {
        // Names each chapter defines: types, and functions declared at the start of a line.
        let declaration = try NSRegularExpression(pattern: #"^(?:public )?(?:struct|enum|protocol|func|let) ([A-Za-z_][A-Za-z0-9_]*)"#, options: .anchorsMatchLines)
        var definedIn: [String: Int] = [:]
        var texts: [String] = []
        for (index, source) in sources.enumerated() {
            let text = try String(contentsOf: source, encoding: .utf8)
            texts.append(text)
            for match in declaration.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let name = (text as NSString).substring(with: match.range(at: 1))
                if definedIn[name] == nil { definedIn[name] = index }
            }
        }
        for (index, text) in texts.enumerated() {
            let code = text.components(separatedBy: "\n").map { line in
                line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? line     // comments may look ahead
            }.joined(separator: "\n")
            for (name, home) in definedIn where home > index {
                let isAppendix = sources[home].lastPathComponent.hasPrefix("A")
                if isAppendix { continue }                                            // the one exception: the fast product
                let uses = try NSRegularExpression(pattern: "\\b\(name)\\b")
                let found = uses.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) != nil
                #expect(!found, "\(sources[index].lastPathComponent) uses \(name), defined later in \(sources[home].lastPathComponent)")
            }
        }
    }
}
