// swift-tools-version: 6.0
// TinyGPT: a GPT you read like a book. No dependencies.
import PackageDescription

// Speed settings (docs/A1-speed.md). On x86-64, swiftc targets the 2003 baseline by default and
// SIMD multiply-adds become a function call per lane; x86-64-v3 (AVX2 + FMA, every x86 laptop
// since ~2015) makes the one fast product in A1-Speed.swift ~100× faster. arm64 has FMA already.
// AVX-512 (-march=native, SIMD16 tiles) was measured too and was no faster on the AMD EPYC this
// was written on, which runs a 512-bit FMA as two 256-bit halves (docs/A1-speed.md), so the
// portable level stays.
// -fno-math-errno: Swift's `squareRoot()` reaches C's sqrtf through a small C shim, and on Linux C
// keeps sqrtf able to set errno, so every square root stays a library call and loops holding one
// (AdamW's update, chapter 12) cannot use SIMD. Without errno it is one instruction, same result.
var speed: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
                             .unsafeFlags(["-Xcc", "-fno-math-errno"])]
#if arch(x86_64)
speed.append(.unsafeFlags(["-Xcc", "-march=x86-64-v3"]))
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
