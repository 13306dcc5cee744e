//! How a store is opened and how it writes. A value type: copy it, change it, pass it in.

/// Options for opening a ``Store``.
public struct StoreOptions: Sendable, Equatable {
    /// When a commit returns.
    public enum Durability: Sendable, Equatable {
        /// A commit returns only after its WAL record is on stable storage (`fdatasync`).
        /// Concurrent committers share one sync (group commit). The default.
        case sync
        /// A commit returns once its record is written to the operating system; it becomes
        /// durable at the next ``Store/sync()-5ud75``, WAL roll, flush or close. A crash of the machine
        /// (not of the process) may lose the commits since. Faster, and weaker: say so at the
        /// call site.
        case bufferedUnsynced
    }

    /// Create the store (and its directory) if it does not exist. Default `true`.
    public var createIfMissing = true
    /// Open without writing anything: no lock taken, no file created, changed or removed.
    /// Any number of read-only openers may run beside one writer. Default `false`.
    public var readOnly = false
    /// When commits return. Default ``Durability/sync``.
    public var durability: Durability = .sync
    /// The memtable is flushed to segments once it holds about this many bytes. Default 64 MiB.
    public var memtableByteCountMax = 64 << 20
    /// Bytes preallocated for each WAL file. Default 80 MiB: a freeze rolls to a new file, so
    /// a file a little larger than the memtable holds one memtable's writes (their WAL records
    /// take fewer bytes than the memtable counts for them) without rolling once more on the way.
    public var walFileByteCount = 80 << 20
    /// Target size of a segment's data blocks. Default 16 KiB.
    public var blockByteCountTarget = 16 << 10
    /// When block checksums are verified on reads. Default ``BlockVerification/firstRead``.
    public var blockVerification: BlockVerification = .firstRead
    /// The most bytes of decompressed cold (LZ4) blocks kept for reuse. Default 64 MiB.
    public var blockCacheByteCountMax = 64 << 20
    /// How segments will mostly be read, passed to the kernel (`madvise`) for every mapping:
    /// it decides how much the kernel reads ahead on a page fault. Default ``AccessPattern/normal``.
    public var accessPattern: AccessPattern = .normal
    /// Permissions of new files (directories get the execute bits where read is set: `0o755`
    /// for `0o644`, `0o700` for `0o600`). Default `0o644`; `0o600` keeps a store private to its
    /// owner. Applied exactly, whatever the process's umask: a store is shared or private as
    /// its options say, not as the shell that happened to start the process says. Files that
    /// already exist keep their mode.
    public var filePermissions: UInt32 = 0o644
    /// Flush full memtables on a background thread (default), or in the committing thread.
    public var flushInBackground = true

    /// The default options.
    public init() {}

    func validate() throws(StoreError) {
        guard memtableByteCountMax >= 1 << 12 else {
            throw StoreError(.invalidArgument, "memtableByteCountMax must be at least 4096")
        }
        guard walFileByteCount >= 1 << 16, walFileByteCount <= 1 << 40 else {
            throw StoreError(.invalidArgument, "walFileByteCount must be between 64 KiB and 1 TiB")
        }
        guard blockByteCountTarget >= 256, blockByteCountTarget <= Limits.recordStartInBlockMax else {
            throw StoreError(.invalidArgument, "blockByteCountTarget must be between 256 bytes and 1 MiB")
        }
        guard filePermissions & ~0o777 == 0, filePermissions & 0o600 == 0o600 else {
            throw StoreError(.invalidArgument, "filePermissions must be within 0o777 and let the owner read and write")
        }
    }

    /// Directory permissions derived from file permissions: `x` wherever `r` is set.
    var directoryPermissions: UInt32 {
        filePermissions | ((filePermissions & 0o444) >> 2)
    }
}

/// How a store's segments will mostly be read (a hint for the kernel's readahead).
public enum AccessPattern: Sendable, Equatable {
    /// The kernel's default readahead.
    case normal
    /// Mostly point reads: no readahead beyond the page touched, so a cold read costs one page.
    case random
    /// Mostly scans: aggressive readahead.
    case sequential

    var advice: MmapManager.Advice {
        switch self {
        case .normal: return .normal
        case .random: return .random
        case .sequential: return .sequential
        }
    }
}
