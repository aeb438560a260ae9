import AuthDoctorCore
import Foundation

/// `audit`: every row of the Better Auth and app tables read once, with the field scanner, into compact
/// indexes; then the population-level findings of the checklist (DESIGN §8, §10).
public final class ExportAudit {
    public struct Options: Sendable {
        public var examples = 10
        /// The rule whose affected ids are all kept, for `--list`.
        public var listRule: String?
        public var failOn = Severity.error
        public var now = Date()
        /// Keep, per rule, the ids of the Better Auth users each finding belongs to (for the tests that compare
        /// audit with diagnose user by user). Off by default: it costs memory at a million users.
        public var trackUsers = false
        /// The most rows read over the four tables before the audit stops with exit 2 (`--max-rows`).
        public var maxRows = ExportAudit.defaultMaxRows
        /// The env facts (`convex`, `hosting`), for the checks that need the Convex side (the jwks keys).
        public var env: Value = .null

        public init(examples: Int = 10, listRule: String? = nil, failOn: Severity = .error, now: Date = Date(),
                    trackUsers: Bool = false, maxRows: Int = ExportAudit.defaultMaxRows) {
            self.examples = examples
            self.listRule = listRule
            self.failOn = failOn
            self.now = now
            self.trackUsers = trackUsers
            self.maxRows = maxRows
        }
    }

    public struct Result: Sendable {
        public let report: Report
        /// The ids affected by `listRule`, in table order.
        public let listed: [String]
        /// With `trackUsers`: per rule, the ids of the Better Auth users its findings belong to.
        public var affectedUsers: [String: Set<String>] = [:]
    }


    /// The indexes take about `bytesPerRow` per row read (measured: AuditLimits tests); the default limit keeps an
    /// audit under about 5 GB (a million users make about five million rows).
    public static let bytesPerRow = 250
    public static let defaultMaxRows = 20_000_000

    let tables: TableReader
    let sourceInfo: () -> SourceInfo
    let maxRows: Int
    var rowsRead = 0
    let componentPrefix: String
    let config: Config
    let nowMs: Double
    /// How a table's JSON becomes Convex values (the legacy export format types fields by its schema file).
    var decoder: (String) -> ValueDecoder = { _ in ValueDecoder(format: .uniform) }
    var malformed: [String: (count: Int, at: [Int])] = [:]
    let lock = NSLock()

    init(tables: TableReader, config: Config, info: @escaping () -> SourceInfo, now: Date, maxRows: Int = ExportAudit.defaultMaxRows) {
        self.tables = tables
        self.maxRows = maxRows
        self.config = config
        self.sourceInfo = info
        self.componentPrefix = config.exportPrefix
        self.nowMs = now.timeIntervalSince1970 * 1000
    }

    // MARK: Phase 1: read every table, the biggest first, so two cores stay busy.

    /// What the table scans keep: compact indexes of every table audit reads.
    struct ReadTables {
        var users = Users(), app = AppRows(), accounts = Accounts(), sessions = Sessions()
        var twoFactors: Set<UInt64>?, convexAuth: ConvexAuthAccounts?, jwks: [Row]?
        var keys = UserKeys(Users())
    }

    func readAll() throws -> ReadTables {
        var t = ReadTables()
        // The users' key maps are built in the users' job, while the other core still reads.
        var jobs: [(Int, () throws -> Void)] = [
            (tables.size(of: config.exportPath("user")), {
                t.users = try self.readUsers()
                t.keys = UserKeys(t.users)
            }),
            (tables.size(of: "\(config.appTable)/documents.jsonl"), { t.app = try self.readApp() }),
            (tables.size(of: config.exportPath("account")), { t.accounts = try self.readAccounts() }),
            (tables.size(of: config.exportPath("session")), { t.sessions = try self.readSessions() }),
            (tables.size(of: config.exportPath("twoFactor")), { t.twoFactors = try self.readTwoFactors() }),
            (tables.size(of: "authAccounts/documents.jsonl"), { t.convexAuth = try self.readConvexAuthAccounts() }),
            (0, { t.jwks = try self.readJWKS() }),
        ]
        jobs.sort { $0.0 > $1.0 }
        try Parallel.run(jobs.map(\.1))
        return t
    }

    // MARK: The audit: read, join (AuditJoin.swift), report.

