import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

private let goldenDir = repoRoot.appendingPathComponent("Tests/Golden")

/// Compares with a golden file; `UPDATE_GOLDEN=1 swift test` rewrites them.
private func expectGolden(_ name: String, _ actual: String) throws {
    let url = goldenDir.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: goldenDir, withIntermediateDirectories: true)
        try Data(actual.utf8).write(to: url)
        return
    }
    let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    #expect(actual == expected, "\(name) differs from its golden file (UPDATE_GOLDEN=1 swift test rewrites it)")
}

@Suite(.serialized) struct EndToEnd {
    @Test func theDemoReproducesTheClassicFailure() throws {
        let r = try runCLI(["diagnose", "admin@example.com", "--export", demoExport])
        #expect(r.exitCode == 1)
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("Verdict: problem at step 10, app.user.exists"))
        // The fix names the Better Auth user _id and the sync mutation.
        #expect(r.stdout.contains(#"npx convex run users:syncFromAuth '{"authId":"jh7amwytcfh6pg51qdr1ratc09471rpx""#))
        #expect(!r.stdout.contains("\u{1B}["), "no colour when stdout is not a TTY")
    }

    @Test func goldenTextAndJSON() throws {
        for (email, name) in [("admin@example.com", "demo-admin"), ("ada@example.com", "demo-ada"), ("carol@example.com", "demo-carol"),
                              ("erin@example.com", "demo-erin")] {
            let text = try spawnCLI(["diagnose", email, "--export", "Examples/demo-export.zip"], env: ["COLUMNS": "80"], cwd: repoRoot)
            try expectGolden("\(name).txt", text.stdout)
            let json = try spawnCLI(["diagnose", email, "--export", "Examples/demo-export.zip", "--format", "json"], cwd: repoRoot)
            try expectGolden("\(name).json", json.stdout)
        }
    }

    /// The layouts people see: 80 and 120 columns, colour on and off, concise and verbose, and the ticket.
    @Test(arguments: [
        ("admin@example.com", ["--color", "never"], "80", "demo-admin.80.txt"),
        ("admin@example.com", ["--color", "always"], "120", "demo-admin.120.color.txt"),
        ("admin@example.com", ["--color", "never", "-v"], "80", "demo-admin.80.verbose.txt"),
        ("carol@example.com", ["--color", "always", "-v"], "120", "demo-carol.120.color.verbose.txt"),
        ("erin@example.com", ["--color", "always"], "80", "demo-erin.80.color.txt"),
        ("carol@example.com", ["--format", "markdown"], "80", "demo-carol.md"),
        ("carol@example.com", ["--format", "github"], "80", "demo-carol.github.txt"),
    ])
    func goldenLayouts(email: String, args: [String], columns: String, file: String) throws {
        let r = try spawnCLI(["diagnose", email, "--export", "Examples/demo-export.zip"] + args, env: ["COLUMNS": columns], cwd: repoRoot)
        try expectGolden(file, r.stdout)
        if args.contains("--format") { return }
        // No line is longer than the width, except a command or an id that must not be broken.
        for line in r.stdout.split(separator: "\n") {
            let visible = line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
            if visible.count > Int(columns)! {
                #expect(visible.contains("npx ") || !visible.trimmingCharacters(in: .whitespaces).contains(" "), "too long: \(visible)")
            }
        }
    }

    /// Every output the README shows after `$ auth-doctor …` is a real run, byte for byte, at 80 columns.
    @Test func readmeShowsRealRuns() throws {
        let readme = try String(contentsOf: repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var checked = 0
        for block in readme.components(separatedBy: "```\n$ auth-doctor ").dropFirst() {
            guard let end = block.range(of: "```") else { continue }
            let body = String(block[..<end.lowerBound])
            let command = String(body.prefix { $0 != "\n" })
            let shown = String(body.dropFirst(command.count + 1))
            var args = command.split(separator: " ").map(String.init)
            // `< FILE`: the file is the run's stdin (jwt reads its token there).
            var stdin: String?
            if let i = args.firstIndex(of: "<"), i + 1 < args.count {
                stdin = try String(contentsOf: repoRoot.appendingPathComponent(args[i + 1]), encoding: .utf8)
                args.removeSubrange(i...)
            }
            // A probe runs against a lab on 127.0.0.1 (the app forwarding x-forwarded-host, #422): the README's ports
            // 43000 (the app) and 43211 (the Convex site) stand for the lab's, which have as many digits.
            var lab: ProbeLab?
            var ports: [(String, String)] = []
            if args.first == "probe" {
                let l = try ProbeLab(app: .proxy(forwardedHost: true))
                lab = l
                ports = [("127.0.0.1:43000", l.app.host), ("127.0.0.1:43211", l.convex.host)]
                #expect(l.app.host.count == 15 && l.convex.host.count == 15, "lab ports of five digits keep the README's line breaks")
                args = args.map { a in ports.reduce(a) { $0.replacingOccurrences(of: $1.0, with: $1.1) } }
            }
            defer { lab?.stop() }
            let r = try spawnCLI(args, env: ["COLUMNS": "80"], stdin: stdin, cwd: repoRoot)
            let out = ports.reduce(r.stdout) { $0.replacingOccurrences(of: $1.1, with: $1.0) }
            #expect(out == shown, "README block `auth-doctor \(command)` differs from a real run:\n\(out)")
            checked += 1
        }
        #expect(checked >= 4)
        let demo = try spawnCLI(["diagnose", "admin@example.com", "--export", "Examples/demo-export.zip"], env: ["COLUMNS": "80"], cwd: repoRoot)
        #expect(demo.stdout.split(separator: "\n").count <= 15, "the concise demo fits in 15 lines")
    }

    @Test func goldenCheckEnv() throws {
        let args = ["check-env", "--convex-env", "Examples/env/convex-prod.env", "--hosting-env", "Examples/env/vercel-production.env"]
        for (format, ext) in [("text", "txt"), ("markdown", "md"), ("github", "github.txt")] {
            let r = try spawnCLI(args + ["--format", format], env: ["COLUMNS": "80"], cwd: repoRoot)
            #expect(r.exitCode == 1)
            try expectGolden("check-env.\(ext)", r.stdout)
        }
    }

    @Test func jsonReportFollowsTheContract() throws {
        let r = try runCLI(["diagnose", "Admin@Example.com ", "--export", demoExport, "--format", "json"])
        #expect(r.exitCode == 1)
        let v = try JSONParser.parse(r.stdout)
        #expect(v["schemaVersion"] == .int(1))
        #expect(v["tool"]["name"] == .string("auth-doctor"))
        #expect(v["command"] == .string("diagnose"))
        #expect(v["input"]["email"] == .string("Admin@Example.com"))
        #expect(v["input"]["cleanedFrom"] == .string("Admin@Example.com "))
        #expect(v["input"]["normalizedEmail"] == .string("admin@example.com"))
        #expect(v["source"]["kind"] == .string("export"))
        #expect(v["source"]["exportFormat"] == .string("uniform"))
        #expect(v["source"]["malformedLines"] == .int(0))
        #expect(v["verdict"]["status"] == .string("problem"))
        #expect(v["verdict"]["rule"] == .string("app.user.exists"))
        #expect(v["verdict"]["step"] == .int(10))
        let results = v["results"].listValue ?? []
        #expect(results.count == 24)
        #expect(results.map { $0["step"] } == (1...24).map { .int(Int64($0)) })
        for r in results {
            #expect(Set(r.mapValue?.keys.map { $0 } ?? []) == ["rule", "step", "title", "failTitle", "severity", "status", "message", "fix", "blockedBy", "evidence"])
        }
        #expect(v["summary"] == .map(["pass": .int(12), "fail": .int(1), "warn": .int(0), "skip": .int(11), "error": .int(0)]))
        #expect(v["verdict"]["title"] == .string("No app row for this user"))
        #expect(results[9]["failTitle"] == .string("No app row for this user"))
        #expect(results[9]["title"] == .string("App user exists"))
        // Keys are sorted at every level: within each object of the pretty-printed text.
        var checkedNested = 0
        var last: [Int: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            let indent = line.prefix { $0 == " " }.count
            last = last.filter { $0.key <= indent }
            let t = line.dropFirst(indent)
            if t.hasPrefix("\""), let end = t.dropFirst().firstIndex(of: "\""), t[t.index(after: end)...].hasPrefix(":") {
                let key = String(t[t.index(after: t.startIndex)..<end])
                if let prev = last[indent] { #expect(prev < key, "\(prev) before \(key) at indent \(indent)") }
                if indent > 2 { checkedNested += 1 }
                last[indent] = key
            }
            // A new object starts its own key order.
            if t.hasSuffix("{") { last[indent + 2] = nil }
        }
        #expect(checkedNested > 50)
    }

    @Test func runsAreByteForByteDeterministic() throws {
        for format in ["text", "json"] {
            let a = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--format", format])
            let b = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--format", format])
            #expect(a.stdout == b.stdout)
            #expect(!a.stdout.isEmpty)
        }
    }

    @Test func exitCodes() throws {
        #expect(try runCLI(["diagnose", "ada@example.com", "--export", demoExport]).exitCode == 0)
        #expect(try runCLI(["diagnose", "erin@example.com", "--export", demoExport]).exitCode == 0)
        #expect(try runCLI(["diagnose", "erin@example.com", "--export", demoExport, "--fail-on", "warning"]).exitCode == 1)
        // A GitHub-only user is no error unless they try a password (DESIGN §13.3).
        #expect(try runCLI(["diagnose", "bob@example.com", "--export", demoExport]).exitCode == 0)
        #expect(try runCLI(["diagnose", "bob@example.com", "--export", demoExport, "--method", "password"]).exitCode == 1)
        // Usage errors: 64.
        #expect(try runCLI(["diagnose", "ada@example.com"]).exitCode == 64)
        #expect(try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--format", "yaml"]).exitCode == 64)
        #expect(try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--admin-key", "prod:x|secret"]).exitCode == 64)
        #expect(try runCLI(["diagnose"]).exitCode == 64)
        let v = try runCLI(["--version"])
        #expect(v.exitCode == 0 && v.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == toolVersion)
    }

    @Test func warningsShowButKeepTheVerdictHealthy() throws {
        let r = try runCLI(["diagnose", "erin@example.com", "--export", demoExport])
        #expect(r.exitCode == 0)
        #expect(r.stdout.contains("[!]  8 Email is not verified (ba.user.email-verified)"))
        #expect(r.stdout.contains("Verdict: healthy, with a warning that may be the cause"))
        #expect(r.stdout.contains("likely cause: Email is not verified (ba.user.email-verified, step 8)"))
        // The warning's fix is printed too, not only the verdict's.
        #expect(r.stdout.contains(#"adapter:updateOne '{"input":{"model":"user","where":[{"field":"_id","value":"jh72cnsq2ybebgc8xn9jdeh1cf15gbs9"}],"update":{"emailVerified":true}}}'"#))
        let strict = try runCLI(["diagnose", "erin@example.com", "--export", demoExport, "--fail-on", "warning", "--format", "json"])
        let v = try JSONParser.parse(strict.stdout)
        #expect(v["verdict"]["rule"] == .string("ba.user.email-verified"))
    }

    @Test func prodFlagReachesTheFix() throws {
        let r = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--prod"])
        #expect(r.stdout.contains("npx convex run --prod --component betterAuth adapter:updateOne"))
    }

    @Test func colourFollowsTheFlag() throws {
        let r = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--color", "always", "-v"])
        #expect(r.stdout.contains("\u{1B}[32m[✓]\u{1B}[0m"))
        let n = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--color", "never"])
        #expect(!n.stdout.contains("\u{1B}["))
    }

    @Test func configChangesTheFixAndIsValidated() throws {
        let dir = try tempDir("config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("auth-doctor.yaml")
        try Data("syncMutation: auth:ensureAppUser\nrequireEmailVerification: true\n".utf8).write(to: good)
        let r = try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--config", good.path])
        #expect(r.stdout.contains("npx convex run auth:ensureAppUser"))
        // Picked up from the working directory without --config.
        let erin = try spawnCLI(["diagnose", "erin@example.com", "--export", demoExport], cwd: dir)
        #expect(erin.exitCode == 1)
        #expect(erin.stdout.contains("Verdict: problem at step 8, ba.user.email-verified"))
        let bad = dir.appendingPathComponent("bad.yaml")
        try Data("appTable: users\nlinkFeild: authId\n".utf8).write(to: bad)
        let b = try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--config", bad.path])
        #expect(b.exitCode == 2)
        #expect(b.stderr.contains("bad.yaml:2:1: unknown key 'linkFeild'"))
        let disabled = dir.appendingPathComponent("disable.yaml")
        try Data("disable:\n  - rule: app.user.exists\n    reason: this app has no users table of its own\n".utf8).write(to: disabled)
        let d = try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--config", disabled.path])
        #expect(d.exitCode == 0)
        #expect(d.stdout.contains("disabled in config: this app has no users table of its own"))
        let missing = try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--config", dir.appendingPathComponent("nope.yaml").path])
        #expect(missing.exitCode == 2 && missing.stderr.contains("nope.yaml: cannot read the config file"))
    }
}

@Suite(.serialized) struct BadInput {
    func expectExit2(_ path: String, _ message: String, email: String = "ada@example.com", extra: [String] = []) throws {
        let r = try runCLI(["diagnose", email, "--export", path] + extra)
        #expect(r.exitCode == 2, "\(path)")
        #expect(r.stderr.contains(message), "stderr was: \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        #expect(r.stdout.isEmpty)
        let json = try runCLI(["diagnose", email, "--export", path, "--format", "json"] + extra)
        #expect(json.exitCode == 2)
        let v = try JSONParser.parse(json.stdout)
        #expect(v["error"]["message"].stringValue?.contains(message) == true)
        #expect(v["schemaVersion"] == .int(1))
    }

    @Test func missingPath() throws {
        try expectExit2("/nonexistent/backup.zip", "/nonexistent/backup.zip: no such file or folder")
    }

    @Test func notAZip() throws {
        let dir = try tempDir("notzip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("export.zip")
        try Data("hello, this is not a zip\n".utf8).write(to: f)
        try expectExit2(f.path, "not a zip file")
        let empty = dir.appendingPathComponent("empty.zip")
        try Data().write(to: empty)
        try expectExit2(empty.path, "the file is empty (0 bytes)")
    }

    @Test func truncatedZip() throws {
        let dir = try tempDir("trunc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Data(contentsOf: URL(fileURLWithPath: demoExport))
        for cut in [data.count / 2, data.count - 30, 200] {
            let f = dir.appendingPathComponent("cut-\(cut).zip")
            try data.prefix(cut).write(to: f)
            try expectExit2(f.path, "truncated or corrupt")
        }
    }

    @Test func corruptEntryData() throws {
        let dir = try tempDir("corrupt")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Damage the compressed bytes of the entry diagnose must read (the Better Auth user table), keeping the
        // central directory intact: the CRC or the inflater catches it, every time.
        let f = dir.appendingPathComponent("corrupt.zip")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import sys, zipfile, struct
            src, out = sys.argv[1], sys.argv[2]
            data = bytearray(open(src, "rb").read())
            info = zipfile.ZipFile(src).getinfo("_components/betterAuth/user/documents.jsonl")
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            for i in range(start + info.compress_size // 3, start + info.compress_size // 3 + 16):
                data[i] ^= 0x5A
            open(out, "wb").write(data)
            """, demoExport, f.path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let r = try runCLI(["diagnose", "admin@example.com", "--export", f.path])
        #expect(r.exitCode == 2, "a damaged entry is unreadable: \(r.stderr)")
        #expect(r.stderr.contains("corrupt"))
        #expect(r.stdout.isEmpty)
        #expect(!r.stderr.contains("Fatal error"))
    }

    @Test func emptyExport() throws {
        let dir = try tempDir("empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        try expectExit2(dir.path, "an empty export")
        let zip = dir.appendingPathComponent("empty-export.zip")
        let readme = dir.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: readme, withIntermediateDirectories: true)
        try Data("# Welcome\n".utf8).write(to: readme.appendingPathComponent("README.md"))
        try zipFolder(readme, to: zip)
        try expectExit2(zip.path, "an empty export")
    }

    @Test func exportWithoutTheComponent() throws {
        let legacyDemo = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/examples/legacy-export-cron-jobs-demo/test.zip")
        let dir = try tempDir("nocomp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.appendingPathComponent("test.zip")
        if FileManager.default.fileExists(atPath: legacyDemo.path) {
            try FileManager.default.copyItem(at: legacyDemo, to: zip)
        } else {
            let src = dir.appendingPathComponent("src")
            try writeExport(["messages": ""], in: src)
            try zipFolder(src, to: zip)
        }
        try expectExit2(zip.path, "no _components/betterAuth in this export")
        try expectExit2(zip.path, "try `component: NAME` in auth-doctor.yaml".replacingOccurrences(of: "try", with: "Try"))
    }

    @Test func componentUnderAnotherName() throws {
        let dir = try tempDir("othername")
        defer { try? FileManager.default.removeItem(at: dir) }
        let line = #"{"_id":"u1","email":"ada@example.com","emailVerified":true,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"#
        try writeExport(["_components/auth/user": line + "\n", "_components/auth/account": "", "_components/auth/session": "", "users": ""], in: dir)
        try expectExit2(dir.path, "components in it: auth")
        let cfg = dir.appendingPathComponent("c.yaml")
        try Data("component: auth\n".utf8).write(to: cfg)
        let r = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--config", cfg.path, "--method", "password"])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("Verdict: problem at step 5, ba.account.credential"))
    }

    @Test func missingAppTable() throws {
        let dir = try tempDir("noapp")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeExport(["_components/betterAuth/user": "", "_components/betterAuth/account": "", "_components/betterAuth/session": "", "profiles": ""], in: dir)
        try expectExit2(dir.path, "no app table 'users' in this export (root tables: profiles)")
    }

    @Test func malformedLinesAreReportedNotFatal() throws {
        let dir = try tempDir("malformed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let user = #"{"_id":"u_ada","email":"ada@example.com","emailVerified":true,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"#
        try writeExport([
            "_components/betterAuth/user": "{\"_id\":\"broken\",\"email\":\"ada@example.com\"\n" + user + "\n",
            "_components/betterAuth/account": "", "_components/betterAuth/session": "",
            "users": #"{"_id":"a1","authId":"u_ada","email":"ada@example.com"}"# + "\n",
        ], in: dir)
        let r = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--method", "password"])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("1 malformed JSONL line(s) skipped (_components/betterAuth/user/documents.jsonl:1)"))
        let j = try JSONParser.parse(try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--format", "json"]).stdout)
        #expect(j["source"]["malformedLines"] == .int(1))
    }

    @Test func badClockValue() throws {
        let r = try runCLI(["diagnose", "ada@example.com", "--export", demoExport], env: ["AUTH_DOCTOR_NOW": "yesterday"])
        #expect(r.exitCode == 2 && r.stderr.contains("AUTH_DOCTOR_NOW"))
    }
}

@Suite(.serialized) struct Secrets {
    /// Known secrets seeded into an export; none may appear in any output format.
    static let hash = "0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d"
    static let seeded = [
        hash, "e8b256b6f9f4b1641136a66d4a26ba41",
        "$2b$10$SEEDEDbcryptHASHvalueXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "sess-token-SEEDED-0001",
        "gho_SEEDEDaccessTOKEN123456", "refresh-SEEDED-token-999", "idtoken.SEEDED.jwt", "SEEDED-private-jwk",
        "app-api-SEEDED-token",
    ]

    @Test func noSecretReachesAnyOutput() throws {
        let dir = try tempDir("secrets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = "1763900000000.0"
        try writeExport([
            "_components/betterAuth/user": [
                #"{"_id":"u_a","email":"a@example.com","emailVerified":true,"createdAt":\#(t),"updatedAt":\#(t)}"#,
                #"{"_id":"u_b","email":"b@example.com","emailVerified":true,"createdAt":\#(t),"updatedAt":\#(t)}"#,
            ].joined(separator: "\n") + "\n",
            "_components/betterAuth/account": [
                #"{"_id":"c_a","userId":"u_a","accountId":"u_a","providerId":"credential","password":"\#(Secrets.hash)","createdAt":\#(t),"updatedAt":\#(t)}"#,
                #"{"_id":"c_b","userId":"u_b","accountId":"u_b","providerId":"credential","password":"\#(Secrets.seeded[2])","createdAt":\#(t),"updatedAt":\#(t)}"#,
                #"{"_id":"g_b","userId":"u_b","accountId":"9","providerId":"github","accessToken":"\#(Secrets.seeded[4])","refreshToken":"\#(Secrets.seeded[5])","idToken":"\#(Secrets.seeded[6])","createdAt":\#(t),"updatedAt":\#(t)}"#,
            ].joined(separator: "\n") + "\n",
            "_components/betterAuth/session": #"{"_id":"s_a","userId":"u_a","token":"\#(Secrets.seeded[3])","createdAt":\#(t),"expiresAt":1.0,"updatedAt":\#(t)}"# + "\n",
            "_components/betterAuth/jwks": #"{"_id":"k1","privateKey":"\#(Secrets.seeded[7])","publicKey":"{}","createdAt":\#(t)}"# + "\n",
            "users": #"{"_id":"app_a","authId":"u_a","email":"a@example.com","apiToken":"\#(Secrets.seeded[8])"}"# + "\n",
        ], in: dir)
        var outputs: [String] = []
        for email in ["a@example.com", "b@example.com"] {
            for format in ["text", "json", "markdown", "github"] {
                for extra in [[], ["--fail-on", "warning"], ["--redact-pii"], ["--color", "always"]] {
                    let r = try runCLI(["diagnose", email, "--export", dir.path, "--format", format] + extra)
                    #expect([0, 1].contains(r.exitCode))
                    outputs.append(r.stdout + r.stderr)
                }
            }
        }
        // The hashes were seen: the report talks about them by shape.
        #expect(outputs.contains { $0.contains("scrypt salt:key, 161 chars") })
        #expect(outputs.contains { $0.contains("bcrypt hash ($2b$, cost 10, 62 chars)") })
        for out in outputs {
            for secret in Secrets.seeded {
                #expect(!out.contains(secret), "a seeded secret was printed: \(secret.prefix(12))…")
            }
        }
    }

    /// DESIGN §13.4: the jwks key (its plaintext JWK and its ciphertext), the secret that decrypts it, the twoFactor
    /// secret and backup codes, a Convex Auth password hash and an OTP code never reach any output, whether the key
    /// decrypts or not.
    @Test func theSideTablesLeakNothing() throws {
        let archive = try ExportArchive(path: demoExport)
        func rows(_ table: String) throws -> [Value] {
            let data = try archive.read(table + "/documents.jsonl", limit: 1 << 20)
            return try data.split(separator: 0x0A).map { (line: Data) throws -> Value in try JSONParser.parse(Data(line)) }
        }
        let jwk = try rows("_components/betterAuth/jwks")[0]["privateKey"].stringValue ?? ""
        let twoFactor = try rows("_components/betterAuth/twoFactor")[0]
        let authSecret = try rows("authAccounts")[0]["secret"].stringValue ?? ""
        let otp = try rows("_components/betterAuth/verification")[0]["value"].stringValue ?? ""
        func secretValue(_ file: String) throws -> String {
            let text = try String(contentsOfFile: repoRoot.appendingPathComponent("Examples/env/\(file)").path, encoding: .utf8)
            return String(text.split(separator: "\n").first { $0.hasPrefix("BETTER_AUTH_SECRET=") }!.dropFirst("BETTER_AUTH_SECRET=".count))
        }
        var forbidden: [String] = [String(jwk.dropFirst(1).prefix(48)), String(jwk.dropFirst(200).prefix(40))]
        forbidden.append("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        forbidden.append(try secretValue("convex-prod.env"))
        forbidden.append(try secretValue("convex-secret-changed.env"))
        forbidden.append(String((twoFactor["secret"].stringValue ?? "").prefix(40)))
        forbidden.append(String((twoFactor["backupCodes"].stringValue ?? "").prefix(40)))
        forbidden += [String(authSecret.prefix(32)), String(authSecret.suffix(40)), String(otp.prefix(6))]
        #expect(forbidden.allSatisfy { $0.count >= 6 })
        var outputs: [String] = []
        for env in ["convex-prod.env", "convex-secret-changed.env"] {
            let envPath = repoRoot.appendingPathComponent("Examples/env/\(env)").path
            for email in ["ada@example.com", "frank@example.com", "grace@example.com", "henry@example.com", "ivy@example.com"] {
                for format in ["text", "json", "markdown", "github"] {
                    let r = try runCLI(["diagnose", email, "--export", demoExport, "--convex-env", envPath, "--format", format, "-v"])
                    #expect([0, 1].contains(r.exitCode), "\(email) \(format): \(r.stderr)")
                    outputs.append(r.stdout + r.stderr)
                }
            }
            for format in ["text", "json", "markdown", "github"] {
                let r = try runCLI(["audit", "--export", demoExport, "--convex-env", envPath, "--format", format, "-v", "--examples", "50"])
                outputs.append(r.stdout + r.stderr)
            }
        }
        // The checks ran: one key decrypted, the other secret did not, 2FA and Convex Auth were read.
        #expect(outputs.contains { $0.contains("decrypts with BETTER_AUTH_SECRET") })
        #expect(outputs.contains { $0.contains("BETTER_AUTH_SECRET is not the secret that encrypted it") })
        #expect(outputs.contains { $0.contains("twoFactor row") })
        #expect(outputs.contains { $0.contains("(scrypt salt:key)") })
        for out in outputs {
            for secret in forbidden {
                #expect(!out.contains(secret), "a secret was printed: \(secret.prefix(8))…")
            }
        }
    }

    @Test func redactPIIMasksEmailsAndNames() throws {
        let r = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--redact-pii"])
        #expect(!r.stdout.lowercased().contains("carol@example.com"))
        #expect(!r.stdout.contains("Carol Danvers"))
        #expect(r.stdout.contains("c***@example.com"))
    }
}

/// The binary itself: every other test runs the command in this process (`runCLI`). Each of these runs the built
/// binary, checks its exit status, and checks that the in-process run prints the same bytes.
@Suite struct BinarySmoke {
    static let jwtExample = repoRoot.appendingPathComponent("Examples/jwt")

    /// Arguments, stdin, the binary's exit status.
    static let runs: [([String], String?, Int32)] = [
        (["--help"], nil, 0),
        (["diagnose", "--help"], nil, 0),
        (["--version"], nil, 0),
        (["diagnose", "admin@example.com", "--export", demoExport], nil, 1),
        (["diagnose", "ada@example.com", "--export", demoExport, "--format", "json", "-v"], nil, 0),
        (["audit", "--export", demoExport], nil, 1),
        (["check-env", "--convex-env", repoRoot.appendingPathComponent("Examples/env/convex-prod.env").path,
          "--hosting-env", repoRoot.appendingPathComponent("Examples/env/vercel-production.env").path, "--format", "github"], nil, 1),
        (["rules", "list"], nil, 0),
        (["diagnose", "ada@example.com"], nil, 64),
        (["diagnose", "ada@example.com", "--export", demoExport, "--format", "yaml"], nil, 64),
        (["diagnos", "ada@example.com"], nil, 64),
        (["diagnose", "ada@example.com", "--export", "/nonexistent/backup.zip", "--format", "json"], nil, 2),
        (["jwt", "--export", jwtExample.appendingPathComponent("export").path, "--convex-site", "https://happy-animal-123.convex.site"],
         try? String(contentsOf: jwtExample.appendingPathComponent("token.txt"), encoding: .utf8), 0),
        (["diagnose", "ada@example.com", "--export", demoExport, "--check-password"], "wrong password\n", 1),
    ]

    @Test(arguments: 0..<runs.count) func theBinaryPrintsWhatAnInProcessRunPrints(_ i: Int) throws {
        let (args, stdin, status) = Self.runs[i]
        let binary = try spawnCLI(args, stdin: stdin)
        #expect(binary.exitCode == status, "\(args): \(binary.stderr)")
        #expect(!(binary.stdout + binary.stderr).isEmpty)
        let inProcess = try runCLI(args, stdin: stdin)
        #expect(inProcess.exitCode == binary.exitCode, "\(args)")
        #expect(inProcess.stdout == binary.stdout, "\(args)")
        #expect(inProcess.stderr == binary.stderr, "\(args)")
    }

    /// In-process runs side by side keep their own environment, input and secrets.
    @Test func inProcessRunsSideBySideShareNothing() throws {
        let args = ["diagnose", "carol@example.com", "--export", demoExport]
        let expected = try ["80", "120"].map { try runCLI(args, env: ["COLUMNS": $0]).stdout }
        #expect(expected[0] != expected[1])
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            results.set(i, try? runCLI(args, env: ["COLUMNS": i % 2 == 0 ? "80" : "120"]).stdout)
        }
        for i in 0..<8 { #expect(results.get(i) == expected[i % 2], "run \(i)") }
    }

    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int: String] = [:]
        func set(_ i: Int, _ s: String?) { lock.lock(); values[i] = s; lock.unlock() }
        func get(_ i: Int) -> String? { lock.lock(); defer { lock.unlock() }; return values[i] }
    }
}
