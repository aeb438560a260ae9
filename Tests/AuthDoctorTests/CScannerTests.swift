import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

/// Lines (as bytes, so they may be any bytes) aimed at the scanner's rules: numbers at every edge of the grammar and
/// of Double's range, strings with every escape, bad UTF-8 and control bytes, keys written with escapes, repeated
/// keys, nesting around the depth limit, and damaged copies of all of these.
struct ScannerFuzz {
    var rng: SeededRandom

    mutating func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func digits(_ n: Int, leading: Bool = false) -> String {
        String((0..<n).map { k in Character(String(k == 0 && leading ? int(1...9) : int(0...9))) })
    }

    static let edgeNumbers = [
        "0", "-0", "-0.0", "0.0", "0e0", "-0E-0", "1e400", "-1e400", "1e-400", "-1e-400", "4.9e-324", "2.4e-324",
        "2.5e-324", "2.4703282292062328e-324", "2.4703282292062327e-324", "1e308", "1e309", "9.9e308",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "-1.7976931348623159e308",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9",
        "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368",
        "0e99999999999999999999", "1e99999999999999999999", "1e-99999999999999999999", "0.000e-99999", "9007199254740992",
        "9007199254740993", "9007199254740993.0", "9007199254740992.5", "900719925474099.25", "1735689600010.5",
        "1735776007919.75", "1763900000000.25", "17639000000001.123456", "1234567890123456789", "12345678901234567890",
        "0.1234567890123456789", "0.000000000000000000001", "123456789012345678.9", "99999999999999999999e-2",
        "1E-7", "1.5e3", "1.5E+3", "00", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1.e3", "-.5", "1.5e3.2",
        "0x10", "1_000", "Infinity", "NaN", "1e0001", "1" + String(repeating: "0", count: 308),
        "1" + String(repeating: "0", count: 309), "0." + String(repeating: "0", count: 330) + "1",
        "0." + String(repeating: "0", count: 400) + "1e400", "1" + String(repeating: "0", count: 400) + "e-400",
    ]

    mutating func number() -> String {
        if chance(0.3) { return pick(Self.edgeNumbers) }
        var s = chance(0.3) ? "-" : ""
        switch int(0...3) {
        case 0: s += "0"
        case 1: s += digits(int(1...16), leading: true)
        case 2: s += digits(int(13...20), leading: true)
        default: s += chance(0.05) ? "0" + digits(int(1...3)) : digits(int(1...340), leading: true)
        }
        if chance(0.6) { s += "." + digits(chance(0.8) ? int(1...9) : int(1...40)) }
        if chance(0.35) {
            s += pick(["e", "E"]) + pick(["", "+", "-"])
            s += chance(0.9) ? String(int(0...330)) : String(int(0...99999))
        }
        return s
    }

