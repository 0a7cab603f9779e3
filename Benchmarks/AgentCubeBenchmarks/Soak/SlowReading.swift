/// What a slow reader (of calls or of a tunnel) sent and read back: answers for calls, bytes for
/// a tunnel.
struct SlowReading: Sendable {
  var sent = 0
  var read = 0
  var tally = SoakTally()
}
