//! libFuzzer entry: each input is read as a WAL file by the store's own reader
//! (`FuzzEntryPoints.parseWAL`). Any trap or sanitizer report is a reader bug.

@_spi(Fuzzing) import LayerStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWAL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = FuzzEntryPoints.parseWAL(bytes)
    return 0
}
