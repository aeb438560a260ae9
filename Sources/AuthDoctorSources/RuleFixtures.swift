import AuthDoctorCore
import Foundation
import Yams

/// A rule's own pass/fail examples (`rules/fixtures/<rule-id>.yaml`), SwiftLint-style: each case is a tiny
/// export tree, written to a temporary folder and diagnosed through the real export reader.
public struct RuleFixture: Sendable {
    public struct Case: Sendable {
        public let name: String
        /// The email to diagnose; without one the case runs `check-env`.
        public let email: String?
        public let expect: Status
        public let messageContains: [String]
        public let fixContains: [String]
        public let notContains: [String]
        public let config: Config
        public let prod: Bool
        public let now: Date
        /// Table key (`betterAuth/user`, `users`) to JSONL text.
        public let tables: [String: String]
        /// Dotenv text of the Convex side and of the hosting side, when the case gives them.
        public let convexEnv: String?
        public let hostingEnv: String?
        /// As with --check-password: the password to verify against the stored hash.
        public let password: String?
        /// As with --method: how the user is trying to sign in (default any).
        public var method = "any"
        public let line: Int
        /// A `jwt` case: the token (and `--convex-site`); the case's tables, if any, are its `--export`.
        public var jwt: (token: String, convexSite: String?)?
        /// A `probe` case: the URLs and the answers recorded for each request.
        public var probe: (site: ProbeTarget?, convexSite: ProbeTarget?, answers: [String: ProbeAnswer.Outcome])?
    }

    public let rule: String
    public let file: String
    public let cases: [Case]

    /// The fixed clock of fixtures unless a case sets `now`: 2026-01-01T00:00:00Z.
    public static let defaultNow = Date(timeIntervalSince1970: 1_767_225_600)

