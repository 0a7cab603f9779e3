import AgentCubeCore
import AgentCubeTransport
import NIOCore

/// One frame of each type, as both sides send them: the building blocks of the frame seeds.
public enum FrameSeeds {
  /// Encoded frames, each named for its type.
  public static var frames: [(name: String, bytes: [UInt8])] {
    var ping = ByteBuffer()
    ping.writeInteger(UInt64(0x0102_0304_0506_0708))
    let frames: [(String, (inout ByteBuffer) throws -> Void)] = [
      ("settings", { try $0.writeFrame(type: .settings, callID: 0, message: MessageSamples.settings) }),
      ("request", { try $0.writeFrame(type: .request, callID: 1, message: MessageSamples.request) }),
      ("response", { try $0.writeFrame(type: .response, callID: 1, message: MessageSamples.response) }),
      ("response-error", { try $0.writeFrame(type: .response, callID: 2, message: MessageSamples.errorResponse) }),
      ("cancel", { $0.writeFrame(Frame(type: .cancel, callID: 3, payload: ByteBuffer())) }),
      ("ping", { $0.writeFrame(Frame(type: .ping, callID: 0, payload: ping)) }),
      ("ping-ack", { $0.writeFrame(Frame(type: .ping, flags: Frame.pingAckFlag, callID: 0, payload: ping)) }),
      ("goaway", { try $0.writeFrame(type: .goAway, callID: 0, message: MessageSamples.goAway) }),
      ("unknown-type", { $0.writeFrame(Frame(type: FrameType(rawValue: 0x7F), callID: 9, payload: ping)) }),
    ]
    return frames.map { name, write in
      var buffer = ByteBuffer()
      // The samples hold no NUL byte, so encoding them cannot fail.
      try! write(&buffer)
      return (name, Array(buffer.readableBytesView))
    }
  }
}
