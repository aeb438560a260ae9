import Foundation

/// The diagnose pipeline: source → facts → engine → report. The CLI only parses arguments and prints.
public enum Doctor {
    public struct Options: Sendable {
        public var config: Config
        public var rules: RuleSet
        public var failOn: Severity
        public var now: Date
        public var env: Value
        /// Notes about the env files (duplicate names, unreadable lines).
        public var envNotes: [String]
        /// With --check-password: verifies the stored hash (or nil) against the password the operator gave,
        /// answering `matches`, `does not match` or `cannot check: ...`. The password never enters the facts.
        public var passwordVerifier: (@Sendable (String?) -> String)?
        /// The email exactly as given, when it was cleaned from a paste.
        public var cleanedFrom: String?
        /// How the user is trying to sign in (`--method`): password, social, otp, magic-link, passkey or any.
        public var method = "any"
        /// Secrets the caller loaded (env values, the deploy key, the password given): masked wherever data lands.
        public var secrets: Set<String>

        public init(config: Config, rules: RuleSet, failOn: Severity = .error, now: Date = Date(), env: Value = .null,
                    envNotes: [String] = [], passwordVerifier: (@Sendable (String?) -> String)? = nil,
                    secrets: Set<String> = [], cleanedFrom: String? = nil) {
            self.secrets = secrets
            self.cleanedFrom = cleanedFrom
            self.config = config
            self.rules = rules
            self.failOn = failOn
            self.now = now
            self.env = env
            self.envNotes = envNotes
            self.passwordVerifier = passwordVerifier
        }
    }

    /// The result of a run: the report, and every secret the run loaded (for the final redaction pass).
    public struct Outcome: Sendable {
        public let report: Report
        public let secrets: Set<String>
        /// Names and emails of the rows looked at (for `--redact-pii`).
        public let personalData: Set<String>
    }

    /// An input that is not an email, even after cleaning a paste (DESIGN §13.1): a usage error, no checklist.
    public struct NotAnEmail: Error, CustomStringConvertible {
        public let input: String
        public var description: String {
            "\"\(Sanitize.inline(input))\" is not an email address, even after removing what a paste brings along. auth-doctor needs the email the user signs in with (e.g. ada@example.com); Better Auth's own check rejects this one too (sign-in answers 400 INVALID_EMAIL)."
        }
    }

    /// The operator's paste, cleaned (quotes, `mailto:`, `Name <addr>`, trailing `,;.`) and validated with Better
    /// Auth's email rule.
    public static func cleanEmail(_ input: String) throws(NotAnEmail) -> CleanedEmail {
        let cleaned = EmailInput.clean(input)
        guard EmailInput.isValid(cleaned.value) else { throw NotAnEmail(input: input) }
        return cleaned
    }

    public static func diagnose(email: String, source: DiagnoseDataSource, options: Options) throws -> Outcome {
        let normalized = Email.normalize(email)
        let data = try PersonLookup.lookup(normalizedEmail: normalized, config: options.config, source: source)
        let info = source.info
        var passwordCheck = Value.null
        if let verify = options.passwordVerifier {
            let userId = data.baUsers.first?["_id"]?.stringValue
            let account = data.accounts.first { $0["userId"]?.stringValue == userId && $0["providerId"]?.stringValue == "credential" }
            passwordCheck = .string(account.map { verify($0["password"]?.stringValue) } ?? "cannot check: no credential account")
        }
        let suggestions = data.baUsers.isEmpty ? try source.emailSuggestions(for: normalized) : []
        let facts = Facts.diagnose(email: email, data: data, source: source.info, config: options.config, env: options.env,
                                   now: options.now, passwordCheck: passwordCheck, suggestions: suggestions,
                                   method: options.method)
        var pii = Set<String>([email, normalized, email.trimmingCharacters(in: .whitespacesAndNewlines)] + suggestions)
        if let raw = options.cleanedFrom { pii.insert(raw) }
        for row in data.baUsers + data.appUsers {
            for key in ["name", "email", options.config.emailField, "displayUsername", "username"] {
                if let s = row[key]?.stringValue, !s.isEmpty { pii.insert(s) }
            }
        }
        let secrets = facts.secrets.union(source.seenSecrets).union(options.secrets)
        let net = DataNet(secrets: secrets, personalData: pii, subjectEmail: normalized)
        let engine = Engine(rules: options.rules.rules(for: .diagnose), failOn: options.failOn, disabled: options.config.disable,
                            net: net, deploymentNote: deploymentNote(info))
        let results = engine.run(facts)
        var verdict = Engine.verdict(results, healthyMessage: healthyMessage(normalized, results))
        let dataRules = results.filter { !$0.rule.hasPrefix("env.") }
        if verdict.status != .problem, !dataRules.isEmpty, dataRules.allSatisfy({ $0.status == .skip || $0.status == .error }) {
            verdict = Verdict(status: .incomplete, rule: nil, step: nil, title: nil,
                              message: "no data check could run (every one was skipped or could not be checked): nothing about \(normalized) was verified. Enable the rules (see `disable:` in auth-doctor.yaml) or give the data they need.",
                              fix: nil)
        }
        if verdict.status == .healthy, verdict.likelyCause == nil, let recent = recentSignIn(data, now: options.now) {
            let message = recent + "\n" + verdict.message
            verdict = Verdict(status: .healthy, rule: nil, step: nil, title: nil, message: message, fix: nil)
        }
        var notes: [String] = []
        var verboseNotes: [String] = []
        if info.malformedLines > 0 {
            notes.append("\(info.malformedLines) malformed JSONL line(s) skipped (\(info.malformedExamples.joined(separator: ", "))\(info.malformedLines > info.malformedExamples.count ? ", ..." : "")): the export may be damaged.")
        }
        let how = data.linkDetected ? "detected" : "from config"
        switch data.linkField {
        case "email": verboseNotes.append("app rows are joined to Better Auth users by email (\(how)).")
        case Config.legacyLink: verboseNotes.append("app rows are linked by the legacy Better Auth user.userId field (\(how)).")
        default: verboseNotes.append("app rows link to Better Auth users through \(options.config.appTable).\(data.linkField) (\(how)).")
        }
        notes += info.notes + options.envNotes + replacedNotes(options.rules)
        var report = Report(command: "diagnose", input: Report.Input(email: email, normalizedEmail: normalized, cleanedFrom: options.cleanedFrom),
                            source: info, linkField: data.linkField, appTable: options.config.appTable,
                            component: options.config.component, verdict: verdict, results: results, notes: notes)
        report.verboseNotes = verboseNotes
        return Outcome(report: report, secrets: secrets, personalData: pii)
    }