    static let stringPieces = [
        "a", "Z", "é", "😀", "中", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u00E9", "\\u0000",
        "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\udbff\\udfff", "\u{7f}", "{", "}", ":", ",", "[", "]", "email", " ",
        "user@example.com", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
        "0123456789abcdef0123456789abcdef", "\\\"_id\\\":\\\"x\\\"",
    ]
    /// Escapes that are not: lone or reversed surrogates, short or bad hex, unknown letters, a raw tab.
    static let badPieces = ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud800\\ud800", "\\udc00\\ud800", "\\ud83d\\", "\\u12",
                            "\\u12g4", "\\x", "\\U0041", "\\'", "\\", "\t", "\\u+123"]

    /// Raw bytes that are not valid UTF-8 or not allowed in a string: overlong forms, surrogates, too-high code
    /// points, stray continuation bytes, truncated sequences, NUL and other controls.
    static let badBytes: [[UInt8]] = [
        [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF],
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE], [0x80],
        [0xBF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3, 0x28], [0x00], [0x01], [0x1F], [0x0A], [0x0D],
        // valid, at the edges of the ranges
        [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],
        [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF1, 0x80, 0x80, 0x80],
    ]

    mutating func string() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        let pieces = chance(0.15) ? int(8...60) : int(0...6)
        for _ in 0..<pieces {
            if chance(0.02) {
                out += pick(Self.badBytes)
            } else {
                out += Array(pick(chance(0.02) ? Self.badPieces : Self.stringPieces).utf8)
            }
        }
        return out + [UInt8(ascii: "\"")]
    }

    /// Keys: the wanted names (some written with escapes), names like them, and any string.
    mutating func key() -> [UInt8] {
        let names = ["_id", "email", "userId", "createdAt", "nested", "x", "", "a\\\"b", "\\u00e9", "é", "😀", "\\ud83d\\ude00",
                     "em\\u0061il", "\\u0065mail", "\\u005fid", "emai", "emailx", "Email", "_ie", "x\\u0000", "\\/x",
                     "k\\u006b" + String(repeating: "k", count: 298), String(repeating: "k", count: 300)]
        if chance(0.2) { return string() }
        return Array(("\"" + pick(names) + "\"").utf8)
    }

    mutating func ws() -> [UInt8] { Array(pick(["", "", "", " ", "\t", "\n", "\r\n", "  \t"]).utf8) }

    mutating func value(_ depth: Int) -> [UInt8] {
        switch int(0...(depth > 3 ? 6 : 8)) {
        case 0, 1: return string()
        case 2, 3: return Array(number().utf8)
        case 4: return Array((chance(0.9) ? pick(["true", "false", "null"]) : pick(["tru", "nul", "falsey", "True", "nan"])).utf8)
        case 5, 6: return chance(0.5) ? string() : Array(number().utf8)
        case 7: return [UInt8(ascii: "[")] + (0..<int(0...3)).map { _ in ws() + value(depth + 1) + ws() }.joined(separator: [UInt8(ascii: ",")]) + [UInt8(ascii: "]")]
        default: return object(depth + 1)
        }
    }

    mutating func object(_ depth: Int) -> [UInt8] {
        var members: [[UInt8]] = []
        for _ in 0..<int(0...8) {
            members.append(ws() + key() + ws() + [UInt8(ascii: ":")] + ws() + value(depth) + ws())
        }
        return [UInt8(ascii: "{")] + members.joined(separator: [UInt8(ascii: ",")]) + [UInt8(ascii: "}")]
    }

    /// Nesting at and around the depth limit, by arrays, objects or both, under a wanted key or not.
    mutating func deep() -> [UInt8] {
        let depth = FieldScanner.maxDepth + int(-3...2)
        var open = "", close = ""
        for _ in 0..<depth {
            if chance(0.5) { open += "["; close = "]" + close } else { open += "{\"k\":"; close = "}" + close }
        }
        let inner = pick(["", "1", "\"s\"", "[]", "{}", "null"])
        let inside = open + (inner.isEmpty && open.last == ":" ? "0" : inner) + close
        return Array((pick(["{\"x\":", "{\"nested\":", "{\"_id\":1,\"y\":"]) + inside + "}").utf8)
    }

    /// A damaged copy: truncated, a byte changed to any byte, bytes inserted, removed or repeated.
    mutating func damage(_ b: [UInt8]) -> [UInt8] {
        var b = b
        guard !b.isEmpty else { return [UInt8(ascii: "{")] }
        for _ in 0..<int(1...2) {
            guard !b.isEmpty else { break }
            let at = int(0...(b.count - 1))
            switch int(0...5) {
            case 0: b = Array(b.prefix(at))
            case 1: b[at] = UInt8.random(in: 0...255, using: &rng)
            case 2: b[at] = pick(Array("\"{}[],:\\-0.eE+u \t".utf8))
            case 3: b.insert(contentsOf: pick(Self.badBytes + [Array("\\u".utf8), Array(",".utf8), Array("\"".utf8)]), at: at)
            case 4: b.removeSubrange(at..<min(b.count, at + int(1...4)))
            default: b.insert(contentsOf: b[at..<min(b.count, at + int(1...12))], at: at)
            }
        }
        return b
    }

    /// Bytes with no structure, mostly JSON's own characters.
    mutating func noise() -> [UInt8] {
        let alphabet = Array("{}[]\":,\\ 0123456789-+.eEtrufalsn\tu".utf8)
        var b: [UInt8] = chance(0.7) ? [UInt8(ascii: "{")] : []
        for _ in 0..<int(0...40) { b.append(chance(0.8) ? pick(alphabet) : UInt8.random(in: 0...255, using: &rng)) }
        return b
    }
}

