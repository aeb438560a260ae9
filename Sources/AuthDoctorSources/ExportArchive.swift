import AuthDoctorCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CInflate
import CScan
import Foundation
import ZIPFoundation

/// A problem with the input that stops the doctor (exit 2). The text says what and what to do.
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// What inflates the deflated entries of a zip: zlib (always there) or Intel's ISA-L (about twice as fast, loaded at
/// run time when installed). `AUTH_DOCTOR_INFLATE=auto|zlib|isal` chooses; auto (the default) takes ISA-L when it
/// loads, else zlib. Both read the same raw-deflate streams, in the same 1 MiB chunks, to the same bytes.
public enum Inflater: String, Sendable, CaseIterable {
    case zlib, isal

    /// True when ISA-L (libisal.so.2 or libisal.so) could be loaded.
    public static var isalAvailable: Bool { cinflate_isal_load() != 0 }

    /// Why ISA-L could not be loaded (the loader's message).
    public static var isalError: String { String(cString: cinflate_isal_error()) }

    /// The choice `AUTH_DOCTOR_INFLATE` makes; a value other than auto, zlib or isal, or isal where it cannot be
    /// loaded, is an error (exit 2).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(SourceError) -> Inflater {
        let value = (env["AUTH_DOCTOR_INFLATE"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        switch value {
        case "", "auto": return isalAvailable ? .isal : .zlib
        case "zlib": return .zlib
        case "isal":
            guard isalAvailable else {
                throw SourceError("AUTH_DOCTOR_INFLATE=isal, but ISA-L cannot be loaded (\(isalError)). Install it (`apt-get install libisal2`, `brew install isa-l`), or set AUTH_DOCTOR_INFLATE=auto (or unset it) to read with zlib.")
            }
            return .isal
        default:
            throw SourceError("AUTH_DOCTOR_INFLATE=\(value): use auto, zlib or isal.")
        }
    }

    var kind: Int32 { self == .isal ? CINFLATE_ISAL : CINFLATE_ZLIB }
}

/// How a zip entry's CRC-32 is checked: zlib's `crc32`, ISA-L's `crc32_gzip_refl` over each inflated chunk, or
/// computed by ISA-L's inflater on the way (`fused`, ISA-L only).
public enum ChecksumMode: String, Sendable, CaseIterable {
    case zlib, isal, fused
}

/// A piece of a table as its reader has it: JSONL bytes (an export), or rows already parsed (a live deployment's
/// pages, handed over as they came, never written back to JSON).
public enum TableChunk {
    case jsonl(Data)
    case rows([Value])
}

/// Where `audit` reads whole tables from, by export path (`_components/betterAuth/user/documents.jsonl`).
public protocol TableReader: AnyObject {
    /// The table's documents in chunks. Safe to call from several threads at once.
    func chunks(_ path: String, _ consume: (TableChunk) throws(SourceError) -> Void) throws(SourceError)
    /// The table's size in bytes when known (to read the biggest first), else 0.
    func size(of path: String) -> Int
    /// True when the table exists (`_components/betterAuth/jwks/documents.jsonl`, `authAccounts/documents.jsonl`).
    func has(_ path: String) -> Bool
}

/// A Convex snapshot export: the zip read in place, or the folder it unzips to.
public final class ExportArchive: TableReader {
    public let location: String
    /// Every file path in the export, with `/` separators, relative to its root.
    public let paths: Set<String>
    let archive: Archive?
    let entries: [String: Entry]
    /// Where each entry's data is, from the central directory: entries found here are read with `pread` and
    /// inflated by `inflater`; any other (a directory this reader could not pair with ZIPFoundation's) goes
    /// through ZIPFoundation as before.
    let located: [String: ZipRecord]
    let root: URL?
    /// The inflater for deflated zip entries (from `AUTH_DOCTOR_INFLATE` unless given).
    public let inflater: Inflater
    /// How entry checksums are computed (the fastest measured by default: see Benchmarks/README.md).
    public var checksum: ChecksumMode

    public static let chunkSize = 1 << 20
    /// Compressed bytes are read a quarter of that at a time (a 1 MiB chunk inflates from about 250 KB).
    static let inputSize = 1 << 18

