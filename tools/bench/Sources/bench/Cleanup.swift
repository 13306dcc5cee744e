//! An interrupted run (Ctrl-C, SIGTERM) removes its stores instead of leaving gigabytes in the
//! temp directory.

import Dispatch
import Foundation

enum Cleanup {
    /// Installs SIGINT/SIGTERM handlers that remove `path` and exit with 128 + the signal.
    /// Keep the result alive for as long as the handlers should stay.
    static func onInterrupt(removing path: String) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("bench: interrupted; removing \(path)\n".utf8))
                try? FileManager.default.removeItem(atPath: path)
                exit(128 + signalNumber)
            }
            source.resume()
            return source
        }
    }
}
