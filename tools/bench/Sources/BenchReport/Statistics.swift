//! Medians, spreads and percentiles: the only arithmetic the report does on raw measurements.

/// Order statistics of a sample.
public enum Statistics {
    /// The median of `values` (the mean of the middle two for an even count); `nil` if empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// The `p`-th percentile (`p` in 0...1) of already sorted values, nearest rank:
    /// the smallest value with at least `p` of the sample at or below it.
    /// - Precondition: `sorted` is sorted ascending.
    public static func percentile<T: Comparable>(sorted: [T], _ p: Double) -> T? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// The `p`-th percentile of unsorted values (sorts a copy).
    public static func percentile<T: Comparable>(_ values: [T], _ p: Double) -> T? {
        percentile(sorted: values.sorted(), p)
    }
}