    /// - Parameters:
    ///   - inflater: nil reads `AUTH_DOCTOR_INFLATE` of `environment` (for a zip; a folder needs no inflater).
    ///   - environment: the process's by default.
    public init(path: String, inflater: Inflater? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(SourceError) {
        location = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SourceError("\(path): no such file or folder. Pass the zip written by `npx convex export --path backup.zip`, or the folder it unzips to.")
        }
        if isDir.boolValue {
            archive = nil
            entries = [:]
            located = [:]
            self.inflater = inflater ?? .zlib
            checksum = .zlib
            let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
            root = url
            let keys: [URLResourceKey] = [.isRegularFileKey, .isSymbolicLinkKey, .isDirectoryKey]
            guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: keys) else {
                throw SourceError("\(path): cannot list this folder. Check its permissions.")
            }
            var found = Set<String>()
            let prefix = url.path.hasSuffix("/") ? url.path : url.path + "/"
            for case let file as URL in walker {
                let values = try? file.resourceValues(forKeys: Set(keys))
                let p = file.standardizedFileURL.path
                guard values?.isRegularFile == true, values?.isSymbolicLink != true else {
                    // A table file that is a link or a FIFO would be read from elsewhere, or block forever.
                    if file.lastPathComponent.hasSuffix(".jsonl"), values?.isDirectory != true {
                        let kind = values?.isSymbolicLink == true ? "a symbolic link" : ExportArchive.fileKind(p)
                        throw SourceError("\(p): not a regular file (\(kind)). An export folder holds plain files: copy the real file there, or pass the zip.")
                    }
                    continue
                }
                if p.hasPrefix(prefix) { found.insert(String(p.dropFirst(prefix.count))) }
            }
            paths = found
            return
        }
        root = nil
        let chosen: Inflater
        if let inflater { chosen = inflater } else { chosen = try Inflater.fromEnvironment(environment) }
        self.inflater = chosen
        checksum = chosen == .isal ? ExportArchive.isalChecksum : .zlib
        let url = URL(fileURLWithPath: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size > 0 else {
            throw SourceError("\(path): the file is empty (0 bytes). The export did not finish; run `npx convex export` again.")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw SourceError("\(path): cannot read this file. Check its permissions.")
        }
        let opened: Archive
        do {
            opened = try Archive(url: url, accessMode: .read)
        } catch {
            throw SourceError(ExportArchive.describeUnopenable(path: path))
        }
        // ZIPFoundation skips what it cannot read (encrypted entries, a central directory it cannot find): name it.
        if let what = ZipProbe.describe(path: path) { throw SourceError(what) }
        archive = opened
        // The central directory again, for the data offsets ZIPFoundation keeps to itself: paired with its
        // entries by position, each pair checked on CRC and sizes.
        let all = Array(opened)
        let records = ZipDirectory.read(path: path) ?? []
        var map: [String: Entry] = [:]
        var byPath: [String: ZipRecord] = [:]
        for (i, entry) in all.enumerated() where entry.type == .file {
            map[entry.path] = entry
            if records.count == all.count, records[i].matches(entry) {
                byPath[entry.path] = records[i]
            } else {
                byPath[entry.path] = nil
            }
        }
        entries = map
        located = byPath
        paths = Set(map.keys)
    }

    /// ISA-L's checksum for ISA-L reads: measured on the 1M-user benchmark export (Benchmarks/README.md).
    static let isalChecksum: ChecksumMode = .isal

    /// What a non-regular file is, for messages.
    static func fileKind(_ path: String) -> String {
        var st = stat()
        guard lstat(path, &st) == 0 else { return "unreadable" }
        switch st.st_mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFLNK: return "a symbolic link"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFDIR: return "a folder"
        default: return "not a plain file"
        }
    }