    public static func load(yaml: String, file: String) throws(RuleLoadError) -> RuleFixture {
        func fail(_ message: String, _ mark: Mark?) -> RuleLoadError {
            RuleLoadError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message)
        }
        guard let root = try RuleLoader.compose(yaml, file: file) else { throw fail("the fixture file is empty", nil) }
        guard let m = root.mapping, let rule = m["rule"]?.string else { throw fail("a fixture file starts with 'rule: <id>'", root.mark) }
        guard let seq = m["cases"]?.sequence, !seq.isEmpty else { throw fail("a fixture file needs 'cases:', a list", root.mark) }
        let caseKeys: Set<String> = ["name", "email", "expect", "message", "fix", "notContains", "config", "prod", "now", "tables",
                                      "convexEnv", "hostingEnv", "password", "method", "jwt", "probe"]
        var cases: [Case] = []
        for c in seq {
            guard let cm = c.mapping else { throw fail("each case is a mapping", c.mark) }
            for (k, _) in cm where !caseKeys.contains(k.string ?? "") {
                throw fail("unknown key '\(k.string ?? "?")' in a case (known: \(caseKeys.sorted().joined(separator: ", ")))", k.mark)
            }
            guard let name = cm["name"]?.string else { throw fail("a case needs 'name'", c.mark) }
            let email = cm["email"]?.string
            if email == nil && cm["convexEnv"] == nil && cm["hostingEnv"] == nil && cm["jwt"] == nil && cm["probe"] == nil {
                throw fail("case '\(name)' needs 'email' (diagnose), 'convexEnv'/'hostingEnv' (check-env), 'jwt' or 'probe'", c.mark)
            }
            guard let expectText = cm["expect"]?.string, let expect = Status(rawValue: expectText) else {
                throw fail("case '\(name)' needs 'expect: pass|fail|warn|skip|error'", c.mark)
            }
            func strings(_ key: String) throws(RuleLoadError) -> [String] {
                guard let n = cm[key] else { return [] }
                if let s = n.scalar?.string { return [s] }
                guard let items = n.sequence else { throw fail("'\(key)' is text or a list of texts", n.mark) }
                return items.compactMap { $0.string }
            }
            var config = Config()
            if let cn = cm["config"] {
                do {
                    config = try Config.parse(yaml: try Yams.serialize(node: cn), file: "\(file) (case '\(name)')")
                } catch let e as ConfigError {
                    throw fail(e.message, cn.mark)
                } catch {
                    throw fail("bad config: \(error)", cn.mark)
                }
            }
            var tables: [String: String] = [:]
            if let tn = cm["tables"] {
                guard let tm = tn.mapping else { throw fail("'tables' maps a table (betterAuth/user, users) to JSONL lines", tn.mark) }
                for (k, v) in tm {
                    guard let key = k.string, let text = v.string else { throw fail("table entries are name: JSONL text", k.mark) }
                    // A key is `<component>/<table>` or an app table; nothing may lead out of the case's folder.
                    let component = "\(config.component)/"
                    let table = key.hasPrefix(component) ? String(key.dropFirst(component.count)) : key
                    if let why = Config.unsafeName(table, nested: false) { throw fail("table key \(why)", k.mark) }
                    tables[key] = text
                }
            }
            // An expectation indented under an env block becomes env text and would never be checked.
            for key in ["convexEnv", "hostingEnv"] {
                guard let text = cm[key]?.string else { continue }
                for line in text.split(separator: "\n") {
                    let t = line.trimmingCharacters(in: .whitespaces)
                    if let colon = t.firstIndex(of: ":"), caseKeys.contains(String(t[..<colon])) {
                        throw fail("case '\(name)': \(key) holds '\(t)', which looks like a case key indented into the env text by mistake (env lines are NAME=value); the expectation would never be checked", cm[key]?.mark)
                    }
                }
            }
            var now = defaultNow
            if let nn = cm["now"]?.string {
                guard let ms = Double(nn) else { throw fail("'now' is epoch milliseconds", cm["now"]?.mark) }
                now = Date(timeIntervalSince1970: ms / 1000)
            }
            var fixtureCase = Case(name: name, email: email, expect: expect, messageContains: try strings("message"),
                              fixContains: try strings("fix"), notContains: try strings("notContains"), config: config,
                              prod: cm["prod"]?.bool ?? false, now: now, tables: tables,
                              convexEnv: cm["convexEnv"]?.string, hostingEnv: cm["hostingEnv"]?.string,
                              password: cm["password"]?.string, line: c.mark?.line ?? 1)
            if let jn = cm["jwt"] { fixtureCase.jwt = try jwtCase(jn, fail) }
            if let pn = cm["probe"] { fixtureCase.probe = try probeCase(pn, fail) }
            if let m = cm["method"]?.string {
                guard SignInMethodKind(rawValue: m) != nil else { throw fail("'method' is password, social, otp, magic-link, passkey or any", cm["method"]?.mark) }
                fixtureCase.method = m
            }
            cases.append(fixtureCase)
        }
        return RuleFixture(rule: rule, file: file, cases: cases)
    }

    /// `jwt: {token: <compact JWT>}` or `jwt: {header: <JSON>, claims: <JSON>}` (signed with a placeholder that never
    /// verifies), with an optional `convexSite`.
    static func jwtCase(_ node: Node, _ fail: (String, Mark?) -> RuleLoadError) throws(RuleLoadError) -> (token: String, convexSite: String?) {
        guard let m = node.mapping else { throw fail("'jwt' is a mapping: token: or header: and claims: (JSON), and convexSite:", node.mark) }
        for (k, _) in m where !["token", "header", "claims", "convexSite"].contains(k.string ?? "") {
            throw fail("unknown key '\(k.string ?? "?")' in jwt (known: claims, convexSite, header, token)", k.mark)
        }
        if let token = m["token"]?.string { return (token, m["convexSite"]?.string) }
        guard let header = m["header"]?.string, let claims = m["claims"]?.string else {
            throw fail("'jwt' needs token:, or header: and claims: as JSON text", node.mark)
        }
        func part(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        return (part(header) + "." + part(claims) + "." + part("fixture signature"), m["convexSite"]?.string)
    }

    /// `probe: {site:, convexSite:, answers: {direct|site|forwardedHost|preflight: {status:, headers:, body:} or {error:, text:}}}`.
    static func probeCase(_ node: Node, _ fail: (String, Mark?) -> RuleLoadError) throws(RuleLoadError)
        -> (site: ProbeTarget?, convexSite: ProbeTarget?, answers: [String: ProbeAnswer.Outcome]) {
        guard let m = node.mapping else { throw fail("'probe' is a mapping: site:, convexSite:, answers:", node.mark) }
        for (k, _) in m where !["site", "convexSite", "answers"].contains(k.string ?? "") {
            throw fail("unknown key '\(k.string ?? "?")' in probe (known: answers, convexSite, site)", k.mark)
        }
        var answers: [String: ProbeAnswer.Outcome] = [:]
        for (k, v) in m["answers"]?.mapping ?? [:] {
            guard let role = k.string, ["direct", "site", "forwardedHost", "preflight"].contains(role), let a = v.mapping else {
                throw fail("probe answers are direct:, site:, forwardedHost:, preflight:, each a mapping", k.mark)
            }
            if let error = a["error"]?.string {
                answers[role] = .failed(kind: error, text: a["text"]?.string ?? error)
            } else {
                guard let status = a["status"]?.int else { throw fail("an answer has status: (or error:)", v.mark) }
                var headers: [String: String] = [:]
                for (hk, hv) in a["headers"]?.mapping ?? [:] { headers[(hk.string ?? "").lowercased()] = hv.string ?? "" }
                answers[role] = .answered(status: status, headers: headers, body: Array((a["body"]?.string ?? "").utf8))
            }
        }
        return (m["site"]?.string.flatMap { ProbeTarget($0, from: "--site") },
                m["convexSite"]?.string.flatMap { ProbeTarget($0, from: "--convex-site") }, answers)
    }

    /// Writes a case's export tree into `dir` (empty Better Auth and app tables unless the case fills them).
    public static func materialize(_ c: Case, in dir: URL) throws {
        let fm = FileManager.default
        var tables = c.tables
        for t in ["user", "account", "session"].map({ "\(c.config.component)/\(c.config.table($0))" }) + [c.config.appTable]
            where tables[t] == nil {
            tables[t] = ""
        }
        let root = dir.standardizedFileURL.path + "/"
        for (key, text) in tables {
            var path = key
            if key.hasPrefix("\(c.config.component)/") { path = "_components/\(key)" }
            let folder = dir.appendingPathComponent(path)
            guard folder.standardizedFileURL.path.hasPrefix(root) else {
                throw SourceError("table '\(key)' would be written outside the fixture's folder")
            }
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            var body = text
            if !body.isEmpty && !body.hasSuffix("\n") { body += "\n" }
            try Data(body.utf8).write(to: folder.appendingPathComponent("documents.jsonl"))
            try Data("\"uniform\"\n".utf8).write(to: folder.appendingPathComponent("generated_schema.jsonl"))
        }
    }

    /// The outcome of one case: nil when it passed, else what went wrong.
    public struct CaseFailure: Sendable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let name: String
        public let problem: String

        public var description: String { "\(file):\(line): case '\(name)': \(problem)" }
    }

    /// Runs every case against `rules` and returns the failures.
    public func run(rules: RuleSet) -> [CaseFailure] {
        var failures: [CaseFailure] = []
        for c in cases {
            func failed(_ p: String) { failures.append(CaseFailure(file: file, line: c.line, name: c.name, problem: p)) }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auth-doctor-fixture-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            do {
                let env = EnvSources(convex: c.convexEnv.map { EnvFile.parse($0, path: "convex.env") },
                                     hosting: c.hostingEnv.map { [EnvFile.parse($0, path: ".env.hosting")] } ?? [])
                var options = Doctor.Options(config: c.config, rules: rules, now: c.now,
                                             env: env.isEmpty ? .null : env.facts, envNotes: env.notes,
                                             passwordVerifier: PasswordCheck.verifier(c.password))
                options.method = c.method
                let outcome: Doctor.Outcome
                if let (text, convexSite) = c.jwt {
                    let token = try ConvexToken.read(text)
                    var data: TokenData?
                    var source = SourceInfo(kind: .token, location: "fixture", isProd: c.prod)
                    if !c.tables.isEmpty {
                        try RuleFixture.materialize(c, in: dir)
                        let export = try ExportSource(path: dir.path, config: c.config, isProd: c.prod)
                        data = try export.tokenData(TokenIds(token))
                        source = export.info
                    }
                    let check = TokenCheck.make(token: token, now: c.now, site: convexSite.map { ($0, "--convex-site") },
                                                convexEnv: env.convex, data: data)
                    outcome = Doctor.jwt(check, source: source, options: options)
                } else if let probe = c.probe {
                    let observation = ProbeObservation.observe(site: probe.site, convexSite: probe.convexSite) { request in
                        probe.answers[request.role] ?? .failed(kind: "error", text: "no answer recorded for \(request.role) in the fixture")
                    }
                    outcome = Doctor.probe(observation, source: SourceInfo(kind: .http, location: "fixture", isProd: c.prod), options: options)
                } else if let email = c.email, let r = rules.rule(rule), !r.modes.contains(.diagnose), r.modes.contains(.audit) {
                    // An audit-only rule: the case's export audited, the rule's finding checked.
                    try RuleFixture.materialize(c, in: dir)
                    let source = try ExportSource(path: dir.path, config: c.config, isProd: c.prod)
                    let audit = try ExportAudit.run(source: source, rules: rules, options: .init(examples: 10, now: c.now))
                    guard let f = audit.report.findings?.first(where: { $0.rule == rule }) else {
                        failed("rule \(rule) did not run in audit (\(email))")
                        continue
                    }
                    let message = "\(f.count) \(f.what)" + (f.examples.isEmpty ? "" : ": " + f.examples.joined(separator: ", "))
                    if f.status != c.expect { failed("expected \(c.expect.rawValue), got \(f.status.rawValue): \(message)") }
                    for s in c.messageContains where !message.contains(s) { failed("finding does not contain \"\(s)\": \(message)") }
                    for s in c.fixContains where !(f.fix ?? "").contains(s) { failed("fix does not contain \"\(s)\": \(f.fix ?? "(none)")") }
                    continue
                } else if let email = c.email {
                    try RuleFixture.materialize(c, in: dir)
                    let source = try ExportSource(path: dir.path, config: c.config, isProd: c.prod)
                    outcome = try Doctor.diagnose(email: email, source: source, options: options)
                } else {
                    outcome = Doctor.checkEnv(source: SourceInfo(kind: .env, location: "fixture", isProd: c.prod), options: options)
                }
                guard let r = outcome.report.results.first(where: { $0.rule == rule }) else {
                    failed("rule \(rule) did not run")
                    continue
                }
                if r.status != c.expect { failed("expected \(c.expect.rawValue), got \(r.status.rawValue): \(r.message)") }
                for s in c.messageContains where !r.message.contains(s) {
                    failed("message does not contain \"\(s)\": \(r.message)")
                }
                for s in c.fixContains where !(r.fix ?? "").contains(s) {
                    failed("fix does not contain \"\(s)\": \(r.fix ?? "(none)")")
                }
                let all = r.message + "\n" + (r.fix ?? "") + "\n" + JSONWriter.write(.map(r.evidence))
                for s in c.notContains where all.contains(s) {
                    failed("output contains \"\(s)\", which it must not")
                }
            } catch {
                failed("could not run: \(error)")
            }
        }
        return failures
    }
}
