// The inflate floor of the export benchmark: the table entries that `diagnose` and `audit` read, inflated
// through the tool's own reader (ExportArchive.stream: pread, 1 MiB chunks, CRC-32 checked), one after the other
// on one core, the bytes discarded. `--inflater zlib|isal` picks the inflater (default zlib), `--checksum
// zlib|isal|fused` how the CRC-32 is computed (default: the reader's own choice for that inflater).
// Prints {"seconds": ..., "bytes": ..., "inflater": ..., "checksum": ..., "zipFoundationCRCSeconds": ...}.
// `--entry PATH` (repeatable) reads only those entries; "entries" gives the seconds of each.
// Usage: inflate-floor <export.zip> [component] [appTable] [--inflater zlib|isal] [--checksum MODE] [--entry PATH] [--with-zipfoundation-crc]
import AuthDoctorSources
import Foundation
import ZIPFoundation

func fail(_ message: String, _ code: Int32) -> Never {
    FileHandle.standardError.write(Data("inflate-floor: \(message)\n".utf8))
    exit(code)
}

var args: [String] = []
var inflater = Inflater.zlib
var checksum: ChecksumMode?
var withZIPFoundationCRC = false
var only: [String] = []
var it = CommandLine.arguments.dropFirst().makeIterator()
while let a = it.next() {
    switch a {
    case "--inflater":
        guard let v = it.next(), let i = Inflater(rawValue: v) else { fail("--inflater takes zlib or isal", 64) }
        inflater = i
    case "--checksum":
        guard let v = it.next(), let c = ChecksumMode(rawValue: v) else { fail("--checksum takes zlib, isal or fused", 64) }
        checksum = c
    case "--entry":
        guard let v = it.next() else { fail("--entry takes a path in the zip", 64) }
        only.append(v)
    case "--with-zipfoundation-crc": withZIPFoundationCRC = true
    default: args.append(a)
    }
}
guard !args.isEmpty else {
    fail("usage: inflate-floor <export.zip> [component] [appTable] [--inflater zlib|isal] [--checksum zlib|isal|fused] [--with-zipfoundation-crc]", 64)
}
let component = args.count > 1 ? args[1] : "betterAuth"
let appTable = args.count > 2 ? args[2] : "users"
let wanted = only.isEmpty ? ["user", "account", "session"].map { "_components/\(component)/\($0)/documents.jsonl" } + ["\(appTable)/documents.jsonl"] : only

func seconds(since start: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }

do {
    let start = DispatchTime.now()
    let archive = try ExportArchive(path: args[0], inflater: inflater)
    if let checksum { archive.checksum = checksum }
    var total = 0
    var each: [String] = []
    for path in wanted {
        let one = DispatchTime.now()
        try archive.stream(path) { data in total += data.count }
        each.append("\"\(path)\": \(seconds(since: one))")
    }
    var out = "{\"seconds\": \(seconds(since: start)), \"bytes\": \(total), \"inflater\": \"\(inflater.rawValue)\", \"checksum\": \"\(archive.checksum.rawValue)\", \"entries\": {\(each.joined(separator: ", "))}"
    if withZIPFoundationCRC {
        // For reference: ZIPFoundation's extract with its own (Swift) CRC-32.
        let again = DispatchTime.now()
        let zip = try Archive(url: URL(fileURLWithPath: args[0]), accessMode: .read)
        for path in wanted {
            guard let entry = zip[path] else { continue }
            _ = try zip.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { _ in }
        }
        out += ", \"zipFoundationCRCSeconds\": \(seconds(since: again))"
    }
    print(out + "}")
} catch {
    fail("\(error)", 2)
}
