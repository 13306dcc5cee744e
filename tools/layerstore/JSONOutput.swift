//! The one JSON style of every `--json` output: pretty-printed, sorted keys, slashes unescaped,
//! so reports diff well and paths read as paths.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `value` as the tool's JSON text.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Prints `value` as JSON on stdout.
func printJSON(_ value: some Encodable) throws {
    print(try jsonText(value))
}

/// Points file descriptor 1 at standard error (so `print` goes there) and returns a duplicate
/// of the original standard output, for ``restoreStandardOutput(_:)``.
func redirectStandardOutputToStandardError() -> Int32 {
    fflush(nil)
    let saved = dup(1)
    _ = dup2(2, 1)
    return saved
}

/// Undoes ``redirectStandardOutputToStandardError()``.
func restoreStandardOutput(_ saved: Int32) {
    fflush(nil)
    _ = dup2(saved, 1)
    _ = close(saved)
}
