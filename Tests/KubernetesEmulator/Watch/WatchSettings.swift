import Synchronization

/// How watches behave; set at start (``EmulatorConfiguration/watch``) and changeable while the
/// emulator runs (``KubernetesEmulator/watchSettings``).
public struct WatchSettings: Sendable, Hashable {
  /// How often a watch that allows bookmarks gets a BOOKMARK; default 60 s (kube-apiserver sends
  /// them about once a minute). ``KubernetesEmulator/sendBookmarks()`` sends one at once.
  public var bookmarkInterval: Duration
  /// How long a watch without `timeoutSeconds` lasts; default 30 min (kube picks 30–60 min).
  public var defaultTimeout: Duration
  /// Splits each event line into several chunks at odd offsets (the JSON cut mid-token, the
  /// newline alone at the end), as a proxy or a slow network delivers them; default false: one
  /// chunk per event, as kube-apiserver writes them.
  public var splitChunks: Bool

  public init(bookmarkInterval: Duration = .seconds(60), defaultTimeout: Duration = .seconds(1800), splitChunks: Bool = false) {
    self.bookmarkInterval = bookmarkInterval
    self.defaultTimeout = defaultTimeout
    self.splitChunks = splitChunks
  }

  public static var defaults: WatchSettings { WatchSettings() }
}

/// The settings as the emulator and its watches share them (thread-safe).
final class SharedWatchSettings: Sendable {
  private let settings: Mutex<WatchSettings>

  init(_ settings: WatchSettings) { self.settings = Mutex(settings) }

  var value: WatchSettings {
    get { settings.withLock { $0 } }
    set { settings.withLock { $0 = newValue } }
  }
}
