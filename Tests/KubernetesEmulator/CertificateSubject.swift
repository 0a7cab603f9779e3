/// The subject of an X.509 certificate as kube-apiserver's x509 authenticator reads it: the user
/// is the common name (CN), the groups are the organizations (O).
///
/// A minimal DER reader, bounds-checked everywhere, so the emulator needs no certificate library
/// and none of the product's code.
struct CertificateSubject: Equatable, Sendable {
  var commonName: String
  var organizations: [String]

  /// Reads the subject of a DER certificate; `nil` when the bytes are not one or it has no CN.
  init?(der: [UInt8]) {
    var reader = DERReader(der[...])
    guard var certificate = reader.read(tag: 0x30)?.contents, var tbs = certificate.read(tag: 0x30)?.contents
    else { return nil }
    if tbs.peekTag == 0xA0 { _ = tbs.read(tag: 0xA0) }  // [0] version
    // serialNumber, signature, issuer, validity, then the subject.
    guard tbs.read(tag: 0x02) != nil, tbs.read(tag: 0x30) != nil, tbs.read(tag: 0x30) != nil,
      tbs.read(tag: 0x30) != nil, var subject = tbs.read(tag: 0x30)?.contents
    else { return nil }
    var commonName: String?
    var organizations: [String] = []
    while !subject.isEmpty {
      guard var names = subject.read(tag: 0x31)?.contents else { return nil }
      while !names.isEmpty {
        guard var pair = names.read(tag: 0x30)?.contents, let oid = pair.read(tag: 0x06)?.contents,
          let value = pair.readAny()
        else { return nil }
        let text = String(decoding: value.contents.bytes, as: UTF8.self)
        switch Array(oid.bytes) {
        case [0x55, 0x04, 0x03]: commonName = text
        case [0x55, 0x04, 0x0A]: organizations.append(text)
        default: break
        }
      }
    }
    guard let commonName else { return nil }
    self.commonName = commonName
    self.organizations = organizations
  }
}

/// Reads DER tag-length-value elements from a slice; every length is checked against what is left.
private struct DERReader {
  private(set) var bytes: ArraySlice<UInt8>

  init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

  var isEmpty: Bool { bytes.isEmpty }
  var peekTag: UInt8? { bytes.first }

  /// The next element when its tag is `tag`.
  mutating func read(tag: UInt8) -> (tag: UInt8, contents: DERReader)? {
    guard peekTag == tag else { return nil }
    return readAny()
  }

  /// The next element, whatever its tag (single-byte tags only, as certificates use).
  mutating func readAny() -> (tag: UInt8, contents: DERReader)? {
    var index = bytes.startIndex
    guard index < bytes.endIndex else { return nil }
    let tag = bytes[index]
    index += 1
    guard index < bytes.endIndex else { return nil }
    var length = Int(bytes[index])
    index += 1
    if length & 0x80 != 0 {
      let count = length & 0x7F
      guard count >= 1, count <= 4, bytes.endIndex - index >= count else { return nil }
      length = 0
      for _ in 0..<count {
        length = length << 8 | Int(bytes[index])
        index += 1
      }
    }
    guard length <= bytes.endIndex - index else { return nil }
    let contents = bytes[index..<index + length]
    bytes = bytes[(index + length)...]
    return (tag, DERReader(contents))
  }
}
