//! Phase 7: the cold tier. The engine rewrites everything with LZ4 (LayerStore's
//! `compact(.lz4)`, RocksDB's forced bottommost compaction with LZ4), then point reads and the
//! full scan run again. Engines without a compressed tier skip it.

import Foundation

extension PhaseContext {
    /// Compacts to LZ4 and repeats reads and scans; returns `false` if the engine has no cold tier.
    @discardableResult
    func coldTier(_ engine: any Engine) throws -> Bool {
        let t0 = now()
        guard try engine.compactCold() else { return false }
        log("cold compaction \(String(format: "%.2f", seconds(t0, now()))) s")
        if let bytes = try engine.dataFileBytes(dimensionCount: profile.dimensionCount) {
            record("cold.size_ratio", Double(bytes) / Double(profile.valueBytes))
        }
        try pointReads(engine, prefix: "cold.read", twoThreads: false)
        try scans(engine, metricPrefix: "cold.scan", dimensionSeven: false)
        return true
    }
}
