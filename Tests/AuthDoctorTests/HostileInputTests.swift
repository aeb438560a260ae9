@testable import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Issue 11: exports, env files and rule folders nobody here wrote. Inputs are generated at test time.

struct MeasuredRun {
    let exitCode: Int32
    let stdout: String
    let stderr: String
    /// Peak resident memory of the child, in MB.
    let peakMB: Double
    let seconds: Double
}

/// Runs the built binary as a child and reads its own peak memory. A small python parent starts it and reads
/// RUSAGE_CHILDREN: spawned straight from this (large) test process, the child's peak would count ours too.
func runMeasured(_ args: [String], stdinPath: String = "/dev/null", env: [String: String] = [:]) throws -> MeasuredRun {
    let dir = try tempDir("measure")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out").path, err = dir.appendingPathComponent("err").path
    let stats = dir.appendingPathComponent("stats").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", """
        import resource, subprocess, sys, time
        stdin, out, err, stats = sys.argv[1:5]
        start = time.time()
        with open(stdin, "rb") as i, open(out, "wb") as o, open(err, "wb") as e:
            rc = subprocess.call(sys.argv[5:], stdin=i, stdout=o, stderr=e)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        open(stats, "w").write(f"{rc} {peak} {time.time() - start}")
        """, stdinPath, out, err, stats, binaryURL().path] + args
    p.environment = cliEnvironment(env)
    try p.run()
    p.waitUntilExit()
    let fields = ((try? String(contentsOfFile: stats, encoding: .utf8)) ?? "").split(separator: " ")
    #expect(fields.count == 3, "the measuring parent failed")
    let rc = fields.count == 3 ? Int32(fields[0]) ?? -1 : -1
    #if os(Linux)
    let peak = fields.count == 3 ? (Double(fields[1]) ?? 0) / 1024 : 0
    #else
    let peak = fields.count == 3 ? (Double(fields[1]) ?? 0) / 1024 / 1024 : 0
    #endif
    let o = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    let e = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
    return MeasuredRun(exitCode: rc < 0 ? 128 - rc : rc, stdout: o, stderr: e, peakMB: peak,
                       seconds: fields.count == 3 ? Double(fields[2]) ?? 0 : 0)
}

/// Writes a deflated zip export with python's zipfile, streaming: each table is a list of (text, times) parts,
/// so a 200 MB line costs a few hundred KB on disk.
func writeZipExport(_ zip: URL, tables: [String: [(String, Int)]]) throws {
    var spec: [String: [[Any]]] = [:]
    for (k, parts) in tables { spec[k] = parts.map { [$0.0, $0.1] } }
    let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", """
        import json, sys, zipfile
        spec, out = json.loads(sys.argv[1]), sys.argv[2]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for table, parts in sorted(spec.items()):
                z.writestr(table + "/generated_schema.jsonl", '"uniform"\\n')
                with z.open(table + "/documents.jsonl", "w", force_zip64=True) as f:
                    for text, times in parts:
                        b = text.encode()
                        per = max(1, (1 << 20) // max(1, len(b)))
                        left = times
                        while left > 0:
                            n = min(per, left)
                            f.write(b * n)
                            left -= n
        """, json, zip.path]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
}

/// Unzips an export with the system's python, as a user would before passing the folder.
func unzipExport(_ zip: String, to dir: URL) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", zip, dir.path]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
}

let adaUser = #"{"_creationTime":1763900000000.5,"_id":"u_ada","createdAt":1763900000000.0,"email":"ada@example.com","emailVerified":true,"name":"Ada","updatedAt":1763900000000.0}"#
let adaAccount = #"{"_creationTime":1763900000001.5,"_id":"acc_ada","accountId":"u_ada","createdAt":1763900000000.0,"password":"0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d","providerId":"credential","updatedAt":1763900000000.0,"userId":"u_ada"}"#
let adaApp = #"{"_creationTime":1763900000002.5,"_id":"app_ada","authId":"u_ada","email":"ada@example.com","name":"Ada"}"#

/// The four tables of a small healthy export for ada, which a test then makes hostile.
func healthyTables() -> [String: [(String, Int)]] {
    [
        "_components/betterAuth/user": [(adaUser + "\n", 1)],
        "_components/betterAuth/account": [(adaAccount + "\n", 1)],
        "_components/betterAuth/session": [("", 0)],
        "users": [(adaApp + "\n", 1)],
    ]
}

@Suite(.serialized) struct HostileExportMemory {
    @Test func aTwoHundredMegabyteLineHoldingTheEmailStaysUnder300MB() throws {
        let dir = try tempDir("bigline")
        defer { try? FileManager.default.removeItem(at: dir) }
        var tables = healthyTables()
        tables["_components/betterAuth/user"] = [
            (adaUser + "\n", 1),
            (#"{"_id":"u_big","email":"ada@example.com","blob":""#, 1), ("x", 200 << 20), ("\"}\n", 1),
        ]
        let zip = dir.appendingPathComponent("big.zip")
        try writeZipExport(zip, tables: tables)
        #expect(try FileManager.default.attributesOfItem(atPath: zip.path)[.size] as? Int ?? 0 < 2 << 20)
        let r = try runMeasured(["diagnose", "ada@example.com", "--export", zip.path])
        print("diagnose: peak \(r.peakMB) MB, \(r.seconds) s")
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.peakMB < 300, "peak \(r.peakMB) MB")
        #expect(r.stdout.contains("malformed JSONL line(s) skipped (_components/betterAuth/user/documents.jsonl:2)"))
    }

    @Test func a120MegabyteLastLineWithoutNewlineStaysUnder300MB() throws {
        let dir = try tempDir("lastline")
        defer { try? FileManager.default.removeItem(at: dir) }
        var tables = healthyTables()
        tables["_components/betterAuth/session"] = [(#"{"_id":"s1","userId":"nobody","token":""#, 1), ("y", 120 << 20)]
        let zip = dir.appendingPathComponent("last.zip")
        try writeZipExport(zip, tables: tables)
        let r = try runMeasured(["diagnose", "ada@example.com", "--export", zip.path])
        print("diagnose: peak \(r.peakMB) MB, \(r.seconds) s")
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.peakMB < 300, "peak \(r.peakMB) MB")
        #expect(r.stdout.contains("session/documents.jsonl:1"))
    }

    @Test func twentyMegabytesOfMatchingLinesAreLinearAndCapped() throws {
        let dir = try tempDir("manymatch")
        defer { try? FileManager.default.removeItem(at: dir) }
        var tables = healthyTables()
        let dup = #"{"_creationTime":1763900000000.5,"_id":"u_dup","createdAt":1763900000000.0,"email":"ada@example.com","emailVerified":true,"name":"Dup","pad":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","updatedAt":1763900000000.0}"# + "\n"
        let count = (20 << 20) / dup.utf8.count
        tables["_components/betterAuth/user"] = [(adaUser + "\n", 1), (dup, count)]
        let zip = dir.appendingPathComponent("many.zip")
        try writeZipExport(zip, tables: tables)
        let r = try runMeasured(["diagnose", "ada@example.com", "--export", zip.path])
        #expect([0, 1].contains(r.exitCode), "\(r.stderr)")
        print("diagnose, 20 MB of matching lines: peak \(r.peakMB) MB, \(r.seconds) s")
        // Before: 26-32 s (the newline count restarted from the chunk start for every candidate).
        #expect(r.seconds < 8, "\(r.seconds) s")
        #expect(r.peakMB < 300, "peak \(r.peakMB) MB")
        #expect(r.stdout.contains("\(count + 1) lines hold the email or ids looked for; only the first 1000 were read"), "\(r.stdout)")
    }

    /// Lines under the size limit that parse into millions of values (`[0,0,0,…]`): 774 MB and 25 s before the
    /// value budget.
    @Test func linesOfMillionsOfTinyValuesStayUnder300MB() throws {
        let dir = try tempDir("values")
        defer { try? FileManager.default.removeItem(at: dir) }
        var tables = healthyTables()
        let heavy: [(String, Int)] = [(#"{"_id":"u_heavy","email":"ada@example.com","a":["#, 1), ("0,", 1_900_000), ("0]}\n", 1)]
        tables["_components/betterAuth/user"] = [(adaUser + "\n", 1)] + Array((0..<10).map { _ in heavy }.joined())
        let zip = dir.appendingPathComponent("values.zip")
        try writeZipExport(zip, tables: tables)
        let r = try runMeasured(["diagnose", "ada@example.com", "--export", zip.path])
        print("diagnose, 10 lines of 1.9 M values: peak \(r.peakMB) MB, \(r.seconds) s")
        #expect([0, 1].contains(r.exitCode), "\(r.stderr)")
        #expect(r.peakMB < 300, "peak \(r.peakMB) MB")
        #expect(r.seconds < 8)
        #expect(r.stdout.contains("11 lines hold the email or ids looked for; only the first 1 were read"), "\(r.stdout)")
    }

    @Test func aHugeSchemaLineIsNotParsed() throws {
        let dir = try tempDir("schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeExport(["_components/betterAuth/user": adaUser + "\n", "_components/betterAuth/account": adaAccount + "\n",
                         "_components/betterAuth/session": "", "users": adaApp + "\n"], in: dir)
        var schema = Data("[".utf8)
        schema.append(Data(String(repeating: "0,", count: 10 << 20).utf8))
        schema.append(Data("0]\n".utf8))
        try schema.write(to: dir.appendingPathComponent("_components/betterAuth/user/generated_schema.jsonl"))
        let r = try runMeasured(["diagnose", "ada@example.com", "--export", dir.path])
        #expect([0, 1].contains(r.exitCode), "\(r.stderr)")
        #expect(r.peakMB < 150, "peak \(r.peakMB) MB")
    }

    @Test func passwordLineIsCappedAt4KiB() throws {
        let dir = try tempDir("pw")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runMeasured(["diagnose", "ada@example.com", "--export", demoExport, "--check-password"], stdinPath: "/dev/zero")
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("the password line is longer than 4096 bytes"))
        #expect(r.peakMB < 100, "peak \(r.peakMB) MB")
        #expect(r.seconds < 5)
    }
}

@Suite(.serialized) struct HostileAuditLimits {
    @Test func pastMaxRowsAuditStopsWithExit2AndNamesTheOption() throws {
        let dir = try tempDir("maxrows")
        defer { try? FileManager.default.removeItem(at: dir) }
        var tables = healthyTables()
        tables["_components/betterAuth/user"] = [(adaUser + "\n", 30_000)]
        let zip = dir.appendingPathComponent("rows.zip")
        try writeZipExport(zip, tables: tables)
        let r = try runCLI(["audit", "--export", zip.path, "--max-rows", "10000"])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("more than 10000 rows"))
        #expect(r.stderr.contains("--max-rows"))
        #expect(try runCLI(["audit", "--export", zip.path, "--max-rows", "40000"]).exitCode != 2)
    }

    /// The ceiling the docs state: about 200 MB per million rows (measured on half a million user rows, the table
    /// that costs the most per row).
    @Test func auditMemoryPerMillionRowsIsAsDocumented() throws {
        let dir = try tempDir("million")
        defer { try? FileManager.default.removeItem(at: dir) }
        var tables = healthyTables()
        tables["_components/betterAuth/user"] = [(adaUser + "\n", 500_000)]
        let zip = dir.appendingPathComponent("million.zip")
        try writeZipExport(zip, tables: tables)
        let base = try runMeasured(["audit", "--export", demoExport])
        let r = try runMeasured(["audit", "--export", zip.path])
        #expect([0, 1].contains(r.exitCode), "\(r.stderr)")
        let perMillion = (r.peakMB - base.peakMB) * 2
        print("audit: \(r.peakMB) MB for 500,000 user rows, \(base.peakMB) MB for the demo: \(perMillion) MB per million rows, \(r.seconds) s")
        #expect(perMillion < Double(ExportAudit.bytesPerRow), "\(r.peakMB) MB against \(base.peakMB) MB for the demo")
    }
}

@Suite struct HostileEnvFiles {
    @Test func anUnclosedQuoteSaysWhichLinesItWouldSwallowAndReadsThem() {
        let f = EnvFile.parse("SITE_URL=\"https://app.example.com\nADMIN_EMAIL=ada@example.com\nB=2\n", path: "convex.env")
        #expect(f.values["ADMIN_EMAIL"] == "ada@example.com")
        #expect(f.values["B"] == "2")
        #expect(f.values["SITE_URL"] == nil)
        #expect(f.problems == ["convex.env:1: SITE_URL opens a \" quote that is never closed (it would swallow lines 2-3); skipped this line and read the lines after it"])
    }

    @Test func duplicateNotesAreCappedAndCounted() {
        let text = (0..<5000).map { "NAME_\($0 % 100)=v\n" }.joined() + (0..<50).map { "bad line \($0)\n" }.joined()
        let env = EnvSources(convex: EnvFile.parse(text, path: "big.env"), hosting: [])
        #expect(env.notes.count == EnvSources.maxNotes + 1)
        #expect(env.notes.last == "... and 130 more notes about the env files.")
        #expect(env.notes.allSatisfy { $0.count < 300 })
        let one = EnvFile.parse(String(repeating: "A=1\n", count: 10_000), path: "a.env").duplicateNotes
        #expect(one == ["A is set more than once in a.env (a.env:1, a.env:2, a.env:3, a.env:4, a.env:5 and 9995 more); the last one wins"])
    }

    @Test func aHugeEnvFileIsExit2NotGigabytes() throws {
        let dir = try tempDir("bigenv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("convex.env")
        let line = Data("SITE_URL=https://app.example.com\n".utf8)
        var data = Data()
        for _ in 0..<(3 << 20) / line.count { data.append(line) }
        try data.write(to: path)
        let r = try runMeasured(["check-env", "--convex-env", path.path])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("too big for an env file"))
        #expect(r.stdout.count < 10_000)
        #expect(r.peakMB < 200)
    }
}

/// A rules folder with the given files (name → YAML) and fixtures (file name → YAML).
func hostileRuleFolder(_ files: [String: String], fixtures: [String: String] = [:]) throws -> URL {
    let dir = try tempDir("hostile-rules")
    for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
    if !fixtures.isEmpty {
        let f = dir.appendingPathComponent("fixtures")
        try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true)
        for (name, text) in fixtures { try Data(text.utf8).write(to: f.appendingPathComponent(name)) }
    }
    return dir
}

private let ruleHead = "id: app.user.hostile\nstep: 30\ntitle: Hostile\nmodes: [diagnose, env]\n"
private let secretValue = "Zq3v8Jk2LmN5pQ7rS9tU1wX4yZ6aB8cD0eF2gH4iJ6k="

@Suite(.serialized) struct HostileRules {
    func convexEnv(_ extra: String = "") throws -> URL {
        let dir = try tempDir("hostile-env")
        let f = dir.appendingPathComponent("convex.env")
        try Data("BETTER_AUTH_SECRET=\(secretValue)\nSITE_URL=https://app.example.com\n\(extra)".utf8).write(to: f)
        return f
    }

    /// Loading the folder fails with exit 2 and `file:line:column: <message>`; `spawn` runs the binary (a crash is
    /// then a crash trace on its stderr).
    func expectLoadError(_ rule: String, _ message: String, line: Int, spawn: Bool = false,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try hostileRuleFolder(["hostile.yaml": rule])
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["rules", "list", "--rules", dir.path]
        let r = try spawn ? spawnCLI(args) : runCLI(args)
        #expect(r.exitCode == 2, sourceLocation: sourceLocation)
        #expect(r.stderr.contains("hostile.yaml:\(line):"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    @Test func aSecretCannotBeTheSubjectOfAnythingButAClassifier() throws {
        let oracles = [
            #"matches(env.convex.BETTER_AUTH_SECRET, "^.{3}Z")"#, #"startsWith(env.convex.BETTER_AUTH_SECRET, "Zq3")"#,
            #"endsWith(ba.accounts[0].password, "a")"#, #"contains(env.convex.BETTER_AUTH_SECRET, "Z")"#,
            #"env.convex.BETTER_AUTH_SECRET == "Zq3""#, #"size(env.convex.BETTER_AUTH_SECRET) == 44"#,
            #"startsWith("Zq3v8", env.convex.BETTER_AUTH_SECRET)"#, #"lower(env.convex.BETTER_AUTH_SECRET) != null"#,
            #"app.user.credentials.password == "x""#, #""Z" in env.convex.BETTER_AUTH_SECRET"#,
        ]
        for oracle in oracles {
            try expectLoadError(ruleHead + "assert: true\nmessage: |\n  {{ \(oracle) ? 'Z' : '' }}\n", "a secret", line: 7)
        }
        // The classifiers are allowed.
        let ok = try hostileRuleFolder(["ok.yaml": ruleHead + "assert: |\n  hashKind(env.convex.BETTER_AUTH_SECRET) != \"x\" && shapeLength(env.convex.BETTER_AUTH_SECRET) > 0\nmessage: |\n  {{ shape(env.convex.BETTER_AUTH_SECRET) }}\n"])
        defer { try? FileManager.default.removeItem(at: ok) }
        #expect(try runCLI(["rules", "list", "--rules", ok.path]).exitCode == 0)
    }

    @Test func theCharacterByCharacterLeakOfTheIssueNeverPrintsTheSecret() throws {
        // The reproduction: one template hole per position. Statically refused; through a name computed at run
        // time it loads, and then is refused while it runs ("could not check").
        let positions = (0..<8).map { #"{{ matches(env.convex[k], "^.{\#($0)}Z") ? "Z" : "_" }}"# }.joined(separator: " ")
        try expectLoadError(ruleHead + "assert: false\nmessage: |\n  \(positions.replacingOccurrences(of: "env.convex[k]", with: "env.convex.BETTER_AUTH_SECRET"))\n", "matches() cannot take a secret", line: 7)
        let dir = try hostileRuleFolder(["hostile.yaml": ruleHead + "let:\n  k: '\"BETTER_AUTH_\" + \"SECRET\"'\nassert: false\nmessage: |\n  \(positions)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try convexEnv()
        defer { try? FileManager.default.removeItem(at: env.deletingLastPathComponent()) }
        let r = try runCLI(["check-env", "--convex-env", env.path, "--rules", dir.path, "--format", "json"])
        let v = try JSONParser.parse(r.stdout)
        let hostile = v["results"].listValue?.first { $0["rule"] == .string("app.user.hostile") }
        #expect(hostile?["status"] == .string("error"))
        #expect(hostile?["message"].stringValue?.contains("matches() cannot take a secret") == true)
        #expect(!r.stdout.contains("Z _") && !r.stdout.contains("_ Z"))
        #expect(!r.stdout.contains(secretValue) && !r.stdout.contains("Zq3v8"))
    }

    @Test func nestedSnakeCaseAndURLSecretsAreNeverDumped() throws {
        let dir = try tempDir("nested")
        defer { try? FileManager.default.removeItem(at: dir) }
        let app = #"{"_id":"app_ada","authId":"u_ada","email":"ada@example.com","credentials":{"password":"hunter2-nested-pw"},"api_key":"sk_live_snake_4242","private_key":"-----BEGIN PRIVATE KEY-----MIIEv","profile":{"github_token":"ghp_deeptoken99"}}"#
        try writeExport([
            "_components/betterAuth/user": adaUser + "\n", "_components/betterAuth/account": adaAccount + "\n",
            "_components/betterAuth/session": "", "users": app + "\n",
        ], in: dir)
        let rules = try hostileRuleFolder(["dump.yaml": ruleHead + "assert: false\nmessage: \"user {{ app.user }} env {{ env.convex }}\"\n"])
        defer { try? FileManager.default.removeItem(at: rules) }
        let env = try convexEnv("DATABASE_URL=postgres://dbuser:PASSW0RD-in-url@db.example.com:5432/app\n")
        defer { try? FileManager.default.removeItem(at: env.deletingLastPathComponent()) }
        for format in ["text", "json"] {
            let r = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--convex-env", env.path, "--rules", rules.path, "--format", format])
            #expect(r.stdout.contains("Hostile"), "\(r.stdout)")
            for secret in ["hunter2-nested-pw", "sk_live_snake_4242", "MIIEv", "ghp_deeptoken99", "PASSW0RD-in-url", "dbuser:", secretValue] {
                #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret), "\(format) printed \(secret)")
            }
        }
        #expect(SecretFields.isSecret("api_key") && SecretFields.isSecret("private_key") && SecretFields.isSecret("API-KEY"))
        #expect(!SecretFields.isSecret("tokenIdentifier") && !SecretFields.isSecret("email"))
        #expect(SecretFields.hasUserinfo("postgres://u:p@host/db") && !SecretFields.hasUserinfo("https://host/a@b"))
    }

    @Test func deeplyNestedExpressionsAreALoadErrorWithPosition() throws {
        // Each shape of the issue's reproductions (each crashed with SIGSEGV), at its size there (past the token
        // limit: refused before parsing) and at a size within the token limit (past the depth limit).
        let shapes: [(issueSize: Int, make: (Int) -> String)] = [
            (10_000, { String(repeating: "(", count: $0) + "true" + String(repeating: ")", count: $0) }),
            (100_000, { String(repeating: "!", count: $0) + "true" }),
            (200_000, { (0..<$0).map { _ in "1" }.joined(separator: "+") + " > 0" }),
            (100_000, { (0..<$0).map { _ in "true" }.joined(separator: " && ") }),
            (100_000, { String(repeating: "[", count: $0) + String(repeating: "]", count: $0) + " != null" }),
            (50_000, { (0..<$0).map { _ in "true ? true :" }.joined(separator: " ") + " false" }),
            (100_000, { "app.user" + String(repeating: ".x", count: $0) + " == null" }),
        ]
        let cases = shapes.map { ($0.make($0.issueSize), "longer than 20000 tokens") }
            + shapes.map { ($0.make(2_000), "nested deeper than 100") }
        for (expr, message) in cases {
            let start = Date()
            try expectLoadError(ruleHead + "message: m\nassert: |\n  " + expr + "\n", message, line: 7, spawn: true)
            #expect(Date().timeIntervalSince(start) < 10)
        }
    }

    @Test func aRuleOverItsBudgetCouldNotBeCheckedInUnderTwoSeconds() throws {
        let env = try convexEnv("LONG_FIELD=" + String(repeating: "a", count: 5_000) + "\n")
        defer { try? FileManager.default.removeItem(at: env.deletingLastPathComponent()) }
        let doubling = (1...35).map { "  s\($0): s\($0 - 1) + s\($0 - 1)" }.joined(separator: "\n")
        let bigList = "[" + (0..<100).map(String.init).joined(separator: ",") + "]"
        let hostile = [
            "regex.yaml": ruleHead + "assert: |\n  matches(env.convex.LONG_FIELD, \"(a*)*b\")\nmessage: m\n",
            "lets.yaml": "id: app.user.lets\nstep: 31\ntitle: Lets\nmodes: [env]\nlet:\n  s0: '\"xy\"'\n\(doubling)\nassert: size(s35) > 0\nmessage: m\n",
            "maps.yaml": "id: app.user.maps\nstep: 32\ntitle: Maps\nmodes: [env]\nassert: |\n  size(\(bigList).map(a, \(bigList).map(b, \(bigList).map(c, \(bigList).map(d, \(bigList)))))) > 0\nmessage: m\n",
        ]
        let dir = try hostileRuleFolder(hostile)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runMeasured(["check-env", "--convex-env", env.path, "--rules", dir.path, "--format", "json"])
        #expect(r.seconds < 6, "\(r.seconds) s for three hostile rules")
        #expect(r.peakMB < 400, "peak \(r.peakMB) MB")
        let v = try JSONParser.parse(r.stdout)
        for id in ["app.user.hostile", "app.user.lets", "app.user.maps"] {
            let result = v["results"].listValue?.first { $0["rule"] == .string(id) }
            #expect(result?["status"] == .string("error"), "\(id): \(String(describing: result)) \(r.stderr) \(r.stdout.prefix(300))")
            #expect(result?["message"].stringValue?.contains("could not be checked") == true, "\(id)")
        }
        // One rule alone is under two seconds.
        let one = try hostileRuleFolder(["regex.yaml": hostile["regex.yaml"]!])
        defer { try? FileManager.default.removeItem(at: one) }
        #expect(try runMeasured(["check-env", "--convex-env", env.path, "--rules", one.path]).seconds < 2)
    }

    @Test func yamlAliasesAreRefusedAndFixturesAreReadOnlyByRulesTest() throws {
        let bomb = """
            rule: app.user.hostile
            cases:
              - name: bomb
                email: ada@example.com
                expect: pass
                config: &a0 {appTable: users}
                tables:
                  users: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]
                  b1: &b1 [*b0, *b0, *b0, *b0, *b0, *b0, *b0, *b0, *b0]
                  b2: &b2 [*b1, *b1, *b1, *b1, *b1, *b1, *b1, *b1, *b1]
                  b3: &b3 [*b2, *b2, *b2, *b2, *b2, *b2, *b2, *b2, *b2]
                  b4: &b4 [*b3, *b3, *b3, *b3, *b3, *b3, *b3, *b3, *b3]
                  b5: &b5 [*b4, *b4, *b4, *b4, *b4, *b4, *b4, *b4, *b4]
                  b6: &b6 [*b5, *b5, *b5, *b5, *b5, *b5, *b5, *b5, *b5]
                  b7: &b7 [*b6, *b6, *b6, *b6, *b6, *b6, *b6, *b6, *b6]
                  b8: &b8 [*b7, *b7, *b7, *b7, *b7, *b7, *b7, *b7, *b7]
                  b9: &b9 [*b8, *b8, *b8, *b8, *b8, *b8, *b8, *b8, *b8]
            """
        let rule = ruleHead + "assert: true\nmessage: m\n"
        let dir = try hostileRuleFolder(["hostile.yaml": rule], fixtures: ["app.user.hostile.yaml": bomb])
        defer { try? FileManager.default.removeItem(at: dir) }
        // A run never reads fixtures: the bomb is not even parsed.
        let run = try runMeasured(["diagnose", "ada@example.com", "--export", demoExport, "--rules", dir.path])
        #expect([0, 1].contains(run.exitCode), "\(run.stderr)")
        #expect(run.peakMB < 300)
        let t = try runMeasured(["rules", "test", dir.path])
        #expect(t.exitCode == 2)
        #expect(t.stderr.contains("app.user.hostile.yaml:6:"), "\(t.stderr)")
        #expect(t.stderr.contains("YAML anchors and aliases"))
        #expect(t.peakMB < 300)
        try expectLoadError(ruleHead + "let:\n  a: &x 'true'\n  b: *x\nassert: true\nmessage: m\n", "YAML anchors and aliases", line: 6)
    }

    @Test func rulesTestWritesNowhereOutsideItsFolder() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside")
        try? FileManager.default.removeItem(at: outside)
        let rule = ruleHead + "assert: true\nmessage: m\n"
        let escapes: [(String, String, String)] = [
            ("tables: {\"../../../outside/evil\": \"{}\"}", "table key '../../../outside/evil'", "7"),
            ("tables: {\"betterAuth/../../x\": \"{}\"}", "table key '../../x'", "7"),
            ("tables: {\"/tmp/outside/abs\": \"{}\"}", "absolute path", "7"),
            ("config: {appTable: \"../../x\"}", "appTable '../../x'", "7"),
            ("config: {appTable: \"a/b\"}", "without '/'", "7"),
            ("config: {component: \"../up\"}", "component '../up'", "7"),
            ("config: {component: \"/abs\"}", "absolute path", "7"),
        ]
        for (extra, message, line) in escapes {
            let fixture = "rule: app.user.hostile\ncases:\n  - name: escape\n    email: ada@example.com\n    expect: pass\n    \(extra)\n"
            let dir = try hostileRuleFolder(["hostile.yaml": rule], fixtures: ["app.user.hostile.yaml": fixture])
            defer { try? FileManager.default.removeItem(at: dir) }
            let t = try runCLI(["rules", "test", dir.path])
            #expect(t.exitCode == 2, "\(extra)")
            #expect(t.stderr.contains(message), "\(t.stderr)")
            _ = line
            #expect(!FileManager.default.fileExists(atPath: outside.path))
        }
        // In auth-doctor.yaml too; a nested component (a/b) is fine.
        #expect(Config.unsafeName("a/b", nested: true) == nil)
        #expect(Config.unsafeName("betterAuth", nested: true) == nil)
        #expect(Config.unsafeName("users", nested: false) == nil)
        #expect(throws: ConfigError.self) { try Config.parse(yaml: "appTable: ../x\n", file: "c.yaml") }
    }
}

@Suite(.serialized) struct HostileZipKinds {
    /// Rewrites the demo export with python: `how` is a snippet that gets `data` (the zip's bytes) and sets `out`.
    func variant(_ how: String, in dir: URL, name: String) throws -> String {
        let out = dir.appendingPathComponent(name).path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import io, struct, sys, zipfile
            data = open(sys.argv[1], "rb").read()
            \(how)
            open(sys.argv[2], "wb").write(out)
            """, demoExport, out]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return out
    }

    func expectExit2(_ path: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try runCLI(["diagnose", "ada@example.com", "--export", path])
        #expect(r.exitCode == 2, sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("an empty export"), sourceLocation: sourceLocation)
        #expect(try runCLI(["audit", "--export", path]).stderr.contains(message), sourceLocation: sourceLocation)
    }

    @Test func eachKindOfUnreadableZipIsNamed() throws {
        let dir = try tempDir("zipkinds")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The encryption flag set on every entry, as `zip -e` writes it.
        let encrypted = try variant("""
            out = bytearray(data)
            for sig in (b"PK\\x03\\x04", b"PK\\x01\\x02"):
                i = out.find(sig)
                while i >= 0:
                    at = i + (6 if sig == b"PK\\x03\\x04" else 8)
                    out[at] |= 1
                    i = out.find(sig, i + 4)
            out = bytes(out)
            """, in: dir, name: "encrypted.zip")
        try expectExit2(encrypted, "a password-protected (encrypted) zip")
        let sfx = try variant("out = b'MZ' + b'\\x90' * 4094 + data", in: dir, name: "setup.exe.zip")
        try expectExit2(sfx, "a self-extracting archive (a Windows program with a zip appended)")
        let badOffset = try variant("""
            e = data.rfind(b"PK\\x05\\x06")
            cd = struct.unpack("<I", data[e + 16:e + 20])[0]
            out = data[:e + 16] + struct.pack("<I", cd + 7) + data[e + 20:]
            """, in: dir, name: "bad-offset.zip")
        try expectExit2(badOffset, "the zip's central directory is not where its end record says")
        let nested = try variant("""
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("snapshot_happy-animal-123_1764000000000.zip", data)
            out = buf.getvalue()
            """, in: dir, name: "nested.zip")
        try expectExit2(nested, "a zip that holds another zip (snapshot_happy-animal-123_1764000000000.zip)")
    }

    @Test func aFifoOrSymlinkTableIsNotARegularFile() throws {
        let dir = try tempDir("fifo")
        defer { try? FileManager.default.removeItem(at: dir) }
        try unzipExport(demoExport, to: dir)
        let table = dir.appendingPathComponent("_components/betterAuth/user/documents.jsonl")
        let real = dir.appendingPathComponent("real-user.jsonl")
        try FileManager.default.moveItem(at: table, to: real)
        #expect(mkfifo(table.path, 0o644) == 0)
        let fifo = try runMeasured(["diagnose", "ada@example.com", "--export", dir.path])
        #expect(fifo.exitCode == 2)
        #expect(fifo.stderr.contains("user/documents.jsonl: not a regular file (a FIFO)"), "\(fifo.stderr)")
        #expect(fifo.seconds < 5)
        try FileManager.default.removeItem(at: table)
        try FileManager.default.createSymbolicLink(at: table, withDestinationURL: real)
        let link = try runCLI(["diagnose", "ada@example.com", "--export", dir.path])
        #expect(link.exitCode == 2)
        #expect(link.stderr.contains("user/documents.jsonl: not a regular file (a symbolic link)"), "\(link.stderr)")
    }
}

