import AuthDoctorCore
import Foundation

/// A team's own rules in `audit` (`modes: [..., audit]`): they have no compact population predicate, so each Better
/// Auth user is looked up in whole rows held in memory and its facts built exactly as `diagnose` builds them; the
/// rule is then evaluated over those facts. Slower and bigger than the built-in counts (every row of the user,
/// account, session and app tables is decoded), so it runs only when such a rule is loaded.
final class PopulationRows: DiagnoseDataSource {
    let users: [Row]
    let accounts: [String: [Row]]
    let sessions: [String: [Row]]
    let appRows: [Row]
    let config: Config
    let info: SourceInfo
    var seenSecrets: Set<String> { [] }
    private let usersByEmail: [String: [Int]]
    private let appByEmail: [String: [Int]]
    /// App rows by every top-level string value (an id in any field) and by `_id`.
    private let appByValue: [String: [Int]]

    init(users: [Row], accounts: [Row], sessions: [Row], appRows: [Row], config: Config, info: SourceInfo) {
        self.users = users
        self.appRows = appRows
        self.config = config
        self.info = info
        func byUser(_ rows: [Row]) -> [String: [Row]] {
            var out: [String: [Row]] = [:]
            for r in rows { if let u = r["userId"]?.stringValue { out[u, default: []].append(r) } }
            return out
        }
        self.accounts = byUser(accounts)
        self.sessions = byUser(sessions)
        var byEmail: [String: [Int]] = [:]
        for (i, u) in users.enumerated() {
            if let e = u["email"]?.stringValue { byEmail[Email.normalize(e), default: []].append(i) }
        }
        usersByEmail = byEmail
        var appEmail: [String: [Int]] = [:], appValue: [String: [Int]] = [:]
        for (i, row) in appRows.enumerated() {
            if let e = row[config.emailField]?.stringValue { appEmail[Email.normalize(e), default: []].append(i) }
            for v in row.values { if let s = v.stringValue, !s.isEmpty { appValue[s, default: []].append(i) } }
        }
        appByEmail = appEmail
        appByValue = appValue
    }

    func betterAuthUsers(normalizedEmail: String) throws -> [Row] { (usersByEmail[normalizedEmail] ?? []).map { users[$0] } }

    func appRows(normalizedEmail: String, ids: [String], appIds: [String]) throws -> (candidates: [Row], sample: [Row]) {
        var picked = Set(appByEmail[normalizedEmail] ?? [])
        for id in ids + appIds { picked.formUnion(appByValue[id] ?? []) }
        return (picked.sorted().map { appRows[$0] }, Array(appRows.prefix(50)))
    }

    func accountsAndSessions(userIds: [String]) throws -> (accounts: [Row], sessions: [Row]) {
        (userIds.flatMap { accounts[$0] ?? [] }, userIds.flatMap { sessions[$0] ?? [] })
    }
}

extension ExportAudit {
    /// Whole decoded rows of a table (Better Auth's field names when `model` is given); malformed lines are skipped
    /// (the compact pass already counts them).
    func readRows(_ path: String, model: String?, decoder: ValueDecoder) throws(SourceError) -> [Row] {
        guard tables.has(path) else { return [] }
        var rows: [Row] = []
        let config = self.config
        func add(_ v: Value) {
            guard case .map(let m) = decoder.decode(v) else { return }
            rows.append(model.map { config.canonical(m, model: $0) } ?? m)
        }
        try forEachRecord(path, line: { l in
            if let v = try? JSONParser.parse(l) { add(v) }
        }, row: add, overlong: {})
        return rows
    }

    /// Evaluates the team's audit rules for every Better Auth user (one per normalized email, the one diagnose looks
    /// at) and records a finding for each user whose result fails or warns.
    func evaluateCustom(_ custom: [Rule], rules: RuleSet, options: Options, decoder: (String) -> ValueDecoder,
                        userIndex: KeyMap, into found: inout Findings) throws {
        let users = try readRows(config.exportPath("user"), model: "user", decoder: decoder(config.exportPath("user")))
        let accounts = try readRows(config.exportPath("account"), model: "account", decoder: decoder(config.exportPath("account")))
        let sessions = try readRows(config.exportPath("session"), model: "session", decoder: decoder(config.exportPath("session")))
        let appPath = "\(config.appTable)/documents.jsonl"
        let app = try readRows(appPath, model: nil, decoder: decoder(appPath))
        let population = PopulationRows(users: users, accounts: accounts, sessions: sessions, appRows: app, config: config,
                                        info: sourceInfo())
        // The rules the team's rules require run too, so `requires` blocks as in diagnose.
        let engine = Engine(rules: ExportAudit.withRequirements(Set(custom.map(\.id)), in: rules), failOn: options.failOn,
                            disabled: config.disable)
        let customIds = Set(custom.map(\.id))
        for id in customIds { found.reset(id) }
        var seen = Set<String>()
        for row in users {
            guard let email = row["email"]?.stringValue else { continue }
            let normalized = Email.normalize(email)
            guard seen.insert(normalized).inserted else { continue }
            let data = try PersonLookup.lookup(normalizedEmail: normalized, config: config, source: population)
            let facts = Facts.diagnose(email: normalized, data: data, source: population.info, config: config, env: options.env,
                                       now: options.now)
            let userId = data.baUsers.first?["_id"]?.stringValue
            for result in engine.run(facts) where customIds.contains(result.rule) && (result.status == .fail || result.status == .warn) {
                if let id = userId, let i = userIndex[hashKey(id)] {
                    found.add(result.rule, user: Int(i))
                } else {
                    found.addRow(result.rule, id: userId ?? normalized)
                }
            }
        }
    }
}
