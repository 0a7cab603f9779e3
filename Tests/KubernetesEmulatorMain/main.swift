import Foundation
import KubernetesEmulator

// agentcube-kube-emulator --cert server.pem --key server.key [--port N] [--tokens tokens.json]
//   [--served-versions v1alpha1,v1beta1] [--ssh-port 22] [--no-controller] [--pods-without-ips]
//   [--bookmark-interval SECONDS] [--split-watch-chunks] [--state-directory DIR]
// Prints the URL on one line of stdout once it listens, then serves until killed (SIGTERM/SIGINT:
// stops every sandbox's sshd first).
// tokens.json: [{"token":"…","user":{"username":"…","uid":"…","groups":[…],"extra":{}},
//   "audiences":["…"],"permissions":[{"verb":"create","group":"authentication.k8s.io","resource":"tokenreviews"},
//   {"verb":"*","group":"agents.x-k8s.io","resource":"sandboxes","namespace":"team-a"}],"expired":false}]

let usageLine =
  "usage: agentcube-kube-emulator --cert PEM --key PEM [--port N] [--tokens JSON] [--served-versions LIST] "
  + "[--ssh-port N] [--no-controller] [--pods-without-ips] [--bookmark-interval SECONDS] [--split-watch-chunks] "
  + "[--state-directory DIR]"

func usage(_ message: String) -> Never {
  FileHandle.standardError.write(Data("agentcube-kube-emulator: \(message)\n\(usageLine)\n".utf8))
  exit(2)
}

let valued = [
  "--cert", "--key", "--port", "--tokens", "--served-versions", "--ssh-port", "--bookmark-interval", "--state-directory",
]
let switches = ["--no-controller", "--pods-without-ips", "--split-watch-chunks"]
var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
  if switches.contains(flag) {
    options[flag] = "true"
    continue
  }
  guard valued.contains(flag) else { usage("unknown argument \(flag)") }
  guard let value = arguments.popFirst() else { usage("\(flag) needs a value") }
  options[flag] = value
}
guard let certificate = options["--cert"], let key = options["--key"] else { usage("--cert and --key are required") }
guard let port = Int(options["--port"] ?? "0"), (0...65535).contains(port) else { usage("bad --port") }
var tokens: [TokenRecord] = []
if let path = options["--tokens"] {
  do {
    tokens = try JSONDecoder().decode([TokenRecord].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
  } catch {
    usage("cannot read tokens from \(path): \(error)")
  }
}
var configuration = EmulatorConfiguration(certificatePath: certificate, privateKeyPath: key, port: port, tokens: tokens)
if let list = options["--served-versions"] {
  var versions: [SandboxVersion] = []
  for name in list.split(separator: ",") {
    guard let version = SandboxVersion(rawValue: String(name)) else { usage("unknown Sandbox version \(name)") }
    versions.append(version)
  }
  configuration.sandboxes.servedVersions = versions
}
if let text = options["--ssh-port"] {
  guard let sshPort = Int(text), (1...65535).contains(sshPort) else { usage("bad --ssh-port") }
  configuration.sandboxes.controller.sshPort = sshPort
}
if options["--no-controller"] != nil { configuration.sandboxes.controller.enabled = false }
if options["--pods-without-ips"] != nil { configuration.sandboxes.controller.setsPodIPs = false }
if let directory = options["--state-directory"] { configuration.sandboxes.controller.stateDirectory = directory }
if let text = options["--bookmark-interval"] {
  guard let seconds = Double(text), seconds > 0 else { usage("bad --bookmark-interval") }
  configuration.watch.bookmarkInterval = .milliseconds(Int(seconds * 1000))
}
if options["--split-watch-chunks"] != nil { configuration.watch.splitChunks = true }

let emulator = try await KubernetesEmulator.start(configuration)
FileHandle.standardOutput.write(Data("\(emulator.url)\n".utf8))
// Serve until SIGTERM or SIGINT, then stop (every sandbox's sshd with it).
for signal in [SIGTERM, SIGINT] { Foundation.signal(signal, SIG_IGN) }
let (ended, ending) = AsyncStream.makeStream(of: Int32.self)
let sources = [SIGTERM, SIGINT].map { signal in
  let source = DispatchSource.makeSignalSource(signal: signal)
  source.setEventHandler { ending.yield(signal) }
  source.resume()
  return source
}
for await _ in ended { break }
await emulator.stop()
_ = sources
exit(0)
