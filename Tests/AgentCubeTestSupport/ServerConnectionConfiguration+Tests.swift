import AgentCubeTransport

extension ServerConnectionConfiguration {
  /// The defaults with the preface and frame-read timeouts as 10-minute hang guards. In-process test
  /// servers enforce their timeouts on NIO's threads while the test's client runs on the few shared
  /// concurrency threads, which a busy machine (or a sanitizer) can hold up for longer than the
  /// 10 s defaults; a test of one of these timeouts sets it itself.
  public static var forTests: Self {
    var configuration = Self.defaults
    configuration.prefaceTimeout = .seconds(600)
    configuration.frameReadTimeout = .seconds(600)
    return configuration
  }
}
