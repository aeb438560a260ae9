import AuthDoctorCore
import Foundation

/// The dates of a Better Auth row as the table scans keep them: per date field, its type and its decimal order of
/// magnitude (one byte), eight fields in a UInt64. `data.timestamps` decides a row by evaluating its own expression
/// over a stand-in row holding a representative value of each class (`representative`), so the thresholds live in
/// the rule file only. A representative decides exactly for any rule that tests types, `null`, and comparisons with
/// powers of ten (the built-in rule's 1e11 and 1e14); the `RowChecks` tests check that over planted values. A team rule
/// that replaces `data.timestamps` with finer thresholds is evaluated over whole rows instead (custom audit rules).
struct StampProfile {
    /// Better Auth's date fields (better-auth-facts.md §2), in the order of their bytes.
    static let fields = ["createdAt", "updatedAt", "expiresAt", "banExpires", "accessTokenExpiresAt", "refreshTokenExpiresAt"]

    static let missing: UInt8 = 0
    static let null: UInt8 = 1
    /// A value no class stands for (a list, a map, bytes): the row is decided on its own values.
    static let unclassified: UInt8 = 0xFF
    static let intFlag: UInt8 = 0x80

    /// The class of a scanned field; `nil` when the value must be decoded first (a nested value).
    @inline(__always)
    static func code(_ f: ScannedField) -> UInt8? {
        switch f {
        case .missing: return missing
        case .null: return null
        case .bool(let b): return b ? 2 : 3
        case .string: return 4
        case .number(let d): return number(d)
        case .nested: return nil
        }
    }

    /// The class of a decoded value.
    static func code(_ v: Value?) -> UInt8 {
        switch v {
        case nil: return missing
        case .null?: return null
        case .bool(let b)?: return b ? 2 : 3
        case .string?: return 4
        case .double(let d)?: return number(d)
        case .int(let i)?: return intFlag | number(Double(i))
        default: return unclassified
        }
    }

    /// 5 negative, 6 zero, 7 between 0 and 1, 8 + 2e exactly 10^e, 9 + 2e strictly between 10^e and 10^(e+1)
    /// (e < 20), 48 from 1e20 on, 49 not finite.
    @inline(__always)
    static func number(_ d: Double) -> UInt8 {
        if !d.isFinite { return 49 }
        if d < 0 { return 5 }
        if d == 0 { return 6 }
        if d < 1 { return 7 }
        var p = 1.0, e: UInt8 = 0
        while e < 20 && p * 10 <= d {
            p *= 10
            e += 1
        }
        if e == 20 { return 48 }
        return d == p ? 8 + 2 * e : 9 + 2 * e
    }

    /// A value of the class (`nil`: the field is absent).
    static func representative(_ c: UInt8) -> Value? {
        switch c {
        case missing: return nil
        case null: return .null
        case 2: return .bool(true)
        case 3: return .bool(false)
        case 4: return .string("1970-01-01T00:00:00.000Z")
        default: break
        }
        let magnitude = c & ~intFlag
        let d: Double
        switch magnitude {
        case 5: d = -1
        case 6: d = 0
        case 7: d = 0.5
        case 48: d = 1e21
        case 49: d = .nan
        default:
            let e = Int(magnitude - 8) / 2
            var p = 1.0
            for _ in 0..<e { p *= 10 }
            d = magnitude % 2 == 0 ? p : 2 * p
        }
        if c & intFlag != 0, d.isFinite, d.magnitude < 9e18 { return .int(Int64(d)) }
        return .double(d)
    }

    /// The profile of a row's date fields, from the scanner's slots; `nil` when one of them is nested.
    @inline(__always)
    static func pack(_ slots: ArraySlice<ScannedField>) -> UInt64? {
        var packed: UInt64 = 0, shift: UInt64 = 0
        for f in slots {
            guard let c = code(f) else { return nil }
            packed |= UInt64(c) << shift
            shift += 8
        }
        return packed
    }

