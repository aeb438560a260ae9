#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import AuthDoctorCore
import CScan

/// What to look for in the raw bytes of a JSONL table before parsing anything.
public enum Needle: Sendable, Equatable {
    /// An email, matched ignoring ASCII case. Give it lowercased.
    case email(String)
    /// An exact byte string, e.g. a document id.
    case exact(String)
}

/// Cuts a stream of chunks into whole lines: regions of complete lines are handed over in place; only a line
/// that spans chunks is copied. A line longer than `maxLineBytes` is skipped and reported as `.overlong`, so the
/// memory a line can take is bounded whatever the export holds.
public final class LineRegions {
    public enum Piece {
        /// One or more complete lines; the region ends with a newline.
        case region(UnsafeRawBufferPointer)
        /// One line without its newline (it spanned chunks, or it is the last line of the stream).
        case line(UnsafeRawBufferPointer, last: Bool)
        /// A line over the size limit, skipped.
        case overlong
    }

    /// A Convex document is at most 1 MiB; its JSONL line (base64 bytes, escapes) stays well under this.
    public static let maxLineBytes = 4 << 20
    let maxLineBytes: Int
    let handle: (Piece) -> Void
    var carry: [UInt8] = []
    var skippingOverlong = false

    public init(maxLineBytes: Int = LineRegions.maxLineBytes, _ handle: @escaping (Piece) -> Void) {
        self.maxLineBytes = maxLineBytes
        self.handle = handle
    }

    public func feed(_ chunk: UnsafeRawBufferPointer) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        if skippingOverlong || !carry.isEmpty {
            guard let nl = memchr(base, 0x0A, chunk.count) else {
                appendCarry(UnsafeRawBufferPointer(start: base, count: chunk.count))
                return
            }
            let firstLen = base.distance(to: UnsafeRawPointer(nl))
            appendCarry(UnsafeRawBufferPointer(start: base, count: firstLen))
            if skippingOverlong {
                skippingOverlong = false
                handle(.overlong)
            } else {
                let line = carry
                carry.removeAll(keepingCapacity: true)
                line.withUnsafeBytes { handle(.line($0, last: false)) }
            }
            start = firstLen + 1
        }
        guard start < chunk.count else { return }
        let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
        // The region up to and including the last newline is handed over in place; the tail waits.
        var last = -1
        if let base = rest.baseAddress, let p = cscan_memrchr(base, 0x0A, rest.count) {
            last = base.distance(to: UnsafeRawPointer(p))
        }
        if last >= 0 { handle(.region(UnsafeRawBufferPointer(rebasing: rest[...last]))) }
        if last + 1 < rest.count { appendCarry(UnsafeRawBufferPointer(rebasing: rest[(last + 1)...])) }
    }

    /// Ends the stream: a last line without a newline is a line too.
    public func finish() {
        if skippingOverlong { skippingOverlong = false; handle(.overlong); return }
        guard !carry.isEmpty else { return }
        let line = carry
        carry.removeAll()
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
        line.withUnsafeBytes { handle(.line($0, last: true)) }
    }

    func appendCarry(_ bytes: UnsafeRawBufferPointer) {
        if skippingOverlong { return }
        if carry.count + bytes.count > maxLineBytes {
            carry = []
            skippingOverlong = true
            return
        }
        carry.append(contentsOf: bytes)
    }

    /// Calls `body` for each line of a region (without its newline).
    @inline(__always)
    public static func forEachLine(_ region: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let base = region.baseAddress else { return }
        var pos = 0
        while pos < region.count {
            let end: Int
            if let nl = memchr(base + pos, 0x0A, region.count - pos) {
                end = base.distance(to: UnsafeRawPointer(nl))
            } else {
                end = region.count
            }
            body(UnsafeRawBufferPointer(start: base + pos, count: end - pos))
            pos = end + 1
        }
    }
}

/// Streams a `documents.jsonl` in chunks and fully parses only the lines that contain a needle
/// (the byte-level prefilter of DESIGN §8). Counts rows and malformed lines on the way. Time is linear in the
/// bytes; memory is bounded by the line limit and by how many candidate rows are kept.
public final class LineScanner {
    let needles: [[UInt8]]
    let caseInsensitive: [Bool]
    /// For a case-insensitive needle: its longest run of bytes without case (`500001@` in `user500001@x.com`),
    /// searched with memmem (memchr for one byte), the rest compared around each hit. Length 0: all letters.
    let anchors: [(offset: Int, length: Int)]
    let sampleLines: Int
    let onRow: (Value) -> Void

    /// At most this many candidate rows are parsed and kept; the rest are only counted.
    public static let maxKeptRows = 1_000
    /// And at most this many bytes of them (sample lines included).
    public static let maxKeptBytes = 16 << 20
    /// And at most this many JSON values in them: a value takes tens of bytes once parsed.
    public static let maxKeptValues = 250_000
    var keptValues = 0

