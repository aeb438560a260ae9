import AuthDoctorCore
import Foundation
import Testing

private let key = "prod:happy-animal-123|eyJ2SEEDEDsecretKEYvalue0123456789"
private let envFile = repoRoot.appendingPathComponent("Examples/env/convex-prod.env").path
private let emails = ["admin@example.com", "ada@example.com", "bob@example.com", "carol@example.com", "dave@example.com",
                      "erin@example.com", "nobody@example.com", "Carol@Example.com ", "frank@example.com", "grace@example.com",
                      "henry@example.com", "ivy@example.com"]

private func fake(export: String = demoExport, _ configure: (FakeDeployment) -> Void = { _ in }) throws -> FakeDeployment {
    try FakeDeployment.demo(export: export, key: key, configure)
}

private func live(_ args: [String]) throws -> RunResult {
    try runCLI(args, env: ["AUTH_DOCTOR_RETRY_BASE_MS": "5", "CONVEX_DEPLOY_KEY": key, "AUTH_DOCTOR_HTTP_TIMEOUT_S": "5"])
}

private func config(_ text: String) throws -> String {
    let file = try tempDir("cfg").appendingPathComponent("auth-doctor.yaml")
    try Data(text.utf8).write(to: file)
    return file.path
}

/// The verdict and every rule's status of one diagnose, over the deployment and over the export.
private func expectSameVerdicts(_ f: FakeDeployment, export: String = demoExport, extra: [String] = [], _ context: String) throws {
    for email in emails {
        let a = try live(["diagnose", email, "--url", f.url, "--format", "json"] + extra)
        let b = try runCLI(["diagnose", email, "--export", export, "--convex-env", envFile, "--prod", "--format", "json"] + extra)
        #expect(a.exitCode == b.exitCode, "\(context) \(email): \(a.stderr)")
        guard a.exitCode != 2 else { continue }
        let va = try JSONParser.parse(a.stdout), vb = try JSONParser.parse(b.stdout)
        #expect(va["verdict"]["rule"] == vb["verdict"]["rule"], "\(context) \(email)")
        let sa = va["results"].listValue?.map { "\($0["rule"].stringValue!)=\($0["status"].stringValue!)" }
        let sb = vb["results"].listValue?.map { "\($0["rule"].stringValue!)=\($0["status"].stringValue!)" }
        #expect(sa == sb, "\(context) \(email)")
    }
}

