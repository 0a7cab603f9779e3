import AgentCubeServer
import AgentCubeTestSupport
import Testing

/// The per-caller token buckets, on a clock the tests move: no test waits on real time.
@Suite struct IdentityRateLimiterTests {
  @Test("a burst passes, the next call is told how long until a token; time refills the bucket")
  func burstThenWait() {
    let time = ManualClock()
    let limiter = IdentityRateLimiter(rate: 5, burst: 3, clock: time.clock)
    for _ in 0..<3 { #expect(limiter.acquire(for: "alice") == nil) }
    #expect(limiter.acquire(for: "alice") == .milliseconds(200), "one token comes every 1/5 s")
    time.advance(by: .milliseconds(150))
    #expect(limiter.acquire(for: "alice") == .milliseconds(50), "a refused call takes nothing")
    time.advance(by: .milliseconds(50))
    #expect(limiter.acquire(for: "alice") == nil)
    #expect(limiter.acquire(for: "alice") != nil)
    time.advance(by: .seconds(60))
    for _ in 0..<3 { #expect(limiter.acquire(for: "alice") == nil, "full again, never above the burst") }
    #expect(limiter.acquire(for: "alice") != nil)
  }

  @Test("each caller has a bucket of its own")
  func callersAreSeparate() {
    let time = ManualClock()
    let limiter = IdentityRateLimiter(rate: 1, burst: 1, clock: time.clock)
    #expect(limiter.acquire(for: "alice") == nil)
    #expect(limiter.acquire(for: "alice") == .seconds(1))
    #expect(limiter.acquire(for: "bob") == nil)
  }

  @Test("buckets of callers that went quiet are forgotten: memory follows the active callers")
  func quietCallersAreForgotten() {
    let time = ManualClock()
    // An empty bucket is full again 20 s on: the limiter sweeps every 20 s.
    let limiter = IdentityRateLimiter(rate: 1, burst: 20, clock: time.clock)
    for index in 0..<500 { _ = limiter.acquire(for: "caller-\(index)") }
    time.advance(by: .seconds(10))
    for _ in 0..<20 { _ = limiter.acquire(for: "heavy") }  // empty now, 10 tokens at the next sweep
    #expect(limiter.trackedIdentities == 501, "no sweep before 20 s")
    time.advance(by: .seconds(10))
    _ = limiter.acquire(for: "someone-new")
    #expect(limiter.trackedIdentities == 2, "the 500 are full again and forgotten; heavy is not yet")
    for _ in 0..<10 { #expect(limiter.acquire(for: "heavy") == nil) }
    #expect(limiter.acquire(for: "heavy") == .seconds(1), "heavy's bucket was kept: 10 tokens, not a new 20")
    time.advance(by: .seconds(25))
    _ = limiter.acquire(for: "someone-new")
    #expect(limiter.trackedIdentities == 1)
  }

  @Test("a token bucket never holds more than its burst, and waits are exact")
  func tokenBucket() {
    let start = ContinuousClock.now
    var bucket = TokenBucket(rate: 0.5, burst: 2, now: start)
    #expect(bucket.take(at: start) == nil)
    #expect(bucket.take(at: start) == nil)
    #expect(bucket.take(at: start) == .seconds(2))
    #expect(bucket.take(at: start + .seconds(1)) == .seconds(1))
    #expect(!bucket.isFull(at: start + .seconds(3)))
    #expect(bucket.isFull(at: start + .seconds(4)))
  }
}