    static func describeUnopenable(path: String) -> String {
        if let what = ZipProbe.describe(path: path) { return what }
        let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4)) ?? Data()
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return "\(path): the zip is truncated or corrupt (its central directory is missing). Download or export it again (`npx convex export --path backup.zip`)."
        }
        return "\(path): not a zip file. Pass the zip written by `npx convex export`, or the folder it unzips to."
    }

    /// The uncompressed size of a file, to schedule the biggest tables first.
    public func has(_ path: String) -> Bool { paths.contains(path) }

    public func size(of path: String) -> Int {
        if let entry = entries[path] { return Int(entry.uncompressedSize) }
        guard let root else { return 0 }
        let attrs = try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
        return (attrs?[.size] as? NSNumber)?.intValue ?? 0
    }

    public func chunks(_ path: String, _ consume: (TableChunk) throws(SourceError) -> Void) throws(SourceError) {
        try stream(path) { (data: Data) throws(SourceError) in try consume(.jsonl(data)) }
    }

    /// Streams one file's bytes in chunks. Safe to call from several threads at once: each zip stream reads
    /// through an archive handle of its own.
    /// The `Data` handed to `consume` is valid only during the call (it points into the reader's buffer).
    public func stream(_ path: String, _ consume: (Data) throws -> Void) throws(SourceError) {
        if archive != nil {
            guard let entry = entries[path] else { throw SourceError("\(location): no \(path) in the export.") }
            if let record = located[path] {
                try streamEntry(path, record, consume)
                return
            }
            do {
                let handle = try Archive(url: URL(fileURLWithPath: location), accessMode: .read)
                // ZIPFoundation's own CRC-32 is a byte-at-a-time Swift loop (its zlib one is not compiled in on
                // Linux): inflate with it off and check the entry's checksum with zlib's crc32 instead.
                var crc: UInt = 0
                _ = try handle.extract(entry, bufferSize: ExportArchive.chunkSize, skipCRC32: true) { data in
                    crc = data.withUnsafeBytes { cscan_crc32(crc, $0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
                    try consume(data)
                }
                if UInt32(truncatingIfNeeded: crc) != entry.checksum {
                    throw SourceError("\(location): \(path) does not match its checksum (CRC-32). The zip is corrupt; download or export it again.")
                }
            } catch let e as SourceError {
                throw e
            } catch {
                throw SourceError("\(location): cannot read \(path) from the zip (\(ExportArchive.describe(error))). The zip is corrupt or truncated; download or export it again.")
            }
            return
        }
        guard let root else { return }
        let url = root.appendingPathComponent(path)
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            while let data = try handle.read(upToCount: ExportArchive.chunkSize), !data.isEmpty {
                try consume(data)
            }
        } catch let e as SourceError {
            throw e
        } catch {
            throw SourceError("\(location)/\(path): cannot read this file (\(error.localizedDescription)). Check its permissions.")
        }
    }

    /// A whole small file (a schema or `_tables` list).
    public func read(_ path: String, limit: Int = 16 << 20) throws(SourceError) -> Data {
        var out = Data()
        let enough = "\u{0}enough"
        do {
            try stream(path) { chunk in
                out.append(chunk.prefix(limit - out.count))
                // Stop inflating once the limit is reached: the rest is never read.
                if out.count >= limit { throw SourceError(enough) }
            }
        } catch where error.message == enough {}
        return out
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let e as Archive.ArchiveError: return "\(e)"
        default:
            let text = "\(error)"
            return text.isEmpty ? "read error" : text
        }
    }
}

