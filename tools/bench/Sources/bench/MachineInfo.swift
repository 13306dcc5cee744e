//! What machine the figures come from: CPU model, cores, memory, kernel, file system.

import Foundation

enum MachineInfo {
    static func describe(dataDirectory: String) -> [String: String] {
        var info: [String: String] = [:]
        if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            info["cpu"] = cpu.split(separator: "\n").first { $0.hasPrefix("model name") }
                .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
        }
        info["cores"] = String(ProcessInfo.processInfo.activeProcessorCount)
        info["memory"] = "\(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
        var name = utsname()
        uname(&name)
        info["kernel"] = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        info["data directory"] = dataDirectory
        if let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) {
            // The longest mount point that prefixes the data directory is its file system.
            var best: [Substring] = []
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count > 2, dataDirectory.hasPrefix(String(fields[1])) else { continue }
                if best.isEmpty || fields[1].count > best[1].count { best = fields }
            }
            if !best.isEmpty { info["file system"] = "\(best[2]) on \(best[0]) (\(best[1]))" }
        }
        info["swift"] = "Swift 6 (release build)"
        return info
    }
}
