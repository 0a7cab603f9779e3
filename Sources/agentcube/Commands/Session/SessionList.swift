import AgentCube
import ArgumentParser
import Foundation

extension SessionCommand {
  /// `agentcube session list`: the caller's sessions, one page or all of them.
  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List your sessions, oldest first.")

    @OptionGroup var options: ClientOptions

    @Option(help: ArgumentHelp("Sessions per page, 1 to 100 (default: the server's, 50).", valueName: "n"))
    var pageSize: UInt32?

    @Option(help: ArgumentHelp("Start at this page (the next_page_token of an earlier list).", valueName: "token"))
    var pageToken: String?

    @Flag(help: "Follow next_page_token until the last page.")
    var all = false

    func validate() throws {
      if let pageSize, !(1...100).contains(pageSize) { throw ValidationError("--page-size must be between 1 and 100") }
    }

    func run() async throws {
      try await options.withClient { client in try render(try await fetch(client)) }
    }

    private func render(_ page: ListSessionsResponse) throws {
      if options.json {
        try printJSON(ListJSON(sessions: page.sessions.map(SessionJSON.init), nextPageToken: page.nextPageToken))
        return
      }
      guard !page.sessions.isEmpty else {
        printNote("no sessions")
        return
      }
      let now = Date()
      printTable(header: Session.tableHeader, rows: page.sessions.map { $0.tableRow(now: now) })
      if !page.nextPageToken.isEmpty { printNote("more sessions: --page-token \(page.nextPageToken) or --all") }
    }

    /// One page, or with --all every page from --page-token on, merged into one response.
    private func fetch(_ client: AgentCubeClient) async throws -> ListSessionsResponse {
      var request = ListSessionsRequest(pageSize: pageSize ?? 0, pageToken: pageToken ?? "")
      var result = ListSessionsResponse()
      var seenTokens: Set<String> = []
      repeat {
        let page = try await client.sessions.listSessions(request, options: options.callOptions())
        result.sessions += page.sessions
        result.nextPageToken = page.nextPageToken
        guard all, !page.nextPageToken.isEmpty else { break }
        // A server that hands out a token twice would otherwise be paged forever.
        guard seenTokens.insert(page.nextPageToken).inserted else {
          throw CommandError("the server returned the same page token twice; stopped paging")
        }
        request.pageToken = page.nextPageToken
      } while true
      return result
    }
  }
}

/// `session list --json`: the ListSessions response with sessions as ``SessionJSON``.
private struct ListJSON: Encodable {
  let sessions: [SessionJSON]
  let nextPageToken: String

  private enum CodingKeys: String, CodingKey {
    case sessions
    case nextPageToken = "next_page_token"
  }
}