/// Reads a zip's own records (end of central directory, central directory) to name what kind of zip a file is
/// when it shows no export: encrypted, self-extracting, a central directory that is not where the end record
/// says, or a zip holding another zip. Reads at most the last 64 KiB and 16 MiB of directory.
enum ZipProbe {
    static func describe(path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), size >= 22 else { return nil }
        let tailStart = size > 65_557 ? size - 65_557 : 0
        try? handle.seek(toOffset: tailStart)
        guard let tail = try? handle.readToEnd(), tail.count >= 22 else { return nil }
        let t = [UInt8](tail)
        func u16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> Int { u16(b, i) | u16(b, i + 2) << 16 }
        // The end record: the last "PK\u{5}\u{6}".
        var e = t.count - 22
        while e >= 0 && !(t[e] == 0x50 && t[e + 1] == 0x4B && t[e + 2] == 5 && t[e + 3] == 6) { e -= 1 }
        guard e >= 0 else { return nil }
        let entries = u16(t, e + 10), cdSize = u32(t, e + 12), cdOffset = u32(t, e + 16)
        // Zip64 keeps the real values elsewhere; those exports are read by ZIPFoundation as they are.
        if cdOffset == 0xFFFF_FFFF || cdSize == 0xFFFF_FFFF || entries == 0xFFFF { return nil }
        let endAt = Int(tailStart) + e
        try? handle.seek(toOffset: 0)
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        func signature(at offset: Int, _ kind: UInt8) -> Bool {
            guard offset >= 0, offset + 4 <= Int(size) else { return false }
            try? handle.seek(toOffset: UInt64(offset))
            let b = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
            return b == [0x50, 0x4B, 1, kind]
        }
        // Bytes before the zip proper: an executable (or script) with the archive appended.
        let prefix = endAt - cdSize - cdOffset
        var cdAt = cdOffset
        if prefix > 0 && head != [0x50, 0x4B, 3, 4] && signature(at: cdOffset + prefix, 2) {
            let stub = head.starts(with: [0x4D, 0x5A]) ? "a Windows program" : head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) ? "a Linux program" : "\(prefix) bytes of something else"
            return "\(path): a self-extracting archive (\(stub) with a zip appended), not a plain zip. Unzip it with `unzip` and pass the folder, or export again with `npx convex export --path backup.zip`."
        }
        if entries > 0 && !signature(at: cdOffset, 2) {
            if prefix > 0 && signature(at: cdOffset + prefix, 2) { cdAt = cdOffset + prefix } else {
                return "\(path): the zip's central directory is not where its end record says (offset \(cdOffset) of \(size) bytes): the file is damaged. Download or export it again (`npx convex export --path backup.zip`)."
            }
        }
        guard cdSize <= 16 << 20 else { return nil }
        try? handle.seek(toOffset: UInt64(cdAt))
        let cd = [UInt8]((try? handle.read(upToCount: cdSize)) ?? Data())
        var names: [String] = []
        var encrypted = 0
        var i = 0
        while i + 46 <= cd.count, cd[i] == 0x50, cd[i + 1] == 0x4B, cd[i + 2] == 1, cd[i + 3] == 2 {
            let flags = u16(cd, i + 8), nameLength = u16(cd, i + 28), extra = u16(cd, i + 30), comment = u16(cd, i + 32)
            guard i + 46 + nameLength <= cd.count else { break }
            names.append(String(decoding: cd[(i + 46)..<(i + 46 + nameLength)], as: UTF8.self))
            if flags & 1 != 0 { encrypted += 1 }
            i += 46 + nameLength + extra + comment
        }
        if encrypted > 0 {
            return "\(path): a password-protected (encrypted) zip (\(encrypted) of \(names.count) entries): auth-doctor cannot read encrypted entries. Export again without a password (`npx convex export --path backup.zip`), or unzip it and pass the folder."
        }
        let tables = names.filter { $0.hasSuffix("documents.jsonl") }
        if tables.isEmpty, let inner = names.first(where: { $0.lowercased().hasSuffix(".zip") }) {
            return "\(path): a zip that holds another zip (\(inner)), not the export itself. Unzip it once and pass the inner zip."
        }
        return nil
    }
}

// MARK: Reading entries with pread and zlib or ISA-L.

extension ExportArchive {
    /// Streams one entry: its bytes read with `pread` at explicit offsets (never past the entry's compressed
    /// size), inflated in 1 MiB chunks, CRC-32 and size checked at the end. A stream that runs out of input before
    /// it ends is a truncated entry, never a loop. An entry over 2 MiB is inflated on a thread of its own, up to
    /// two chunks ahead of `consume` (the scan of chunk k overlaps the inflation of chunk k+1).
    func streamEntry(_ path: String, _ record: ZipRecord, _ consume: (Data) throws -> Void) throws(SourceError) {
        let fd = open(location, O_RDONLY)
        guard fd >= 0 else {
            throw SourceError("\(location): cannot read this file (\(String(cString: strerror(errno)))). Check its permissions.")
        }
        defer { close(fd) }
        let source = try EntryInflater(fd: fd, record: record, location: location, path: path, inflater: inflater, checksum: checksum)
        do {
            if record.uncompressedSize <= UInt64(2 * ExportArchive.chunkSize) {
                let out = UnsafeMutableRawPointer.allocate(byteCount: ExportArchive.chunkSize, alignment: 64)
                defer { out.deallocate() }
                while case let n = try source.next(into: out), n > 0 {
                    try consume(Data(bytesNoCopy: out, count: n, deallocator: .none))
                }
            } else {
                try InflatePipeline(source).run(consume)
            }
        } catch let e as SourceError {
            throw e
        } catch {
            throw SourceError("\(location): cannot read \(path) from the zip (\(ExportArchive.describe(error))). The zip is corrupt or truncated; download or export it again.")
        }
    }

