// swift-tools-version: 6.0
// TinyGPT: a GPT you read like a book. No dependencies.
import PackageDescription
import Foundation

// Speed settings (docs/A1-speed.md). On x86-64, swiftc targets the 2003 baseline by default and
// SIMD multiply-adds become a function call per lane; x86-64-v3 (AVX2 + FMA, every x86 laptop
// since ~2015) makes the one fast product in A1-Speed.swift ~100× faster. arm64 has FMA already.
// If the machine that builds has AVX-512 (Linux: /proc/cpuinfo), it gets x86-64-v4 and WIDE_TILES,
// A1's 6×32 tiles of SIMD16: on a core that does 512-bit FMAs whole (desktop and server Zen 5,
// Xeons with two 512-bit FMA units) that doubles the product's speed (same bits); on one that
// splits them in two (Zen 4, for one) it should be about as fast as AVX2. -mno-gather: v4's
// gathers made A2's row sums 4× slower (docs/A1-speed.md).
// The binary then needs AVX-512 to run: build where you run. TINYGPT_PORTABLE=1 keeps v3.
// -fno-math-errno: Swift's `squareRoot()` reaches C's sqrtf through a small C shim, and on Linux C
// keeps sqrtf able to set errno, so every square root stays a library call and loops holding one
// (AdamW's update, chapter 12) cannot use SIMD. Without errno it is one instruction, same result.
var speed: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
                             .unsafeFlags(["-Xcc", "-fno-math-errno"])]
#if arch(x86_64)
func hasAVX512() -> Bool {
    guard ProcessInfo.processInfo.environment["TINYGPT_PORTABLE"] == nil,
          let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
    let flags = Set(line.split(separator: " ").map(String.init))
    return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
}
speed.append(hasAVX512() ? .unsafeFlags(["-Xcc", "-march=x86-64-v4", "-Xcc", "-mno-gather", "-D", "WIDE_TILES"])
                         : .unsafeFlags(["-Xcc", "-march=x86-64-v3"]))
#endif

let package = Package(
    name: "TinyGPT",
    products: [
        .library(name: "TinyGPT", targets: ["TinyGPT"]),
        .executable(name: "gpt", targets: ["gpt"]),
    ],
    targets: [
        .target(name: "TinyGPT", swiftSettings: speed),
        .executableTarget(name: "gpt", dependencies: ["TinyGPT"], swiftSettings: speed),
        // The tests read Tests/Fixtures and docs/ from the source tree (see Tests/TinyGPTTests/Support.swift).
        .testTarget(name: "TinyGPTTests", dependencies: ["TinyGPT"]),
    ]
)