    /// The profile of a decoded row's date fields; `unclassified` fields make it `nil`.
    static func pack(_ row: Row) -> UInt64? {
        var packed: UInt64 = 0
        for (k, name) in fields.enumerated() {
            let c = code(row[name])
            if c == unclassified { return nil }
            packed |= UInt64(c) << (8 * UInt64(k))
        }
        return packed
    }

    /// The date fields of a row with the representative values of a profile.
    static func row(_ packed: UInt64) -> Row {
        var row: Row = [:]
        for (k, name) in fields.enumerated() { row[name] = representative(UInt8(truncatingIfNeeded: packed >> (8 * UInt64(k)))) }
        return row
    }
}

/// The dates of one table's rows: per row an index into the table's distinct profiles (a handful in real data), and
/// the decoded dates of the rare rows no profile stands for.
struct TableStamps {
    var palette: [UInt64] = []
    var index: [UInt16] = []
    private var known: [UInt64: UInt16] = [:]
    private var last: (packed: UInt64, at: UInt16)?
    /// Row index → its date fields, decoded.
    var exact: [Int: Row] = [:]

    var count: Int { index.count }

    @inline(__always)
    private mutating func append(_ packed: UInt64) {
        if let last, last.packed == packed {
            index.append(last.at)
            return
        }
        let at: UInt16
        if let k = known[packed] {
            at = k
        } else if palette.count <= Int(UInt16.max) {
            at = UInt16(palette.count)
            palette.append(packed)
            known[packed] = at
        } else {
            // More distinct profiles than an index holds (hostile data): the row keeps its representative dates.
            exact[index.count] = StampProfile.row(packed)
            index.append(0)
            return
        }
        last = (packed, at)
        index.append(at)
    }

    /// Records a row's dates from the scanner's slots; a nested date decodes the row (rare).
    mutating func add(_ slots: ArraySlice<ScannedField>, decoded: () -> Row?, config: Config, model: String, legacyTyped: Set<String>) {
        // A legacy export types int64 and bytes fields by the table's schema: their strings are decoded values.
        var typed = false
        if !legacyTyped.isEmpty {
            for (k, f) in zip(StampProfile.fields, slots) {
                if case .string = f, legacyTyped.contains(config.storedField(model, k)) { typed = true }
            }
        }
        if !typed, let p = StampProfile.pack(slots) {
            append(p)
            return
        }
        var dates: Row = [:]
        if let m = decoded() {
            let row = config.canonical(m, model: model)
            for name in StampProfile.fields { dates[name] = row[name] }
        }
        if let p = StampProfile.pack(dates) {
            append(p)
        } else {
            exact[index.count] = dates
            index.append(0)
        }
    }
}

extension ExportAudit {
    /// The checks decided per row rather than per user: each is the rule's own expression over a stand-in person
    /// holding one row of the kind (`RowChecks`); rows with the same key (what the scans and the join know of them)
    /// share the verdict.
    struct RowChecks {
        let audit: ExportAudit
        let rules: RuleSet
        let options: Options
        /// Checks that are disabled, replaced by a team's rule, or absent are not decided here.
        let active: Set<String>
        private var memo: [String: [UInt64: Bool]] = [:]

        init(audit: ExportAudit, rules: RuleSet, options: Options) {
            self.audit = audit
            self.rules = rules
            self.options = options
            let disabled = Set(audit.config.disable.map(\.rule))
            active = Set(rules.rules(for: .audit).map(\.id)).intersection(ExportAudit.rowChecks).subtracting(rules.customIds)
                .subtracting(disabled)
        }

        /// Whether the rule fails or warns for the stand-in person `data` (built only when the key is new).
        mutating func fails(_ rule: String, key: UInt64, _ data: () -> PersonData) -> Bool {
            if let known = memo[rule]?[key] { return known }
            let verdict = audit.decide(rule, data(), rules: rules, options: options)
            memo[rule, default: [:]][key] = verdict
            return verdict
        }