    /// Reads up to `count` bytes at `offset`, retrying short reads; the bytes read (fewer at the end of the file),
    /// or -1 on an error.
    static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: UInt64) -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 { if errno == EINTR { continue }; return -1 }
            if n == 0 { break }
            done += n
        }
        return done
    }
}

/// One zip entry's bytes, chunk by chunk: read with `pread`, inflated (or copied, when stored), checksummed.
/// Used from one thread at a time.
final class EntryInflater: @unchecked Sendable {
    let fd: Int32
    let record: ZipRecord
    let location: String
    let path: String
    let fused: Bool
    let crcKind: Int32
    var stream: OpaquePointer?
    let input: UnsafeMutableRawPointer
    var inStart = 0, inEnd = 0
    /// The next byte of the file to read and how many of the entry's compressed bytes are still unread.
    var at: UInt64
    var remaining: UInt64
    var crc: UInt32 = 0
    var total: UInt64 = 0
    var ended = false

    init(fd: Int32, record: ZipRecord, location: String, path: String, inflater: Inflater, checksum: ChecksumMode) throws(SourceError) {
        self.fd = fd
        self.record = record
        self.location = location
        self.path = path
        fused = record.method == 8 && inflater == .isal && checksum == .fused
        crcKind = checksum == .zlib ? CINFLATE_ZLIB : CINFLATE_ISAL
        input = UnsafeMutableRawPointer.allocate(byteCount: ExportArchive.inputSize, alignment: 64)
        at = 0
        remaining = record.compressedSize
        var header = [UInt8](repeating: 0, count: 30)
        let got = header.withUnsafeMutableBytes { ExportArchive.preadFully(fd, $0.baseAddress!, 30, record.localHeaderOffset) }
        guard got == 30, header[0] == 0x50, header[1] == 0x4B, header[2] == 3, header[3] == 4 else {
            throw SourceError("\(location): cannot read \(path) from the zip (no local header at offset \(record.localHeaderOffset)). The zip is corrupt or truncated; download or export it again.")
        }
        at = record.localHeaderOffset + 30 + UInt64(header[26]) + UInt64(header[27]) << 8 + UInt64(header[28]) + UInt64(header[29]) << 8
        guard record.method == 0 || record.method == 8 else {
            throw SourceError("\(location): \(path) is compressed with zip method \(record.method); auth-doctor reads stored and deflated entries, as `npx convex export` writes them. Unzip it and pass the folder, or export again.")
        }
        if record.method == 8 {
            stream = cinflate_new(inflater.kind, fused ? 1 : 0)
            guard stream != nil else {
                throw SourceError("\(location): cannot start the \(inflater.rawValue) inflater for \(path) (out of memory).")
            }
        }
    }

    deinit {
        input.deallocate()
        if let stream { cinflate_free(stream) }
    }

    func corrupt(_ why: String) -> SourceError {
        SourceError("\(location): cannot read \(path) from the zip (\(why)). The zip is corrupt or truncated; download or export it again.")
    }

    /// Reads the entry's next bytes (at most `limit`, never past the entry) into `buffer`.
    func read(into buffer: UnsafeMutableRawPointer, limit: Int) throws(SourceError) -> Int {
        let n = ExportArchive.preadFully(fd, buffer, Int(min(UInt64(limit), remaining)), at)
        if n < 0 {
            throw SourceError("\(location): cannot read \(path) from the zip (\(String(cString: strerror(errno)))). Check the file and its disk.")
        }
        guard n > 0 else { throw corrupt("the file ends inside this entry") }
        at += UInt64(n)
        remaining -= UInt64(n)
        return n
    }

