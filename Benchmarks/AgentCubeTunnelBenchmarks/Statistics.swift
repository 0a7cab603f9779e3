import Foundation

/// Median and spread of a handful of repetitions.
struct Summary {
  var median: Double
  var min: Double
  var max: Double

  init?(_ values: [Double]) {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    median = sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    min = sorted[0]
    max = sorted[sorted.count - 1]
  }
}

extension Double {
  /// Fixed-point text with `digits` decimals.
  func fixed(_ digits: Int) -> String { String(format: "%.\(digits)f", self) }
}
