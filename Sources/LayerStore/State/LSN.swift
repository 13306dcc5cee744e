//! Log sequence numbers: store-wide, one per write, strictly increasing, never reused.
//! LSN 0 means "nothing": the first write of a store gets LSN 1.

/// A log sequence number.
public typealias LSN = UInt64
