// The inflate floor of the export benchmark: inflate the table entries that `diagnose` and `audit` read,
// with the same zip library and settings (ZIPFoundation, 1 MiB chunks, CRC checked), and discard the bytes.
// Prints {"seconds": ..., "bytes": ...}. Usage: inflate-floor <export.zip> [component] [appTable]
import Foundation
import ZIPFoundation

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: inflate-floor <export.zip> [component] [appTable]\n".utf8))
    exit(64)
}
let component = args.count > 2 ? args[2] : "betterAuth"
let appTable = args.count > 3 ? args[3] : "users"
let wanted = ["user", "account", "session"].map { "_components/\(component)/\($0)/documents.jsonl" } + ["\(appTable)/documents.jsonl"]
do {
    let start = DispatchTime.now()
    let archive = try Archive(url: URL(fileURLWithPath: args[1]), accessMode: .read)
    var total = 0
    for path in wanted {
        guard let entry = archive[path] else { throw NSError(domain: "inflate-floor", code: 1, userInfo: [NSLocalizedDescriptionKey: "no \(path)"]) }
        _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { data in total += data.count }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print("{\"seconds\": \(seconds), \"bytes\": \(total)}")
} catch {
    FileHandle.standardError.write(Data("inflate-floor: \(error)\n".utf8))
    exit(2)
}
