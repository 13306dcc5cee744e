//! Sizes on disk: allocated blocks (what `du` shows), so preallocated and sparse files count
//! for what they really occupy.

import Foundation

/// Allocated bytes of every regular file below `path` (or of `path` itself if it is a file).
func allocatedBytes(under path: String) -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    if (info.st_mode & S_IFMT) == S_IFREG { return Int(info.st_blocks) * 512 }
    guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    while let name = walker.nextObject() as? String {
        if stat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int(info.st_blocks) * 512 }
    }
    return total
}