    /// `check-env`: only the `env.*` rules, no email and no data source.
    public static func checkEnv(source: SourceInfo, options: Options) -> Outcome {
        let facts = Facts.environment(source: source, config: options.config, env: options.env, now: options.now)
        var pii = Set<String>()
        if let adminConvex = options.env["convex"][options.config.adminEmailEnv].stringValue { pii.insert(adminConvex) }
        if let adminHosting = options.env["hosting"][options.config.adminEmailEnv].stringValue { pii.insert(adminHosting) }
        let secrets = facts.secrets.union(options.secrets)
        let engine = Engine(rules: options.rules.rules(for: .env), failOn: options.failOn, disabled: options.config.disable,
                            net: DataNet(secrets: secrets, personalData: pii), deploymentNote: deploymentNote(source))
        let results = engine.run(facts)
        let passed = results.filter { $0.status == .pass }.map(\.rule)
        let message = "nothing failed: \(passed.count) check\(passed.count == 1 ? "" : "s") passed (\(passed.joined(separator: ", ")))."
        var verdict = Engine.verdict(results, healthyMessage: message)
        if verdict.status != .problem && options.env["convex"].isNull {
            // The Convex side is what check-env is for: without it, "healthy" would be a guess.
            verdict = Verdict(status: .incomplete, rule: nil, step: nil, title: nil,
                              message: "the Convex side was not given, so BETTER_AUTH_SECRET, SITE_URL and the other Convex variables were not checked. Give --convex-env FILE (from `npx convex env list\(source.isProd ? " --prod" : "")`) or --url.",
                              fix: nil)
        }
        let report = Report(command: "check-env", input: nil, source: source, verdict: verdict, results: results,
                            notes: options.envNotes + replacedNotes(options.rules))
        return Outcome(report: report, secrets: secrets, personalData: pii)
    }

    /// When every data check passed and the user has a session from the last 24 hours (DESIGN §13.4): the server
    /// side signed them in, so the cause is on the client.
    static func recentSignIn(_ data: PersonData, now: Date) -> String? {
        guard let userId = data.baUsers.first?["_id"]?.stringValue else { return nil }
        let nowMs = now.timeIntervalSince1970 * 1000
        let latest = data.sessions.filter { $0["userId"]?.stringValue == userId }.compactMap { $0["createdAt"]?.number }
            .filter { $0 <= nowMs && nowMs - $0 <= 24 * 3_600_000 }.max()
        guard let latest else { return nil }
        let hours = Int(((nowMs - latest) / 3_600_000).rounded(.down))
        return "Better Auth signed this user in at \(Render.iso(latest)) (\(hours == 0 ? "less than an hour" : "\(hours) h") ago): the server side works; look at the client. Cookies (the __Secure- prefix on https; SameSite when the site and the auth routes are on different domains), the crossDomain/OTT plugin for a frontend on another domain, expectAuth on the Convex client, the token route (/api/auth/convex/token) and a proxy that forwards x-forwarded-host or drops cookies."
    }

    /// Which deployment a fix's commands act on (DESIGN §13.2), appended to every fix that runs `npx convex`.
    static func deploymentNote(_ source: SourceInfo) -> String {
        if source.isProd {
            return "Commands act on your production deployment (--prod)."
        }
        if let d = source.deployment {
            return "Commands act on CONVEX_DEPLOYMENT (dev unless told); the data came from \(d): point CONVEX_DEPLOYMENT at it, or add --prod if it is production."
        }
        return "Commands act on CONVEX_DEPLOYMENT (dev unless told); add --prod for prod data."
    }

    static func replacedNotes(_ rules: RuleSet) -> [String] {
        rules.replaced.map { "rule \($0.id) is replaced by \($0.file)." }
    }

    static func healthyMessage(_ email: String, _ results: [RuleResult]) -> String {
        let passed = results.filter { $0.status == .pass }.count
        let warned = results.filter { $0.status == .warn && $0.severity != .info }.count
        let skipped = results.filter { $0.status == .skip }.count
        var s = "nothing failed for \(email): \(passed) check\(passed == 1 ? "" : "s") passed"
        if warned > 0 { s += ", \(warned) warning\(warned == 1 ? "" : "s")" }
        if skipped > 0 { s += ", \(skipped) skipped" }
        return s + "."
    }

}
