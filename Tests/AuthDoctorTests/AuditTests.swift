import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

/// A seeded generator, so every run tests the same inputs.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random JSON text: escapes, unicode, nested values, keys inside strings, odd whitespace.
struct JSONFuzz {
    var rng: SeededRandom

    mutating func ws() -> String { ["", "", " ", "\t", "\n ", "\r\n"].randomElement(using: &rng)! }

    mutating func string() -> String {
        let pieces = ["a", "Z", "é", "😀", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "\\/", "email", "\\\"_id\\\":\\\"x\\\"",
                      "{", "}", ":", ",", "@", " ", "user@example.com", "\\t"]
        return "\"" + (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() + "\""
    }

    mutating func number() -> String {
        ["0", "-0", "1763900000000.0", "1763900000000.25", "1.5e3", "-12", "3", "0.000001", "123456789012345678901234",
         "1E-7", "9007199254740993", "17639000000001.123456"].randomElement(using: &rng)!
    }

    mutating func value(_ depth: Int) -> String {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
        case 0: return string()
        case 1: return number()
        case 2: return ["true", "false", "null"].randomElement(using: &rng)!
        case 3, 4: return string()
        case 5: return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in ws() + value(depth + 1) + ws() }.joined(separator: ",") + "]"
        default: return object(depth + 1)
        }
    }

    mutating func object(_ depth: Int, keys: [String] = []) -> String {
        var fields: [String] = []
        let names = keys + ["_id", "email", "userId", "createdAt", "nested", "x"]
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            fields.append(ws() + "\"" + names.randomElement(using: &rng)! + "\"" + ws() + ":" + ws() + value(depth) + ws())
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A damaged copy: truncated, a byte changed, or a piece dropped.
    mutating func damage(_ s: String) -> String {
        var b = Array(s.utf8)
        guard !b.isEmpty else { return "{" }
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
        case 1: b[Int.random(in: 0..<b.count, using: &rng)] = [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: ","), 0x01, UInt8(ascii: "x")].randomElement(using: &rng)!
        default: b.remove(at: Int.random(in: 0..<b.count, using: &rng))
        }
        return String(decoding: b, as: UTF8.self)
    }
}

@Suite struct FieldScannerAgainstFoundation {
    static let fields = ["_id", "email", "userId", "createdAt", "nested", "x"]

    /// What Foundation's parser says of the line: nil when invalid, else the wanted fields.
    func foundation(_ text: String) -> [String: Any]? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? [String: Any] else { return nil }
        return obj
    }

    func compare(_ text: String) -> String? {
        let scanner = FieldScanner(fields: Self.fields)
        var slots = [ScannedField](repeating: .missing, count: Self.fields.count)
        let bytes = Array(text.utf8)
        let ok = bytes.withUnsafeBytes { scanner.scan($0, into: &slots) }
        let reference = foundation(text)
        guard let reference else {
            return ok ? "scanner accepted what Foundation rejects: \(text.debugDescription)" : nil
        }
        // A clear "malformed" is the other allowed answer: where Foundation is lenient beyond RFC 8259
        // (trailing commas), the strict parser of diagnose rejects the line too.
        guard ok else {
            return (try? JSONParser.parse(text)) == nil ? nil : "scanner rejected valid JSON: \(text.debugDescription)"
        }
        for (i, name) in Self.fields.enumerated() {
            let want = reference[name]
            switch (slots[i], want) {
            case (.missing, nil): continue
            case (.null, is NSNull): continue
            case (.string(let s, let e, let escaped), let w as String):
                let got: String
                if escaped {
                    got = bytes.withUnsafeBytes { raw in
                        (try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: raw[(s - 1)...e])))?.stringValue ?? "<undecodable>"
                    }
                } else {
                    got = String(decoding: bytes[s..<e], as: UTF8.self)
                }
                if got != w { return "field \(name): \(got.debugDescription) != \(w.debugDescription) in \(text.debugDescription)" }
            case (.number(let d), let w as NSNumber):
                if d != w.doubleValue && !(abs(d - w.doubleValue) <= abs(d) * 1e-15) {
                    return "field \(name): \(d) != \(w.doubleValue) in \(text.debugDescription)"
                }
            case (.bool(let b), let w as NSNumber):
                if b != w.boolValue { return "field \(name): \(b) != \(w)" }
            case (.nested, is [Any]), (.nested, is [String: Any]): continue
            default: return "field \(name): \(slots[i]) vs \(String(describing: want)) in \(text.debugDescription)"
            }
        }
        return nil
    }

    @Test func generatedAndDamagedLinesGiveTheSameAnswers() {
        var fuzz = JSONFuzz(rng: SeededRandom(state: 42))
        var problems: [String] = []
        for _ in 0..<20000 {
            let line = fuzz.object(0)
            if let p = compare(line) { problems.append(p) }
            if let p = compare(fuzz.damage(line)) { problems.append(p) }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5).joined(separator: "\n"))")
    }

    @Test func adversarialLines() {
        let lines = [
            #"{"email":"a@b.c","x":"{\"email\":\"evil@x.y\"}"}"#,
            #"{"note":"\"email\":\"x@y.z\"","email":"real@example.com"}"#,
            #"{"nested":{"email":"inner@x.y"},"email":"outer@x.y"}"#,
            #"  {  "email"  :  "spaced@x.y"  }  "#,
            #"{"email":"first@x.y","email":"second@x.y"}"#,
            #"{"em\u0061il":"escaped-key@x.y"}"#,
            #"{"createdAt":1763900000000.25,"userId":null,"x":[1,{"a":[]}]}"#,
            #"{"_id":"\u0000"}"#, "{\"_id\":\"tab\tinside\"}", #"{"_id":01}"#, #"{"_id":1.}"#, #"{"_id":-}"#, #"{"_id":.5}"#,
            #"{"_id":"x",}"#, #"{,"_id":"x"}"#, #"{"_id" "x"}"#, #"{"_id":"x"}}"#, #"{"_id":"x"} x"#, #"["_id"]"#, "", "{",
            #"{"_id":tru}"#, #"{"_id":nulll}"#, #"{"_id":"\x"}"#, #"{"_id":"\u12"}"#, #"{"x":[1,2,]}"#, #"{"x":{"a"}}"#,
            "{\"_id\":\"é\u{00A0}\"}", #"{"createdAt":1e400}"#, #"{"createdAt":-1.5E-3}"#,
        ]
        for line in lines {
            if let p = compare(line) { Issue.record(Comment(rawValue: p)) }
        }
        // Foundation's leniency, answered with a clear "malformed".
        for line in [#"{"x":[1,2,]}"#, #"{"_id":"x",}"#] {
            var slots = [ScannedField](repeating: .missing, count: 1)
            #expect(Array(line.utf8).withUnsafeBytes { FieldScanner(fields: ["_id"]).scan($0, into: &slots) } == false)
        }
    }
}

