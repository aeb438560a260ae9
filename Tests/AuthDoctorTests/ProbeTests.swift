import AuthDoctorCore
import Foundation
import Testing

/// Runs `probe` against a lab (the app and the Convex site on 127.0.0.1).
private func probe(_ lab: ProbeLab, _ extra: [String] = [], env: [String: String] = [:]) throws -> RunResult {
    try runCLI(["probe", "--site", lab.app.url, "--convex-site", lab.convex.url] + extra,
               env: ["AUTH_DOCTOR_HTTP_TIMEOUT_S": "5", "AUTH_DOCTOR_RETRY_BASE_MS": "5"].merging(env) { $1 })
}

/// DESIGN §13.5: only GET and OPTIONS of /api/auth/ok, no cookies, no credentials, nothing with side effects.
private func expectOnlySafeRequests(_ lab: ProbeLab, _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!lab.requests.isEmpty, sourceLocation: sourceLocation)
    for r in lab.requests {
        #expect(["GET", "OPTIONS"].contains(r.method), "\(context): \(r.method) \(r.path)", sourceLocation: sourceLocation)
        #expect(r.path == "/api/auth/ok", "\(context): \(r.method) \(r.path)", sourceLocation: sourceLocation)
        #expect(r.headers["cookie"] == nil && r.headers["authorization"] == nil, "\(context): \(r.headers)", sourceLocation: sourceLocation)
    }
}

@Suite(.serialized) struct Probe {
    /// get-convex/better-auth #422/#424: the app's proxy forwards x-forwarded-host and Convex's edge answers an empty
    /// 404, while the Convex site answers a direct request.
    @Test func theForwardedHostProblemIsNamedWithTheHeaderToDrop() throws {
        let lab = try ProbeLab(app: .proxy(forwardedHost: true))
        defer { lab.stop() }
        let r = try probe(lab)
        #expect(r.exitCode == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("Verdict: problem at step 51, probe.site"))
        #expect(r.stdout.contains("convex-usher: usher"))
        #expect(r.stdout.contains("confirmed: the Convex site answers a direct request the same empty 404"))
        #expect(r.stdout.contains("x-forwarded-host: \(lab.app.host)"))
        #expect(r.stdout.contains("must not forward x-forwarded-host"))
        #expect(r.stderr.isEmpty)
        expectOnlySafeRequests(lab, "forwarded host")
        // The app got one request; the Convex site the proxied one, the direct one, the one with the header, and the
        // preflight.
        #expect(lab.app.log.map { "\($0.method) \($0.path)" } == ["GET /api/auth/ok"])
        #expect(lab.convex.log.map(\.method).sorted() == ["GET", "GET", "GET", "OPTIONS"])
        #expect(lab.convex.log.filter { $0.headers["x-forwarded-host"] == lab.app.host }.count == 2)
    }

    @Test func aHealthyProxyPasses() throws {
        let lab = try ProbeLab(app: .proxy(forwardedHost: false))
        defer { lab.stop() }
        let r = try probe(lab, ["-v"])
        #expect(r.exitCode == 0, "\(r.stdout)")
        #expect(r.stdout.contains("Verdict: healthy"))
        #expect(r.stdout.contains("[✓] 50") && r.stdout.contains("[✓] 51"))
        // The edge still routes on the header: a warning that a proxy which sends it would break.
        #expect(r.stdout.contains("[!] 52"))
        #expect(r.stdout.contains("the site proxies /api/auth: the browser calls its own origin, so CORS does not apply"))
        expectOnlySafeRequests(lab, "healthy")
    }

    @Test func routesNotRegisteredOrNoHTTPActionsOrAnInitError() throws {
        for (routes, words) in [(ProbeLab.Routes.missing, "registerRoutes(http, createAuth) is missing"),
                                (.noHTTPActions, "has no convex/http.ts at all"),
                                (.initError, "Better Auth fails when it starts")] {
            let lab = try ProbeLab(routes: routes, edgeRoutesOnForwardedHost: false, app: .proxy(forwardedHost: false))
            defer { lab.stop() }
            let r = try probe(lab)
            #expect(r.exitCode == 1)
            #expect(r.stdout.contains("Verdict: problem at step 50, probe.direct"), "\(r.stdout)")
            #expect(r.stdout.contains(words), "\(r.stdout)")
            expectOnlySafeRequests(lab, "\(routes)")
        }
    }

