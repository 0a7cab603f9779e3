import Glibc
import Logging
import NIOSSL
import Synchronization

/// The TLS listener's context, made again when its certificate, key or client-CA file changes.
///
/// Each new connection asks for ``current()``, which compares the files' identity (device, inode,
/// size, modification time) with what the context was made from: a few `stat` calls, and a reload
/// only after a change. A change that does not make a usable context (a key that does not match
/// the new certificate yet, a half-written file) keeps the previous context and logs a warning once
/// per change, so a rotation done file by file never breaks the listener.
final class ReloadingServerTLSContext: Sendable {
  private struct Loaded {
    var context: NIOSSLContext
    var stamps: [FileStamp?]
    /// The stamps of the last change that failed to load, so it is reported once.
    var failedStamps: [FileStamp?]?
  }

  private let configuration: ServerTLSConfiguration
  private let logger: Logger
  private let loaded: Mutex<Loaded>

  /// Loads the files once; their errors are the server's startup errors.
  init(configuration: ServerTLSConfiguration, logger: Logger) throws(TLSFileError) {
    self.configuration = configuration
    self.logger = logger
    let stamps = configuration.files.map(FileStamp.init(path:))
    loaded = Mutex(Loaded(context: try Self.makeContext(configuration), stamps: stamps))
  }

  /// The context for a new connection: reloaded first if a file changed.
  func current() -> NIOSSLContext {
    let stamps = configuration.files.map(FileStamp.init(path:))
    return loaded.withLock { loaded in
      guard stamps != loaded.stamps, stamps != loaded.failedStamps else { return loaded.context }
      do {
        loaded.context = try Self.makeContext(configuration)
        loaded.stamps = stamps
        loaded.failedStamps = nil
        logger.info("TLS certificate reloaded", metadata: ["file": "\(configuration.certificateChainFile)"])
      } catch {
        loaded.failedStamps = stamps
        logger.warning("TLS files changed but cannot be used; keeping the previous certificate", metadata: ["error": "\(error)"])
      }
      return loaded.context
    }
  }

  private static func makeContext(_ configuration: ServerTLSConfiguration) throws(TLSFileError) -> NIOSSLContext {
    let chain = try TLSFiles.certificates(configuration.certificateChainFile, role: "TLS certificate")
    let key = try TLSFiles.privateKey(configuration.privateKeyFile, role: "TLS key")
    var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    tls.minimumTLSVersion = .tlsv12
    if let clientCAFile = configuration.clientCAFile {
      // Mutual TLS: a client certificate chaining to these CAs is required (no host name to check).
      tls.trustRoots = .certificates(try TLSFiles.certificates(clientCAFile, role: "client CA file"))
      tls.certificateVerification = .noHostnameVerification
      tls.sendCANameList = true
    }
    return try TLSFiles.context(tls)
  }
}

/// What identifies a file's content without reading it.
struct FileStamp: Equatable, Sendable {
  var device: UInt64
  var inode: UInt64
  var size: Int64
  var modified: timespec

  /// The file's stamp, or `nil` when it cannot be looked at (the reload then fails and says why).
  init?(path: String) {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    modified = info.st_mtim
  }

  static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
      && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
  }
}
