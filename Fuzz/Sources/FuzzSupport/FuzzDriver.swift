import CLibFuzzer

/// The `main` of every fuzz target: the seed-generator mode, else libFuzzer.
///
/// SwiftPM links an executable with `--defsym main=<module>_main`, which `-parse-as-library` code
/// never defines; lld rejects that, gold would let libFuzzer's own `main` in instead. So each target
/// defines `<module>_main` with `@_cdecl` and calls this, which hands its input function to
/// `LLVMFuzzerRunDriver`.
public enum FuzzDriver {
  /// libFuzzer's `LLVMFuzzerTestOneInput`: one input, return 0.
  public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

  /// Writes `seeds` when `FUZZ_WRITE_SEEDS` is set (``Seeds``), else runs libFuzzer with the
  /// command line and `test`.
  public static func run(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    seeds: @autoclosure () -> [(name: String, bytes: [UInt8])], _ test: TestOneInput
  ) -> Int32 {
    Seeds.writeIfRequested(seeds())
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv, test)
  }
}
