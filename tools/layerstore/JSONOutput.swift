//! The one JSON style of every `--json` output: pretty-printed, sorted keys, slashes unescaped,
//! so reports diff well and paths read as paths.

import Foundation

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
