import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

/// DESIGN §13.6: audit and diagnose agree on every user of every fixture, user by user (by id).
@Suite struct Agreement {
    /// Rules that both engines report per user. `ba.session.state` counts sessions of missing users (they belong to
    /// no user), the orphans exist only in audit, and input/env/password-check rules only in diagnose.
    static let compared: Set<String> = [
        "ba.user.exists", "ba.user.email-normalized", "ba.user.unique", "ba.account.credential", "ba.account.password-format",
        "ba.user.email-verified", "ba.user.banned", "app.user.exists", "app.user.link", "app.user.unique", "data.timestamps",
        "ba.twofactor.state", "app.convex-auth",
    ]

    static let fixtureFiles: [String] = {
        let dir = repoRoot.appendingPathComponent("rules/fixtures")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }()

    @Test(arguments: fixtureFiles)
    func auditAgreesWithDiagnoseOnEveryUserOfEveryCase(_ file: String) throws {
        let path = repoRoot.appendingPathComponent("rules/fixtures/\(file)").path
        let fixture = try RuleFixture.load(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
        let rules = try RuleSet.builtIn()
        for c in fixture.cases where c.email != nil {
            let dir = try tempDir("agree")
            defer { try? FileManager.default.removeItem(at: dir) }
            try RuleFixture.materialize(c, in: dir)
            let audit = try ExportAudit.run(source: try ExportSource(path: dir.path, config: c.config, isProd: false), rules: rules,
                                            options: .init(examples: 1000, now: c.now, trackUsers: true))
            let userLines = (c.tables["\(c.config.component)/\(c.config.table("user"))"] ?? "").split(separator: "\n")
            for line in userLines {
                guard case .map(let u)? = try? JSONParser.parse(Data(line.utf8)), let uid = u["_id"]?.stringValue else { continue }
                // A user whose email is not text can be reached by no lookup: nothing to diagnose.
                guard let stored = u["email"]?.stringValue else { continue }
                let email = Email.normalize(stored)
                guard !email.isEmpty else { continue }
                let d = try Doctor.diagnose(email: email, source: try ExportSource(path: dir.path, config: c.config, isProd: false),
                                            options: .init(config: c.config, rules: rules, now: c.now))
                for r in d.report.results where r.status == .error && !r.rule.hasPrefix("env.") {
                    Issue.record("\(file) '\(c.name)': \(r.rule) could not check \(uid): \(r.message)")
                }
                // Diagnose looks at one user per email; the others of a duplicate group are its evidence.
                guard d.report.results.first(where: { $0.rule == "ba.user.exists" })?.evidence["userId"] == .string(uid) else { continue }
                for r in d.report.results where Agreement.compared.contains(r.rule) && (r.status == .pass || r.status == .fail || r.status == .warn) {
                    guard r.rule != "ba.user.exists" else { continue }
                    let inAudit = audit.affectedUsers[r.rule]?.contains(uid) ?? false
                    let failed = r.status != .pass
                    #expect(inAudit == failed, "\(file) '\(c.name)': user \(uid) \(r.rule): diagnose \(r.status.rawValue), audit \(inAudit ? "counts it" : "does not")")
                }
            }
        }
    }

    /// An email with bytes that are not UTF-8 is a malformed line for both engines (RFC 8259), never a lossy decode
    /// that one engine finds and the other does not.
    @Test func invalidUTF8IsMalformedForBoth() throws {
        let dir = try tempDir("utf8")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeExport(["_components/betterAuth/user": "", "_components/betterAuth/account": "", "_components/betterAuth/session": "",
                         "users": #"{"_id":"app_ada","authId":"u_ada","email":"ada@example.com"}"# + "\n"], in: dir)
        var line = Data(#"{"_id":"u_ada","email":"ada"#.utf8)
        line.append(0xFF)
        line.append(contentsOf: Data(#"@example.com","emailVerified":true,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"#.utf8) + Data([0x0A]))
        try line.write(to: dir.appendingPathComponent("_components/betterAuth/user/documents.jsonl"))
        let rules = try RuleSet.builtIn()
        let audit = try ExportAudit.run(source: try ExportSource(path: dir.path, config: Config(), isProd: false), rules: rules,
                                        options: .init(now: RuleFixture.defaultNow))
        #expect(audit.report.population?["baUsers"] == 0)
        #expect(audit.report.source.malformedLines == 1)
        let d = try Doctor.diagnose(email: "ada@example.com", source: try ExportSource(path: dir.path, config: Config(), isProd: false),
                                    options: .init(config: Config(), rules: rules, now: RuleFixture.defaultNow))
        #expect(d.report.verdict.rule == "ba.user.exists")
        #expect(!d.report.results.contains { $0.status == .error })
    }
}

/// DESIGN §13.6: what audit reports comes from the rule set: ids, order, titles, texts, severities, `disable`.
@Suite(.serialized) struct AuditFromRules {
    @Test func everyAuditRuleIsCountedAndNothingElse() throws {
        let r = try runCLI(["audit", "--export", demoExport, "--format", "json"])
        let findings = try JSONParser.parse(r.stdout)["findings"].listValue ?? []
        let ids = findings.compactMap { $0["rule"].stringValue }
        let rules = try RuleSet.builtIn().rules(for: .audit)
        #expect(ids == rules.map(\.id), "audit reports exactly the audit-mode rules, in step order")
        for (f, rule) in zip(findings, rules) {
            #expect(f["failTitle"] == .string(rule.failTitle))
            #expect(f["what"] == .string(rule.audit?.what ?? ""))
        }
        #expect(ids.contains("ba.account.orphan") && ids.contains("app.user.orphan"))
        #expect(!ids.contains("ba.user.exists"))
    }

    @Test func disableAppliesToAudit() throws {
        let dir = try tempDir("auditdisable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("auth-doctor.yaml")
        try Data("disable:\n  - rule: app.user.exists\n    reason: we have no users table\n".utf8).write(to: cfg)
        let r = try runCLI(["audit", "--export", demoExport, "--config", cfg.path, "--format", "json"])
        let v = try JSONParser.parse(r.stdout)
        #expect(!(v["findings"].listValue ?? []).contains { $0["rule"] == .string("app.user.exists") })
        #expect((v["notes"].listValue ?? []).contains(.string("rule app.user.exists is disabled in the config: we have no users table")))
        let list = try runCLI(["audit", "--export", demoExport, "--config", cfg.path, "--list", "app.user.exists"])
        #expect(list.exitCode == 64, "a disabled rule is not listable")
    }

    /// The demo's Better Auth users, by the email diagnose is run with.
    static let demoEmails = ["ada", "bob", "carol", "dave", "erin", "frank", "grace", "ivy", "admin"].map { "\($0)@example.com" }

    @Test func aCustomAuditRuleCountsWhatDiagnoseFails() throws {
        let dir = try tempDir("auditcustom")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A team rule over app fields: verified users must have an active subscription. Not every demo user has one.
        try Data("""
            id: app.user.plan
            step: 60
            title: Verified users have an active subscription
            modes: [diagnose, audit]
            requires: [app.user.exists]
            when: ba.user.emailVerified == true
            assert: app.user.subscriptionStatus == "active"
            message: "no active subscription"
            audit:
              what: verified users without an active subscription

            """.utf8).write(to: dir.appendingPathComponent("app.user.plan.yaml"))
        var failing: [String] = []
        for email in AuditFromRules.demoEmails {
            let r = try runCLI(["diagnose", email, "--export", demoExport, "--rules", dir.path, "--format", "json"])
            let result = try JSONParser.parse(r.stdout)["results"].listValue?.first { $0["rule"].stringValue == "app.user.plan" }
            if result?["status"].stringValue == "fail" { failing.append(email) }
        }
        #expect(!failing.isEmpty && failing.count < AuditFromRules.demoEmails.count, "the rule must split the demo: \(failing)")
        let audit = try runCLI(["audit", "--export", demoExport, "--rules", dir.path, "--format", "json", "--examples", "20"])
        let finding = try JSONParser.parse(audit.stdout)["findings"].listValue?.first { $0["rule"].stringValue == "app.user.plan" }
        #expect(finding?["count"] == .int(Int64(failing.count)), "\(audit.stdout)")
        #expect(Set((finding?["examples"].listValue ?? []).compactMap { $0.stringValue.map(Email.normalize) }) == Set(failing))
        #expect(finding?["what"].stringValue == "verified users without an active subscription")
        // --list takes it, and gives the users' ids.
        let list = try runCLI(["audit", "--export", demoExport, "--rules", dir.path, "--list", "app.user.plan"])
        #expect(list.exitCode == 0 && list.stdout.split(separator: "\n").count == failing.count, "\(list.stderr)")
        // disable applies to it as to the built-in rules.
        let cfgDir = try tempDir("auditcustomcfg")
        defer { try? FileManager.default.removeItem(at: cfgDir) }
        let cfg = cfgDir.appendingPathComponent("auth-doctor.yaml")
        try Data("disable:\n  - rule: app.user.plan\n    reason: subscriptions are optional this quarter\n".utf8).write(to: cfg)
        let disabled = try runCLI(["audit", "--export", demoExport, "--rules", dir.path, "--config", cfg.path, "--format", "json"])
        #expect(disabled.exitCode == 1, "\(disabled.stderr)")
        #expect(try JSONParser.parse(disabled.stdout)["findings"].listValue?.contains { $0["rule"].stringValue == "app.user.plan" } == false)
        let missing = try runCLI(["audit", "--export", demoExport, "--list", "nope.rule"])
        #expect(missing.exitCode == 64 && missing.stderr.contains("--list takes one of: ba.user.email-normalized"))
    }

    /// audit's per-user counts come from the rule text: the same built-in rule set with one assert changed counts
    /// differently, with no Swift predicate in between.
    @Test func theBuiltInPerUserChecksAreDecidedByTheRuleText() throws {
        var rules = try RuleSet.builtInRules()
        let i = try #require(rules.firstIndex { $0.id == "ba.user.email-verified" })
        let text = try String(contentsOf: repoRoot.appendingPathComponent("rules/ba.user.email-verified.yaml"), encoding: .utf8)
        let lenient = text.replacingOccurrences(of: "assert: ba.user.emailVerified == true",
                                                with: "assert: ba.user.emailVerified == true || ba.user.twoFactorEnabled != true")
        #expect(lenient != text)
        rules[i] = try RuleLoader.load(yaml: lenient, file: "rules/ba.user.email-verified.yaml")
        let source = { try ExportSource(path: demoExport, config: Config(), isProd: false) }
        func count(_ set: RuleSet) throws -> Int? {
            let result = try ExportAudit.run(source: try source(), rules: set, options: .init())
            return result.report.findings?.first { $0.rule == "ba.user.email-verified" }?.count
        }
        #expect(try count(RuleSet.builtIn()) == 1)
        #expect(try count(RuleSet(builtIn: rules)) == 0)
    }

    @Test func aRuleThatReplacesABuiltInOneCountsByItsOwnPredicate() throws {
        let dir = try tempDir("auditreplace")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The team's ba.user.email-verified: an unverified email is fine for users who signed in with GitHub.
        let builtIn = try String(contentsOf: repoRoot.appendingPathComponent("rules/ba.user.email-verified.yaml"), encoding: .utf8)
        let replaced = builtIn.replacingOccurrences(of: "\nassert:", with: "\nwhen: ba.user.name != \"Erin Hunter\"\nassert:")
        #expect(replaced != builtIn && !builtIn.contains("\nwhen:"))
        try Data(replaced.utf8).write(to: dir.appendingPathComponent("ba.user.email-verified.yaml"))
        let before = try runCLI(["audit", "--export", demoExport, "--format", "json"])
        let after = try runCLI(["audit", "--export", demoExport, "--rules", dir.path, "--format", "json"])
        func count(_ r: RunResult) throws -> Value? {
            try JSONParser.parse(r.stdout)["findings"].listValue?.first { $0["rule"].stringValue == "ba.user.email-verified" }?["count"]
        }
        #expect(try count(before) == .int(1))
        #expect(try count(after) == .int(0), "\(after.stdout)")
    }

}