@Suite struct HostileRulePrinting {
    @Test func aListOfOneBigStringCannotBePrintedAHundredThousandTimes() throws {
        let lets = (1...19).map { "  s\($0): s\($0 - 1) + s\($0 - 1)" }.joined(separator: "\n")
        let items = (0..<100).map { _ in "s19" }.joined(separator: ", ")
        let rules = [
            "t.yaml": "id: app.user.t\nstep: 33\ntitle: T\nmodes: [env]\nlet:\n  s0: '\"xy\"'\n\(lets)\n  l: '[\(items)]'\nassert: false\nmessage: '{{ l }}'\n",
            "e.yaml": "id: app.user.e\nstep: 34\ntitle: E\nmodes: [env]\nlet:\n  s0: '\"xy\"'\n\(lets)\nassert: false\nmessage: m\nevidence:\n  l: '[\(items)]'\n",
            "s.yaml": "id: app.user.s\nstep: 35\ntitle: S\nmodes: [env]\nlet:\n  s0: '\"xy\"'\n\(lets)\nassert: size(string([\(items)])) > 0\nmessage: m\n",
        ]
        let dir = try hostileRuleFolder(rules)
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try tempDir("printenv")
        defer { try? FileManager.default.removeItem(at: env) }
        try Data("SITE_URL=https://app.example.com\n".utf8).write(to: env.appendingPathComponent("c.env"))
        let r = try runMeasured(["check-env", "--convex-env", env.appendingPathComponent("c.env").path, "--rules", dir.path, "--format", "json"])
        #expect(r.stdout.utf8.count < 200_000, "\(r.stdout.utf8.count) bytes of report")
        #expect(r.peakMB < 300)
        let v = try JSONParser.parse(r.stdout)
        for id in ["app.user.t", "app.user.e", "app.user.s"] {
            let result = v["results"].listValue?.first { $0["rule"] == .string(id) }
            #expect(result?["status"] == .string("error"), "\(id)")
        }
    }
}
