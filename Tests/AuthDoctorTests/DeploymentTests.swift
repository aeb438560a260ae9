import AuthDoctorCore
import Foundation
import Testing

private let key = "prod:happy-animal-123|eyJ2SEEDEDsecretKEYvalue0123456789"
private let envFile = repoRoot.appendingPathComponent("Examples/env/convex-prod.env").path

private func fake(_ configure: (FakeDeployment) -> Void = { _ in }) throws -> FakeDeployment {
    try FakeDeployment.demo(key: key, configure)
}

private func live(_ f: FakeDeployment, _ args: [String], key k: String? = key, env extra: [String: String] = [:]) throws -> RunResult {
    var env = ["AUTH_DOCTOR_RETRY_BASE_MS": "5"]
    if let k { env["CONVEX_DEPLOY_KEY"] = k }
    for (a, b) in extra { env[a] = b }
    return try runCLI(args, env: env)
}

private let writes = ["/api/mutation", "/api/action", "/api/import", "/api/export", "/api/update_environment_variables", "/api/run"]

@Suite(.serialized) struct LiveDeployment {
    @Test func everyVerdictMatchesTheExportPath() throws {
        let f = try fake()
        defer { f.stop() }
        for email in ["admin@example.com", "ada@example.com", "bob@example.com", "carol@example.com", "dave@example.com",
                      "erin@example.com", "nobody@example.com", "Carol@Example.com "] {
            let a = try live(f, ["diagnose", email, "--url", f.url, "--format", "json"])
            let b = try runCLI(["diagnose", email, "--export", demoExport, "--convex-env", envFile, "--prod", "--format", "json"])
            #expect(a.exitCode == b.exitCode, "\(email): \(a.stderr)")
            let va = try JSONParser.parse(a.stdout), vb = try JSONParser.parse(b.stdout)
            #expect(va["verdict"]["rule"] == vb["verdict"]["rule"], "\(email)")
            let sa = va["results"].listValue?.map { $0["rule"].stringValue! + "=" + $0["status"].stringValue! }
            let sb = vb["results"].listValue?.map { $0["rule"].stringValue! + "=" + $0["status"].stringValue! }
            #expect(sa == sb, "\(email)")
            #expect(va["source"]["kind"] == .string("deployment"))
            #expect(va["source"]["isProd"] == .bool(true), "a prod: key makes the fixes use --prod")
            #expect(!a.stdout.contains("eyJ2SEEDED") && !a.stderr.contains("eyJ2SEEDED"), "the key is never printed")
        }
        let methods = Set(f.log.map { $0.method + " " + $0.path })
        for w in writes { #expect(!methods.contains { $0.contains(w) }, "a write was sent: \(w)") }
        for r in f.log where r.path == "/api/function" {
            #expect(["adapter:findMany", "adapter:findOne"].contains(r.udf ?? ""), "only component queries: \(r.udf ?? "")")
        }
        let text = try live(f, ["diagnose", "admin@example.com", "--url", f.url])
        #expect(text.stdout.contains("npx convex run --prod users:syncFromAuth"))
        // No spelling matched and the user table is small: it was read, as an export is.
        let nobody = try live(f, ["diagnose", "nobody@example.com", "--url", f.url])
        let users = f.tables["betterAuth/user"]?.count ?? 0
        #expect(nobody.stdout.contains("searched \(users) users in betterAuth/user"), "\(nobody.stdout)")
    }

    @Test func checkEnvReadsTheConvexSideFromTheDeployment() throws {
        let f = try fake()
        defer { f.stop() }
        let hosting = repoRoot.appendingPathComponent("Examples/env/vercel-production.env").path
        let r = try live(f, ["check-env", "--url", f.url, "--hosting-env", hosting, "--format", "json"])
        #expect(r.exitCode == 1, "\(r.stderr)")
        let v = try JSONParser.parse(r.stdout)
        #expect(v["verdict"]["rule"] == .string("env.internal-api-secret"))
        #expect(v["source"]["kind"] == .string("deployment"))
        #expect(!r.stdout.contains("rotated-in-convex") && !r.stdout.contains("eyJ2SEEDED"))
        #expect(f.log.allSatisfy { $0.udf == nil || $0.udf == "_system/cli/queryEnvironmentVariables" })
    }

    @Test func auditOverTheDeploymentCountsWhatTheExportCounts() throws {
        let f = try fake()
        defer { f.stop() }
        let a = try live(f, ["audit", "--url", f.url, "--format", "json"])
        let b = try runCLI(["audit", "--export", demoExport, "--format", "json"])
        #expect(a.exitCode == b.exitCode, "\(a.stderr)")
        func counts(_ r: RunResult) throws -> [String] {
            try JSONParser.parse(r.stdout)["findings"].listValue?.map { "\($0["rule"].stringValue!)=\(Render.plain($0["count"]))" } ?? []
        }
        #expect(try counts(a) == counts(b))
        #expect(try JSONParser.parse(a.stdout)["population"] == JSONParser.parse(b.stdout)["population"])
        // System queries only; the env (for the jwks keys) through the CLI's read-only query.
        #expect(f.log.allSatisfy { $0.udf == nil || $0.udf!.hasPrefix("_system/frontend/") || $0.udf == "_system/cli/queryEnvironmentVariables" })
    }

    @Test func deepScansForVariantsTheProbesMiss() throws {
        // A stored " bob@example.com" (leading space) is no probe's exact match: only --deep finds it.
        let f = try fake { f in
            f.tables["betterAuth/user"] = f.tables["betterAuth/user"]?.map { row in
                var r = row
                if r["email"] == .string("bob@example.com") { r["email"] = .string(" bob@example.com") }
                return r
            }
        }
        defer { f.stop() }
        // A small user table is read without asking when no spelling matches.
        let quick = try live(f, ["diagnose", "bob@example.com", "--url", f.url, "--format", "json"])
        #expect(try JSONParser.parse(quick.stdout)["verdict"]["rule"] == .string("ba.user.email-normalized"), "\(quick.stderr)")
        // Past 20,000 rows it is not: the report says what --deep would read.
        f.virtualRows["betterAuth/user"] = 30_000
        let big = try live(f, ["diagnose", "bob@example.com", "--url", f.url, "--format", "json"])
        let bigReport = try JSONParser.parse(big.stdout)
        #expect(bigReport["verdict"]["rule"] == .string("ba.user.exists"), "\(big.stderr)")
        let total = 30_000 + (f.tables["betterAuth/user"]?.count ?? 0)
        #expect(bigReport["notes"].listValue?.contains { $0.stringValue?.contains("betterAuth/user has \(total) rows") == true && $0.stringValue?.contains("--deep") == true } == true,
                "\(bigReport["notes"])")
        let deep = try live(f, ["diagnose", "bob@example.com", "--url", f.url, "--deep", "--format", "json"])
        #expect(try JSONParser.parse(deep.stdout)["verdict"]["rule"] == .string("ba.user.email-normalized"), "\(deep.stderr)")
        #expect(deep.stderr.isEmpty, "no progress line when stderr is not a terminal")
    }

