// swift-tools-version: 6.1
// libFuzzer targets for AgentCube's decoders (docs/fuzzing.md). Built on its own so that the root
// package and its normal builds stay untouched; scripts/fuzz.sh builds (flags explained there) and
// runs it.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

/// A libFuzzer binary: its `<module>_main` calls FuzzDriver, which runs libFuzzer.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
  .executableTarget(
    name: name,
    dependencies: ["FuzzSupport"] + dependencies,
    swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
  )
}

let package = Package(
  name: "agentcube-fuzz",
  dependencies: [
    .package(name: "agentcube", path: ".."),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
  ],
  targets: [
    // The declaration of LLVMFuzzerRunDriver.
    .target(name: "CLibFuzzer"),
    // The targets' main, checks that trap for libFuzzer, seed writing, the table of every message type.
    .target(
      name: "FuzzSupport",
      dependencies: [
        "CLibFuzzer",
        .product(name: "AgentCube", package: "agentcube"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    fuzzTarget("fuzz-frame", [.product(name: "NIOCore", package: "swift-nio")]),
    fuzzTarget("fuzz-preface", [.product(name: "NIOCore", package: "swift-nio")]),
    fuzzTarget("fuzz-envelope", [.product(name: "NIOCore", package: "swift-nio")]),
    fuzzTarget("fuzz-messages", []),
  ]
)