    /// Fills `out` (a chunk) with the entry's next bytes; 0 at the end, once the size and CRC-32 are checked.
    func next(into out: UnsafeMutableRawPointer) throws(SourceError) -> Int {
        var fill = 0
        if let stream {
            let chunk = ExportArchive.chunkSize
            while !ended && fill < chunk {
                if inStart == inEnd && remaining > 0 {
                    inEnd = try read(into: input, limit: ExportArchive.inputSize)
                    inStart = 0
                }
                var used = 0, made = 0
                let rc = cinflate_run(stream, input.assumingMemoryBound(to: UInt8.self) + inStart, inEnd - inStart, &used,
                                      out.assumingMemoryBound(to: UInt8.self) + fill, chunk - fill, &made)
                inStart += used
                fill += made
                if rc == CINFLATE_ERROR { throw corrupt("invalid deflate data") }
                ended = rc == CINFLATE_END
                if used == 0 && made == 0 && !ended && fill < chunk {
                    // No progress with room to write: either every compressed byte of the entry is in and the
                    // deflate stream has not ended, or the inflater refuses what it has.
                    throw corrupt(inStart == inEnd && remaining == 0 ? "truncated entry: its deflate stream stops before its end" : "invalid deflate data")
                }
            }
            if fused && ended { _ = cinflate_stream_crc(stream, &crc) }
        } else if remaining > 0 {
            fill = try read(into: out, limit: ExportArchive.chunkSize)
        }
        if fill > 0 {
            if !fused { crc = cinflate_crc32(crcKind, crc, out.assumingMemoryBound(to: UInt8.self), fill) }
            total += UInt64(fill)
            // Past its recorded size the entry is damaged (or a bomb): stop there, not at the end of the stream.
            if total > record.uncompressedSize {
                throw corrupt("it inflates to more than the \(record.uncompressedSize) bytes its directory records")
            }
            return fill
        }
        if total != record.uncompressedSize {
            throw corrupt("it inflates to \(total) bytes, not the \(record.uncompressedSize) its directory records")
        }
        if crc != record.crc {
            throw SourceError("\(location): \(path) does not match its checksum (CRC-32). The zip is corrupt; download or export it again.")
        }
        return 0
    }
}

/// Runs an `EntryInflater` on a thread of its own, up to `depth` chunks ahead of the consumer, which gets them in
/// order on the calling thread. An error of either side ends both; the thread is joined before `run` returns.
final class InflatePipeline: @unchecked Sendable {
    let source: EntryInflater
    let buffers: [UnsafeMutableRawPointer]
    let cond = NSCondition()
    var free: [UnsafeMutableRawPointer]
    var filled: [(UnsafeMutableRawPointer, Int)] = []
    var finished = false
    var failure: SourceError?
    var cancelled = false
    let exited = DispatchSemaphore(value: 0)

    init(_ source: EntryInflater, depth: Int = 2) {
        self.source = source
        buffers = (0..<depth).map { _ in UnsafeMutableRawPointer.allocate(byteCount: ExportArchive.chunkSize, alignment: 64) }
        free = buffers
    }

    deinit { for b in buffers { b.deallocate() } }

    func produce() {
        defer { exited.signal() }
        while true {
            cond.lock()
            while free.isEmpty && !cancelled { cond.wait() }
            if cancelled { cond.unlock(); return }
            let buffer = free.removeLast()
            cond.unlock()
            var n = 0
            var error: SourceError?
            do { n = try source.next(into: buffer) } catch let e { error = e }
            cond.lock()
            if n > 0 { filled.append((buffer, n)) } else { free.append(buffer); finished = true; failure = error }
            cond.signal()
            cond.unlock()
            if n == 0 { return }
        }
    }

    func run(_ consume: (Data) throws -> Void) throws {
        let thread = Thread { [self] in produce() }
        thread.stackSize = 1 << 18
        thread.start()
        defer {
            cond.lock()
            cancelled = true
            cond.broadcast()
            cond.unlock()
            exited.wait()
        }
        while true {
            cond.lock()
            while filled.isEmpty && !finished { cond.wait() }
            guard !filled.isEmpty else {
                cond.unlock()
                if let failure { throw failure }
                return
            }
            let (buffer, n) = filled.removeFirst()
            cond.unlock()
            try consume(Data(bytesNoCopy: buffer, count: n, deallocator: .none))
            cond.lock()
            free.append(buffer)
            cond.signal()
            cond.unlock()
        }
    }
}

/// One entry of a zip's central directory: where its data is and what it should inflate to.
struct ZipRecord: Sendable {
    let method: UInt16
    let flags: UInt16
    let crc: UInt32
    let compressedSize: UInt64
    let uncompressedSize: UInt64
    let localHeaderOffset: UInt64

