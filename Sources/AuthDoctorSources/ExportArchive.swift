import CScan
import Foundation
import ZIPFoundation

/// A problem with the input that stops the doctor (exit 2). The text says what and what to do.
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Where `audit` reads whole tables from, by export path (`_components/betterAuth/user/documents.jsonl`).
public protocol TableReader: AnyObject {
    /// The table's documents as JSONL, in chunks. Safe to call from several threads at once.
    func stream(_ path: String, _ consume: (Data) throws -> Void) throws(SourceError)
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
    let root: URL?

    public static let chunkSize = 1 << 20

    public init(path: String) throws(SourceError) {
        location = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SourceError("\(path): no such file or folder. Pass the zip written by `npx convex export --path backup.zip`, or the folder it unzips to.")
        }
        if isDir.boolValue {
            archive = nil
            entries = [:]
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
        var map: [String: Entry] = [:]
        for entry in opened where entry.type == .file {
            map[entry.path] = entry
        }
        entries = map
        paths = Set(map.keys)
    }

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

    /// Streams one file's bytes in chunks. Safe to call from several threads at once: each zip stream reads
    /// through an archive handle of its own.
    public func stream(_ path: String, _ consume: (Data) throws -> Void) throws(SourceError) {
        if archive != nil {
            guard let entry = entries[path] else { throw SourceError("\(location): no \(path) in the export.") }
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
