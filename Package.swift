// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "agentcube",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "AgentCube", targets: ["AgentCube"]),
    .executable(name: "agentcubed", targets: ["agentcubed"]),
    .executable(name: "agentcube", targets: ["agentcube"]),
    .executable(name: "agentcube-bench", targets: ["AgentCubeBenchmarks"]),
    .executable(name: "agentcube-tunnel-bench", targets: ["AgentCubeTunnelBenchmarks"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
  ],
  targets: [
    // Wire-level value types, status codes, metadata, identity, the backend seam. No NIO, no C.
    .target(
      name: "AgentCubeCore",
      dependencies: [.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
      swiftSettings: swiftSettings
    ),
    // protoc-c output for Protos/ (regenerate with scripts/generate-protos.sh).
    .target(
      name: "CAgentCubeProtobuf",
      linkerSettings: [.linkedLibrary("protobuf-c")]
    ),
    // SHA-256 and friends from OpenSSL's libcrypto, behind a typed static-inline shim.
    .target(
      name: "CAgentCubeCrypto",
      linkerSettings: [.linkedLibrary("crypto")]
    ),
    .target(
      name: "AgentCubeCrypto",
      dependencies: ["CAgentCubeCrypto"],
      swiftSettings: swiftSettings
    ),
    // libcurl behind a typed static-inline shim (curl_easy_setopt is variadic).
    .target(
      name: "CAgentCubeCurl",
      linkerSettings: [.linkedLibrary("curl")]
    ),
    // Kubernetes: the libcurl HTTPS client and TokenReview authentication (so far its review cache).
    .target(
      name: "AgentCubeKubernetes",
      dependencies: [
        "AgentCubeCore", "AgentCubeCrypto", "CAgentCubeCurl", .product(name: "Yams", package: "Yams"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // Sessions as agents.x-k8s.io Sandbox objects, written with each caller's own token.
    .target(
      name: "AgentCubeKubernetesBackend",
      dependencies: [
        "AgentCubeCore", "AgentCubeKubernetes",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // The one Swift layer mapping protobuf-c structs to AgentCubeCore value types.
    .target(
      name: "AgentCubeProtobuf",
      dependencies: ["AgentCubeCore", "CAgentCubeProtobuf"],
      swiftSettings: swiftSettings
    ),
    // Frames, connections, server listener and client connection over SwiftNIO (TLS on TCP).
    .target(
      name: "AgentCubeTransport",
      dependencies: [
        "AgentCubeCore",
        "AgentCubeProtobuf",
        "CAgentCubeCrypto",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOTLS", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // Services, interceptors, authentication and the SessionBackend protocol.
    .target(
      name: "AgentCubeServer",
      dependencies: [
        "AgentCubeCore",
        "AgentCubeProtobuf",
        "AgentCubeTransport",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // glibc's GNU posix_spawn extensions (setsid, closefrom, chdir) for the local backend.
    .target(name: "CAgentCubeProcess"),
    // The embedded default: local isolated process sandboxes (bubblewrap + sshd).
    .target(
      name: "AgentCubeLocalBackend",
      dependencies: [
        "AgentCubeCore",
        "CAgentCubeProcess",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // The Swift client SDK.
    .target(
      name: "AgentCube",
      dependencies: [
        "AgentCubeCore",
        "AgentCubeProtobuf",
        "AgentCubeTransport",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "agentcubed",
      dependencies: [
        "AgentCubeServer",
        "CAgentCubeProcess",
        "AgentCubeLocalBackend",
        "AgentCubeKubernetes",
        "AgentCubeKubernetesBackend",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "agentcube",
      dependencies: [
        "AgentCube",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "AgentCubeBenchmarks",
      dependencies: [
        "AgentCube",
        "AgentCubeServer",
        "AgentCubeLocalBackend",
        // soak: raw frames for injected faults, and agentcubed run as a process (DaemonFixture).
        "AgentCubeTransport",
        "AgentCubeProtobuf",
        "AgentCubeTestSupport",
        // auth-cache: the TokenReview cache against the token file; unary --authenticator tokenreview.
        "AgentCubeKubernetes",
        "AgentCubeKubernetesBackend",
        "KubernetesEmulator",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Benchmarks/AgentCubeBenchmarks",
      swiftSettings: swiftSettings
    ),
    // Tunnel throughput against direct, socat and splice(2) paths; memory per idle tunnel.
    .executableTarget(
      name: "AgentCubeTunnelBenchmarks",
      dependencies: [
        "AgentCube",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Benchmarks/AgentCubeTunnelBenchmarks",
      swiftSettings: swiftSettings
    ),
    // Shared helpers for tests: temp dirs, a running server, process runners, and the k8s/ manifests'
    // RBAC rules checked against the emulator's request log.
    .target(
      name: "AgentCubeTestSupport",
      dependencies: [
        "AgentCube",
        "AgentCubeServer",
        "AgentCubeLocalBackend",
        "AgentCubeKubernetes",
        "KubernetesEmulator",
        "CAgentCubeProcess",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Yams", package: "Yams"),
      ],
      path: "Tests/AgentCubeTestSupport",
      swiftSettings: swiftSettings
    ),
    // A Kubernetes API emulator for tests (HTTPS, bearer tokens, TokenReview, faults, counters);
    // independent of the product's HTTP code.
    .target(
      name: "KubernetesEmulator",
      dependencies: [
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      path: "Tests/KubernetesEmulator",
      swiftSettings: swiftSettings
    ),
    // The emulator as its own program: `agentcube-kube-emulator --cert … --key … --tokens …`.
    .executableTarget(
      name: "agentcube-kube-emulator",
      dependencies: ["KubernetesEmulator"],
      path: "Tests/KubernetesEmulatorMain",
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeProtobufTests",
      dependencies: ["AgentCubeProtobuf", "AgentCubeCore"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeTransportTests",
      dependencies: [
        "AgentCubeTransport",
        "AgentCubeCore",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeServerTests",
      dependencies: ["AgentCubeServer", "AgentCube", "AgentCubeTestSupport", "AgentCubeCrypto"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeLocalBackendTests",
      dependencies: [
        "AgentCubeLocalBackend",
        "AgentCubeCore",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeKubernetesTests",
      dependencies: [
        "AgentCubeKubernetes", "AgentCubeCore", "AgentCubeCrypto", "AgentCubeTestSupport", "KubernetesEmulator",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "KubernetesEmulatorTests",
      dependencies: [
        "KubernetesEmulator",
        "AgentCubeTestSupport",
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      path: "Tests/KubernetesEmulatorTests",
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeKubernetesBackendTests",
      dependencies: ["AgentCubeKubernetesBackend", "AgentCubeKubernetes", "AgentCubeCore"],
      swiftSettings: swiftSettings
    ),
    // The same behaviour of every SessionBackend (memory, local, Kubernetes on the emulator).
    .testTarget(
      name: "AgentCubeConformanceTests",
      dependencies: [
        "AgentCube", "AgentCubeCore", "AgentCubeServer", "AgentCubeLocalBackend", "AgentCubeTestSupport",
        "AgentCubeKubernetes", "AgentCubeKubernetesBackend", "KubernetesEmulator",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "AgentCubeEndToEndTests",
      dependencies: ["AgentCube", "AgentCubeTestSupport", "KubernetesEmulator"],
      swiftSettings: swiftSettings
    ),
  ]
)
