import AuthDoctorCore
import Foundation

/// Phase 2 of `audit`, after the read: the join of the tables' indexes, in two parts that run at once and count
/// disjoint rules.
extension ExportAudit {
    /// The users' checks: accounts (orphans, each user's credential account), app rows (link, orphans, how many per
    /// user), the per-user rules over profiles (AuditPerUser.swift) and the jwks keys. Returns the link field and
    /// the rules that were skipped.
    func countUsers(_ t: ReadTables, rules: RuleSet, options: Options, into found: inout Findings) -> (linkField: String, skipped: Set<String>) {
        let (users, app, accounts, keys, twoFactors, jwks) = (t.users, t.app, t.accounts, t.keys, t.twoFactors, t.jwks)
        let nUsers = users.idHash.count
        let userIndex = keys.userIndex
        var rowChecks = RowChecks(audit: self, rules: rules, options: options)
        let checkRows = rowChecks.active
        var skipped = Set<String>()
        // ba.user.unique is counted by group (exact and case-variant), every user of a group listed.
        var exactGroups = 0, caseGroups = 0, inGroups = 0
        var reported = Set<UInt64>()
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
        let linkField = detectLink(app: app, users: users)
        var legacyOwner = KeyMap(capacity: linkField == Config.legacyLink ? nUsers : 0)
        if linkField == Config.legacyLink {
            for i in 0..<nUsers where users.legacyApp[i] != 0 { legacyOwner.insertIfAbsent(users.legacyApp[i], Int32(i)) }
        }
        let linkColumn: [UInt64]? = {
            if let k = Config.linkCandidates.firstIndex(of: linkField) { return app.links[k] }
            if !app.configuredLink.isEmpty { return app.configuredLink }
            return nil
        }()
        // A user's app rows, as diagnose finds them: rows with the user's email (counted per group, by the group's
        // first user, with the first of them), plus rows linked to the user under another email.
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
        return (linkField, skipped)
    }

    /// The row checks of sessions (of missing users; active and expired), dates and Convex Auth accounts (decided
    /// by their rules over stand-in rows, AuditRowChecks.swift). Returns how many sessions are active.
    func countRows(_ t: ReadTables, rules: RuleSet, options: Options, into found: inout Findings) -> Int {
        let (users, app, accounts, sessions, keys, convexAuth) = (t.users, t.app, t.accounts, t.sessions, t.keys, t.convexAuth)
        let userIndex = keys.userIndex
        var rowChecks = RowChecks(audit: self, rules: rules, options: options)
        let checkRows = rowChecks.active
        // app.convex-auth: Convex Auth accounts; the person is whoever has the email, or the app row the account's
        // user is.
        if let convexAuth, checkRows.contains("app.convex-auth") {
            var appOwner = KeyMap(capacity: app.idHash.count)
            for r in 0..<app.idHash.count {
                if let u = keys.primaryUser(ofEmail: app.folded[r]) { appOwner.insertIfAbsent(app.idHash[r], u) }
            }
            var withUser = 0, password = 0
            for k in 0..<convexAuth.ids.count {
                let owner = keys.primaryUser(ofEmail: convexAuth.email[k]) ?? appOwner[convexAuth.user[k]]
                if owner != nil { withUser += 1 }
                if convexAuth.password[k] { password += 1 }
                let (isPassword, hasUser) = (convexAuth.password[k], owner != nil)
                if rowChecks.fails("app.convex-auth", key: (isPassword ? 2 : 0) | (hasUser ? 1 : 0), {
                    RowChecks.convexAuthAccount(password: isPassword, withUser: hasUser)
                }) {
                    found.addRow("app.convex-auth", id: convexAuth.ids[k], owner: owner)
                }
            }
            found.details["app.convex-auth"] = ["withBetterAuthUser": withUser, "withoutBetterAuthUser": convexAuth.ids.count - withUser,
                                                "passwordAccounts": password]
        }

        // Sessions: of missing users; active and expired.
        var active = 0
        let checkSessions = checkRows.contains("ba.session.state")
        var missingUserFails: Bool?
        for k in 0..<sessions.userHash.count {
            if sessions.active[k] { active += 1 }
            if checkSessions && userIndex[sessions.userHash[k]] == nil {
                if missingUserFails == nil {
                    missingUserFails = rowChecks.fails("ba.session.state", key: 0) { RowChecks.pointing("session", toExistingUser: false) }
                }
                if missingUserFails == true { found.addRow("ba.session.state", id: sessions.ids[k]) }
            }
        }
        found.details["ba.session.state"] = ["active": active, "expired": sessions.userHash.count - active]

        // The dates of every Better Auth row.
        if checkRows.contains("data.timestamps") {
            for i in rowChecks.failingDates("user", users.stamps) { found.addRow("data.timestamps", id: users.ids[i], owner: Int32(i)) }
            for j in rowChecks.failingDates("account", accounts.stamps) {
                found.addRow("data.timestamps", id: accounts.ids[j], owner: userIndex[accounts.userHash[j]])
            }
            for k in rowChecks.failingDates("session", sessions.stamps) {
                found.addRow("data.timestamps", id: sessions.ids[k], owner: userIndex[sessions.userHash[k]])
            }
        }
        return active
    }
}