@Suite struct CScanner {
    /// Wanted fields: some twice ("email": only its first slot fills), an empty name, non-ASCII names, a name with a
    /// quote and one longer than the C side's key buffer.
    static let fields = ["_id", "email", "userId", "createdAt", "nested", "x", "email", "", "a\"b", "é", "😀", "x\u{0}",
                         "/x", String(repeating: "k", count: 300)]

    struct Outcome: CustomStringConvertible {
        let ok: Bool
        let slots: [ScannedField]
        var description: String { "\(ok) \(slots)" }
    }

    /// Numbers compare by bit pattern: -0 is not 0.
    static func same(_ a: ScannedField, _ b: ScannedField) -> Bool {
        if case .number(let x) = a, case .number(let y) = b { return x.bitPattern == y.bitPattern }
        return a == b
    }

    /// A difference between the C-backed scanner and the Swift reference on `line`, or nil. Slots are compared
    /// whatever the answer: on a rejected line too, what was read before the error stays in them.
    static func difference(_ line: [UInt8], fields: [String] = fields, extraSlots: Int = 0) -> String? {
        let c = FieldScanner(fields: fields), swift = SwiftFieldScanner(fields: fields)
        var cSlots = [ScannedField](repeating: .bool(true), count: fields.count + extraSlots)
        var swiftSlots = cSlots
        let cOK = line.withUnsafeBytes { c.scan($0, into: &cSlots) }
        let swiftOK = line.withUnsafeBytes { swift.scan($0, into: &swiftSlots) }
        if cOK == swiftOK && zip(cSlots, swiftSlots).allSatisfy({ same($0, $1) }) { return nil }
        let shown = String(decoding: line.prefix(300), as: UTF8.self).debugDescription
        return "C: \(Outcome(ok: cOK, slots: cSlots))\nSwift: \(Outcome(ok: swiftOK, slots: swiftSlots))\nline: \(shown)"
    }

    /// What an accepted line's slot held, for the tally that shows the fuzz reaches every case.
    static func kind(_ f: ScannedField) -> String {
        switch f {
        case .missing: "missing"
        case .null: "null"
        case .bool: "bool"
        case .number(let d): d.isZero ? "zero" : "number"
        case .string(_, _, let escaped): escaped ? "escaped string" : "string"
        case .nested: "nested"
        }
    }

    /// Runs `count` lines of each kind; returns the differences, how many lines were accepted, and what the
    /// accepted lines' slots held (kind and slot, counted).
    static func run(seed: UInt64, count: Int) -> (problems: [String], accepted: Int, total: Int, seen: [String: Int]) {
        var fuzz = ScannerFuzz(rng: SeededRandom(state: seed))
        var problems: [String] = [], accepted = 0, total = 0, seen: [String: Int] = [:]
        let scanner = FieldScanner(fields: fields)
        func check(_ line: [UInt8]) {
            total += 1
            if let p = difference(line) { problems.append(p) }
            var slots = [ScannedField](repeating: .missing, count: fields.count)
            guard line.withUnsafeBytes({ scanner.scan($0, into: &slots) }) else { return }
            accepted += 1
            for (i, f) in slots.enumerated() { seen["\(kind(f)) \(fields[i].prefix(8).debugDescription)", default: 0] += 1 }
        }
        for _ in 0..<count {
            let line = fuzz.object(0)
            check(line)
            check(fuzz.damage(line))
            check(fuzz.noise())
            if fuzz.chance(0.05) { check(fuzz.deep()) }
            if fuzz.chance(0.05) { check(fuzz.damage(fuzz.deep())) }
        }
        return (problems, accepted, total, seen)
    }

