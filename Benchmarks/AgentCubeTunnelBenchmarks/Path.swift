import ArgumentParser

/// One way from the source to the sink.
enum Path: String, CaseIterable, ExpressibleByArgument {
  /// `tcp-pump source` straight to the sink.
  case direct
  /// Through `socat TCP-LISTEN:…,fork TCP:sink` with socat's default 8 KiB buffer.
  case socat
  /// The same with `-b 1048576`: a user-space copying relay with large buffers.
  case socatLarge = "socat-b1m"
  /// Through `splice-relay`: socket → pipe → socket, no copy to user space.
  case splice
  /// `tcp-pump source` opening an AgentCube tunnel on its connection (docs/protocol.md §9).
  case tunnel
  /// The SDK's `withTunnel` in this process, writing the same 1 MiB `ByteBuffer` again and again.
  case tunnelSDK = "tunnel-sdk"
  /// A plain NIO client in this process straight to the sink (the Swift client's own cost).
  case directSwift = "direct-swift"

  /// The relay's listening port offset, for paths with a relay process of their own.
  var relayPortOffset: Int? {
    switch self {
    case .socat: 1
    case .socatLarge: 2
    case .splice: 3
    default: nil
    }
  }
}