    func matches(_ entry: Entry) -> Bool {
        entry.checksum == crc && entry.compressedSize == compressedSize && entry.uncompressedSize == uncompressedSize
            && flags & 1 == 0
    }
}

/// The central directory of a zip, zip64 included, read once to find each entry's local header.
enum ZipDirectory {
    static func read(path: String) -> [ZipRecord]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = UInt64(st.st_size)
        guard size >= 22 else { return nil }
        func bytes(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard offset + UInt64(count) <= size else { return nil }
            var b = [UInt8](repeating: 0, count: count)
            let n = b.withUnsafeMutableBytes { ExportArchive.preadFully(fd, $0.baseAddress!, count, offset) }
            return n == count ? b : nil
        }
        func u16(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(b[i]) | UInt64(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> UInt64 { u16(b, i) | u16(b, i + 2) << 16 }
        func u64(_ b: [UInt8], _ i: Int) -> UInt64 { u32(b, i) | u32(b, i + 4) << 32 }
        let tailStart = size > 65_557 ? size - 65_557 : 0
        guard let tail = bytes(tailStart, Int(size - tailStart)) else { return nil }
        var e = tail.count - 22
        while e >= 0 && !(tail[e] == 0x50 && tail[e + 1] == 0x4B && tail[e + 2] == 5 && tail[e + 3] == 6) { e -= 1 }
        guard e >= 0 else { return nil }
        let eocd = tailStart + UInt64(e)
        var count = u16(tail, e + 10), cdSize = u32(tail, e + 12), cdOffset = u32(tail, e + 16)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // Zip64: the locator just before the end record points at the zip64 end record.
            guard eocd >= 20, let loc = bytes(eocd - 20, 20), u32(loc, 0) == 0x0706_4B50,
                  let rec = bytes(u64(loc, 8), 56), u32(rec, 0) == 0x0606_4B50 else { return nil }
            count = u64(rec, 32)
            cdSize = u64(rec, 40)
            cdOffset = u64(rec, 48)
        }
        guard cdSize <= 1 << 30, count <= cdSize / 46 + 1 else { return nil }
        // Bytes before the zip proper shift every offset (as ZIPFoundation allows when the directory is there).
        var shift: UInt64 = 0
        if let sig = bytes(cdOffset, 4), u32(sig, 0) == 0x0201_4B50 {} else if eocd >= cdSize + cdOffset,
            let sig = bytes(eocd - cdSize, 4), u32(sig, 0) == 0x0201_4B50 {
            shift = eocd - cdSize - cdOffset
        } else { return nil }
        guard let cd = bytes(cdOffset + shift, Int(cdSize)) else { return nil }
        var records: [ZipRecord] = []
        var i = 0
        while records.count < Int(count) {
            guard i + 46 <= cd.count, u32(cd, i) == 0x0201_4B50 else { return nil }
            let nameLength = Int(u16(cd, i + 28)), extraLength = Int(u16(cd, i + 30)), commentLength = Int(u16(cd, i + 32))
            guard i + 46 + nameLength + extraLength <= cd.count else { return nil }
            var csize = u32(cd, i + 20), usize = u32(cd, i + 24), offset = u32(cd, i + 42)
            // The zip64 extra field holds, in order, the values that are 0xFFFFFFFF here.
            var x = i + 46 + nameLength
            let xEnd = x + extraLength
            while x + 4 <= xEnd {
                let id = u16(cd, x), length = Int(u16(cd, x + 2))
                if id == 1 {
                    var f = x + 4
                    if usize == 0xFFFF_FFFF, f + 8 <= x + 4 + length { usize = u64(cd, f); f += 8 }
                    if csize == 0xFFFF_FFFF, f + 8 <= x + 4 + length { csize = u64(cd, f); f += 8 }
                    if offset == 0xFFFF_FFFF, f + 8 <= x + 4 + length { offset = u64(cd, f); f += 8 }
                }
                x += 4 + length
            }
            records.append(ZipRecord(method: UInt16(u16(cd, i + 10)), flags: UInt16(u16(cd, i + 8)), crc: UInt32(u32(cd, i + 16)),
                                     compressedSize: csize, uncompressedSize: usize, localHeaderOffset: offset + shift))
            i += 46 + nameLength + extraLength + commentLength
        }
        return records
    }
}