    /// Lines seen so far (complete lines, plus a last line without its newline at `finish`).
    public private(set) var lines = 0
    public private(set) var malformed = 0
    public private(set) var malformedAt: [Int] = []
    public private(set) var sample: [Value] = []
    /// Lines that hold a needle, kept or not.
    public private(set) var candidates = 0
    /// Candidate lines past the limits: counted, not parsed.
    public private(set) var candidatesSkipped = 0
    var keptRows = 0
    var keptBytes = 0

    /// - Parameters:
    ///   - sampleLines: also parse (and keep in `sample`) this many lines from the top, whatever they hold.
    ///   - onRow: receives each parsed candidate line.
    public init(path: String, needles: [Needle], sampleLines: Int = 0, onRow: @escaping (Value) -> Void) {
        self.needles = needles.map { n in
            switch n {
            case .email(let s): return LineScanner.emailNeedle(s)
            case .exact(let s): return Array(s.utf8)
            }
        }
        self.caseInsensitive = needles.map { if case .email = $0 { return true } else { return false } }
        self.anchors = self.needles.map(LineScanner.caselessRun)
        self.sampleLines = sampleLines
        self.onRow = onRow
    }

    /// The bytes an email's lines must contain. The ASCII case-insensitive compare cannot fold `É` to `é`: an
    /// email with non-ASCII letters is looked for by its longest ASCII run (`@example.com`), and the real parse
    /// decides.
    static func emailNeedle(_ email: String) -> [UInt8] {
        let bytes = Array(email.lowercased().utf8)
        guard bytes.contains(where: { $0 >= 0x80 }) else { return bytes }
        var best: ArraySlice<UInt8> = [], start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] >= 0x80 {
            if i - start > best.count { best = bytes[start..<i] }
            start = i + 1
        }
        return best.isEmpty ? Array("@".utf8) : Array(best)
    }

    public func feed(_ data: Data) {
        data.withUnsafeBytes { feed($0) }
    }

    public func feed(_ chunk: UnsafeRawBufferPointer) {
        splitter.feed(chunk)
    }

    /// Ends the stream: a last line without a newline is a row too (and is checked, since a truncated
    /// file usually ends in the middle of one).
    public func finish() {
        splitter.finish()
    }

    lazy var splitter = LineRegions { [unowned self] piece in
        switch piece {
        case .region(let region): self.processRegion(region, endsWithNewline: true)
        case .line(let line, false): self.processRegion(line, endsWithNewline: false)
        case .line(let line, true):
            let lineNo = self.lines + 1
            self.lines += 1
            let isSample = lineNo <= self.sampleLines
            let matched = self.findsNeedle(line)
            // Always parse it (the one place where truncation shows), but keep it only within the limits.
            let deliver = matched && self.keep(line, candidate: true)
            let sampleIt = isSample && (deliver || (!matched && self.keep(line, candidate: false)))
            self.parseLine(line, lineNumber: lineNo, deliver: deliver, sampleIt: sampleIt)
        case .overlong:
            // A line this long is not a document.
            self.lines += 1
            self.malformed += 1
            if self.malformedAt.count < 5 { self.malformedAt.append(self.lines) }
        }
    }

    /// Whether a line may still be parsed and kept; counts candidates either way.
    func keep(_ line: UnsafeRawBufferPointer, candidate: Bool) -> Bool {
        if candidate { candidates += 1 }
        guard keptRows < LineScanner.maxKeptRows, keptBytes + line.count <= LineScanner.maxKeptBytes else {
            if candidate { candidatesSkipped += 1 }
            return false
        }
        keptRows += 1
        keptBytes += line.count
        return true
    }

    func findsNeedle(_ buf: UnsafeRawBufferPointer) -> Bool {
        for i in needles.indices where find(i, in: buf, from: 0) != nil { return true }
        return false
    }

    /// Processes complete lines. `region` ends with a newline when `endsWithNewline` (else it is one line).
    /// Line numbers are counted forward from the previous candidate, so a region costs one pass however many
    /// of its lines match.
    func processRegion(_ region: UnsafeRawBufferPointer, endsWithNewline: Bool) {
        guard let base = region.baseAddress else {
            if !endsWithNewline { lines += 1 }
            return
        }
        let firstLine = lines + 1
        let count = endsWithNewline ? LineScanner.countNewlines(region) : 1
        var starts: [Int] = []
        // Lines at the top of the table that are parsed whatever they hold.
        if firstLine <= sampleLines {
            var pos = 0
            var n = firstLine
            while pos < region.count && n <= sampleLines {
                starts.append(pos)
                guard let nl = memchr(base + pos, 0x0A, region.count - pos) else { break }
                pos = base.distance(to: UnsafeRawPointer(nl)) + 1
                n += 1
            }
        }
        for i in needles.indices {
            var from = 0
            while let hit = find(i, in: region, from: from) {
                let (s, e) = LineScanner.lineBounds(region, around: hit)
                starts.append(s)
                from = e + 1
                if from >= region.count { break }
            }
        }
        if !starts.isEmpty {
            var counted = 0
            var lineNo = firstLine
            for s in Set(starts).sorted() {
                lineNo += LineScanner.countNewlines(UnsafeRawBufferPointer(rebasing: region[counted..<s]))
                counted = s
                let (_, e) = LineScanner.lineBounds(region, around: s)
                let line = UnsafeRawBufferPointer(rebasing: region[s..<e])
                let isSample = lineNo <= sampleLines
                let matched = findsNeedle(line)
                let deliver = matched && keep(line, candidate: true)
                let sampleIt = isSample && (deliver || (!matched && keep(line, candidate: false)))
                if deliver || sampleIt { parseLine(line, lineNumber: lineNo, deliver: deliver, sampleIt: sampleIt) }
            }
        }
        lines += count
    }

    struct NotAnObject: Error {}

    func parseLine(_ line: UnsafeRawBufferPointer, lineNumber: Int, deliver: Bool, sampleIt: Bool) {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
        let keeping = deliver || sampleIt
        do {
            // A kept row spends the table's value budget; a line only checked for truncation gets a fixed one.
            let limit = keeping ? LineScanner.maxKeptValues - keptValues : LineScanner.maxKeptValues
            var count = 0
            let v = try JSONParser.parse(line, maxValues: limit, counted: &count)
            guard case .map = v else { throw NotAnObject() }
            if keeping { keptValues += count }
            if sampleIt { sample.append(v) }
            if deliver { onRow(v) }
        } catch let e as JSONParseError where e.message == JSONParser.tooManyValues {
            // Valid or not, too big to hold: counted as not read, like a candidate past the row limit.
            if deliver { candidatesSkipped += 1 }
        } catch {
            malformed += 1
            if malformedAt.count < 5 { malformedAt.append(lineNumber) }
        }
    }

    /// The offset of needle `i` in `buf` at or after `from`, or nil.
    func find(_ i: Int, in buf: UnsafeRawBufferPointer, from: Int) -> Int? {
        let needle = needles[i]
        guard !needle.isEmpty, from < buf.count, let base = buf.baseAddress else { return nil }
        if !caseInsensitive[i] {
            return needle.withUnsafeBytes { n -> Int? in
                guard let p = cscan_memmem(base + from, buf.count - from, n.baseAddress!, n.count) else { return nil }
                return base.distance(to: UnsafeRawPointer(p))
            }
        }
        // Case-insensitive: anchor on the needle's longest run of bytes that have no case, then compare around it.
        let (anchorIndex, anchorLength) = anchors[i]
        var pos = from + anchorIndex
        while pos < buf.count {
            let found: Int
            if anchorLength == 0 {
                found = pos
            } else {
                let p = needle.withUnsafeBytes { n in
                    anchorLength == 1 ? memchr(base + pos, Int32(n[anchorIndex]), buf.count - pos).map { UnsafeRawPointer($0) }
                        : cscan_memmem(base + pos, buf.count - pos, n.baseAddress! + anchorIndex, anchorLength)
                }
                guard let p else { return nil }
                found = base.distance(to: p)
            }
            let start = found - anchorIndex
            if start >= from && start + needle.count <= buf.count {
                var ok = true
                for j in 0..<needle.count where LineScanner.lower(buf[start + j]) != needle[j] { ok = false; break }
                if ok { return start }
            }
            pos = found + 1
        }
        return nil
    }

    /// The longest run of bytes without ASCII case in `needle` (offset, length); (0, 0) when it is all letters.
    static func caselessRun(_ needle: [UInt8]) -> (offset: Int, length: Int) {
        var best = (offset: 0, length: 0), start = 0
        for i in 0...needle.count where i == needle.count || isLetter(needle[i]) {
            if i - start > best.length { best = (start, i - start) }
            start = i + 1
        }
        return best
    }

    static func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }

    static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b | 0x20 : b }

    /// The start and end (exclusive, at the newline) of the line around `pos`.
    static func lineBounds(_ buf: UnsafeRawBufferPointer, around pos: Int) -> (Int, Int) {
        let base = buf.baseAddress!
        var s = 0
        if pos > 0, let p = cscan_memrchr(base, 0x0A, pos) {
            s = base.distance(to: UnsafeRawPointer(p)) + 1
        }
        var e = buf.count
        if pos < buf.count, let p = memchr(base + pos, 0x0A, buf.count - pos) {
            e = base.distance(to: UnsafeRawPointer(p))
        }
        return (s, e)
    }

    /// Counts newline bytes (in C, where the compiler vectorizes the loop).
    public static func countNewlines(_ buf: UnsafeRawBufferPointer) -> Int {
        guard let base = buf.baseAddress, buf.count > 0 else { return 0 }
        return cscan_count_newlines(base.assumingMemoryBound(to: UInt8.self), buf.count)
    }
}