    @Test func theEnvFallsBackToTheV1Route() throws {
        let f = try fake { $0.envOnlyOverV1 = true }
        defer { f.stop() }
        let r = try live(f, ["check-env", "--url", f.url, "--format", "json"])
        let v = try JSONParser.parse(r.stdout)
        let secret = v["results"].listValue?.first { $0["rule"] == .string("env.better-auth-secret") }
        #expect(secret?["status"] == .string("pass"), "\(r.stderr)")
        #expect(f.log.contains { $0.path == "/api/v1/list_environment_variables" })
    }

    @Test func oneEmailCostsABoundedNumberOfRequests() throws {
        let f = try fake()
        defer { f.stop() }
        let before = f.log.count
        _ = try live(f, ["diagnose", "admin@example.com", "--url", f.url])
        let used = f.log.count - before
        // /version, components:list, two table mappings, two schemas, the env, 4 email probes, the app rows (a sample
        // page, 4 email variants, the link), accounts and sessions, then the side tables (DESIGN §13.4): twoFactor by
        // userId, one jwks page, verification and authAccounts (their size, then one page each: they are small), the
        // Convex Auth sessions. A constant, whatever the table sizes.
        #expect(used <= 30, "\(used) requests: \(f.log.suffix(used).map { "\($0.path) \($0.udf ?? "")" })")
        let filteredLookups = f.log.suffix(used).filter { $0.udf == "_system/frontend/paginatedTableDocuments" }.count
        #expect(filteredLookups == 9, "a sample page, four email variants, one authId lookup; a page of jwks, verification and authAccounts")
    }

    @Test func aBackendWithoutFiltersIsScanned() throws {
        let f = try fake { $0.supportsFilters = false }
        defer { f.stop() }
        for email in ["admin@example.com", "carol@example.com"] {
            let a = try live(f, ["diagnose", email, "--url", f.url, "--format", "json"])
            let b = try runCLI(["diagnose", email, "--export", demoExport, "--convex-env", envFile, "--prod", "--format", "json"])
            #expect(try JSONParser.parse(a.stdout)["verdict"]["rule"] == JSONParser.parse(b.stdout)["verdict"]["rule"], "\(a.stderr)")
        }
    }

