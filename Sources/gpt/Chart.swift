import Foundation
import TinyGPT

// out/loss.svg: train and held-out loss against step, log-scaled loss axis, labelled.

struct LossChart {
    var train: [LossPoint]
    var heldOut: [LossPoint]
    var title: String
    var subtitle: String
    var floor: Float?                      // the least loss the corpus allows (chapter 13), drawn dotted

    func svg() -> String {
        let width = 720.0, height = 420.0
        let left = 70.0, right = 20.0, top = 46.0, bottom = 55.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let allLosses = (train + heldOut).map { Double(max($0.loss, 1e-4)) } + (floor.map { [Double($0)] } ?? [])
        let maxStep = Double(max(1, (train + heldOut).map(\.step).max() ?? 1))
        let lowDecade = Foundation.floor(log10(allLosses.min() ?? 0.01))
        let highDecade = max(lowDecade + 1, ceil(log10(allLosses.max() ?? 10)))
        func x(_ step: Int) -> Double { left + plotWidth * Double(step) / maxStep }
        func y(_ loss: Float) -> Double {
            let fraction = (log10(Double(max(loss, 1e-4))) - lowDecade) / (highDecade - lowDecade)
            return top + plotHeight * (1 - fraction)
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="18" text-anchor="middle" font-size="15">\(escape(title))</text>
        <text x="\(f(width / 2))" y="34" text-anchor="middle" font-size="11" fill="#555">\(escape(subtitle))</text>

        """
        // Horizontal grid: 1, 2, 5 × each power of ten.
        var decade = lowDecade
        while decade <= highDecade {
            for m in [1.0, 2.0, 5.0] {
                let value = m * pow(10, decade)
                let exponent = log10(value)
                guard exponent >= lowDecade - 1e-9, exponent <= highDecade + 1e-9 else { continue }
                let yy = y(Float(value))
                s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(width - right))\" y2=\"\(f(yy))\" stroke=\"\(m == 1 ? "#bbb" : "#e4e4e4")\"/>\n"
                s += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(label(value))</text>\n"
            }
            decade += 1
        }
        // Vertical grid: five step marks.
        for i in 0...5 {
            let step = Int((maxStep * Double(i) / 5).rounded())
            let xx = x(step)
            s += "<line x1=\"\(f(xx))\" y1=\"\(f(top))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotHeight))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(xx))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(step)</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">training step</text>\n"
        s += "<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">cross-entropy loss (nats, log scale)</text>\n"
        func polyline(_ points: [LossPoint], color: String, dash: String) -> String {
            guard !points.isEmpty else { return "" }
            let coordinates = points.map { "\(f(x($0.step))),\(f(y($0.loss)))" }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-dasharray=\"\(dash)\" points=\"\(coordinates)\"/>\n"
        }
        if let floor {
            let yy = y(floor)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(width - right))\" y2=\"\(f(yy))\" stroke=\"#555\" stroke-dasharray=\"2 3\"/>\n"
            s += "<text x=\"\(f(left + 6))\" y=\"\(f(yy - 5))\" fill=\"#555\">floor the corpus allows: \(String(format: "%.3f", Double(floor)))</text>\n"
        }
        s += polyline(train, color: "#1f6feb", dash: "none")
        s += polyline(heldOut, color: "#d1242f", dash: "6 4")
        // Legend.
        let legendX = width - right - 170
        s += "<rect x=\"\(f(legendX))\" y=\"\(f(top + 8))\" width=\"160\" height=\"\(heldOut.isEmpty ? 26 : 46)\" fill=\"white\" stroke=\"#ccc\"/>\n"
        s += "<line x1=\"\(f(legendX + 10))\" y1=\"\(f(top + 21))\" x2=\"\(f(legendX + 40))\" y2=\"\(f(top + 21))\" stroke=\"#1f6feb\" stroke-width=\"2\"/>\n"
        s += "<text x=\"\(f(legendX + 48))\" y=\"\(f(top + 25))\">train loss</text>\n"
        if !heldOut.isEmpty {
            s += "<line x1=\"\(f(legendX + 10))\" y1=\"\(f(top + 41))\" x2=\"\(f(legendX + 40))\" y2=\"\(f(top + 41))\" stroke=\"#d1242f\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n"
            s += "<text x=\"\(f(legendX + 48))\" y=\"\(f(top + 45))\">held-out loss</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    private func label(_ value: Double) -> String {
        value >= 1 ? String(format: "%g", value) : String(format: "%g", (value * 1e6).rounded() / 1e6)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
