import Foundation

/// A JSON parse failure with the byte offset where it was noticed.
public struct JSONParseError: Error, Sendable, Equatable {
    public let message: String
    public let offset: Int
}

/// A strict JSON parser over UTF-8 bytes that keeps integers (`3`) apart from floats (`3.0`),
/// as Convex's export format requires. Nesting is bounded so adversarial input cannot exhaust the stack.
public struct JSONParser {
    public static let maxDepth = 200

    /// The message of the error thrown past `maxValues`: the text may be valid JSON, just too big to hold.
    public static let tooManyValues = "more values than the limit"

    /// - Parameter maxValues: refuse (with `tooManyValues`) a document of more values than this; each value
    ///   costs memory well beyond its bytes (`[0,0,0,…]` is two bytes per value).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxValues: Int = .max) throws(JSONParseError) -> Value {
        var count = 0
        return try parse(bytes, maxValues: maxValues, counted: &count)
    }

    /// The same, telling in `counted` how many values the document holds.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxValues: Int, counted: inout Int) throws(JSONParseError) -> Value {
        var p = JSONParser(bytes: bytes.bindMemory(to: UInt8.self))
        p.valuesLeft = maxValues
        defer { counted = maxValues - p.valuesLeft }
        p.skipWhitespace()
        let v = try p.parseValue(depth: 0)
        p.skipWhitespace()
        if p.pos != p.bytes.count { throw p.error("unexpected data after the JSON value") }
        return v
    }

    public static func parse(_ data: Data) throws(JSONParseError) -> Value {
        do {
            return try data.withUnsafeBytes { raw in try parse(raw) }
        } catch let e as JSONParseError {
            throw e
        } catch {
            throw JSONParseError(message: "\(error)", offset: 0)
        }
    }

    public static func parse(_ string: String) throws(JSONParseError) -> Value {
        try parse(Data(string.utf8))
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    var valuesLeft = Int.max

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: pos) }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            let b = bytes[pos]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { pos += 1 } else { break }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> Value {
        guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth)") }
        valuesLeft -= 1
        guard valuesLeft >= 0 else { throw error(JSONParser.tooManyValues) }
        guard pos < bytes.count else { throw error("unexpected end of data") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw error("unexpected end of data") }
        let w = word.utf8Start
        for i in 0..<n where bytes[pos + i] != w[i] { throw error("invalid literal") }
        pos += n
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> Value {
        pos += 1
        var out: [String: Value] = [:]
        skipWhitespace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") { pos += 1; return .map(out) }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a field name") }
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':'") }
            pos += 1
            skipWhitespace()
            out[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of data in an object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .map(out) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> Value {
        pos += 1
        var out: [Value] = []
        skipWhitespace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") { pos += 1; return .list(out) }
        while true {
            skipWhitespace()
            out.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of data in an array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .list(out) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case 48...57: d = UInt32(b - 48)
            case 97...102: d = UInt32(b - 87)
            case 65...70: d = UInt32(b - 55)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func parseString() throws(JSONParseError) -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes.
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                // RFC 8259: text is UTF-8; a string that is not is a malformed line, never a lossy decode.
                guard let s = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string")
                }
                pos += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in a string") }
            pos += 1
        }
        var out = Array(bytes[start..<pos])
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            }
            if b < 0x20 { throw error("control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { break }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by a low one.
                    guard pos + 6 <= bytes.count && bytes[pos] == UInt8(ascii: "\\") && bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                    pos += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw error("unpaired surrogate in a \\u escape")
                }
                let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    mutating func parseNumber() throws(JSONParseError) -> Value {
        let start = pos
        var isFloat = false
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 else { throw error("invalid number") }
        if bytes[pos] == 48 {
            pos += 1
        } else {
            while pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isFloat = true
            pos += 1
            guard pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 else { throw error("invalid number") }
            while pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isFloat = true
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 else { throw error("invalid number") }
            while pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 { pos += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        if !isFloat, let i = Int64(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { throw error("number out of range") }
        return .double(d)
    }
}

/// Deterministic JSON output: sorted keys, two-space indentation, shortest round-trip floats.
public enum JSONWriter {
    public static func write(_ value: Value, pretty: Bool = true) -> String {
        var out = ""
        write(value, into: &out, indent: pretty ? 0 : nil)
        return out
    }

    static func write(_ value: Value, into out: inout String, indent: Int?) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += formatDouble(d)
        case .string(let s): out += quote(s)
        case .bytes(let b): out += quote(Data(b).base64EncodedString())
        case .secret(let s): out += quote(s.description)
        case .list(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent.map { $0 + 1 })
                write(item, into: &out, indent: indent.map { $0 + 1 })
            }
            newline(&out, indent)
            out += "]"
        case .map(let m):
            if m.isEmpty { out += "{}"; return }
            out += "{"
            for (i, key) in m.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent.map { $0 + 1 })
                out += quote(key)
                out += indent == nil ? ":" : ": "
                write(m[key] ?? .null, into: &out, indent: indent.map { $0 + 1 })
            }
            newline(&out, indent)
            out += "}"
        }
    }

    static func newline(_ out: inout String, _ indent: Int?) {
        guard let indent else { return }
        out += "\n"
        out += String(repeating: "  ", count: indent)
    }

    public static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return "\(d)"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x2028 && u.value <= 0x2029) {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
