//! The catalogue of what the benchmark measures: every figure's id, label, unit and direction,
//! and which machine limit it is held against. Report writers and targets read it; nothing
//! else names a metric by hand.

/// One measured quantity of a phase.
public struct Metric: Sendable, Equatable {
    /// Stable id, used as the JSON key (`phase.quantity`).
    public var id: String
    /// The phase it belongs to, for grouping in the table.
    public var phase: String
    /// What the table's row says.
    public var label: String
    /// The unit printed after the value.
    public var unit: String
    /// `true` if more is better (rates), `false` if less is (latencies, sizes).
    public var higherIsBetter: Bool
    /// The limit (a ``Metric/id`` of engine ``Engines/limit``) this figure is a fraction of, if any.
    public var limit: String?
    /// Shown in the chart (headline figures only, so the chart stays readable).
    public var charted: Bool
    /// Whether the peers' figures mean the same thing (WAL replay speed does not: LMDB has no
    /// log to replay, and SQLite's recovery happens at its first read).
    public var peerComparable: Bool

    init(_ id: String, _ phase: String, _ label: String, _ unit: String, higher: Bool, limit: String? = nil,
         charted: Bool = false, peerComparable: Bool = true) {
        self.id = id
        self.phase = phase
        self.label = label
        self.unit = unit
        self.higherIsBetter = higher
        self.limit = limit
        self.charted = charted
        self.peerComparable = peerComparable
    }
}

/// Engine names used in figures.
public enum Engines {
    /// LayerStore itself.
    public static let layerStore = "layerstore"
    /// The peers, in table order.
    public static let peers = ["lmdb", "sqlite", "rocksdb"]
    /// The pseudo-engine the machine's limits are filed under.
    public static let limit = "limit"
    /// Display names.
    public static func display(_ engine: String) -> String {
        switch engine {
        case "layerstore": return "LayerStore"
        case "lmdb": return "LMDB"
        case "sqlite": return "SQLite"
        case "rocksdb": return "RocksDB"
        case "limit": return "limit"
        default: return engine
        }
    }
}

extension Metric {
    /// Every engine metric, in table order.
    public static let engineMetrics: [Metric] = [
        Metric("load.mbps", "load", "durable load", "MB/s", higher: true, limit: "limit.seqwrite_mbps", charted: true),
        Metric("load.records_ps", "load", "durable load", "records/s", higher: true),
        Metric("load.settle_s", "load", "settle (flush/compaction)", "s", higher: false),
        Metric("load.size_ratio", "load", "size on disk / data (closed)", "x", higher: false),
        Metric("load.size_ratio_open", "load", "size on disk / data (open, settled)", "x", higher: false),
        Metric("open.ms", "cold open", "cold open to first value (new process)", "ms", higher: false, charted: true),
        Metric("read1.ops", "point reads", "point reads, 1 thread", "ops/s", higher: true, charted: true),
        Metric("read1.p50_ns", "point reads", "point read p50, 1 thread", "ns", higher: false),
        Metric("read1.p99_ns", "point reads", "point read p99, 1 thread", "ns", higher: false),
        Metric("read2.ops", "point reads", "point reads, 2 threads", "ops/s", higher: true),
        Metric("read2.scaling", "point reads", "2 threads / 1 thread", "x", higher: true),
        Metric("scan7.gbps", "scan", "scan dimension 7 + XXH3", "GB/s", higher: true, limit: "limit.xxh3_values_gbps"),
        Metric("scan16.gbps", "scan", "scan all 16 + XXH3", "GB/s", higher: true, limit: "limit.xxh3_values_gbps", charted: true),
        Metric("scan16.ms", "scan", "scan all 16 + XXH3", "ms", higher: false),
        Metric("scan16_verify.gbps", "scan", "scan all 16, every block verified", "GB/s", higher: true, limit: "limit.xxh3_values_gbps"),
        Metric("commit.p50_us", "commit", "one-record durable commit p50", "µs", higher: false, limit: "limit.fdatasync_overwrite_us", charted: true),
        Metric("commit.p99_us", "commit", "one-record durable commit p99", "µs", higher: false),
        Metric("group.c1_ps", "group commit", "1 committer", "commits/s", higher: true),
        Metric("group.c64_ps", "group commit", "64 committers", "commits/s", higher: true, charted: true),
        Metric("group.ratio", "group commit", "64 / 1 committers", "x", higher: true),
        Metric("ruw.reads_ps", "readers under writes", "128 readers + 1 writer: reads", "reads/s", higher: true, charted: true),
        Metric("ruw.p99_base_ns", "readers under writes", "reader p99 without writes", "ns", higher: false),
        Metric("ruw.p99_ns", "readers under writes", "reader p99 during writes", "ns", higher: false),
        Metric("ruw.p99_swap_ns", "readers under writes", "reader p99 around publications", "ns", higher: false),
        Metric("cold.read_ops", "cold tier", "cold point reads, 1 thread", "ops/s", higher: true, charted: true),
        Metric("cold.read_p50_ns", "cold tier", "cold point read p50", "ns", higher: false),
        Metric("cold.read_p99_ns", "cold tier", "cold point read p99", "ns", higher: false),
        Metric("cold.scan16_gbps", "cold tier", "cold scan all 16 + XXH3", "GB/s", higher: true, limit: "limit.lz4_decompress_16k_gbps", charted: true),
        Metric("cold.size_ratio", "cold tier", "cold size on disk / data", "x", higher: false),
        Metric("recovery.open_ms", "recovery", "open to first read after kill -9", "ms", higher: false, charted: true),
        Metric("recovery.gbps", "recovery", "WAL replay (unflushed bytes / open time)", "GB/s", higher: true, peerComparable: false),
        Metric("open10x.ms", "cold open", "cold open at 10x the data (layer)", "ms", higher: false),
    ]

