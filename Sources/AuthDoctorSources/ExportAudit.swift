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

    // MARK: Phase 2: join and count.

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
        var users = Users(), app = AppRows(), accounts = Accounts(), sessions = Sessions()
        var twoFactors: Set<UInt64>?, convexAuth: ConvexAuthAccounts?, jwks: [Row]?
        var keys = UserKeys(Users())
        // The biggest tables first, so two cores stay busy. The users' key maps are built in the same job, while the
        // other core still reads.
        var jobs: [(Int, () throws -> Void)] = [
            (tables.size(of: config.exportPath("user")), {
                users = try self.readUsers()
                keys = UserKeys(users)
            }),
            (tables.size(of: "\(config.appTable)/documents.jsonl"), { app = try self.readApp() }),
            (tables.size(of: config.exportPath("account")), { accounts = try self.readAccounts() }),
            (tables.size(of: config.exportPath("session")), { sessions = try self.readSessions() }),
            (tables.size(of: config.exportPath("twoFactor")), { twoFactors = try self.readTwoFactors() }),
            (tables.size(of: "authAccounts/documents.jsonl"), { convexAuth = try self.readConvexAuthAccounts() }),
            (0, { jwks = try self.readJWKS() }),
        ]
        jobs.sort { $0.0 > $1.0 }
        try Parallel.run(jobs.map(\.1))

        let nUsers = users.idHash.count
        let userIndex = keys.userIndex

        var found = Findings(options: options, rules: rules, users: users)
        // ba.user.unique is counted by group (exact and case-variant), every user of a group listed.
        var exactGroups = 0, caseGroups = 0, inGroups = 0
        var reported = Set<UInt64>()

        // The row-level checks, each decided by its rule over stand-in persons (AuditRowChecks.swift).
        var rowChecks = RowChecks(audit: self, rules: rules, options: options)
        let checkRows = rowChecks.active

        // Two parts at once: the users' checks (accounts, app rows, profiles, jwks) and the row checks of sessions,
        // dates and Convex Auth accounts; each counts its own rules, merged after.
        let primaryUser = { (emailKey: UInt64) -> Int32? in keys.group(ofEmail: emailKey).map { keys.primary[$0] } }
        var linkField = "email"
        var skipped = Set<String>()
        var rowFound = Findings(options: options, rules: rules, users: users)
        var rowsOnly = RowChecks(audit: self, rules: rules, options: options)
        var active = 0
        let usersPart = { [self] in
            // Accounts: whose user does not exist, and each user's first credential account (the one diagnose checks).
            var credential = [Int32](repeating: -1, count: nUsers)
            for j in 0..<accounts.userHash.count {
                guard let u = userIndex[accounts.userHash[j]] else {
                    if checkRows.contains("ba.account.orphan"),
                       rowChecks.fails("ba.account.orphan", key: 0, { RowChecks.pointing("account", toExistingUser: false) }) {
                        found.addRow("ba.account.orphan", id: accounts.ids[j])
                    }
                    continue
                }
                if accounts.credential[j] && credential[Int(u)] < 0 { credential[Int(u)] = Int32(j) }
            }

            // App rows: the link field as diagnose detects it, then who owns each row.
            linkField = detectLink(app: app, users: users)
            var legacyOwner = KeyMap(capacity: linkField == Config.legacyLink ? nUsers : 0)
            if linkField == Config.legacyLink {
                for i in 0..<nUsers where users.legacyApp[i] != 0 { legacyOwner.insertIfAbsent(users.legacyApp[i], Int32(i)) }
            }
            let linkColumn: [UInt64]? = {
                if let k = Config.linkCandidates.firstIndex(of: linkField) { return app.links[k] }
                if !app.configuredLink.isEmpty { return app.configuredLink }
                return nil
            }()
            // A user's app rows, as diagnose finds them: rows with the user's email, plus rows linked to the user
            // under another email.
            // Per group (by its first user): app rows with the group's email, and the first of them.
            var emailRows = [Int32](repeating: 0, count: nUsers)
            var firstRowOfGroup = [Int32](repeating: -1, count: nUsers)
            var linkedRows = [Int32](repeating: 0, count: nUsers)
            var linked = [Bool](repeating: false, count: nUsers)
            for r in 0..<app.idHash.count {
                let emailGroup = keys.group(ofEmail: app.folded[r])
                let byEmail = emailGroup.map { Int32($0) }
                var byLink: Int32?
                switch linkField {
                case "email":
                    byLink = byEmail
                case Config.legacyLink:
                    byLink = legacyOwner[app.idHash[r]]
                default:
                    let target = linkColumn?[r] ?? 0
                    byLink = target == 0 ? nil : userIndex[target]
                }
                if let owner = byLink { linked[Int(owner)] = true }
                if byLink == nil && byEmail == nil, checkRows.contains("app.user.orphan"),
                   rowChecks.fails("app.user.orphan", key: 0, { RowChecks.appRow(owned: false, config: config) }) {
                    found.addRow("app.user.orphan", id: app.ids[r])
                }
                if let g = emailGroup {
                    emailRows[g] += 1
                    if firstRowOfGroup[g] < 0 { firstRowOfGroup[g] = Int32(r) }
                }
                if let owner = byLink, users.folded[Int(owner)] != app.folded[r] { linkedRows[Int(owner)] += 1 }
            }
            let appCount = (0..<nUsers).map { linkedRows[$0] + (keys.group[$0] < 0 ? 0 : emailRows[Int(keys.group[$0])]) }

            // The per-user checks, decided by the rules over each distinct profile (AuditPerUser.swift), counted in
            // table order.
            let disabled = Set(config.disable.map(\.rule))
            let perUser = Set(rules.rules(for: .audit).map(\.id)).subtracting(ExportAudit.rowChecks).subtracting(["ba.jwks.decrypts"])
                .subtracting(rules.customIds)
                .subtracting(disabled)
            if !perUser.isEmpty {
                var verdictsByProfile: [UInt32: [String]] = [:]
                let order = rules.rules(for: .audit).map(\.id).filter(perUser.contains)
                var kindCounts: [String: Int] = [:]
                var twoFactorOwners = KeyMap(capacity: twoFactors?.count ?? 0)
                for owner in twoFactors ?? [] { twoFactorOwners.insertIfAbsent(owner, 1) }
                var lastCode = UInt32.max, failing: [String] = []
                for i in 0..<nUsers {
                    let c = credential[i]
                    let shares = keys.sharing(i) > 1
                    let code = UserProfile(
                        emailNormalized: users.normalized[i], sharesEmail: shares,
                        normalizedTwin: shares && users.normalized[Int(keys.primary[Int(keys.group[i])])],
                        credentialKind: c < 0 ? nil : accounts.kind[Int(c)], verified: users.verified[i], banned: users.banned[i],
                        banExpires: users.banExpires[i], twoFactorEnabled: users.twoFactorEnabled[i],
                        twoFactorRow: twoFactorOwners[users.idHash[i]] != nil, appRows: UInt8(min(appCount[i], 2)), linked: linked[i]).code
                    if code != lastCode {
                        lastCode = code
                        if let known = verdictsByProfile[code] {
                            failing = known
                        } else {
                            let v = verdicts(UserProfile(code: code), rules: rules, ids: perUser, linkField: linkField,
                                             kindSamples: accounts.kindSamples, options: options)
                            failing = order.filter(v.contains)
                            verdictsByProfile[code] = failing
                        }
                    }
                    for rule in failing {
                        switch rule {
                        case "ba.account.password-format" where c >= 0:
                            kindCounts[ExportAudit.kinds[Int(accounts.kind[Int(c)])], default: 0] += 1
                            found.add(rule, user: i, id: accounts.ids[Int(c)])
                        case "ba.user.unique":
                            inGroups += 1
                            found.list(rule, users.ids[i])
                            if options.trackUsers { found.owners[rule, default: []].insert(Int32(i)) }
                            if reported.insert(users.folded[i]).inserted {
                                if (keys.exactCount[users.exact[i]] ?? 0) > 1 { exactGroups += 1 } else { caseGroups += 1 }
                                found.count(rule, example: Email.normalize(users.emails[i]))
                            }
                        case "app.user.link":
                            let first = keys.group[i] < 0 ? -1 : firstRowOfGroup[Int(keys.group[i])]
                            found.add(rule, user: i, id: first < 0 ? nil : app.ids[Int(first)])
                        default:
                            found.add(rule, user: i)
                        }
                    }
                }
                if !kindCounts.isEmpty { found.details["ba.account.password-format"] = kindCounts }
            }
            found.details["ba.user.unique"] = ["exactDuplicateGroups": exactGroups, "caseVariantGroups": caseGroups, "usersInGroups": inGroups]

            // ba.jwks.decrypts: the newest key with the Convex env's secret, as diagnose checks it.
            if let jwks, !jwks.isEmpty, !rules.customIds.contains("ba.jwks.decrypts"), let result = jwksResult(jwks, rules: rules, options: options) {
                switch result.status {
                case .skip: skipped.insert(result.rule)
                case .fail, .warn:
                    found.addRow(result.rule, id: result.evidence["keyId"]?.stringValue ?? "newest key")
                    found.details[result.rule] = ["keys": jwks.count]
                default: break
                }
            }
        }
        let rowsPart = { [self] in
            func primary(_ emailKey: UInt64) -> Int32? { primaryUser(emailKey) }
            // app.convex-auth: Convex Auth accounts; the person is whoever has the email, or the app row the account's
            // user is.
            if let convexAuth, checkRows.contains("app.convex-auth") {
                var appOwner = KeyMap(capacity: app.idHash.count)
                for r in 0..<app.idHash.count {
                    if let u = primary(app.folded[r]) { appOwner.insertIfAbsent(app.idHash[r], u) }
                }
                var withUser = 0, password = 0
                for k in 0..<convexAuth.ids.count {
                    let owner = primary(convexAuth.email[k]) ?? appOwner[convexAuth.user[k]]
                    if owner != nil { withUser += 1 }
                    if convexAuth.password[k] { password += 1 }
                    let (isPassword, hasUser) = (convexAuth.password[k], owner != nil)
                    if rowsOnly.fails("app.convex-auth", key: (isPassword ? 2 : 0) | (hasUser ? 1 : 0), {
                        RowChecks.convexAuthAccount(password: isPassword, withUser: hasUser)
                    }) {
                        rowFound.addRow("app.convex-auth", id: convexAuth.ids[k], owner: owner)
                    }
                }
                rowFound.details["app.convex-auth"] = ["withBetterAuthUser": withUser, "withoutBetterAuthUser": convexAuth.ids.count - withUser,
                                                    "passwordAccounts": password]
            }

            // Sessions: of missing users; active and expired.
            active = 0
            let checkSessions = checkRows.contains("ba.session.state")
            var missingUserFails: Bool?
            for k in 0..<sessions.userHash.count {
                if sessions.active[k] { active += 1 }
                if checkSessions && userIndex[sessions.userHash[k]] == nil {
                    if missingUserFails == nil {
                        missingUserFails = rowsOnly.fails("ba.session.state", key: 0) { RowChecks.pointing("session", toExistingUser: false) }
                    }
                    if missingUserFails == true { rowFound.addRow("ba.session.state", id: sessions.ids[k]) }
                }
            }
            rowFound.details["ba.session.state"] = ["active": active, "expired": sessions.userHash.count - active]

            // The dates of every Better Auth row.
            if checkRows.contains("data.timestamps") {
                for i in rowsOnly.failingDates("user", users.stamps) { rowFound.addRow("data.timestamps", id: users.ids[i], owner: Int32(i)) }
                for j in rowsOnly.failingDates("account", accounts.stamps) {
                    rowFound.addRow("data.timestamps", id: accounts.ids[j], owner: userIndex[accounts.userHash[j]])
                }
                for k in rowsOnly.failingDates("session", sessions.stamps) {
                    rowFound.addRow("data.timestamps", id: sessions.ids[k], owner: userIndex[sessions.userHash[k]])
                }
            }
        }
        try Parallel.run([usersPart, rowsPart])
        found.merge(rowFound)

        // The team's own audit rules, evaluated over each user's facts as diagnose builds them.
        let disabledIds = Set(config.disable.map(\.rule))
        let custom = rules.rules(for: .audit).filter { rules.customIds.contains($0.id) && !disabledIds.contains($0.id) }
        if !custom.isEmpty {
            try evaluateCustom(custom, rules: rules, options: options, decoder: decoder, userIndex: userIndex, into: &found)
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