    @Test func randomAndDamagedLinesGiveTheSameAnswersAsTheSwiftScanner() {
        let (problems, accepted, total, seen) = Self.run(seed: 7, count: 20000)
        #expect(problems.isEmpty, "\(problems.count) lines differ; first:\n\(problems.prefix(3).joined(separator: "\n\n"))")
        // Not vacuous: both answers are well represented, and every kind of value fills every slot but the
        // second "email" (its first slot takes it).
        #expect(accepted > total / 10 && accepted < total * 9 / 10, "\(accepted) of \(total) accepted")
        for kind in ["null", "bool", "zero", "number", "string", "escaped string", "nested"] {
            for (i, name) in Self.fields.enumerated() where i != 6 {
                #expect(seen["\(kind) \(name.prefix(8).debugDescription)", default: 0] >= 3, "\(kind) \(name.prefix(8).debugDescription)")
            }
            #expect(seen["\(kind) \"email\"", default: 0] >= 3)
        }
        #expect(seen.keys.filter { !$0.hasPrefix("missing") && $0.hasSuffix(#" "email""#) }.count == 7)
    }

    @Test func namedEdgeCases() {
        var lines: [String] = [
            "", " ", "{", "}", "{}", " {} ", "{} x", "{}{}", "[]", "\"x\"", "1", "{\"x\":1}\n", "\t{\"x\":1}\r\n", "{\"x\":1,}",
            "{,\"x\":1}", "{\"x\" 1}", "{\"x\":}", "{\"x\":1 2}", "{\"x\":[1,]}", "{\"x\":[,1]}", "{\"x\":{\"a\"}}", "{\"x\":{1:2}}",
            "{\"email\":\"first@x.y\",\"email\":\"second@x.y\"}", "{\"email\":\"first@x.y\",\"em\\u0061il\":\"second@x.y\"}",
            "{\"email\":1,\"email\":[2]}", "{\"email\":\"a\",\"email\":\"b\",\"email\":}", "{\"\":true,\"\":false}",
            "{\"a\\\"b\":null}", "{\"\\u00e9\":1,\"\\u00E9\":2}", "{\"\\ud83d\\ude00\":\"smile\"}", "{\"x\\u0000\":0}",
            "{\"\\/x\":\"slash\"}", "{\"x\":\"\\ud800\"}", "{\"x\":\"\\udc00\"}", "{\"x\":\"\\ud800\\u0041\"}", "{\"x\":\"\\ud800\\\"}",
            "{\"x\":\"\\u00\"}", "{\"x\":\"\\q\"}", "{\"x\":\"\\\"}", "{\"x\":\"a\u{7f}b\"}", "{\"x\":tru}", "{\"x\":nulll}",
            "{\"x\":true ,\"_id\" : false }", "{\"_id\":-0}", "{\"_id\":-0.0}", "{\"_id\":0.0e-5}",
        ]
        for n in ScannerFuzz.edgeNumbers { lines += ["{\"createdAt\":\(n)}", "{\"other\":\(n),\"_id\":1}", "{\"x\":[\(n)]}"] }
        // Strings of every length around the 16-byte loads, ending at the line's end or not, with a special byte
        // at every position.
        for length in 0...40 {
            for special in ["", "\\n", "é", "\u{1}", "\"", "\\"] {
                for at in Set([0, length / 2, length]) {
                    var s = String(repeating: "a", count: length)
                    s.insert(contentsOf: special, at: s.index(s.startIndex, offsetBy: at))
                    lines += ["{\"email\":\"\(s)\"}", "{\"e\":\"\(s)\"}", "{\"email\":\"\(s)", "{\"email\":\"\(s)\"", "{\"\(s)\":1}"]
                }
            }
        }
        var problems = lines.compactMap { Self.difference(Array($0.utf8)) }
        var bytes: [[UInt8]] = []
        for bad in ScannerFuzz.badBytes {
            bytes += [Array("{\"email\":\"a".utf8) + bad + Array("b\"}".utf8), Array("{\"_id\":1,\"k\":\"".utf8) + bad + Array("\"}".utf8),
                      Array("{\"".utf8) + bad + Array("\":1}".utf8), Array("{\"email\":1}".utf8) + bad, [UInt8(ascii: "{")] + bad + [UInt8(ascii: "}")],
                      Array("{\"email\":\"0123456789abcdef0123456789".utf8) + bad]
        }
        problems += bytes.compactMap { Self.difference($0) }
        // Other field lists: none, and more slots than fields.
        for line in lines.prefix(40) {
            if let p = Self.difference(Array(line.utf8), fields: []) { problems.append(p) }
            if let p = Self.difference(Array(line.utf8), fields: ["x", "_id"], extraSlots: 3) { problems.append(p) }
        }
        #expect(problems.isEmpty, "\(problems.count) lines differ; first:\n\(problems.prefix(3).joined(separator: "\n\n"))")
    }