    @Test func retriesRecoverFromTwentyPercent503() throws {
        let f = try fake { $0.faultRate = 0.2; $0.faultStatus = 503 }
        defer { f.stop() }
        for email in ["admin@example.com", "ada@example.com", "carol@example.com"] {
            let r = try live(f, ["diagnose", email, "--url", f.url, "--format", "json"])
            let e = try runCLI(["diagnose", email, "--export", demoExport, "--convex-env", envFile, "--format", "json"])
            #expect(r.exitCode == e.exitCode, "\(email): \(r.stderr)")
            #expect(try JSONParser.parse(r.stdout)["verdict"]["rule"] == JSONParser.parse(e.stdout)["verdict"]["rule"])
        }
        let limited = try fake { $0.faultRate = 0.3; $0.faultStatus = 429 }
        defer { limited.stop() }
        let l = try live(limited, ["diagnose", "admin@example.com", "--url", limited.url])
        #expect(l.exitCode == 1, "429s are retried: \(l.stderr)")
        let dropped = try fake { $0.faultRate = 0.2; $0.faultStatus = 0 }
        defer { dropped.stop() }
        let r = try live(dropped, ["diagnose", "admin@example.com", "--url", dropped.url])
        #expect(r.exitCode == 1, "dropped connections are retried too: \(r.stderr)")
    }

    @Test func networkFailuresAreExitTwoWithTheCause() throws {
        let f = try fake()
        defer { f.stop() }
        let cases: [([String], String?, [String: String], String)] = [
            (["--url", f.url], "prod:happy-animal-123|wrong", [:], "the key was rejected (401 BadAdminKey)"),
            (["--url", f.url], nil, [:], "no deploy or admin key"),
            (["--url", "http://127.0.0.1:9"], key, [:], "connection refused"),
            (["--url", "http://nonexistent-deployment.invalid"], key, [:], "cannot resolve nonexistent-deployment.invalid"),
            (["--url", "not a url"], key, [:], "not a deployment URL"),
            (["--url", f.url.replacingOccurrences(of: "http://", with: "https://")], key, ["AUTH_DOCTOR_HTTP_TIMEOUT_S": "5"], "TLS error"),
            (["--url", f.url], "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", [:], "looks like a user's JWT"),
        ]
        for (args, k, env, message) in cases {
            let r = try live(f, ["diagnose", "ada@example.com"] + args, key: k, env: env)
            #expect(r.exitCode == 2, "\(message): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(message): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
        let deployKey = try fake { $0.reject = (403, "BadDeployKey") }
        defer { deployKey.stop() }
        let dk = try live(deployKey, ["diagnose", "ada@example.com", "--url", deployKey.url])
        #expect(dk.exitCode == 2 && dk.stderr.contains("403 BadDeployKey"), "\(dk.stderr)")
        let notConvex = try fake { $0.versionStatus = 404 }
        defer { notConvex.stop() }
        let n = try live(notConvex, ["diagnose", "ada@example.com", "--url", notConvex.url])
        #expect(n.exitCode == 2 && n.stderr.contains("does not look like a Convex deployment URL"))
        let noComponent = try fake { $0.componentName = "auth" }
        defer { noComponent.stop() }
        let c = try live(noComponent, ["diagnose", "ada@example.com", "--url", noComponent.url])
        #expect(c.exitCode == 2 && c.stderr.contains("no component 'betterAuth' on this deployment (components: auth)"))
        for status in [500, 503] {
            let down = try fake { $0.faultRate = 1.0; $0.faultStatus = status }
            defer { down.stop() }
            let d = try live(down, ["diagnose", "ada@example.com", "--url", down.url])
            #expect(d.exitCode == 2 && d.stderr.contains("HTTP \(status)"), "\(status): \(d.stderr)")
            if status == 503 { #expect(down.log.count == 4, "at most 4 attempts per request") }
        }
        let slow = try fake { $0.delay = 1.5 }
        defer { slow.stop() }
        let t = try live(slow, ["diagnose", "ada@example.com", "--url", slow.url], env: ["AUTH_DOCTOR_HTTP_TIMEOUT_S": "0.3"])
        #expect(t.exitCode == 2 && t.stderr.contains("timed out 2 time(s)"), "\(t.stderr)")
        let keyFile = try tempDir("key").appendingPathComponent("key")
        try Data((key + "\n").utf8).write(to: keyFile)
        let fromFile = try live(f, ["diagnose", "ada@example.com", "--url", f.url, "--admin-key-file", keyFile.path], key: nil)
        #expect(fromFile.exitCode == 0, "\(fromFile.stderr)")
        let both = try live(f, ["diagnose", "ada@example.com", "--url", f.url, "--export", demoExport])
        #expect(both.exitCode == 64)
        let fromEnv = try live(f, ["diagnose", "ada@example.com"], env: ["CONVEX_URL": f.url])
        #expect(fromEnv.exitCode == 0, "the URL defaults to $CONVEX_URL: \(fromEnv.stderr)")
    }
}