@Suite(.serialized) struct AuditCommand {
    func generated(_ users: Int) throws -> (URL, [String: Int], String) {
        let dir = try tempDir("audit")
        let zip = dir.appendingPathComponent("export.zip")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repoRoot.appendingPathComponent("Benchmarks/generate.py").path, "--users", String(users), "--out", zip.path]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let meta = try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: zip.path + ".expected.json")))
        var expected: [String: Int] = [:]
        for (k, v) in meta["expected"].mapValue ?? [:] { if case .int(let n) = v { expected[k] = Int(n) } }
        return (dir, expected, zip.path)
    }

    @Test func countsMatchThePlantedProblems() throws {
        let (dir, expected, zip) = try generated(6000)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["audit", "--export", zip, "--format", "json"])
        #expect(r.exitCode == 1)
        let v = try JSONParser.parse(r.stdout)
        #expect(v["command"] == .string("audit"))
        #expect(v["input"] == .null && v["results"] == .null)
        #expect(v["population"]["baUsers"] == .int(6003))
        for key in ["baUsers", "baAccounts", "baSessions", "appUsers"] { #expect(v["population"][key] != .null) }
        var counts: [String: Int] = [:]
        for f in v["findings"].listValue ?? [] {
            if case .int(let n) = f["count"], let rule = f["rule"].stringValue { counts[rule] = Int(n) }
            let keys = Set(f.mapValue?.keys.map { $0 } ?? [])
            #expect(keys.isSuperset(of: ["rule", "severity", "count", "examples"]))
            #expect((f["examples"].listValue?.count ?? 0) <= 10)
        }
        for (rule, n) in expected { #expect(counts[rule] == n, "\(rule)") }
        let credential = v["findings"].listValue?.first { $0["rule"] == .string("ba.account.credential") }
        #expect(credential?["severity"] == .string("info"), "social-only users are info, never an error")
        #expect(credential?["status"] == .string("warn"))
    }

    @Test func examplesAndList() throws {
        let (dir, expected, zip) = try generated(3000)
        defer { try? FileManager.default.removeItem(at: dir) }
        let few = try JSONParser.parse(try runCLI(["audit", "--export", zip, "--format", "json", "--examples", "2"]).stdout)
        for f in few["findings"].listValue ?? [] { #expect((f["examples"].listValue?.count ?? 0) <= 2) }
        let list = try runCLI(["audit", "--export", zip, "--list", "ba.account.orphan"])
        #expect(list.exitCode == 0)
        let ids = list.stdout.split(separator: "\n")
        #expect(ids.count == expected["ba.account.orphan"])
        #expect(ids.allSatisfy { $0.count == 32 && !$0.contains(" ") })
        let bad = try runCLI(["audit", "--export", zip, "--list", "nope"])
        #expect(bad.exitCode == 64)
    }

    @Test func theDemoListsAdminUnderAppUserExists() throws {
        let r = try runCLI(["audit", "--export", demoExport, "--format", "json"])
        let v = try JSONParser.parse(r.stdout)
        let f = v["findings"].listValue?.first { $0["rule"] == .string("app.user.exists") }
        #expect(f?["examples"] == .list([.string("admin@example.com")]))
        #expect(f?["count"] == .int(1))
        let text = try runCLI(["audit", "--export", demoExport])
        #expect(text.stdout.contains("e.g. admin@example.com"))
        let md = try runCLI(["audit", "--export", demoExport, "--format", "markdown"])
        #expect(md.stdout.contains("| ❌ | `app.user.exists` | 1 |"))
        #expect(!md.stdout.contains("admin@example.com"), "markdown masks emails")
        #expect(md.stdout.contains("a***@example.com"))
    }

    /// On a generated export with every planted problem (seconds timestamps every 5,000th user included), audit
    /// and diagnose agree user by user (by id): every user audit flags, and a spread of the others.
    @Test func auditAndDiagnoseAgreeOnEveryUser() throws {
        let (dir, _, zip) = try generated(10_001)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = try RuleSet.builtIn()
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        let audit = try ExportAudit.run(source: try ExportSource(path: zip, config: Config(), isProd: false), rules: rules,
                                        options: .init(examples: 0, now: now, trackUsers: true))
        #expect(audit.affectedUsers["data.timestamps"]?.isEmpty == false, "the export plants seconds timestamps")
        let users = try allUsers(zip)
        let flagged = Set(audit.affectedUsers.filter { $0.key != "ba.account.credential" && $0.key != "ba.user.email-verified" }.values.joined())
        let sample = users.enumerated().filter { flagged.contains($0.element.id) || $0.offset % 97 == 0 }.map(\.element)
        var compared = 0
        for u in sample {
            let d = try Doctor.diagnose(email: u.email, source: try ExportSource(path: zip, config: Config(), isProd: false),
                                        options: .init(config: Config(), rules: rules, now: now))
            #expect(!d.report.results.contains { $0.status == .error })
            guard d.report.results.first(where: { $0.rule == "ba.user.exists" })?.evidence["userId"] == .string(u.id) else { continue }
            for r in d.report.results where Agreement.compared.contains(r.rule) && r.rule != "ba.user.exists"
                && (r.status == .pass || r.status == .fail || r.status == .warn) {
                let inAudit = audit.affectedUsers[r.rule]?.contains(u.id) ?? false
                #expect(inAudit == (r.status != .pass), "\(u.email) (\(u.id)) \(r.rule): diagnose \(r.status.rawValue), audit \(inAudit ? "counts it" : "does not")")
                compared += 1
            }
        }
        #expect(sample.count > 100 && compared > sample.count * 5)
    }

    func allUsers(_ export: String) throws -> [(id: String, email: String)] {
        let archive = try ExportArchive(path: export)
        var data = Data()
        try archive.stream("_components/betterAuth/user/documents.jsonl") { data.append($0) }
        return data.split(separator: 0x0A).compactMap { line in
            guard let v = try? JSONParser.parse(Data(line)), let id = v["_id"].stringValue, let e = v["email"].stringValue else { return nil }
            return (id, Email.normalize(e))
        }
    }

    @Test func badExportsAreExitTwo() throws {
        let r = try runCLI(["audit", "--export", "/nonexistent.zip"])
        #expect(r.exitCode == 2 && r.stderr.contains("no such file"))
        #expect(try runCLI(["audit"]).exitCode == 64)
    }
}

@Suite struct ScryptFastPath {
    @Test func theByteCheckAgreesWithClassify() {
        let salt = String(repeating: "a1", count: 16), key = String(repeating: "0f", count: 64)
        let cases = ["\(salt):\(key)", "\(salt.uppercased()):\(key)", "\(salt)a:\(key.dropLast())", "\(salt):\(key)0", "\(salt)\(key)",
                     "\(salt);\(key)", "\(salt):\(key.dropLast())g", "$2b$10$" + String(repeating: "x", count: 53), "", "s2:" + key]
        for s in cases {
            var copy = s
            let fast = copy.withUTF8 { b in b.baseAddress.map { HashKind.isScrypt($0, b.count) } ?? false }
            #expect(fast == (HashKind.classify(s) == .scrypt), "\(s)")
        }
    }
}