/// Live mode against a fake that behaves like the real backend (DESIGN §13.7).
@Suite(.serialized) struct LiveFidelity {
    /// Issue 14 item 8: a Local Install that renamed `user` → `profiles` and `email` → `email_address`. Without
    /// `tables:` the error names what was looked for and the line to add; with `tables:`/`fields:` both sources
    /// read it as Better Auth's names, and audit counts it the same way.
    @Test func aLocalInstallWithRenamedTablesAndFields() throws {
        let dir = try tempDir("renamed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = "1763900000000.0"
        try writeExport([
            "_components/betterAuth/profiles": #"{"_creationTime":1763900000000.5,"_id":"u_ada","email_address":"ada@example.com","emailVerified":true,"name":"Ada","createdAt":\#(t),"updatedAt":\#(t)}"# + "\n",
            "_components/betterAuth/account": #"{"_creationTime":1763900000001.5,"_id":"a_ada","userId":"u_ada","accountId":"u_ada","providerId":"credential","password":"0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d","createdAt":\#(t),"updatedAt":\#(t)}"# + "\n",
            "_components/betterAuth/session": "",
            "users": #"{"_creationTime":1763900000002.5,"_id":"app_ada","authId":"u_ada","email":"ada@example.com"}"# + "\n",
        ], in: dir)
        let missing = try runCLI(["diagnose", "ada@example.com", "--export", dir.path])
        #expect(missing.exitCode == 2)
        for part in ["has no user table", "looked for _components/betterAuth/user/documents.jsonl", "tables in it: account, profiles, session",
                     "`tables: {user: <table>}`"] {
            #expect(missing.stderr.contains(part), "\(part): \(missing.stderr)")
        }
        let cfg = try config("tables: {user: profiles}\nfields: {user: {email: email_address}}\n")
        let b = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--config", cfg, "--format", "json"])
        let exported = try JSONParser.parse(b.stdout)
        #expect(exported["results"].listValue?.first { $0["rule"] == .string("ba.user.exists") }?["status"] == .string("pass"), "\(b.stdout)\(b.stderr)")
        #expect(exported["verdict"]["status"] == .string("healthy"), "\(exported["verdict"])")
        let audit = try JSONParser.parse(try runCLI(["audit", "--export", dir.path, "--config", cfg, "--format", "json"]).stdout)
        #expect(audit["population"]["baUsers"] == .int(1))
        #expect(audit["findings"].listValue?.allSatisfy { $0["count"] == .int(0) } == true, "\(audit["findings"])")

        let f = try fake(export: dir.path)
        defer { f.stop() }
        let liveMissing = try live(["diagnose", "ada@example.com", "--url", f.url])
        #expect(liveMissing.exitCode == 2 && liveMissing.stderr.contains("has no user table") && liveMissing.stderr.contains("tables: {user: <table>}"), "\(liveMissing.stderr)")
        let a = try live(["diagnose", "ada@example.com", "--url", f.url, "--config", cfg, "--format", "json"])
        // The deployment also has its env, so more checks run; the verdict and the user lookup are the same.
        let overLive = try JSONParser.parse(a.stdout)
        #expect(overLive["verdict"]["status"] == exported["verdict"]["status"], "\(a.stdout)\(a.stderr)")
        #expect(overLive["results"].listValue?.first { $0["rule"] == .string("ba.user.exists") }?["evidence"]["userId"] == .string("u_ada"))
        // A model name that is not Better Auth's is a config error with a suggestion.
        let typo = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--config", try config("tables: {usr: profiles}\n")])
        #expect(typo.exitCode == 2 && typo.stderr.contains("unknown Better Auth model 'usr'") && typo.stderr.contains("user"), "\(typo.stderr)")
    }

    @Test func aMissingTableIsExitTwoAsInAnExport() throws {
        let f = try fake()
        defer { f.stop() }
        let cfg = try config("appTable: members\n")
        for command in [["diagnose", "ada@example.com"], ["audit"]] {
            let a = try live(command + ["--url", f.url, "--config", cfg])
            #expect(a.exitCode == 2 && a.stderr.contains("no app table 'members'") && a.stderr.contains("appTable"), "\(a.stderr)")
            let b = try runCLI(command + ["--export", demoExport, "--config", cfg])
            #expect(b.exitCode == 2 && b.stderr.contains("no app table 'members'"), "\(b.stderr)")
        }
        // A component without Better Auth's tables, and one that is unmounted.
        let other = try fake { f in f.tables["betterAuth/user"] = nil }
        defer { other.stop() }
        let o = try live(["diagnose", "ada@example.com", "--url", other.url])
        #expect(o.exitCode == 2 && o.stderr.contains("component has no user table"), "\(o.stderr)")
        let gone = try fake { $0.unmounted = ["betterAuth"] }
        defer { gone.stop() }
        let g = try live(["diagnose", "ada@example.com", "--url", gone.url])
        #expect(g.exitCode == 2 && g.stderr.contains("unmounted"), "\(g.stderr)")
        let wrong = try fake { $0.unmounted = ["oldAuth"] }
        defer { wrong.stop() }
        let w = try live(["diagnose", "ada@example.com", "--url", wrong.url, "--config", try config("component: auth\n")])
        #expect(w.exitCode == 2 && w.stderr.contains("components: betterAuth, oldAuth (unmounted)"), "\(w.stderr)")
    }

    @Test func redactedErrorsAndBetterAuthBefore08FallBackToTheSystemQuery() throws {
        for (name, configure) in [("redacted", { (f: FakeDeployment) in f.redactErrors = true }),
                                  ("lib:findMany", { (f: FakeDeployment) in f.legacyBetterAuth = true }),
                                  ("both", { (f: FakeDeployment) in f.redactErrors = true; f.legacyBetterAuth = true })] {
            let f = try fake(configure)
            defer { f.stop() }
            try expectSameVerdicts(f, name)
            // Without an adapter: one failed call per run, then the system query.
            let functionCalls = f.log.filter { $0.path == "/api/function" }.count
            #expect(name == "redacted" || functionCalls <= emails.count, "\(name): \(functionCalls) calls to /api/function")
        }
        // Duplicates of one address: `.unique()` throws; the system query finds both.
        let dup = try fake { f in
            var copy = f.tables["betterAuth/user"]!.first { $0["email"] == .string("ada@example.com") }!
            copy["_id"] = .string("jh7duplicateadaxxxxxxxxxxxxxxxxx")
            f.tables["betterAuth/user"]!.append(copy)
            f.redactErrors = true
        }
        defer { dup.stop() }
        let d = try live(["diagnose", "ada@example.com", "--url", dup.url, "--format", "json"])
        let users = try JSONParser.parse(d.stdout)["results"].listValue?.first { $0["rule"] == .string("ba.user.exists") }
        #expect(users?["message"].stringValue?.contains("2 matches") == true, "\(d.stdout)\(d.stderr)")
    }

    @Test func theEmailIsLookedUpAsTyped() throws {
        // A big user table (no scan without --deep) holding the address exactly as the user types it.
        let f = try fake { f in
            var copy = f.tables["betterAuth/user"]!.first { $0["email"] == .string("ada@example.com") }!
            copy["_id"] = .string("jh7johndoexxxxxxxxxxxxxxxxxxxxxx")
            copy["email"] = .string("John.Doe@Example.COM")
            f.tables["betterAuth/user"]!.append(copy)
            f.virtualRows["betterAuth/user"] = 30_000
        }
        defer { f.stop() }
        let r = try live(["diagnose", "John.Doe@Example.COM", "--url", f.url, "--format", "json"])
        let exists = try JSONParser.parse(r.stdout)["results"].listValue?.first { $0["rule"] == .string("ba.user.exists") }
        #expect(exists?["status"] == .string("pass"), "\(r.stdout)\(r.stderr)")
        #expect(f.documentsRead < 1_000, "no scan of the 30,000 rows: \(f.documentsRead)")
    }

    @Test func aMillionAppRowsCostAtMost200DocumentsIn30Requests() throws {
        let f = try fake { $0.virtualRows["users"] = 1_000_000 }
        defer { f.stop() }
        for email in ["admin@example.com", "ada@example.com", "carol@example.com"] {
            let (before, requests) = (f.documentsRead, f.log.count)
            let a = try live(["diagnose", email, "--url", f.url, "--format", "json"])
            let read = f.documentsRead - before, used = f.log.count - requests
            #expect(read <= 200, "\(email): \(read) documents read on the server")
            // 25 for the user, account, session and app lookups, and 5 for the side tables (DESIGN §13.4).
            #expect(used <= 30, "\(email): \(used) requests")
            let b = try runCLI(["diagnose", email, "--export", demoExport, "--convex-env", envFile, "--prod", "--format", "json"])
            #expect(try JSONParser.parse(a.stdout)["verdict"]["rule"] == JSONParser.parse(b.stdout)["verdict"]["rule"], "\(email): \(a.stderr)")
        }
        #expect(f.log.allSatisfy { $0.method == "GET" && $0.path == "/version" || $0.path == "/api/query" || $0.path == "/api/function" }, "read-only routes only")
        // Without the indexes the lookups scan on the server, and the report says so.
        let plain = try fake { $0.schemas[""] = ["users": [:]] }
        defer { plain.stop() }
        let p = try live(["diagnose", "ada@example.com", "--url", plain.url, "--format", "json"])
        let notes = try JSONParser.parse(p.stdout)["notes"].listValue?.compactMap(\.stringValue) ?? []
        #expect(notes.contains { $0.contains("users.email has no index") && $0.contains("scanned") }, "\(notes)")
    }

    @Test func endlessPaginationIsExitTwo() throws {
        for (mode, message) in [(1, "the same page cursor twice"), (2, "more than the table's size explains")] {
            let f = try fake { $0.endlessPages = mode }
            defer { f.stop() }
            let start = Date()
            let d = try live(["diagnose", "nobody@example.com", "--url", f.url])
            #expect(d.exitCode == 2 && d.stderr.contains(message), "\(mode): \(d.stderr)")
            let a = try live(["audit", "--url", f.url])
            #expect(a.exitCode == 2 && a.stderr.contains("pagination does not end"), "\(mode): \(a.stderr)")
            #expect(Date().timeIntervalSince(start) < 10)
            #expect(f.log.count < 100, "\(f.log.count) requests")
        }
    }

    @Test func aNestedComponentIsAddressedByItsPath() throws {
        // The demo export with Better Auth mounted inside another component: `_components/parent/_components/betterAuth/`.
        let dir = try tempDir("nested")
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
        unzip.arguments = ["-q", demoExport, "-d", dir.path]
        try unzip.run()
        unzip.waitUntilExit()
        let parent = dir.appendingPathComponent("_components/parent/_components")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: dir.appendingPathComponent("_components/betterAuth"), to: parent.appendingPathComponent("betterAuth"))
        let f = try fake(export: dir.path)
        defer { f.stop() }
        let cfg = try config("component: parent/betterAuth\n")
        try expectSameVerdicts(f, export: dir.path, extra: ["--config", cfg], "nested")
        let ok = try live(["diagnose", "ada@example.com", "--url", f.url, "--config", cfg])
        #expect(ok.exitCode != 2, "\(ok.stderr)")
        #expect(f.log.filter { $0.path == "/api/function" }.allSatisfy { $0.componentPath == "parent/betterAuth" })
        let exported = try runCLI(["audit", "--export", dir.path, "--config", cfg, "--format", "json"])
        let read = try live(["audit", "--url", f.url, "--config", cfg, "--format", "json"])
        #expect(exported.exitCode != 2 && read.exitCode == exported.exitCode, "\(exported.stderr)\(read.stderr)")
        #expect(try JSONParser.parse(read.stdout)["population"] == JSONParser.parse(exported.stdout)["population"])
        // `/` only separates nested component names; table names take none.
        for bad in ["component: ../betterAuth\n", "component: /betterAuth\n", "component: a//b\n", "appTable: a/b\n", "appTable: ..\n"] {
            let r = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--config", try config(bad)])
            #expect(r.exitCode == 2 && r.stderr.contains("auth-doctor.yaml"), "\(bad): \(r.stderr)")
        }
    }
}

@Suite(.serialized) struct LiveSuggestions {
    /// DESIGN §13.9: over --url, "did you mean" uses the user table read anyway (small tables are read whole).
    @Test func didYouMeanOverTheDeploymentMatchesTheExport() throws {
        let f = try fake()
        defer { f.stop() }
        let live = try live(["diagnose", "adda@example.com", "--url", f.url])
        let export = try runCLI(["diagnose", "adda@example.com", "--export", demoExport])
        #expect(live.stdout.contains("Did you mean ada@example.com?"))
        #expect(export.stdout.contains("Did you mean ada@example.com?"))
        #expect(f.log.allSatisfy { $0.path != "/api/mutation" && $0.path != "/api/action" })
    }
}