    /// The machine's limits, measured in the same run.
    public static let limitMetrics: [Metric] = [
        Metric("limit.membw_gbps", "limits", "memory read, mapped file, summing loop", "GB/s", higher: true),
        Metric("limit.xxh3_values_gbps", "limits", "XXH3 of every value, mapped", "GB/s", higher: true),
        Metric("limit.xxh3_whole_gbps", "limits", "XXH3 over the whole mapping", "GB/s", higher: true),
        Metric("limit.lz4_compress_4k_gbps", "limits", "LZ4 compress, 4 KiB blocks", "GB/s", higher: true),
        Metric("limit.lz4_compress_16k_gbps", "limits", "LZ4 compress, 16 KiB blocks", "GB/s", higher: true),
        Metric("limit.lz4_compress_64k_gbps", "limits", "LZ4 compress, 64 KiB blocks", "GB/s", higher: true),
        Metric("limit.lz4_decompress_4k_gbps", "limits", "LZ4 decompress, 4 KiB blocks", "GB/s", higher: true),
        Metric("limit.lz4_decompress_16k_gbps", "limits", "LZ4 decompress, 16 KiB blocks", "GB/s", higher: true),
        Metric("limit.lz4_decompress_64k_gbps", "limits", "LZ4 decompress, 64 KiB blocks", "GB/s", higher: true),
        Metric("limit.lz4_ratio_16k", "limits", "LZ4 ratio, 16 KiB blocks", "x", higher: true),
        Metric("limit.fdatasync_append_us", "limits", "fdatasync of a 4 KiB append, p50", "µs", higher: false),
        Metric("limit.fdatasync_overwrite_us", "limits", "fdatasync of a 4 KiB in-place overwrite, p50", "µs", higher: false),
        Metric("limit.seqwrite_mbps", "limits", "sequential write, one fsync at the end", "MB/s", higher: true),
    ]

    /// Looks a metric up by id.
    public static func named(_ id: String) -> Metric? {
        engineMetrics.first { $0.id == id } ?? limitMetrics.first { $0.id == id }
    }
}
