import AuthDoctorCore
import AuthDoctorSources
import Foundation

// The reference for CScannerTests: FieldScanner as it was in Swift before its work moved to C (cscan_fields),
// kept unchanged but for its name.

/// Extracts a few top-level fields of a JSON object line without building the whole value, validating the
/// whole line as strict JSON on the way (so a malformed line is reported as such, like a real parser would).
/// `audit` uses it to read every row of a million-user export at close to inflate speed.
struct SwiftFieldScanner {
    /// The wanted field names, as bytes in one buffer (no per-name array to retain in the hot loop);
    /// a field's slot is its index.
    let flat: [UInt8]
    let starts: [Int]
    let lengths: [Int]
    static let maxDepth = JSONParser.maxDepth

    init(fields: [String]) {
        var flat: [UInt8] = [], starts: [Int] = [], lengths: [Int] = []
        for f in fields {
            starts.append(flat.count)
            lengths.append(f.utf8.count)
            flat.append(contentsOf: f.utf8)
        }
        self.flat = flat
        self.starts = starts
        self.lengths = lengths
    }

    /// Scans `line`; fills `slots` (one per wanted field, `.missing` when absent) and returns false when the line
    /// is not a valid JSON object.
    func scan(_ line: UnsafeRawBufferPointer, into slots: inout [ScannedField]) -> Bool {
        for i in slots.indices { slots[i] = .missing }
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var p = Parser(b: base, n: line.count)
        p.ws()
        guard p.i < p.n, p.b[p.i] == UInt8(ascii: "{") else { return false }
        p.i += 1
        p.ws()
        if p.i < p.n, p.b[p.i] == UInt8(ascii: "}") {
            p.i += 1
            p.ws()
            return p.i == p.n
        }
        while true {
            p.ws()
            guard p.i < p.n, p.b[p.i] == UInt8(ascii: "\"") else { return false }
            let keyStart = p.i + 1
            guard let (keyEnd, keyEscaped) = p.string() else { return false }
            p.ws()
            guard p.i < p.n, p.b[p.i] == UInt8(ascii: ":") else { return false }
            p.i += 1
            p.ws()
            let slot = keyEscaped ? matchEscaped(p.b + keyStart - 1, keyEnd - keyStart + 2) : match(p.b + keyStart, keyEnd - keyStart)
            guard p.i < p.n else { return false }
            if let slot {
                switch p.b[p.i] {
                case UInt8(ascii: "\""):
                    let s = p.i + 1
                    guard let (e, esc) = p.string() else { return false }
                    slots[slot] = .string(start: s, end: e, escaped: esc)
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    guard let d = p.number(wantValue: true) else { return false }
                    slots[slot] = .number(d)
                case UInt8(ascii: "t"):
                    guard p.literal("true") else { return false }
                    slots[slot] = .bool(true)
                case UInt8(ascii: "f"):
                    guard p.literal("false") else { return false }
                    slots[slot] = .bool(false)
                case UInt8(ascii: "n"):
                    guard p.literal("null") else { return false }
                    slots[slot] = .null
                default:
                    guard p.value(depth: 1) else { return false }
                    slots[slot] = .nested
                }
            } else {
                guard p.value(depth: 1) else { return false }
            }
            p.ws()
            guard p.i < p.n else { return false }
            if p.b[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
            if p.b[p.i] == UInt8(ascii: "}") {
                p.i += 1
                p.ws()
                return p.i == p.n
            }
            return false
        }
    }

    /// A key written with escapes (`"em\u0061il"`), decoded before matching.
    func matchEscaped(_ quoted: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        guard case .string(let key)? = try? JSONParser.parse(UnsafeRawBufferPointer(start: quoted, count: count)) else { return nil }
        var k = key
        return k.withUTF8 { match($0.baseAddress ?? quoted, $0.count) }
    }

    @inline(__always)
    func match(_ key: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        flat.withUnsafeBufferPointer { names -> Int? in
            lengths.withUnsafeBufferPointer { lengths -> Int? in
                starts.withUnsafeBufferPointer { starts -> Int? in
                    for slot in 0..<lengths.count where lengths[slot] == count
                        && memcmp(names.baseAddress! + starts[slot], key, count) == 0 {
                        return slot
                    }
                    return nil
                }
            }
        }
    }

    /// A strict JSON validator over raw bytes.
    struct Parser {
        let b: UnsafePointer<UInt8>
        let n: Int
        var i = 0

        @inline(__always) mutating func ws() {
            while i < n {
                let c = b[i]
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
            }
        }

        /// At an opening quote: moves past the closing one; returns the end offset (exclusive) and whether it had escapes.
        mutating func string() -> (Int, Bool)? {
            i += 1
            var escaped = false
            while i < n {
                // Eight bytes at a time while none is a quote, a backslash or a control character.
                while i + 8 <= n {
                    let w = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
                    let quote = w ^ 0x2222_2222_2222_2222, slash = w ^ 0x5C5C_5C5C_5C5C_5C5C
                    let lows: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                    let special = ((quote &- lows) & ~quote) | ((slash &- lows) & ~slash) | ((w &- 0x2020_2020_2020_2020) & ~w)
                    // Non-ASCII bytes leave the fast path too: they must be valid UTF-8 (RFC 8259).
                    if (special | w) & highs != 0 { break }
                    i += 8
                }
                guard i < n else { break }
                let c = b[i]
                if c == UInt8(ascii: "\"") { let end = i; i += 1; return (end, escaped) }
                if c < 0x20 { return nil }
                if c >= 0x80 {
                    guard let len = utf8Sequence(i) else { return nil }
                    i += len
                    continue
                }
                if c == UInt8(ascii: "\\") {
                    escaped = true
                    guard i + 1 < n else { return nil }
                    switch b[i + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 2
                    case UInt8(ascii: "u"):
                        guard let unit = hex4(i + 2) else { return nil }
                        i += 6
                        // A surrogate must come as a high/low pair, as Foundation's parser demands.
                        if unit >= 0xDC00 && unit < 0xE000 { return nil }
                        if unit >= 0xD800 && unit < 0xDC00 {
                            guard i + 5 < n, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u"),
                                  let low = hex4(i + 2), low >= 0xDC00, low < 0xE000 else { return nil }
                            i += 6
                        }
                    default: return nil
                    }
                    continue
                }
                i += 1
            }
            return nil
        }

        /// The length of the valid UTF-8 sequence starting at `at` (a lead byte), or nil: no overlong forms, no
        /// surrogates, nothing above U+10FFFF.
        func utf8Sequence(_ at: Int) -> Int? {
            let c = b[at]
            let len: Int, lo: UInt8, hi: UInt8
            switch c {
            case 0xC2...0xDF: len = 2; lo = 0x80; hi = 0xBF
            case 0xE0: len = 3; lo = 0xA0; hi = 0xBF
            case 0xE1...0xEC, 0xEE, 0xEF: len = 3; lo = 0x80; hi = 0xBF
            case 0xED: len = 3; lo = 0x80; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90; hi = 0xBF
            case 0xF1...0xF3: len = 4; lo = 0x80; hi = 0xBF
            case 0xF4: len = 4; lo = 0x80; hi = 0x8F
            default: return nil
            }
            guard at + len <= n, b[at + 1] >= lo, b[at + 1] <= hi else { return nil }
            for k in 2..<max(len, 2) where b[at + k] < 0x80 || b[at + k] > 0xBF { return nil }
            return len
        }

        /// The value of four hex digits at `at`, or nil.
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= n else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = b[at + k]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 97...102: d = UInt32(c - 87)
                case 65...70: d = UInt32(c - 55)
                default: return nil
                }
                v = v << 4 | d
            }
            return v
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard i + count <= n else { return false }
            let w = word.utf8Start
            for k in 0..<count where b[i + k] != w[k] { return false }
            i += count
            return true
        }

        /// Validates a number; computes its value when asked (exactly, by the fast path or strtod).
        mutating func number(wantValue: Bool) -> Double? {
            let start = i
            var negative = false
            if b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            guard i < n, b[i] >= 48, b[i] <= 57 else { return nil }
            var mantissa: UInt64 = 0
            var accumulated = 0
            var dropped = false
            var fractionDigits = 0
            @inline(__always) func take(_ d: UInt8) {
                if accumulated < 19 { mantissa = mantissa &* 10 &+ UInt64(d - 48); accumulated += 1 } else { dropped = true }
            }
            if b[i] == 48 {
                i += 1
                if i < n, b[i] >= 48, b[i] <= 57 { return nil } // a leading zero
            } else {
                while i < n, b[i] >= 48, b[i] <= 57 { take(b[i]); i += 1 }
            }
            var exponent = false
            if i < n, b[i] == UInt8(ascii: ".") {
                i += 1
                guard i < n, b[i] >= 48, b[i] <= 57 else { return nil }
                while i < n, b[i] >= 48, b[i] <= 57 { take(b[i]); fractionDigits += 1; i += 1 }
            }
            if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                exponent = true
                i += 1
                if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < n, b[i] >= 48, b[i] <= 57 else { return nil }
                while i < n, b[i] >= 48, b[i] <= 57 { i += 1 }
            }
            // Out of Double's range is not a number any JSON parser here accepts.
            if exponent || accumulated >= 19 {
                let v = Double(String(decoding: UnsafeBufferPointer(start: b + start, count: i - start), as: UTF8.self))
                guard let v, v.isFinite else { return nil }
                if wantValue { return v }
            }
            guard wantValue else { return 0 }
            // Clinger's fast path: an exact mantissa below 2^53 divided by an exact power of ten is correctly rounded.
            if !exponent, !dropped, mantissa < (1 << 53), fractionDigits <= 22 {
                let v = Double(mantissa) / SwiftFieldScanner.powersOfTen[fractionDigits]
                return negative ? -v : v
            }
            return Double(String(decoding: UnsafeBufferPointer(start: b + start, count: i - start), as: UTF8.self))
        }

        mutating func value(depth: Int) -> Bool {
            guard i < n, depth < SwiftFieldScanner.maxDepth else { return false }
            switch b[i] {
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number(wantValue: false) != nil
            case UInt8(ascii: "["):
                i += 1
                ws()
                if i < n, b[i] == UInt8(ascii: "]") { i += 1; return true }
                while true {
                    ws()
                    guard value(depth: depth + 1) else { return false }
                    ws()
                    guard i < n else { return false }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "]") { i += 1; return true }
                    return false
                }
            case UInt8(ascii: "{"):
                i += 1
                ws()
                if i < n, b[i] == UInt8(ascii: "}") { i += 1; return true }
                while true {
                    ws()
                    guard i < n, b[i] == UInt8(ascii: "\""), string() != nil else { return false }
                    ws()
                    guard i < n, b[i] == UInt8(ascii: ":") else { return false }
                    i += 1
                    ws()
                    guard value(depth: depth + 1) else { return false }
                    ws()
                    guard i < n else { return false }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "}") { i += 1; return true }
                    return false
                }
            default: return false
            }
        }
    }

    static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }
}
