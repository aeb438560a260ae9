import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

/// The row-level checks of audit are decided by their rule files over stand-in rows (AuditRowChecks.swift): dates by
/// type and order of magnitude, orphans by whether the named user exists.
@Suite struct RowChecks {
    /// Dates around the rule's thresholds and of every type, each in its own user's row (uniform export values).
    static let dates: [(json: String, ok: Bool)] = [
        ("1763900000000.0", true), ("100000000000.0", false), ("100000000001.0", true), ("99999999999.0", false),
        ("99999999999999.0", true), ("100000000000000.0", false), ("100000000000000.5", false), ("1763900000.0", false),
        ("0.0", false), ("-1763900000000.0", false), ("0.25", false), ("1e300", false), ("\"2025-11-23T12:00:00.000Z\"", false),
        ("true", false), ("null", true), ("{\"$integer\":\"AAeisJoBAAA=\"}", true), ("{\"$integer\":\"AAAAAAAAAAA=\"}", false),
        ("[1763900000000.0]", false), ("{\"seconds\":1763900000}", false),
    ]

    @Test func datesAreDecidedByTheRuleAsDiagnoseDecidesThem() throws {
        let dir = try tempDir("dates")
        defer { try? FileManager.default.removeItem(at: dir) }
        var users = "", sessions = "", accounts = "", app = ""
        for (i, d) in Self.dates.enumerated() {
            users += #"{"_id":"u\#(i)","email":"p\#(i)@example.com","emailVerified":true,"createdAt":\#(d.json),"updatedAt":1763900000000.0}"# + "\n"
            // The same value as a session's expiresAt and an account's updatedAt of user i + 100 (fine dates otherwise).
            let j = i + 100
            users += #"{"_id":"u\#(j)","email":"p\#(j)@example.com","emailVerified":true,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n"
            sessions += #"{"_id":"s\#(j)","userId":"u\#(j)","token":"t\#(j)","expiresAt":\#(d.json),"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n"
            accounts += #"{"_id":"a\#(j)","userId":"u\#(j)","providerId":"github","accountId":"g\#(j)","createdAt":1763900000000.0,"updatedAt":\#(d.json)}"# + "\n"
            app += #"{"_id":"app\#(i)","authId":"u\#(i)","email":"p\#(i)@example.com"}"# + "\n"
            app += #"{"_id":"app\#(j)","authId":"u\#(j)","email":"p\#(j)@example.com"}"# + "\n"
        }
        try writeExport(["_components/betterAuth/user": users, "_components/betterAuth/session": sessions,
                         "_components/betterAuth/account": accounts, "users": app], in: dir)
        let rules = try RuleSet.builtIn()
        let now = RuleFixture.defaultNow
        let audit = try ExportAudit.run(source: try ExportSource(path: dir.path, config: Config(), isProd: false), rules: rules,
                                        options: .init(examples: 1000, now: now, trackUsers: true))
        let flagged = audit.affectedUsers["data.timestamps"] ?? []
        for (i, d) in Self.dates.enumerated() {
            for id in ["u\(i)", "u\(i + 100)"] {
                let diagnose = try Doctor.diagnose(email: "p\(id.dropFirst())@example.com",
                                                   source: try ExportSource(path: dir.path, config: Config(), isProd: false),
                                                   options: .init(config: Config(), rules: rules, now: now))
                let status = diagnose.report.results.first { $0.rule == "data.timestamps" }?.status
                #expect(status == (d.ok ? .pass : .warn), "diagnose, \(id) with \(d.json): \(String(describing: status))")
                #expect(flagged.contains(id) == !d.ok, "audit, \(id) with \(d.json): \(flagged.contains(id) ? "counted" : "not counted")")
            }
        }
        let expectedRows = Self.dates.filter { !$0.ok }.count * 3
        #expect(audit.report.findings?.first { $0.rule == "data.timestamps" }?.count == expectedRows)
    }

    /// A representative of a date's class decides the built-in rule exactly as the value does, for values all over
    /// the number line.
    @Test func aClassRepresentativeDecidesAsItsValues() throws {
        var values: [Value] = [.null, .string("x"), .bool(false), .int(1_763_900_000_000), .int(100_000_000_000), .int(-5), .int(0)]
        var x = 1e-3
        while x < 1e22 {
            for f in [1.0, 1.0000001, 2.5, 9.99999] { values += [.double(x * f), .double(-x * f)] }
            x *= 10
        }
        values += [.double(.infinity), .double(0), .double(1e11), .double(1e14), .double(1e11 + 1), .double(1e14 - 1)]
        let rules = try RuleSet.builtIn()
        let rule = try #require(rules.rule("data.timestamps"))
        func decided(_ v: Value) throws -> Bool {
            var data = PersonData()
            data.baUsers = [["_id": .string("u"), "email": .string("p@example.com"), "createdAt": v]]
            let facts = Facts.diagnose(email: "p@example.com", data: data, source: SourceInfo(kind: .none, location: ""), config: Config(),
                                       now: RuleFixture.defaultNow)
            let r = Engine(rules: ExportAudit.withRequirements([rule.id], in: rules)).run(facts).first { $0.rule == rule.id }
            return try #require(r).status == .pass
        }
        for v in values {
            let code = StampProfile.code(v)
            let rep = try #require(StampProfile.representative(code))
            #expect(try decided(v) == decided(rep), "\(v) (class \(code)) and its representative \(rep)")
        }
    }

    /// Sessions and accounts whose user does not exist are counted by their rules; a replaced or disabled rule is
    /// not decided by the stand-ins.
    @Test func orphansAreCountedByTheirRules() throws {
        let dir = try tempDir("orphans")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeExport([
            "_components/betterAuth/user": #"{"_id":"u1","email":"ada@example.com","emailVerified":true,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n",
            "_components/betterAuth/session": #"{"_id":"s1","userId":"u1","expiresAt":1763900000000.0,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n"
                + #"{"_id":"s2","userId":"gone","expiresAt":1763900000000.0,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n",
            "_components/betterAuth/account": #"{"_id":"a1","userId":"gone","providerId":"github","accountId":"1","createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n",
            "users": #"{"_id":"app1","authId":"u1","email":"ada@example.com"}"# + "\n" + #"{"_id":"app2","authId":"gone","email":"bob@example.com"}"# + "\n",
        ], in: dir)
        let rules = try RuleSet.builtIn()
        func counts(_ config: Config = Config()) throws -> [String: Int] {
            let audit = try ExportAudit.run(source: try ExportSource(path: dir.path, config: config, isProd: false), rules: rules,
                                            options: .init(now: RuleFixture.defaultNow))
            return Dictionary(uniqueKeysWithValues: (audit.report.findings ?? []).map { ($0.rule, $0.count) })
        }
        let all = try counts()
        #expect(all["ba.session.state"] == 1 && all["ba.account.orphan"] == 1 && all["app.user.orphan"] == 1)
        let config = try Config.parse(yaml: "disable:\n  - rule: ba.account.orphan\n    reason: remapped nightly\n", file: "auth-doctor.yaml")
        let disabled = try counts(config)
        #expect(disabled["ba.account.orphan"] == nil && disabled["ba.session.state"] == 1)
    }
}
