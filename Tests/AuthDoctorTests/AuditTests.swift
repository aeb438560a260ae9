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

    @Test func auditAndDiagnoseAgreeOnEveryUser() throws {
        let (dir, _, zip) = try generated(1500)
        defer { try? FileManager.default.removeItem(at: dir) }
        for export in [zip, demoExport] {
            let source = try ExportSource(path: export, config: Config(), isProd: false)
            let rules = try RuleSet.builtIn()
            let now = Date(timeIntervalSince1970: 1_767_225_600)
            let audit = try ExportAudit.run(source: source, rules: rules, options: .init(examples: Int.max, now: now))
            var byRule: [String: Set<String>] = [:]
            for f in audit.report.findings ?? [] { byRule[f.rule] = Set(f.examples.map(Email.normalize)) }
            // Every Better Auth user's email, diagnosed one by one.
            let emails = try allUserEmails(export)
            var checked = 0
            for email in emails.sorted() {
                let s = try ExportSource(path: export, config: Config(), isProd: false)
                let d = try Doctor.diagnose(email: email, source: s, options: .init(config: Config(), rules: rules, now: now))
                for r in d.report.results where byRule[r.rule] != nil && r.status != .skip && r.rule != "ba.user.email-verified" {
                    let inAudit = byRule[r.rule]!.contains(email)
                    let failed = r.status == .fail || r.status == .warn
                    #expect(inAudit == failed, "\(export): \(email) \(r.rule): diagnose \(r.status.rawValue), audit \(inAudit ? "lists it" : "does not")")
                    checked += 1
                }
            }
            #expect(checked > emails.count * 4)
        }
    }

    func allUserEmails(_ export: String) throws -> Set<String> {
        let archive = try ExportArchive(path: export)
        var data = Data()
        try archive.stream("_components/betterAuth/user/documents.jsonl") { data.append($0) }
        var out = Set<String>()
        for line in data.split(separator: 0x0A) {
            if let e = (try? JSONParser.parse(Data(line)))?["email"].stringValue { out.insert(Email.normalize(e)) }
        }
        return out
    }

    @Test func badExportsAreExitTwo() throws {
        let r = try runCLI(["audit", "--export", "/nonexistent.zip"])
        #expect(r.exitCode == 2 && r.stderr.contains("no such file"))
        #expect(try runCLI(["audit"]).exitCode == 64)
    }
}
