//! libFuzzer entry: each input is read as a manifest file by the store's own reader
//! (`FuzzEntryPoints.parseManifest`). Any trap or sanitizer report is a reader bug.

@_spi(Fuzzing) import LayerStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = FuzzEntryPoints.parseManifest(bytes)
    return 0
}
