import Foundation
import TinyGPT

// out/loss.svg: loss curves against step, log-scaled loss axis, labelled.

struct LossChart {
    /// One line of the chart, with its legend entry.
    struct Curve {
        let label: String
        let points: [LossPoint]
        let color: String
        let dash: String                   // SVG stroke-dasharray: "none" for a solid line
    }

    var curves: [Curve]
    var title: String
    var subtitle: String
    var floor: Float?                      // the least loss the corpus allows (chapter 13), drawn dotted

    /// The chart of one run: train loss solid blue, held-out loss dashed red.
    init(train: [LossPoint], heldOut: [LossPoint], title: String, subtitle: String, floor: Float?) {
        curves = [Curve(label: "train loss", points: train, color: "#1f6feb", dash: "none")]
        if !heldOut.isEmpty { curves.append(Curve(label: "held-out loss", points: heldOut, color: "#d1242f", dash: "6 4")) }
        (self.title, self.subtitle, self.floor) = (title, subtitle, floor)
    }

    init(curves: [Curve], title: String, subtitle: String, floor: Float?) {
        (self.curves, self.title, self.subtitle, self.floor) = (curves, title, subtitle, floor)
    }

    static let width = 720.0, height = 420.0
    static let left = 70.0, right = 20.0, top = 46.0, bottom = 55.0
    static let plotWidth = width - left - right, plotHeight = height - top - bottom

    /// Where a step and a loss land: steps linear from 0, losses on whole decades of a log scale.
    struct Scale {
        let maxStep: Double, lowDecade: Double, highDecade: Double

        func x(_ step: Int) -> Double { LossChart.left + LossChart.plotWidth * Double(step) / maxStep }
        func y(_ loss: Float) -> Double {
            let fraction = (log10(Double(max(loss, 1e-4))) - lowDecade) / (highDecade - lowDecade)
            return LossChart.top + LossChart.plotHeight * (1 - fraction)
        }
    }

    var scale: Scale {
        let points = curves.flatMap(\.points)
        let losses = points.map { Double(max($0.loss, 1e-4)) } + (floor.map { [Double($0)] } ?? [])
        let low = Foundation.floor(log10(losses.min() ?? 0.01))
        return Scale(maxStep: Double(max(1, points.map(\.step).max() ?? 1)), lowDecade: low,
                     highDecade: max(low + 1, ceil(log10(losses.max() ?? 10))))
    }

    func svg() -> String {
        let (width, height, scale) = (LossChart.width, LossChart.height, scale)
        var s = svgHeader(width: width, height: height, title: title, subtitle: subtitle)
        s += grid(scale)
        if let floor {
            let (left, yy) = (LossChart.left, scale.y(floor))
            s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(width - LossChart.right))\" y2=\"\(f(yy))\" stroke=\"#555\" stroke-dasharray=\"2 3\"/>\n"
            s += "<text x=\"\(f(left + 6))\" y=\"\(f(yy - 5))\" fill=\"#555\">floor the corpus allows: \(String(format: "%.3f", Double(floor)))</text>\n"
        }
        for curve in curves where !curve.points.isEmpty {
            let coordinates = curve.points.map { "\(f(scale.x($0.step))),\(f(scale.y($0.loss)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(curve.color)\" stroke-width=\"2\" stroke-dasharray=\"\(curve.dash)\" points=\"\(coordinates)\"/>\n"
        }
        return s + legend() + "</svg>\n"
    }

    /// Horizontal lines at 1, 2, 5 × each power of ten, five step marks, the frame and the axis titles.
    private func grid(_ scale: Scale) -> String {
        let (left, top, plotWidth, plotHeight) = (LossChart.left, LossChart.top, LossChart.plotWidth, LossChart.plotHeight)
        var s = "", decade = scale.lowDecade
        while decade <= scale.highDecade {
            for m in [1.0, 2.0, 5.0] {
                let value = m * pow(10, decade), exponent = log10(value)
                guard exponent >= scale.lowDecade - 1e-9, exponent <= scale.highDecade + 1e-9 else { continue }
                let yy = scale.y(Float(value))
                s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(LossChart.width - LossChart.right))\" y2=\"\(f(yy))\" stroke=\"\(m == 1 ? "#bbb" : "#e4e4e4")\"/>\n"
                s += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(label(value))</text>\n"
            }
            decade += 1
        }
        for i in 0...5 {
            let step = Int((scale.maxStep * Double(i) / 5).rounded()), xx = scale.x(step)
            s += "<line x1=\"\(f(xx))\" y1=\"\(f(top))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotHeight))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(xx))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(step)</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(LossChart.height - 12))\" text-anchor=\"middle\">training step</text>\n"
        return s + "<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">cross-entropy loss (nats, log scale)</text>\n"
    }

    /// A box in the top right corner: a short stretch of each curve's line and its label.
    private func legend() -> String {
        let x = LossChart.width - LossChart.right - 170, top = LossChart.top
        var s = "<rect x=\"\(f(x))\" y=\"\(f(top + 8))\" width=\"160\" height=\"\(6 + 20 * curves.count)\" fill=\"white\" stroke=\"#ccc\"/>\n"
        for (i, curve) in curves.enumerated() {
            let y = top + 21 + 20 * Double(i), dash = curve.dash == "none" ? "" : " stroke-dasharray=\"\(curve.dash)\""
            s += "<line x1=\"\(f(x + 10))\" y1=\"\(f(y))\" x2=\"\(f(x + 40))\" y2=\"\(f(y))\" stroke=\"\(curve.color)\" stroke-width=\"2\"\(dash)/>\n"
            s += "<text x=\"\(f(x + 48))\" y=\"\(f(y + 4))\">\(escape(curve.label))</text>\n"
        }
        return s
    }

    private func label(_ value: Double) -> String {
        value >= 1 ? String(format: "%g", value) : String(format: "%g", (value * 1e6).rounded() / 1e6)
    }
}