    @Test func corsForAnAppThatCallsTheConvexSiteDirectly() throws {
        let allowed = try ProbeLab(cors: ["app"], app: .spa)
        defer { allowed.stop() }
        let pass = try probe(allowed, ["-v"])
        #expect(pass.exitCode == 0, "\(pass.stdout)")
        #expect(pass.stdout.contains("[✓] 53"))
        #expect(pass.stdout.contains("the browser calls the Convex site directly, and its CORS allows \(allowed.app.url)"))
        let noCors = try ProbeLab(cors: nil, app: .spa)
        defer { noCors.stop() }
        let n = try probe(noCors)
        #expect(n.exitCode == 1)
        #expect(n.stdout.contains("without { cors: true }"), "\(n.stdout)")
        let other = try ProbeLab(cors: ["https://app.example.com"], app: .spa)
        defer { other.stop() }
        let o = try probe(other)
        #expect(o.exitCode == 1)
        #expect(o.stdout.contains("no Access-Control-Allow-Origin for \(other.app.url)"), "\(o.stdout)")
        for lab in [allowed, noCors, other] { expectOnlySafeRequests(lab, "cors") }
    }

    @Test func aSiteThatIsNotTheAppOrStandsBehindARedirect() throws {
        let missing = try ProbeLab(edgeRoutesOnForwardedHost: false, app: .missingRoute)
        defer { missing.stop() }
        let r = try probe(missing)
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("the route handler (app/api/auth/[...all]/route.ts) is missing or not deployed"), "\(r.stdout)")
        let redirect = try ProbeLab(edgeRoutesOnForwardedHost: false, app: .redirect)
        defer { redirect.stop() }
        let d = try probe(redirect)
        #expect(d.exitCode == 1)
        #expect(d.stdout.contains("HTTP 307, to \(redirect.app.url)/login?next=%2Fapi%2Fauth%2Fok"), "\(d.stdout)")
        // Never followed.
        #expect(redirect.app.log.map(\.path) == ["/api/auth/ok"])
        expectOnlySafeRequests(missing, "missing")
        expectOnlySafeRequests(redirect, "redirect")
    }

    @Test func connectionAndTLSFailuresAreFindingsWithTheCause() throws {
        let lab = try ProbeLab(app: .proxy(forwardedHost: false))
        defer { lab.stop() }
        // Nothing listens on port 1; the lab's plain-HTTP port hangs up on a TLS handshake.
        let refused = try runCLI(["probe", "--convex-site", "http://127.0.0.1:1", "--format", "json"])
        #expect(refused.exitCode == 1)
        let j = try JSONParser.parse(refused.stdout)
        #expect(j["verdict"]["rule"] == .string("probe.direct"))
        #expect(j["results"].listValue?.first?["evidence"]["kind"] == .string("connect"))
        let tls = try runCLI(["probe", "--convex-site", "https://127.0.0.1:\(lab.convex.port)"])
        #expect(tls.exitCode == 1)
        #expect(tls.stdout.contains("TLS error"), "\(tls.stdout)")
        let dns = try runCLI(["probe", "--site", "http://nonexistent-app.invalid", "--convex-site", lab.convex.url])
        #expect(dns.exitCode == 1)
        #expect(dns.stdout.contains("cannot resolve nonexistent-app.invalid (DNS)"), "\(dns.stdout)")
        #expect(dns.stdout.contains("the site cannot be reached at this URL"))
        // What the doctor cannot read is exit 2, with the file named.
        let unreadable = try runCLI(["probe", "--hosting-env", "/nonexistent/.env.local"])
        #expect(unreadable.exitCode == 2 && unreadable.stderr.contains("/nonexistent/.env.local"), "\(unreadable.stderr)")
    }

    @Test func aServerThatNeverAnswersHitsTheDeadline() throws {
        let silent = try LabServer { _ in
            Thread.sleep(forTimeInterval: 4)
            return nil
        }
        defer { silent.stop() }
        let start = Date()
        let r = try spawnCLI(["probe", "--convex-site", silent.url], env: ["AUTH_DOCTOR_HTTP_TIMEOUT_S": "1"])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("timed out 2 time(s)"), "\(r.stdout)")
        #expect(Date().timeIntervalSince(start) < 8)
    }

    @Test func urlsComeFromTheEnvFilesAndCredentialsAreNeverSent() throws {
        let lab = try ProbeLab(app: .proxy(forwardedHost: false))
        defer { lab.stop() }
        let dir = try tempDir("probe-env")
        defer { try? FileManager.default.removeItem(at: dir) }
        let hosting = dir.appendingPathComponent(".env.local")
        try Data("NEXT_PUBLIC_SITE_URL=http://admin:pw-LEAK-123456@\(lab.app.host)\nNEXT_PUBLIC_CONVEX_SITE_URL=\(lab.convex.url)\n".utf8).write(to: hosting)
        let r = try runCLI(["probe", "--hosting-env", hosting.path, "-v", "--format", "json"])
        #expect(r.exitCode == 0, "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("pw-LEAK") && !r.stderr.contains("pw-LEAK"))
        let j = try JSONParser.parse(r.stdout)
        #expect(j["command"] == .string("probe"))
        #expect(j["requests"].listValue?.count == 4)
        #expect(j["results"].listValue?.map { $0["rule"].stringValue ?? "" } == ["probe.direct", "probe.site", "probe.forwarded-host", "probe.cors"])
        #expect(j["source"]["location"] == .string("\(lab.app.url), \(lab.convex.url)"))
        expectOnlySafeRequests(lab, "env files")
    }

    /// With --url: the site from the deployment's SITE_URL, the Convex site from its CONVEX_SITE_URL; the deployment is
    /// only read, the key never reaches the probed URLs.
    @Test func urlsComeFromTheDeployment() throws {
        let lab = try ProbeLab(app: .proxy(forwardedHost: true))
        defer { lab.stop() }
        let key = "prod:happy-animal-123|eyJ2SEEDEDprobeKEYvalue0123456789"
        let f = try FakeDeployment.demo(key: key) { f in
            f.env = f.env.filter { $0.0 != "SITE_URL" } + [("SITE_URL", lab.app.url)]
            f.siteURL = lab.convex.url
        }
        defer { f.stop() }
        let r = try runCLI(["probe", "--url", f.url, "--format", "json"], env: ["CONVEX_DEPLOY_KEY": key])
        #expect(r.exitCode == 1, "\(r.stdout)\(r.stderr)")
        let j = try JSONParser.parse(r.stdout)
        #expect(j["verdict"]["rule"] == .string("probe.site"))
        #expect(j["source"]["isProd"] == .bool(true))
        #expect(!r.stdout.contains("SEEDED") && !r.stderr.contains("SEEDED"))
        #expect(f.log.allSatisfy { $0.method == "GET" || $0.path == "/api/query" }, "\(f.log.map(\.path))")
        expectOnlySafeRequests(lab, "--url")
    }

    /// A body past the cap is cut there: the answer is named, the run stays bounded.
    @Test func aHugeAnswerIsCapped() throws {
        let big = try LabServer { _ in LabAnswer(status: 200, headers: ["Content-Type": "text/html"], body: String(repeating: "<p>x</p>", count: 300_000)) }
        defer { big.stop() }
        let r = try runCLI(["probe", "--convex-site", big.url])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("answered more than 1 MiB"), "\(r.stdout)")
    }

    @Test func everyFormatAndTheUsageErrors() throws {
        let lab = try ProbeLab(app: .proxy(forwardedHost: true))
        defer { lab.stop() }
        for format in ["text", "json", "markdown", "github"] {
            let r = try probe(lab, ["--format", format])
            #expect(r.exitCode == 1, "\(format)")
            #expect(r.stdout.contains("probe.site"), "\(format)")
        }
        let g = try probe(lab, ["--format", "github"])
        #expect(g.stdout.contains("::error title=auth-doctor probe.site (step 51)%3A The app's auth route does not reach Better Auth::"))
        let m = try probe(lab, ["--format", "markdown"])
        #expect(m.stdout.contains("**requests:** 4 sent (GET and OPTIONS only, no cookies, no credentials)"))
        #expect(try runCLI(["probe"]).exitCode == 64)
        let bad = try runCLI(["probe", "--site", "app.example.com"])
        #expect(bad.exitCode == 64 && bad.stderr.contains("--site takes an absolute http(s) URL"))
        let help = try runCLI(["probe", "--help"])
        #expect(help.exitCode == 0 && help.stdout.contains("EXAMPLES:"))
    }
}
