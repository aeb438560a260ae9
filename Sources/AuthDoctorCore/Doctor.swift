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

        public init(config: Config, rules: RuleSet, failOn: Severity = .error, now: Date = Date(), env: Value = .null,
                    envNotes: [String] = [], passwordVerifier: (@Sendable (String?) -> String)? = nil) {
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
        let facts = Facts.diagnose(email: email, data: data, source: info, config: options.config, env: options.env,
                                   now: options.now, passwordCheck: passwordCheck)
        let engine = Engine(rules: options.rules.rules(for: .diagnose), failOn: options.failOn, disabled: options.config.disable)
        let results = engine.run(facts)
        let verdict = Engine.verdict(results, healthyMessage: healthyMessage(normalized, results))
        var notes: [String] = []
        if info.malformedLines > 0 {
            notes.append("\(info.malformedLines) malformed JSONL line(s) skipped (\(info.malformedExamples.joined(separator: ", "))\(info.malformedLines > info.malformedExamples.count ? ", ..." : "")): the export may be damaged.")
        }
        notes += info.notes
        let how = data.linkDetected ? "detected" : "from config"
        switch data.linkField {
        case "email": notes.append("app rows are joined to Better Auth users by email (\(how)).")
        case Config.legacyLink: notes.append("app rows are linked by the legacy Better Auth user.userId field (\(how)).")
        default: notes.append("app rows link to Better Auth users through \(options.config.appTable).\(data.linkField) (\(how)).")
        }
        notes += options.envNotes + replacedNotes(options.rules)
        let report = Report(command: "diagnose", input: (email, normalized), source: info, linkField: data.linkField,
                            appTable: options.config.appTable, component: options.config.component, verdict: verdict,
                            results: results, notes: notes)
        var pii = Set<String>([email, normalized, email.trimmingCharacters(in: .whitespacesAndNewlines)])
        for row in data.baUsers + data.appUsers {
            for key in ["name", "email", options.config.emailField, "displayUsername", "username"] {
                if let s = row[key]?.stringValue, !s.isEmpty { pii.insert(s) }
            }
        }
        return Outcome(report: report, secrets: facts.secrets, personalData: pii)
    }

    /// `check-env`: only the `env.*` rules, no email and no data source.
    public static func checkEnv(source: SourceInfo, options: Options) -> Outcome {
        let facts = Facts.environment(source: source, config: options.config, env: options.env, now: options.now)
        let engine = Engine(rules: options.rules.rules(for: .env), failOn: options.failOn, disabled: options.config.disable)
        let results = engine.run(facts)
        let passed = results.filter { $0.status == .pass }.map(\.rule)
        let message = "nothing failed: verified \(passed.isEmpty ? "nothing (every check skipped)" : passed.joined(separator: ", "))"
        let verdict = Engine.verdict(results, healthyMessage: message)
        let report = Report(command: "check-env", input: nil, source: source, verdict: verdict, results: results,
                            notes: options.envNotes + replacedNotes(options.rules))
        var pii = Set<String>()
        if let adminConvex = options.env["convex"][options.config.adminEmailEnv].stringValue { pii.insert(adminConvex) }
        if let adminHosting = options.env["hosting"][options.config.adminEmailEnv].stringValue { pii.insert(adminHosting) }
        return Outcome(report: report, secrets: facts.secrets, personalData: pii)
    }

    static func replacedNotes(_ rules: RuleSet) -> [String] {
        rules.replaced.map { "rule \($0.id) is replaced by \($0.file)." }
    }

    static func healthyMessage(_ email: String, _ results: [RuleResult]) -> String {
        let passed = results.filter { $0.status == .pass }.map(\.rule)
        let warned = results.filter { $0.status == .warn }.count
        let skipped = results.filter { $0.status == .skip }.count
        var s = "nothing failed for \(email): verified \(passed.joined(separator: ", "))"
        s += " (\(passed.count) passed, \(warned) warning\(warned == 1 ? "" : "s"), \(skipped) skipped)"
        return s
    }
}
