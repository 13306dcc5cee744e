//! Accounts for every live mapping of a store: how many regions, how many bytes, and the madvise
//! policy new read-only regions get.
//!
//! Regions are reference-counted by Swift: a region lives while any snapshot's state refers to
//! it, and unmaps itself when the last one lets go. The manager only counts, so the read path
//! never touches it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Counts a store's mapped regions and bytes, and holds the madvise policy for segments.
package final class MmapManager: Sendable {
    /// How a region's pages will be read, passed to `madvise`.
    package enum Advice: Sendable {
        /// No advice: the kernel's default readahead.
        case normal
        /// Point reads: no readahead beyond the page touched.
        case random
        /// Scans: aggressive readahead.
        case sequential
        /// Fetch the pages now.
        case willNeed

        var rawValue: Int32 {
            switch self {
            case .normal: return MADV_NORMAL
            case .random: return MADV_RANDOM
            case .sequential: return MADV_SEQUENTIAL
            case .willNeed: return MADV_WILLNEED
            }
        }
    }

    private let regionCount = Atomic<Int>(0)
    private let byteCount = Atomic<Int>(0)
    private let peakByteCount = Atomic<Int>(0)
    /// The advice given to each newly mapped segment.
    package let segmentAdvice: Advice

    package init(segmentAdvice: Advice = .normal) {
        self.segmentAdvice = segmentAdvice
    }

    /// The number of regions currently mapped.
    package var mappedRegionCount: Int { regionCount.load(ordering: .relaxed) }
    /// The bytes currently mapped.
    package var mappedByteCount: Int { byteCount.load(ordering: .relaxed) }
    /// The most bytes ever mapped at once.
    package var peakMappedByteCount: Int { peakByteCount.load(ordering: .relaxed) }

    func didMap(_ region: MmapRegion) {
        regionCount.wrappingAdd(1, ordering: .relaxed)
        let now = byteCount.wrappingAdd(region.count, ordering: .relaxed).newValue
        var peak = peakByteCount.load(ordering: .relaxed)
        while now > peak {
            let (exchanged, original) = peakByteCount.compareExchange(expected: peak, desired: now, ordering: .relaxed)
            if exchanged { break }
            peak = original
        }
    }

    func didUnmap(_ count: Int) {
        regionCount.wrappingSubtract(1, ordering: .relaxed)
        let left = byteCount.wrappingSubtract(count, ordering: .relaxed).newValue
        assert(left >= 0, "unmapped more bytes than were mapped")
    }
}
