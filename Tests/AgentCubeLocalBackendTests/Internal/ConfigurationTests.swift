import Testing

@testable import AgentCubeLocalBackend

@Suite("Images and sandbox command lines")
struct ConfigurationTests {
  @Test("an images file decodes commands, ports, readiness and the built-in image")
  func imagesFile() throws {
    let json = """
      {"images": {
        "web": {"command": ["/usr/bin/python3", "-m", "http.server"], "environment": {"A": "1"}, "port": 8000},
        "banner": {"command": ["/usr/local/bin/fake-ssh"], "port": 2222, "readiness": "ssh-banner"},
        "ssh": {"builtin": "openssh"}
      }}
      """
    let images = try LocalImage.decodeImages(Array(json.utf8), source: "test")
    #expect(images["web"] == .command(["/usr/bin/python3", "-m", "http.server"], environment: ["A": "1"], port: 8000))
    #expect(images["banner"]?.readiness == .sshBanner && images["banner"]?.port == 2222)
    #expect(images["ssh"] == .openSSH)
  }

  @Test(
    "an invalid images file is refused with the reason",
    arguments: [
      #"{"images": {"Web": {"command": ["x"], "port": 1}}}"#, #"{"images": {"w": {"command": [], "port": 1}}}"#,
      #"{"images": {"w": {"command": ["x"], "port": 70000}}}"#,
      #"{"images": {"w": {"command": ["x"], "port": 1, "readiness": "http"}}}"#,
      #"{"images": {"w": {"builtin": "dropbear"}}}"#, #"{"images": []}"#,
    ])
  func invalidImagesFile(_ json: String) {
    #expect(throws: LocalBackendError.self) { try LocalImage.decodeImages(Array(json.utf8), source: "test") }
  }

  @Test("the inner sandbox drops every capability, keeps / read-only and hides the state directory")
  func innerArguments() {
    let bubblewrap = Bubblewrap(
      executable: "/usr/bin/bwrap", stateDirectory: "/var/lib/ac", workspace: "/var/lib/ac/sandboxes/s/workspace",
      hiddenDirectories: ["/root"], hiddenFiles: ["/etc/shadow"])
    let arguments = bubblewrap.commandArguments()
    let joined = arguments.joined(separator: " ")
    #expect(joined.hasPrefix("/usr/bin/bwrap --unshare-user --cap-drop ALL"))
    #expect(joined.contains("--ro-bind / /"))
    #expect(
      joined.contains("--tmpfs /var/lib/ac --bind /var/lib/ac/sandboxes/s/workspace /var/lib/ac/sandboxes/s/workspace"))
    #expect(joined.contains("--remount-ro /root --remount-ro /var/lib/ac"))
    #expect(joined.contains("--ro-bind /dev/null /etc/shadow"))
    #expect(arguments.last == "--")
    #expect(!joined.contains("--proc"), "an unprivileged sandbox cannot mount a new /proc")
  }

  @Test("the OpenSSH image says why it cannot start without root")
  func needsRoot() {
    let isolation = Isolation(available: true, privilegedAvailable: false, message: "")
    let reason = OpenSSHImage().unavailableReason(isRoot: false, isolation: isolation)
    #expect(reason?.contains("privilege separation needs root") == true)
  }
}