        /// The rows of a table of `model` whose dates fail `data.timestamps`, in table order.
        mutating func failingDates(_ model: String, _ stamps: TableStamps) -> [Int] {
            // Each distinct profile decided once.
            var paletteFails = [Bool]()
            for packed in stamps.palette {
                paletteFails.append(audit.decide("data.timestamps", Self.holding(model, StampProfile.row(packed)), rules: rules,
                                                 options: options))
            }
            var failing: [Int] = []
            let anyExact = !stamps.exact.isEmpty
            for i in 0..<stamps.count {
                if anyExact, let dates = stamps.exact[i] {
                    if audit.decide("data.timestamps", Self.holding(model, dates), rules: rules, options: options) { failing.append(i) }
                } else if paletteFails[Int(stamps.index[i])] {
                    failing.append(i)
                }
            }
            return failing
        }

        /// A stand-in person with one row of `model` (its user, or a user and the row), `fields` set on that row.
        static func holding(_ model: String, _ fields: Row) -> PersonData {
            var data = PersonData()
            var user = ExportAudit.standInUser
            switch model {
            case "user":
                for (k, v) in fields { user[k] = v }
            case "account":
                var row: Row = ["_id": .string("audit-account"), "userId": .string("audit-user"), "providerId": .string("credential"),
                                "accountId": .string("audit-user")]
                for (k, v) in fields { row[k] = v }
                data.accounts = [row]
            default:
                var row: Row = ["_id": .string("audit-session"), "userId": .string("audit-user")]
                for (k, v) in fields { row[k] = v }
                data.sessions = [row]
            }
            data.baUsers = [user]
            return data
        }

        /// A stand-in person whose row of `model` (an account or a session) names a user id that exists or not.
        static func pointing(_ model: String, toExistingUser exists: Bool) -> PersonData {
            let target = Value.string(exists ? "audit-user" : "audit-missing-user")
            return holding(model, model == "account" ? ["userId": target, "accountId": target] : ["userId": target])
        }

        /// A stand-in person for an app row: the row, and the Better Auth user it belongs to (by link or by email), if
        /// any.
        static func appRow(owned: Bool, config: Config) -> PersonData {
            var data = PersonData()
            if owned { data.baUsers = [ExportAudit.standInUser] }
            data.appUsers = [["_id": .string("audit-app-0"), config.emailField: .string(ExportAudit.standInEmail)]]
            return data
        }

        /// A stand-in person for a Convex Auth account: the row (a password account or another provider's), and the
        /// Better Auth user of the same person, if any.
        static func convexAuthAccount(password: Bool, withUser: Bool) -> PersonData {
            var data = PersonData()
            if withUser { data.baUsers = [ExportAudit.standInUser] }
            data.side.convexAuthTables = ["authAccounts"]
            data.side.convexAuthAccounts = [["_id": .string("audit-convex-auth-account"), "provider": .string(password ? "password" : "github"),
                                             "providerAccountId": .string(ExportAudit.standInEmail), "userId": .string("audit-app-0")]]
            return data
        }
    }

    /// The row-level checks (see `RowChecks`).
    static let rowChecks: Set<String> = ["ba.session.state", "data.timestamps", "app.convex-auth", "ba.account.orphan", "app.user.orphan"]

    /// The rules a set of rules needs walked before it (`requires`, transitively), with it.
    static func withRequirements(_ ids: Set<String>, in rules: RuleSet) -> [Rule] {
        var needed = ids
        var frontier = rules.rules.filter { ids.contains($0.id) }
        while let r = frontier.popLast() {
            for req in r.requires where needed.insert(req).inserted { if let q = rules.rule(req) { frontier.append(q) } }
        }
        return rules.rules.filter { needed.contains($0.id) }
    }

    /// Whether one rule fails or warns for a stand-in person, walked with what it requires, as diagnose walks it.
    func decide(_ rule: String, _ data: PersonData, rules: RuleSet, options: Options) -> Bool {
        let results = walk(data, ExportAudit.withRequirements([rule], in: rules), options: options)
        return results.contains { $0.rule == rule && ($0.status == .fail || $0.status == .warn) }
    }
}
