//! Time for measurements: the monotonic clock in nanoseconds (vDSO, ~20 ns a call).

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds.
@inline(__always)
func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Seconds between two `now()` readings.
@inline(__always)
func seconds(_ start: UInt64, _ end: UInt64) -> Double { Double(end &- start) / 1e9 }