    @Test func nestingAtTheDepthLimit() {
        var problems: [String] = []
        for depth in (FieldScanner.maxDepth - 3)...(FieldScanner.maxDepth + 2) {
            for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
                let inner = String(repeating: open, count: depth) + "0" + String(repeating: close, count: depth)
                for line in ["{\"x\":\(inner)}", "{\"nested\":\(inner)}", "{\"y\":\(inner),\"_id\":\"after\"}"] {
                    if let p = Self.difference(Array(line.utf8)) { problems.append(p) }
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(3).joined(separator: "\n\n"))")
        // The limit itself is exercised: the shallowest of these is accepted, the deepest rejected.
        var slots = [ScannedField](repeating: .missing, count: 1)
        let shallow = "{\"x\":" + String(repeating: "[", count: FieldScanner.maxDepth - 2) + String(repeating: "]", count: FieldScanner.maxDepth - 2) + "}"
        let deep = "{\"x\":" + String(repeating: "[", count: FieldScanner.maxDepth) + String(repeating: "]", count: FieldScanner.maxDepth) + "}"
        #expect(Array(shallow.utf8).withUnsafeBytes { FieldScanner(fields: ["x"]).scan($0, into: &slots) })
        #expect(!Array(deep.utf8).withUnsafeBytes { FieldScanner(fields: ["x"]).scan($0, into: &slots) })
    }

    /// Every number token, wanted or skipped, against Swift's own Double(String) through the reference.
    @Test func numbersGiveTheSameDoubles() {
        var fuzz = ScannerFuzz(rng: SeededRandom(state: 11))
        var problems: [String] = []
        for _ in 0..<30000 {
            let n = fuzz.number()
            // At the line's end, and with 16 bytes and more after it (the C side reads numbers 8 and 16 bytes at a time).
            for line in ["{\"createdAt\":\(n)}", "{\"skipped\":\(n),\"x\":[\(n)]}", "{\"x\":\(n),\"_id\":\(n)}",
                         "{\"createdAt\":\(n),\"pad\":\"0123456789abcdef\"}", "{\"skipped\":\(n) ,\"pad\":\"0123456789abcdef\"}",
                         "{\"x\":[\(n)e1,\(n)E-1,\(n).5,\(n)0,\(n)],\"pad\":\"0123456789abcdef\"}",
                         "{\"_id\":\(n)e1,\"userId\":\(n).5,\"email\":\(n)0,\"pad\":\"0123456789abcdef\"}"] {
                if let p = Self.difference(Array(line.utf8)) { problems.append(p) }
            }
        }
        #expect(problems.isEmpty, "\(problems.count) lines differ; first:\n\(problems.prefix(3).joined(separator: "\n\n"))")
    }
}
