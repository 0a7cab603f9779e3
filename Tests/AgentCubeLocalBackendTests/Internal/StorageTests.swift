import AgentCubeCore
import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("SessionStore, FileSystem, OutputTail")
struct StorageTests {
  @Test("records round-trip; broken ones are set aside; leftovers of interrupted writes go")
  func store() throws {
    let context = try TestContext()
    defer { context.remove() }
    let store = try SessionStore(directory: context.directory + "/sessions")
    let record = SessionRecord(
      session: Session(id: "abc-1", status: .running, sshHostPublicKey: "ssh-ed25519 AAAA"),
      process: ProcessIdentity(pid: 5, startTime: 6), idRange: 3, workspaceImage: true)
    try store.save(record)
    try FileSystem.write(Array("{not json".utf8), to: store.directory + "/bad-1.json", mode: 0o600)
    try FileSystem.write(Array("x".utf8), to: store.directory + "/.abc-2.json.tmp", mode: 0o600)
    let loaded = store.loadAll()
    #expect(loaded.records == [record])
    #expect(loaded.problems == ["bad-1.json"])
    #expect(FileSystem.list(store.directory)?.sorted() == ["abc-1.json", "bad-1.json.corrupt"])
    var info = stat()
    #expect(stat(store.directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
    #expect(stat(store.path(for: "abc-1"), &info) == 0 && info.st_mode & 0o777 == 0o600)
    try store.remove(id: "abc-1")
    #expect(store.loadAll().records.isEmpty)
  }

  @Test("removeTree removes links, not what they point to")
  func removeTree() throws {
    let context = try TestContext()
    defer { context.remove() }
    let outside = context.directory + "/outside"
    try FileSystem.makeDirectory(outside, mode: 0o755)
    try FileSystem.write(Array("keep".utf8), to: outside + "/file", mode: 0o644)
    let tree = context.directory + "/tree"
    try FileSystem.makeDirectory(tree + "/a/b", mode: 0o755)
    symlink(outside, tree + "/a/link")
    try FileSystem.write([], to: tree + "/a/b/f", mode: 0o644)
    chmod(tree + "/a/b", 0o500)
    try FileSystem.removeTree(tree)
    #expect(!FileSystem.exists(tree))
    #expect(FileSystem.read(outside + "/file") == Array("keep".utf8))
    try FileSystem.removeTree(tree)  // a missing tree is fine
  }

  @Test("removeTree removes a tree deeper than PATH_MAX, with directories of mode 000 in it")
  func removeDeepTree() async throws {
    let context = try TestContext()
    defer { context.remove() }
    let tree = context.directory + "/deep"
    try FileSystem.makeDirectory(tree, mode: 0o755)
    // 20,500 levels, each with a file and a locked-down mode somewhere: made with *at calls, as no
    // path reaches the bottom. On a thread of its own: seconds of blocking calls must not hold up
    // the test runner's shared threads (other tests time things).
    let (levels, removed): (Int, Result<Void, LocalBackendError>) = await BlockingWork.run {
      var made = 0
      var fd = open(tree, O_RDONLY | O_DIRECTORY)
      for level in 0..<20_500 {
        if mkdirat(fd, "d", 0o755) == 0 { made += 1 }
        let file = openat(fd, "f\(level % 7)", O_CREAT | O_WRONLY, 0o600)
        close(file)
        let next = openat(fd, "d", O_RDONLY | O_DIRECTORY)
        if level % 1000 == 999 { fchmod(next, 0) }
        close(fd)
        fd = next
      }
      close(fd)
      do {
        try FileSystem.removeTree(tree)
        return (made, .success(()))
      } catch {
        return (made, .failure(error as? LocalBackendError ?? LocalBackendError("\(error)")))
      }
    }
    #expect(levels == 20_500)
    try removed.get()
    #expect(!FileSystem.exists(tree))
  }

  @Test("two removers of the same tree at once both succeed: what the other removed is not an error")
  func concurrentRemovers() async throws {
    let context = try TestContext()
    defer { context.remove() }
    let tree = context.directory + "/wide"
    // 300 branches 12 deep, each level with a file: both removers meet entries the other took.
    for branch in 0..<300 {
      var path = tree + "/b\(branch)"
      for level in 0..<12 {
        try FileSystem.makeDirectory(path, mode: 0o755)
        try FileSystem.write([], to: path + "/f", mode: 0o644)
        path += "/l\(level)"
      }
    }
    func remove() async -> Result<Void, LocalBackendError> {
      await BlockingWork.run {
        do {
          try FileSystem.removeTree(tree)
          return .success(())
        } catch {
          return .failure(error as? LocalBackendError ?? LocalBackendError("\(error)"))
        }
      }
    }
    async let first = remove()
    async let second = remove()
    let results = await [first, second]
    for result in results { try result.get() }
    #expect(!FileSystem.exists(tree))
  }

  @Test("the output tail is the end of the last lines, with secrets left out")
  func tail() {
    let text = """
      partial line
      starting server
      -----BEGIN OPENSSH PRIVATE KEY-----
      b3BlbnNzaC1rZXktdjEAAAAA
      -----END OPENSSH PRIVATE KEY-----
      using API_TOKEN=abc123
      fatal: bind failed\u{7}
      """
    let cleaned = OutputTail.clean(Array(text.utf8), truncated: true)
    #expect(cleaned == "starting server\n<line redacted>\nfatal: bind failed?")
  }
}
