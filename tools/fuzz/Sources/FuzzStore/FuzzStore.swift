//! libFuzzer entry: each input is laid out as a tiny store directory (manifests, segments, WAL
//! files) and read every way a user can without writing (`FuzzEntryPoints.openStore`). Any trap
//! or sanitizer report is a reader bug.

@_spi(Fuzzing) import LayerStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStore(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = FuzzEntryPoints.openStore(bytes)
    return 0
}
