import Foundation

/// The `exp` claim of a JWT-shaped bearer token, read without verifying anything: TokenReview
/// decides whether a token is valid; the claim can only make a cached answer end sooner.
package enum JWTExpiry {
  private struct Claims: Decodable {
    var exp: Double?
  }

  /// Seconds since the Unix epoch at which `token` expires, or `nil` when it is not a JWT with an
  /// `exp` claim.
  package static func of(_ token: String) -> Double? {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[1].utf8.count <= 8192 else { return nil }
    var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
    guard let json = Data(base64Encoded: base64), let exp = try? JSONDecoder().decode(Claims.self, from: json).exp,
      exp.isFinite
    else { return nil }
    return exp
  }
}