    public static func run(source: ExportSource, rules: RuleSet, options: Options) throws -> Result {
        let audit = ExportAudit(tables: source.archive, config: source.config, info: { source.info }, now: options.now,
                                maxRows: options.maxRows)
        audit.decoder = { source.decoder(for: $0) }
        return try audit.run(rules: rules, options: options)
    }

    /// The same audit over a live deployment: every row through the paginated system query.
    public static func run(deployment: DeploymentSource, rules: RuleSet, options: Options) throws -> Result {
        let audit = ExportAudit(tables: deployment, config: deployment.config, info: { deployment.info }, now: options.now,
                                maxRows: options.maxRows)
        return try audit.run(rules: rules, options: options)
    }

    func run(rules: RuleSet, options: Options) throws -> Result {
        let t = try readAll()
        let (users, accounts, sessions, app) = (t.users, t.accounts, t.sessions, t.app)
        let nUsers = users.idHash.count

        // Two parts at once (AuditJoin.swift): the users' checks (accounts, app rows, profiles, jwks) and the row
        // checks of sessions, dates and Convex Auth accounts; each counts its own rules, merged after.
        var found = Findings(options: options, rules: rules, users: users)
        var rowFound = Findings(options: options, rules: rules, users: users)
        var linkField = "email", skipped = Set<String>(), active = 0
        try Parallel.run([
            { (linkField, skipped) = self.countUsers(t, rules: rules, options: options, into: &found) },
            { active = self.countRows(t, rules: rules, options: options, into: &rowFound) },
        ])
        found.merge(rowFound)

        // The team's own audit rules, evaluated over each user's facts as diagnose builds them.
        let disabledIds = Set(config.disable.map(\.rule))
        let custom = rules.rules(for: .audit).filter { rules.customIds.contains($0.id) && !disabledIds.contains($0.id) }
        if !custom.isEmpty {
            try evaluateCustom(custom, rules: rules, options: options, decoder: decoder, userIndex: t.keys.userIndex, into: &found)
        }

        var info = sourceInfo()
        info.tableRows = [:]
        var notes: [String] = []
        var totalMalformed = 0
        var malformedPlaces: [String] = []
        for (path, m) in malformed.sorted(by: { $0.key < $1.key }) {
            totalMalformed += m.count
            malformedPlaces += m.at.map { "\(path):\($0)" }
        }
        info.malformedLines = totalMalformed
        info.malformedExamples = Array(malformedPlaces.prefix(5))
        if totalMalformed > 0 {
            notes.append("\(totalMalformed) malformed JSONL line(s) skipped (\(info.malformedExamples.joined(separator: ", "))\(totalMalformed > 5 ? ", ..." : "")): the export may be damaged.")
        }
        let how = config.linkField == "auto" ? "detected" : "from config"
        notes.append(linkField == "email" ? "app rows are joined to Better Auth users by email (\(how))."
                     : linkField == Config.legacyLink ? "app rows are linked by the legacy Better Auth user.userId field (\(how))."
                     : "app rows link to Better Auth users through \(config.appTable).\(linkField) (\(how)).")
        let population = [
            "baUsers": nUsers, "baAccounts": accounts.userHash.count, "baSessions": sessions.userHash.count,
            "appUsers": app.idHash.count, "baActiveSessions": active,
        ]
        let findings = found.build(config: config, skipped: skipped)
        if skipped.contains("ba.jwks.decrypts") {
            notes.append("ba.jwks.decrypts was not checked: the jwks keys are checked with the Convex side's BETTER_AUTH_SECRET; give --convex-env FILE (from `npx convex env list`) or --url.")
        }
        for d in config.disable where rules.rule(d.rule)?.modes.contains(.audit) == true {
            notes.append("rule \(d.rule) is disabled in the config: \(d.reason)")
        }
        let report = Report.audit(source: info, population: population, findings: findings, linkField: linkField,
                                  appTable: config.appTable, component: config.component, notes: notes)
        var result = Result(report: report, listed: options.listRule.flatMap { found.listed[$0] } ?? [])
        if options.trackUsers { result.affectedUsers = found.owners.mapValues { Set($0.map { users.ids[Int($0)] }) } }
        return result
    }

    func detectLink(app: AppRows, users: Users) -> String {
        if config.linkField != "auto" { return config.linkField }
        let sample = min(20, app.idHash.count)
        for (k, name) in Config.linkCandidates.enumerated() where app.links[k].prefix(sample).contains(where: { $0 != 0 }) {
            return name
        }
        if users.legacyApp.contains(where: { $0 != 0 }) { return Config.legacyLink }
        return "email"
    }
}
