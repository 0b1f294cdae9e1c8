import Foundation
import TinyGPT

// The pictures a person would rather look at than read: every attention head as a heat map
// (gpt attention, and the demo's attention.svg), and W_E's rows on a page (the demo's embeddings.svg).

let attentionFlags: [FlagSpec] = [
    FlagSpec(name: "checkpoint", defaultValue: "out/checkpoint", help: "the trained model to look into"),
    FlagSpec(name: "prompt", defaultValue: "I drink coffee every morning", help: "the tokens whose attention is drawn"),
    FlagSpec(name: "out", defaultValue: "out", help: "folder for attention.svg"),
    threadsFlag,
]

/// gpt attention: one forward pass of a saved model on the prompt, every head's weights drawn.
func attentionCommand(_ flags: Flags) throws {
    try useThreads(flags)
    try Output.checkWritable(flags.string("out"), flag: "--out", isFolder: true)
    let checkpoint = try loadCheckpoint(flags.string("checkpoint"))
    let ids = try promptIDs(flags.string("prompt"), checkpoint.tokenizer)
    let path = (flags.string("out") as NSString).appendingPathComponent("attention.svg")
    let picture = AttentionPicture(model: checkpoint.model, ids: ids, tokenizer: checkpoint.tokenizer,
                                   title: "attention of \(flags.string("checkpoint")) on \"\(flags.string("prompt"))\"")
    try Output.write(picture.svg(), to: path)
    let (layers, heads) = (checkpoint.model.config.layers, checkpoint.model.config.heads)
    Output.line("wrote    \(path) (\(layers) layer\(layers == 1 ? "" : "s") × \(heads) head\(heads == 1 ? "" : "s"), "
                + "\(picture.labels.count) token\(picture.labels.count == 1 ? "" : "s"): row = the query token, column = the key it looks at)")
}

/// Every head of every layer as a T × T heat map: row i is query token i, column j key token j;
/// the darker, the more of j's value i blends in. The masked future is left empty.
struct AttentionPicture {
    let labels: [String]
    let weights: [[Matrix]]                   // [layer][head] → A [T, T]
    let masked: Bool
    let title: String

    init(model: GPT, ids: [Int], tokenizer: any Tokenizer, title: String) {
        let window = Array(ids.suffix(model.config.context))
        let saved = model.forward(window, windowLength: window.count).saved
        labels = window.map { visible(tokenizer.decode([$0])) }
        weights = saved.blocks.map { $0.attention.weights }
        masked = model.config.masked
        self.title = title
    }

    func svg() -> String {
        let T = labels.count, cell = Double(max(16, min(30, 300 / max(T, 1))))
        let labelWidth = Double(min(12, labels.map(\.count).max() ?? 1)) * 7 + 8
        let panel = labelWidth + cell * Double(T) + 24, block = 24 + labelWidth + cell * Double(T) + 20
        let heads = weights.first?.count ?? 0
        let width = max(640, 20 + panel * Double(heads)), height = 50 + block * Double(weights.count)
        var s = svgHeader(width: width, height: height, title: title,
                          subtitle: "row: the query token; column: the key it looks at; numbers: weights ≥ 0.3"
                                    + (masked ? "; the masked future is empty" : "; no mask"))
        for (l, layer) in weights.enumerated() {
            for (h, a) in layer.enumerated() {
                let x0 = 20 + panel * Double(h) + labelWidth, top = 50 + block * Double(l)
                s += "<text x=\"\(f(x0))\" y=\"\(f(top + 14))\" font-weight=\"bold\">layer \(l + 1) · head \(h)</text>\n"
                s += heatMap(a, x0: x0, y0: top + 24 + labelWidth, cell: cell)
            }
        }
        return s + "</svg>\n"
    }

