/// `authentication.k8s.io/v1` TokenReview, the fields this server writes and reads.
struct TokenReview: Codable, Sendable {
  struct Spec: Codable, Sendable {
    var token: String
    var audiences: [String]?
  }

  struct Status: Codable, Sendable {
    struct User: Codable, Sendable {
      var username: String?
      var uid: String?
      var groups: [String]?
    }

    var authenticated: Bool?
    var user: User?
    var audiences: [String]?
    var error: String?
  }

  var apiVersion = "authentication.k8s.io/v1"
  var kind = "TokenReview"
  var spec: Spec
  var status: Status?
}
