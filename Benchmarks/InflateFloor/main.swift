// The inflate floor of the export benchmark: the table entries that `diagnose` and `audit` read, inflated
// through the tool's own reader (ExportArchive.stream: ZIPFoundation's inflate, 1 MiB chunks, CRC-32 checked
// with zlib), one after the other on one core, the bytes discarded.
// Prints {"seconds": ..., "bytes": ..., "zipFoundationCRCSeconds": ...}.
// Usage: inflate-floor <export.zip> [component] [appTable] [--with-zipfoundation-crc]
import AuthDoctorSources
import Foundation
import ZIPFoundation

let args = CommandLine.arguments.filter { !$0.hasPrefix("--") }
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: inflate-floor <export.zip> [component] [appTable] [--with-zipfoundation-crc]\n".utf8))
    exit(64)
}
let component = args.count > 2 ? args[2] : "betterAuth"
let appTable = args.count > 3 ? args[3] : "users"
let wanted = ["user", "account", "session"].map { "_components/\(component)/\($0)/documents.jsonl" } + ["\(appTable)/documents.jsonl"]

func seconds(since start: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }

do {
    let start = DispatchTime.now()
    let archive = try ExportArchive(path: args[1])
    var total = 0
    for path in wanted {
        try archive.stream(path) { data in total += data.count }
    }
    var out = "{\"seconds\": \(seconds(since: start)), \"bytes\": \(total)"
    if CommandLine.arguments.contains("--with-zipfoundation-crc") {
        // For reference: ZIPFoundation's extract with its own (Swift) CRC-32.
        let again = DispatchTime.now()
        let zip = try Archive(url: URL(fileURLWithPath: args[1]), accessMode: .read)
        for path in wanted {
            guard let entry = zip[path] else { continue }
            _ = try zip.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { _ in }
        }
        out += ", \"zipFoundationCRCSeconds\": \(seconds(since: again))"
    }
    print(out + "}")
} catch {
    FileHandle.standardError.write(Data("inflate-floor: \(error)\n".utf8))
    exit(2)
}
