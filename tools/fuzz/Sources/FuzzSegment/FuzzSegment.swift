//! libFuzzer entry: each input is read as a segment file by the store's own reader
//! (`FuzzEntryPoints.parseSegment`). Any trap or sanitizer report is a reader bug.

@_spi(Fuzzing) import LayerStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegment(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = FuzzEntryPoints.parseSegment(bytes)
    return 0
}