    private func heatMap(_ a: Matrix, x0: Double, y0: Double, cell: Double) -> String {
        var s = ""
        for (j, label) in labels.enumerated() {          // key labels, written upwards above the columns
            let x = x0 + cell * (Double(j) + 0.6)
            s += "<text transform=\"translate(\(f(x)) \(f(y0 - 4))) rotate(-90)\" font-size=\"11\">\(escape(label))</text>\n"
        }
        for i in 0..<a.rows {
            s += "<text x=\"\(f(x0 - 4))\" y=\"\(f(y0 + cell * (Double(i) + 0.65)))\" text-anchor=\"end\" font-size=\"11\">\(escape(labels[i]))</text>\n"
            for j in 0..<a.cols {
                let (x, y) = (x0 + cell * Double(j), y0 + cell * Double(i))
                guard j <= i || !masked else {
                    s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" fill=\"none\" stroke=\"#eee\"/>\n"
                    continue
                }
                let w = Double(a[i, j]), shade = Int(255 * (1 - w))
                s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"#ddd\"><title>\(escape(labels[i])) → \(escape(labels[j])): \(String(format: "%.3f", w))</title></rect>\n"
                if w >= 0.3 {
                    s += "<text x=\"\(f(x + cell / 2))\" y=\"\(f(y + cell * 0.65))\" text-anchor=\"middle\" font-size=\"9\" fill=\"\(w > 0.6 ? "white" : "black")\">\(String(format: "%.2f", w))</text>\n"
                }
            }
        }
        return s
    }
}

/// W_E's rows on a page, before and after training side by side: each panel places every token by
/// its coordinates along that matrix's two principal components (chapter 15), and joins the
/// notes' pairs by lines.
struct EmbeddingPicture {
    let panels: [(title: String, embedding: Matrix)]
    let words: [String]                       // the vocabulary, by ID
    let pairs: [(String, String)]
    let title: String

    func svg() -> String {
        let size = 460.0, width = 20 + (size + 20) * Double(panels.count), height = size + 90
        var s = svgHeader(width: width, height: height, title: title,
                          subtitle: "each token at its coordinates along W_E's two principal components; lines join the notes' pairs")
        for (p, panel) in panels.enumerated() {
            s += scatter(panel.embedding, x0: 20 + (size + 20) * Double(p), y0: 70, size: size, title: panel.title)
        }
        return s + "</svg>\n"
    }

    private func scatter(_ embedding: Matrix, x0: Double, y0: Double, size: Double, title: String) -> String {
        let xy = principalComponents(of: embedding, count: 2).coordinates
        let xs = (0..<xy.rows).map { Double(xy[$0, 0]) }, ys = (0..<xy.rows).map { Double(xy[$0, 1]) }
        let (xLow, xHigh, yLow, yHigh) = (xs.min() ?? 0, xs.max() ?? 1, ys.min() ?? 0, ys.max() ?? 1)
        func px(_ id: Int) -> (Double, Double) {
            (x0 + 20 + (size - 60) * (xs[id] - xLow) / max(xHigh - xLow, 1e-9),
             y0 + size - 20 - (size - 40) * (ys[id] - yLow) / max(yHigh - yLow, 1e-9))
        }
        var s = "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(size))\" height=\"\(f(size))\" fill=\"none\" stroke=\"#ccc\"/>\n"
        s += "<text x=\"\(f(x0 + size / 2))\" y=\"\(f(y0 - 6))\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(title))</text>\n"
        let index = Dictionary(words.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        for (a, b) in pairs {
            guard let ia = index[a], let ib = index[b] else { continue }
            let ((xa, ya), (xb, yb)) = (px(ia), px(ib))
            s += "<line x1=\"\(f(xa))\" y1=\"\(f(ya))\" x2=\"\(f(xb))\" y2=\"\(f(yb))\" stroke=\"#d1242f\" stroke-width=\"1.5\"/>\n"
        }
        let paired = Set(pairs.flatMap { [$0.0, $0.1] })
        for id in words.indices {
            let (x, y) = px(id), word = visible(words[id]), strong = paired.contains(words[id])
            s += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"2\" fill=\"\(strong ? "#d1242f" : "#888")\"/>\n"
            s += "<text x=\"\(f(x + 3))\" y=\"\(f(y - 3))\" font-size=\"\(strong ? 11 : 8)\" fill=\"\(strong ? "#000" : "#777")\">\(escape(word))</text>\n"
        }
        return s
    }
}

/// The opening of every picture: the svg element, a white page, a title and a subtitle.
func svgHeader(width: Double, height: Double, title: String, subtitle: String) -> String {
    """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(f(width / 2))" y="18" text-anchor="middle" font-size="15">\(escape(title))</text>
    <text x="\(f(width / 2))" y="34" text-anchor="middle" font-size="11" fill="#555">\(escape(subtitle))</text>

    """
}

func f(_ v: Double) -> String { String(format: "%.1f", v) }

/// Text safe inside SVG: &, <, > and quotes escaped.
func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
