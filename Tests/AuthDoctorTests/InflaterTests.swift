import AuthDoctorCore
@testable import AuthDoctorSources
import CInflate
import Foundation
import Testing

// The export reader's two inflaters (zlib and ISA-L) against each other: the same bytes, lines, malformed-line
// reports, checksums and errors; then the CLI's verdicts and audit counts with AUTH_DOCTOR_INFLATE=zlib and =isal.
// Kept under a minute on 2 cores: entries are compared in-process, the 200,000-line case by whole-stream digests.

extension SeededRandom {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// JSONL with random line lengths and planted problems: malformed lines, CRLF, blank lines, a line that spans
/// several 1 MiB chunks, one over the line limit, and (optionally) a last line without its newline.
func syntheticJSONL(lines: Int, seed: UInt64, long: Bool = true, finalNewline: Bool = false) -> (data: [UInt8], malformed: Int) {
    var rng = SeededRandom(state: seed)
    var out: [UInt8] = []
    out.reserveCapacity(lines * 160)
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    var malformed = 0
    for i in 0..<lines {
        let r = rng.below(1000)
        if r < 3 {
            // Malformed: cut short, a stray byte, or not JSON at all.
            out += Array(["{\"_id\":\"k\(i)\",\"email\":\"user\(i)@exa", "{\"_id\":\"k\(i)\",\"email\":}", "not json \(i)"][rng.below(3)].utf8)
            malformed += 1
        } else if r < 5 {
            out += Array("   ".utf8)  // blank: neither a row nor malformed
        } else {
            let pad = rng.below(r < 950 ? 200 : 4000)
            out += Array("{\"_id\":\"k\(i)\",\"email\":\"user\(i)@example.com\",\"pad\":\"".utf8)
            for _ in 0..<pad { out.append(alphabet[rng.below(alphabet.count)]) }
            out += Array("\",\"n\":\(rng.next() % 1_000_000)}".utf8)
            if r == 999 { out.append(0x0D) }
        }
        if long && i == lines / 2 {
            out.append(0x0A)
            // Spans chunks (kept), then one over the 4 MiB line limit (reported as malformed).
            for size in [3 << 20, 5 << 20] {
                out += Array("{\"_id\":\"big\",\"pad\":\"".utf8)
                for _ in 0..<size { out.append(alphabet[rng.below(alphabet.count)]) }
                out += Array("\"}".utf8)
                out.append(0x0A)
            }
            malformed += 1
            continue
        }
        if i < lines - 1 || finalNewline { out.append(0x0A) }
    }
    return (out, malformed)
}

/// Zips files (name → bytes) with python's zipfile, each entry at its own compression level (0 = stored).
/// `streamed`: written to a pipe-like file, so sizes and CRCs follow the data in data descriptors (flag bit 3).
func zipEntries(_ files: [(name: String, data: [UInt8], level: Int)], to zip: URL, streamed: Bool = false) throws {
    let dir = zip.deletingLastPathComponent().appendingPathComponent("src-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var spec: [String] = []
    for (i, f) in files.enumerated() {
        let file = dir.appendingPathComponent("\(i)")
        try Data(f.data).write(to: file)
        spec.append("\(file.path)\t\(f.name)\t\(f.level)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", """
        import io, sys, zipfile
        out, streamed = sys.argv[1], sys.argv[2] == "1"
        class Unseekable(io.RawIOBase):
            def __init__(self, f): self.f = f
            def write(self, b): return self.f.write(b)
            def writable(self): return True
        with open(out, "wb") as f, zipfile.ZipFile(Unseekable(f) if streamed else f, "w") as z:
            for line in sys.argv[3:]:
                src, name, level = line.split("\\t")
                level = int(level)
                if streamed:
                    info = zipfile.ZipInfo(name)
                    info.compress_type = zipfile.ZIP_STORED if level == 0 else zipfile.ZIP_DEFLATED
                    with z.open(info, "w") as w:
                        w.write(open(src, "rb").read())
                elif level == 0:
                    z.write(src, name, compress_type=zipfile.ZIP_STORED)
                else:
                    z.write(src, name, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
        """, zip.path, streamed ? "1" : "0"] + spec
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
}

/// What one reader makes of an entry: a digest of every byte, the chunking, and the line scanner's report.
struct Reading: Equatable, CustomStringConvertible {
    var bytes = 0
    var crc: UInt32 = 0
    var chunks = 0
    /// Every line through audit's field scanner: lines, malformed ones and where.
    var lines = 0
    var malformed = 0
    var malformedAt: [Int] = []
    /// Through diagnose's prefilter: its line count, the candidate lines, the rows it parsed and its malformed report.
    var scannedLines = 0
    var candidates = 0
    var rows: [String] = []
    var scannerMalformed = 0

    var description: String { "\(bytes) bytes crc \(String(crc, radix: 16)) in \(chunks) chunks, \(lines) lines, \(malformed) malformed at \(malformedAt), \(candidates) candidates \(rows)" }
}

func read(_ zip: String, _ entry: String, inflater: Inflater, checksum: ChecksumMode? = nil, needles: [Needle] = []) throws -> Reading {
    let archive = try ExportArchive(path: zip, inflater: inflater)
    if let checksum { archive.checksum = checksum }
    var r = Reading()
    let scanner = LineScanner(path: entry, needles: needles) { v in r.rows.append(v["_id"].stringValue ?? "?") }
    let fields = FieldScanner(fields: ["_id", "email"])
    var slots = [ScannedField](repeating: .missing, count: 2)
    func line(_ l: UnsafeRawBufferPointer) {
        r.lines += 1
        if l.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { r.lines -= 1; return }
        if !fields.scan(l, into: &slots) {
            r.malformed += 1
            if r.malformedAt.count < 5 { r.malformedAt.append(r.lines) }
        }
    }
    let splitter = LineRegions { piece in
        switch piece {
        case .region(let region): LineRegions.forEachLine(region, line)
        case .line(let l, _): line(l)
        case .overlong:
            r.lines += 1
            r.malformed += 1
            if r.malformedAt.count < 5 { r.malformedAt.append(r.lines) }
        }
    }
    try archive.stream(entry) { data in
        r.bytes += data.count
        r.chunks += 1
        r.crc = data.withUnsafeBytes { cinflate_crc32(CINFLATE_ZLIB, r.crc, $0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
        scanner.feed(data)
        data.withUnsafeBytes { splitter.feed($0) }
    }
    scanner.finish()
    splitter.finish()
    r.scannedLines = scanner.lines
    r.scannerMalformed = scanner.malformed
    r.candidates = scanner.candidates
    return r
}

/// Every way of reading: zlib, and ISA-L with each of its checksum modes.
let readers: [(Inflater, ChecksumMode)] = [(.zlib, .zlib), (.isal, .isal), (.isal, .fused), (.isal, .zlib)]

@Suite(.serialized) struct InflaterTests {
    @Test func isalLoadsHere() {
        // CI and the README's prerequisites install libisal-dev; the release binary falls back to zlib without it.
        #expect(Inflater.isalAvailable, "ISA-L did not load: \(Inflater.isalError)")
    }

    @Test func checksumsAgree() {
        var rng = SeededRandom(state: 7)
        var buf = [UInt8](repeating: 0, count: 3 << 20)
        for i in buf.indices { buf[i] = UInt8(truncatingIfNeeded: rng.next()) }
        buf.withUnsafeBufferPointer { b in
            let whole = cinflate_crc32(CINFLATE_ZLIB, 0, b.baseAddress, b.count)
            for _ in 0..<20 {
                var a: UInt32 = 0, z: UInt32 = 0, at = 0
                while at < b.count {
                    let n = min(b.count - at, rng.below(300_000))
                    a = cinflate_crc32(CINFLATE_ISAL, a, b.baseAddress! + at, n)
                    z = cinflate_crc32(CINFLATE_ZLIB, z, b.baseAddress! + at, n)
                    at += n
                }
                #expect(a == whole && z == whole)
            }
            #expect(cinflate_crc32(CINFLATE_ISAL, 0, b.baseAddress, 0) == 0)
        }
    }

    @Test func environmentChoosesTheInflater() throws {
        #expect(try Inflater.fromEnvironment(["AUTH_DOCTOR_INFLATE": "zlib"]) == .zlib)
        #expect(try Inflater.fromEnvironment(["AUTH_DOCTOR_INFLATE": "ISAL"]) == .isal)
        #expect(try Inflater.fromEnvironment([:]) == (Inflater.isalAvailable ? .isal : .zlib))
        #expect(throws: SourceError.self) { try Inflater.fromEnvironment(["AUTH_DOCTOR_INFLATE": "gzip"]) }
        let r = try runCLI(["diagnose", "admin@example.com", "--export", demoExport], env: ["AUTH_DOCTOR_INFLATE": "brotli"])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("AUTH_DOCTOR_INFLATE=brotli: use auto, zlib or isal"), "\(r.stderr)")
    }

    /// Without ISA-L (AUTH_DOCTOR_ISAL_LIBRARY names a missing file): auto reads with zlib, isal is exit 2. The
    /// library is loaded once per process: the binary runs.
    @Test func withoutISAL() throws {
        let missing = ["AUTH_DOCTOR_ISAL_LIBRARY": "/nonexistent/libisal.so.2"]
        let zlib = try spawnCLI(["diagnose", "admin@example.com", "--export", demoExport], env: ["AUTH_DOCTOR_INFLATE": "zlib"])
        let auto = try spawnCLI(["diagnose", "admin@example.com", "--export", demoExport], env: missing)
        #expect(auto.exitCode == 1 && auto.stdout == zlib.stdout && auto.stderr.isEmpty, "\(auto.stderr)")
        var env = missing
        env["AUTH_DOCTOR_INFLATE"] = "isal"
        let isal = try spawnCLI(["diagnose", "admin@example.com", "--export", demoExport], env: env)
        #expect(isal.exitCode == 2 && isal.stdout.isEmpty)
        #expect(isal.stderr.contains("AUTH_DOCTOR_INFLATE=isal, but ISA-L cannot be loaded (/nonexistent/libisal.so.2"), "\(isal.stderr)")
        #expect(isal.stderr.contains("unset it) to read with zlib"))
    }

    /// 1,000 and 20,000 lines, every compression level and stored, every reader: the same bytes, chunks, lines
    /// and malformed-line reports, and the bytes are the ones written.
    @Test(arguments: [1_000, 20_000]) func sameLinesAndReports(lines: Int) throws {
        let dir = try tempDir("inflate-\(lines)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.appendingPathComponent("t.zip")
        let (data, planted) = syntheticJSONL(lines: lines, seed: UInt64(lines))
        let (small, _) = syntheticJSONL(lines: lines / 10, seed: 99, long: false, finalNewline: true)
        let levels = [0, 1, 6, 9]
        try zipEntries(levels.map { ("t\($0)/documents.jsonl", data, $0) } + [("s/documents.jsonl", small, 6), ("empty/documents.jsonl", [], 6)], to: zip)
        let truth = data.withUnsafeBufferPointer { cinflate_crc32(CINFLATE_ZLIB, 0, $0.baseAddress, $0.count) }
        let needles: [Needle] = [.email("user\(lines / 3)@example.com"), .exact("\"k7\""), .email("user1@example.com")]
        var first: Reading?
        for level in levels {
            for (inflater, checksum) in readers {
                let r = try read(zip.path, "t\(level)/documents.jsonl", inflater: inflater, checksum: checksum, needles: needles)
                #expect(r.bytes == data.count && r.crc == truth, "level \(level) \(inflater) \(checksum): \(r)")
                #expect(r.malformed == planted, "\(r)")
                #expect(r.rows.contains("k7") && r.rows.contains("k\(lines / 3)"), "\(r)")
                if let first { #expect(r == first, "level \(level) \(inflater) \(checksum)") } else { first = r }
            }
        }
        for entry in ["s/documents.jsonl", "empty/documents.jsonl"] {
            let readings = try readers.map { try read(zip.path, entry, inflater: $0.0, checksum: $0.1, needles: needles) }
            #expect(Set(readings.map(\.description)).count == 1, "\(readings)")
        }
        #expect(try read(zip.path, "empty/documents.jsonl", inflater: .isal).bytes == 0)
    }

    /// Entries whose sizes and CRC follow their data (data descriptors, as streaming zip writers make them).
    @Test func dataDescriptors() throws {
        let dir = try tempDir("inflate-dd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.appendingPathComponent("t.zip")
        let (data, planted) = syntheticJSONL(lines: 3_000, seed: 3)
        try zipEntries([("d/documents.jsonl", data, 6), ("s/documents.jsonl", data, 0)], to: zip, streamed: true)
        let truth = data.withUnsafeBufferPointer { cinflate_crc32(CINFLATE_ZLIB, 0, $0.baseAddress, $0.count) }
        let archive = try ExportArchive(path: zip.path, inflater: .isal)
        #expect(archive.located.count == 2, "both entries are read with pread, not through ZIPFoundation")
        for entry in ["d/documents.jsonl", "s/documents.jsonl"] {
            for (inflater, checksum) in readers {
                let r = try read(zip.path, entry, inflater: inflater, checksum: checksum)
                #expect(r.crc == truth && r.bytes == data.count && r.malformed == planted, "\(entry) \(inflater) \(checksum): \(r)")
            }
        }
    }

    /// 200,000 lines (a 200k-user table), compared by whole-stream digests and line counts, not process runs.
    @Test func largeTableSameDigest() throws {
        let dir = try tempDir("inflate-200k")
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.appendingPathComponent("t.zip")
        let (data, planted) = syntheticJSONL(lines: 200_000, seed: 200_000, long: false)
        try zipEntries([("big/documents.jsonl", data, 6)], to: zip)
        let truth = data.withUnsafeBufferPointer { cinflate_crc32(CINFLATE_ZLIB, 0, $0.baseAddress, $0.count) }
        let z = try read(zip.path, "big/documents.jsonl", inflater: .zlib, needles: [.email("user150000@example.com")])
        let i = try read(zip.path, "big/documents.jsonl", inflater: .isal, needles: [.email("user150000@example.com")])
        #expect(z == i, "\(z) / \(i)")
        #expect(z.crc == truth && z.bytes == data.count && z.malformed == planted && z.lines > 199_000)
        #expect(z.rows == ["k150000"] || z.rows.isEmpty && z.candidates == 0, "\(z)")
    }

    // MARK: Damaged entries: the same exit-2 messages from both inflaters.

    /// A zip of one deflated entry whose bytes are changed by `damage` (offsets into the deflate data), with its
    /// recorded sizes and CRC as given (nil: the real ones).
    func handmadeZip(_ dir: URL, _ data: [UInt8], cut: Double? = nil, crcXor: UInt32 = 0, firstByte: UInt8? = nil, sizeDelta: Int = 0) throws -> String {
        let zip = dir.appendingPathComponent("hand-\(UUID().uuidString).zip")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let src = dir.appendingPathComponent("raw-\(UUID().uuidString)")
        try Data(data).write(to: src)
        p.arguments = ["python3", "-c", """
            import sys, struct, zlib
            raw = open(sys.argv[1], "rb").read()
            out, cut, crcxor, first, delta = sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = bytearray(c.compress(raw) + c.flush())
            if cut >= 0: packed = packed[:int(len(packed) * cut)]
            if first >= 0: packed[0] = first
            crc = zlib.crc32(raw) ^ crcxor
            name = b"t/documents.jsonl"
            size = len(raw) + delta
            local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0, crc, len(packed), size, len(name), 0) + name
            central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 8, 0, 0, crc, len(packed), size, len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
            end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 1, 1, len(central), len(local) + len(packed), 0)
            open(out, "wb").write(local + packed + central + end)
            """, src.path, zip.path, String(cut ?? -1), String(crcXor), String(firstByte.map(Int.init) ?? -1), String(sizeDelta)]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return zip.path
    }

    func expectError(_ zip: String, _ message: String) {
        for (inflater, checksum) in readers {
            do {
                _ = try read(zip, "t/documents.jsonl", inflater: inflater, checksum: checksum)
                Issue.record("\(inflater) \(checksum) read a damaged entry without an error")
            } catch let e as SourceError {
                #expect(e.message.contains(message) && e.message.contains(zip) && e.message.contains("t/documents.jsonl"),
                        "\(inflater) \(checksum): \(e.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func damagedEntries() throws {
        let dir = try tempDir("inflate-damaged")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (data, _) = syntheticJSONL(lines: 30_000, seed: 5, long: false)
        // The handmade zip reads whole.
        let good = try handmadeZip(dir, data)
        for (inflater, checksum) in readers { #expect(try read(good, "t/documents.jsonl", inflater: inflater, checksum: checksum).bytes == data.count) }
        // A deflate stream cut short (the recorded sizes agree with the cut): the truncated-entry error, no loop.
        for cut in [0.0, 0.001, 0.5, 0.999] {
            expectError(try handmadeZip(dir, data, cut: cut), "truncated entry")
        }
        // A recorded size smaller than what the stream inflates to: stopped at the recorded size.
        expectError(try handmadeZip(dir, data, sizeDelta: -(1 << 20)), "inflates to more than the")
        expectError(try handmadeZip(dir, data, sizeDelta: 1), "it inflates to \(data.count) bytes, not the \(data.count + 1)")
        // A CRC that does not match.
        expectError(try handmadeZip(dir, data, crcXor: 1), "does not match its checksum (CRC-32)")
        // An invalid block type (BFINAL=1, BTYPE=11).
        expectError(try handmadeZip(dir, data, firstByte: 0x07), "invalid deflate data")
        // Bytes flipped in the middle of the data: caught by the inflater or by the checksum, never read as good.
        let zipData = try Data(contentsOf: URL(fileURLWithPath: good))
        var rng = SeededRandom(state: 11)
        for n in 0..<12 {
            var bytes = [UInt8](zipData)
            let at = 40 + rng.below(bytes.count / 2)
            for k in 0..<(1 + n % 4) { bytes[at + k] ^= UInt8(1 + rng.below(255)) }
            let f = dir.appendingPathComponent("flip-\(n).zip")
            try Data(bytes).write(to: f)
            for (inflater, checksum) in readers {
                #expect(throws: SourceError.self, "\(inflater) \(checksum) flip \(n)") {
                    _ = try read(f.path, "t/documents.jsonl", inflater: inflater, checksum: checksum)
                }
            }
        }
    }

    // MARK: The CLI: verdicts and audit counts with each inflater.

    func generated(_ dir: URL, users: Int, format: String) throws -> (zip: String, email: String) {
        let zip = dir.appendingPathComponent("export-\(users)-\(format).zip")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // generate.py's export, with malformed lines planted in the user and session tables.
        p.arguments = ["python3", "-c", """
            import os, subprocess, sys, zipfile
            gen, users, fmt, out = sys.argv[1:5]
            tmp = out + ".clean.zip"
            subprocess.run([sys.executable, gen, "--users", users, "--format", fmt, "--out", tmp], check=True, stderr=subprocess.DEVNULL)
            with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    data = src.read(info.filename)
                    if info.filename.endswith(("/user/documents.jsonl", "/session/documents.jsonl")):
                        lines = data.split(b"\\n")
                        for k in range(5, len(lines), max(1, len(lines) // 7)):
                            lines[k] = lines[k][: len(lines[k]) // 2]
                        data = b"\\n".join(lines)
                    dst.writestr(info.filename, data)
            os.rename(tmp + ".expected.json", out + ".expected.json")
            os.remove(tmp)
            """, repoRoot.appendingPathComponent("Benchmarks/generate.py").path, String(users), format, zip.path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let meta = try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: zip.path + ".expected.json")))
        return (zip.path, meta["diagnose"].stringValue ?? "")
    }

    @Test func cliSameVerdictsAndCounts() throws {
        let dir = try tempDir("inflate-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        var runs: [(String, [String])] = [("demo", ["diagnose", "admin@example.com", "--export", demoExport]),
                                          ("demo", ["audit", "--export", demoExport, "--format", "json"])]
        for format in ["uniform", "legacy"] {
            let (zip, email) = try generated(dir, users: 4_000, format: format)
            runs += [(format, ["diagnose", email, "--export", zip, "--format", "json"]),
                     (format, ["diagnose", "user1501@example.com", "--export", zip]),  // no app row (planted)
                     (format, ["audit", "--export", zip, "--format", "json", "--examples", "3"])]
        }
        for (name, args) in runs {
            let z = try runCLI(args, env: ["AUTH_DOCTOR_INFLATE": "zlib"])
            let i = try runCLI(args, env: ["AUTH_DOCTOR_INFLATE": "isal"])
            #expect(z.exitCode == 0 || z.exitCode == 1, "\(name) \(args): \(z.stderr)")
            #expect(z.exitCode == i.exitCode && z.stdout == i.stdout && !z.stdout.isEmpty, "\(name) \(args)")
            if args[0] == "audit" && name != "demo" {
                #expect(z.stdout.contains("malformed") || z.stdout.contains("Malformed"), "\(name): planted malformed lines reported")
            }
        }
    }
}
