import Foundation
import KubernetesEmulator

// agentcube-kube-emulator --cert server.pem --key server.key [--port N] [--tokens tokens.json]
// Prints the URL on one line of stdout once it listens, then serves until killed.
// tokens.json: [{"token":"…","user":{"username":"…","uid":"…","groups":[…],"extra":{}},
//   "audiences":["…"],"permissions":[{"verb":"create","group":"authentication.k8s.io","resource":"tokenreviews"}],
//   "expired":false}]

func usage(_ message: String) -> Never {
  FileHandle.standardError.write(
    Data(
      "agentcube-kube-emulator: \(message)\nusage: agentcube-kube-emulator --cert PEM --key PEM [--port N] [--tokens JSON]\n"
        .utf8))
  exit(2)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
  guard ["--cert", "--key", "--port", "--tokens"].contains(flag) else { usage("unknown argument \(flag)") }
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

let emulator = try await KubernetesEmulator.start(
  EmulatorConfiguration(certificatePath: certificate, privateKeyPath: key, port: port, tokens: tokens))
FileHandle.standardOutput.write(Data("\(emulator.url)\n".utf8))
// Serve until a signal ends the process.
while true { try await Task.sleep(for: .seconds(3600)) }
