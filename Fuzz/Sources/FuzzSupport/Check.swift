/// Stops the fuzzer with `message` when a property does not hold.
///
/// libFuzzer treats the trap as a crash and saves the input that caused it.
public func check(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  file: StaticString = #fileID, line: UInt = #line
) {
  guard !condition() else { return }
  fail(message(), file: file, line: line)
}

/// Stops the fuzzer with `message`.
public func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
  fatalError("property violated: \(message)", file: file, line: line)
}
