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
}

/// A Convex snapshot export: the zip read in place, or the folder it unzips to.
public final class ExportArchive: TableReader {
    public let location: String
    public let isZip: Bool
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
            isZip = false
            archive = nil
            entries = [:]
            let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
            root = url
            guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw SourceError("\(path): cannot list this folder. Check its permissions.")
            }
            var found = Set<String>()
            let prefix = url.path.hasSuffix("/") ? url.path : url.path + "/"
            for case let file as URL in walker {
                guard (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                let p = file.standardizedFileURL.path
                if p.hasPrefix(prefix) { found.insert(String(p.dropFirst(prefix.count))) }
            }
            paths = found
            return
        }
        isZip = true
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
        archive = opened
        var map: [String: Entry] = [:]
        for entry in opened where entry.type == .file {
            map[entry.path] = entry
        }
        entries = map
        paths = Set(map.keys)
    }

    static func describeUnopenable(path: String) -> String {
        let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4)) ?? Data()
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return "\(path): the zip is truncated or corrupt (its central directory is missing). Download or export it again (`npx convex export --path backup.zip`)."
        }
        return "\(path): not a zip file. Pass the zip written by `npx convex export`, or the folder it unzips to."
    }

    /// The uncompressed size of a file, to schedule the biggest tables first.
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
        try stream(path) { chunk in
            if out.count < limit { out.append(chunk.prefix(limit - out.count)) }
        }
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
