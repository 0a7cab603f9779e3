public import AgentCubeTransport
public import NIOCore
import NIOPosix

/// A byte-level client for protocol tests: sends exactly the bytes a test chooses and reads
/// what the server answers. Reads wait at most 20 s by default: a bound against hangs, generous
/// because the whole suite shares two cores; what is awaited normally comes in milliseconds.
public actor RawConnection {
  private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
  private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
  private var buffer = ByteBuffer()

  private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
    self.channel = channel
    self.iterator = channel.inbound.makeAsyncIterator()
  }

  private func receiveMore() async throws -> Bool {
    var iterator = self.iterator
    defer { self.iterator = iterator }
    guard var next = try await iterator.next(isolation: self) else { return false }
    buffer.writeBuffer(&next)
    return true
  }

  private func readUnbounded(atLeast count: Int) async throws -> ByteBuffer {
    while buffer.readableBytes < count {
      guard try await receiveMore() else { break }
    }
    return buffer.readSlice(length: min(count, buffer.readableBytes))!
  }

  private func readFrameUnbounded() async throws -> Frame? {
    let decoder = FrameDecoder()
    while true {
      if let frame = try decoder.next(from: &buffer) { return frame }
      guard try await receiveMore() else { return nil }
    }
  }

  /// Connects to a Unix socket.
  public static func connect(unixSocket path: String) async throws -> RawConnection {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connect(unixDomainSocketPath: path) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    return RawConnection(channel: channel)
  }

  /// Sends bytes.
  public func send(_ bytes: ByteBuffer) async throws {
    try await channel.channel.writeAndFlush(bytes)
  }

  /// Sends the client preface and an empty SETTINGS-free start.
  public func sendPreface(version: UInt16 = 1) async throws {
    var buffer = ByteBuffer()
    Preface.write(version: version, into: &buffer)
    try await send(buffer)
  }

  /// Reads until at least `count` bytes are buffered or the peer closes; returns what is there.
  public func read(atLeast count: Int, timeout: Duration = .seconds(20)) async throws -> ByteBuffer {
    try await withTimeout(timeout, "reading \(count) bytes") { try await self.readUnbounded(atLeast: count) }
  }

  /// Reads everything until the peer closes the connection.
  public func readToEnd(timeout: Duration = .seconds(20)) async throws -> ByteBuffer {
    try await read(atLeast: .max, timeout: timeout)
  }

  /// Returns the next frame (or `nil` at end of stream); read the preface first.
  public func readFrame(timeout: Duration = .seconds(20)) async throws -> Frame? {
    try await withTimeout(timeout, "reading a frame") { try await self.readFrameUnbounded() }
  }

  /// Reads the server's 8-byte preface.
  public func readPreface(timeout: Duration = .seconds(20)) async throws -> Preface.Parsed? {
    var bytes = try await read(atLeast: Preface.length, timeout: timeout)
    return Preface.parse(&bytes)
  }

  // The writer must be finished before it goes, whoever closed the connection.
  deinit { channel.outbound.finish() }

  /// Closes the connection.
  public func close() async {
    try? await channel.channel.close()
  }
}
