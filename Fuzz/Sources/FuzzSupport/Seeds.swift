#if canImport(Glibc)
  import Glibc
#endif

/// The seed-generator mode of every fuzz target.
///
/// Run a target with `FUZZ_WRITE_SEEDS=<folder>` and it writes its seeds there as `<name>.bin`
/// and exits instead of fuzzing; scripts/fuzz.sh --seeds does this for `Fuzz/Corpus/<target>/`.
public enum Seeds {
  /// Writes `seeds` and exits when `FUZZ_WRITE_SEEDS` is set; returns otherwise.
  public static func writeIfRequested(_ seeds: @autoclosure () -> [(name: String, bytes: [UInt8])]) {
    guard let folder = getenv("FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return }
    for seed in seeds() {
      let path = folder + "/" + seed.name + ".bin"
      guard let file = fopen(path, "wb") else { fail("cannot create \(path)") }
      check(fwrite(seed.bytes, 1, seed.bytes.count, file) == seed.bytes.count, "cannot write \(path)")
      fclose(file)
    }
    exit(0)
  }
}
