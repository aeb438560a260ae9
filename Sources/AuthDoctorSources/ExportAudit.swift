import AuthDoctorCore
import Foundation

/// 64-bit FNV-1a over bytes: compact keys for ids and emails in the audit's indexes. With a million users the
/// chance that two different ids share a key is about 3 in 100 million.
@inline(__always)
func fnv(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3 }
    return h == 0 ? 1 : h
}

func fnv(_ s: String) -> UInt64 {
    var s = s
    return s.withUTF8 { fnv($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
}

/// An open-addressing map from the audit's 64-bit keys (already well mixed) to an Int32: several times faster
/// than a Dictionary, whose SipHash would hash the hash again.
struct KeyMap {
    private var keys: [UInt64]
    private var values: [Int32]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
        return i
    }

    /// The value for `key` (0 is never a key: `fnv` avoids it), or nil.
    subscript(key: UInt64) -> Int32? {
        guard key != 0 else { return nil }
        let i = slot(key)
        return keys[i] == key ? values[i] : nil
    }

    /// Sets the value if the key is new; returns whether it was.
    @discardableResult
    mutating func insertIfAbsent(_ key: UInt64, _ value: Int32) -> Bool {
        guard key != 0 else { return false }
        let i = slot(key)
        if keys[i] == key { return false }
        keys[i] = key
        values[i] = value
        return true
    }

    mutating func increment(_ key: UInt64) {
        guard key != 0 else { return }
        let i = slot(key)
        if keys[i] == key { values[i] += 1 } else { keys[i] = key; values[i] = 1 }
    }
}

/// Strings kept compactly (one byte buffer), for examples and `--list`.
final class StringArena {
    var bytes: [UInt8] = []
    var starts: [UInt32] = []

    var count: Int { starts.count }

    func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        starts.append(UInt32(bytes.count))
        bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
    }

    func append(_ s: String) {
        starts.append(UInt32(bytes.count))
        bytes.append(contentsOf: s.utf8)
    }

    subscript(i: Int) -> String {
        let start = Int(starts[i])
        let end = i + 1 < starts.count ? Int(starts[i + 1]) : bytes.count
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

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

    // MARK: Phase 1: one pass per table, in parallel.

    struct Users {
        var idHash: [UInt64] = []
        let ids = StringArena()
        let emails = StringArena()
        var exact: [UInt64] = []
        var folded: [UInt64] = []
        var normalized: [Bool] = []
        var verified: [Bool] = []
        var banned: [Bool] = []
        var timestampsOK: [Bool] = []
        var legacyApp: [UInt64] = []
        var twoFactorEnabled: [Bool] = []
    }

    struct AppRows {
        var idHash: [UInt64] = []
        let ids = StringArena()
        var folded: [UInt64] = []
        /// Per link candidate (authId, betterAuthId, authUserId, userId, tokenIdentifier), the target's key or 0.
        var links: [[UInt64]] = Array(repeating: [], count: Config.linkCandidates.count)
        var configuredLink: [UInt64] = []
    }

    struct Accounts {
        let ids = StringArena()
        var userHash: [UInt64] = []
        var credential: [Bool] = []
        /// Hash kind of a credential account's password (index into `kinds`).
        var kind: [UInt8] = []
        var timestampsOK: [Bool] = []
    }

    struct Sessions {
        let ids = StringArena()
        var userHash: [UInt64] = []
        var active: [Bool] = []
        var timestampsOK: [Bool] = []
    }

    static let kinds: [String] = HashKind.allCases.map(\.rawValue) + ["null"]

    /// Reads every line of a table through the field scanner.
    func readTable(_ path: String, fields: [String], _ row: (UnsafeRawBufferPointer, [ScannedField]) -> Void) throws(SourceError) {
        let scanner = FieldScanner(fields: fields)
        var slots = [ScannedField](repeating: .missing, count: fields.count)
        var lines = 0
        var bad = 0
        var badAt: [Int] = []
        func line(_ l: UnsafeRawBufferPointer) {
            lines += 1
            if l.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { lines -= 1; return }
            if scanner.scan(l, into: &slots) {
                row(l, slots)
            } else {
                bad += 1
                if badAt.count < 5 { badAt.append(lines) }
            }
        }
        try withoutActuallyEscaping(line) { line throws(SourceError) in
            let splitter = LineRegions { piece in
                switch piece {
                case .region(let r): LineRegions.forEachLine(r, line)
                case .line(let l, _): line(l)
                case .overlong:
                    lines += 1
                    bad += 1
                    if badAt.count < 5 { badAt.append(lines) }
                }
            }
            var counted = 0
            try tables.stream(path) { (data: Data) throws(SourceError) in
                data.withUnsafeBytes { splitter.feed($0) }
                try self.countRows(lines - counted, path: path)
                counted = lines
            }
            splitter.finish()
        }
        lock.lock()
        malformed[path] = (bad, badAt)
        lock.unlock()
    }

    /// Adds rows to the total over every table; past `maxRows` the audit stops before its indexes outgrow memory.
    func countRows(_ n: Int, path: String) throws(SourceError) {
        lock.lock()
        rowsRead += n
        let total = rowsRead
        lock.unlock()
        guard total > maxRows else { return }
        let mb = maxRows / 1_000_000 * ExportAudit.bytesPerRow
        throw SourceError("\(path): the export holds more than \(maxRows) rows in the tables audit reads (stopped in this one). audit keeps about \(ExportAudit.bytesPerRow) MB per million rows, so the limit keeps it near \(max(mb, 1)) MB. If this machine has the memory, raise the limit with --max-rows N (e.g. --max-rows \(maxRows * 4)).")
    }

    /// A string field's bytes, decoded when it has escapes.
    static func withString<T>(_ line: UnsafeRawBufferPointer, _ f: ScannedField, _ body: (UnsafePointer<UInt8>, Int) -> T) -> T? {
        guard case .string(let s, let e, let escaped) = f, let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        if !escaped { return body(base + s, e - s) }
        let quoted = UnsafeRawBufferPointer(rebasing: line[(s - 1)...e])
        guard case .string(let text)? = try? JSONParser.parse(quoted) else { return nil }
        var t = text
        return t.withUTF8 { body($0.baseAddress ?? base, $0.count) }
    }

    static func hashString(_ line: UnsafeRawBufferPointer, _ f: ScannedField) -> UInt64 {
        withString(line, f) { fnv($0, $1) } ?? 0
    }

    /// The Better Auth user id after the last `|` of a tokenIdentifier.
    static func tokenTarget(_ line: UnsafeRawBufferPointer, _ f: ScannedField) -> UInt64 {
        withString(line, f) { p, n -> UInt64 in
            var i = n - 1
            while i >= 0 && p[i] != UInt8(ascii: "|") { i -= 1 }
            return i < 0 ? 0 : fnv(p + i + 1, n - i - 1)
        } ?? 0
    }

    /// (exact key, normalized key, is normalized) of a stored email, as `Email.normalize` defines it.
    static func emailKeys(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64, Bool) {
        let exact = fnv(p, n)
        var ascii = true
        for i in 0..<n where p[i] >= 0x80 { ascii = false; break }
        if !ascii {
            let s = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
            let norm = Email.normalize(s)
            return (exact, fnv(norm), norm == s)
        }
        var lo = 0, hi = n
        // The whitespace Email.normalize trims, in ASCII: a decoded escape (`\t`, `\n`) is whitespace too.
        @inline(__always) func space(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        while lo < hi && space(p[lo]) { lo += 1 }
        while hi > lo && space(p[hi - 1]) { hi -= 1 }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var changed = lo != 0 || hi != n
        for i in lo..<hi {
            var b = p[i]
            if b >= 65 && b <= 90 { b |= 0x20; changed = true }
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return (exact, h == 0 ? 1 : h, !changed)
    }

    static func timestampsOK(_ slots: ArraySlice<ScannedField>) -> Bool {
        for f in slots {
            switch f {
            case .missing, .null: continue
            case .number(let d): if !(d > 1e11 && d < 1e14) { return false }
            default: return false
            }
        }
        return true
    }

    func readUsers() throws(SourceError) -> Users {
        var u = Users()
        let fields = stored("user", ["_id", "email", "emailVerified", "banned", "banExpires", "userId", "createdAt", "updatedAt", "expiresAt",
                                     "twoFactorEnabled"])
        try readTable(config.exportPath("user"), fields: fields) { line, s in
            guard ExportAudit.withString(line, s[0], { p, n in u.ids.append(p, n) }) != nil else { return }
            u.idHash.append(ExportAudit.hashString(line, s[0]))
            let keys = ExportAudit.withString(line, s[1]) { p, n -> (UInt64, UInt64, Bool) in
                u.emails.append(p, n)
                return ExportAudit.emailKeys(p, n)
            }
            if keys == nil { u.emails.append("") }
            u.exact.append(keys?.0 ?? 0)
            u.folded.append(keys?.1 ?? 0)
            u.normalized.append(keys?.2 ?? false)
            u.verified.append(s[2] == .bool(true))
            var banned = s[3] == .bool(true)
            if banned, case .number(let until) = s[4], until < nowMs { banned = false }
            u.banned.append(banned)
            u.legacyApp.append(ExportAudit.hashString(line, s[5]))
            u.timestampsOK.append(ExportAudit.timestampsOK(s[6...8]) && ExportAudit.timestampsOK(s[4...4]))
            u.twoFactorEnabled.append(s[9] == .bool(true))
        }
        return u
    }

    func readApp() throws(SourceError) -> AppRows {
        var a = AppRows()
        let linkFields = Config.linkCandidates
        let configured = ["auto", "email", Config.legacyLink].contains(config.linkField) || linkFields.contains(config.linkField) ? nil : config.linkField
        let fields = ["_id", config.emailField] + linkFields + (configured.map { [$0] } ?? [])
        try readTable("\(config.appTable)/documents.jsonl", fields: fields) { line, s in
            guard ExportAudit.withString(line, s[0], { p, n in a.ids.append(p, n) }) != nil else { return }
            a.idHash.append(ExportAudit.hashString(line, s[0]))
            a.folded.append(ExportAudit.withString(line, s[1]) { ExportAudit.emailKeys($0, $1).1 } ?? 0)
            for (k, name) in linkFields.enumerated() {
                a.links[k].append(name == "tokenIdentifier" ? ExportAudit.tokenTarget(line, s[2 + k]) : ExportAudit.hashString(line, s[2 + k]))
            }
            if configured != nil { a.configuredLink.append(ExportAudit.hashString(line, s[2 + linkFields.count])) }
        }
        return a
    }

    func readAccounts() throws(SourceError) -> Accounts {
        var a = Accounts()
        let fields = stored("account", ["_id", "userId", "providerId", "password", "createdAt", "updatedAt", "accessTokenExpiresAt", "refreshTokenExpiresAt"])
        let nullKind = UInt8(ExportAudit.kinds.count - 1)
        try readTable(config.exportPath("account"), fields: fields) { line, s in
            guard ExportAudit.withString(line, s[0], { p, n in a.ids.append(p, n) }) != nil else { return }
            a.userHash.append(ExportAudit.hashString(line, s[1]))
            let credential = ExportAudit.withString(line, s[2]) { p, n in
                n == 10 && memcmp(p, "credential", 10) == 0
            } ?? false
            a.credential.append(credential)
            var kind = nullKind
            if credential, let k = ExportAudit.withString(line, s[3], { p, n in
                HashKind.classify(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
            }) {
                kind = UInt8(HashKind.allCases.firstIndex(of: k) ?? 0)
            }
            a.kind.append(kind)
            a.timestampsOK.append(ExportAudit.timestampsOK(s[4...5]))
        }
        return a
    }

    func readSessions() throws(SourceError) -> Sessions {
        var x = Sessions()
        let fields = stored("session", ["_id", "userId", "expiresAt", "createdAt", "updatedAt"])
        let now = nowMs
        try readTable(config.exportPath("session"), fields: fields) { line, s in
            guard ExportAudit.withString(line, s[0], { p, n in x.ids.append(p, n) }) != nil else { return }
            x.userHash.append(ExportAudit.hashString(line, s[1]))
            if case .number(let e) = s[2] { x.active.append(e > now) } else { x.active.append(false) }
            x.timestampsOK.append(ExportAudit.timestampsOK(s[2...4]))
        }
        return x
    }

    /// Better Auth field names as stored (`fields:` in auth-doctor.yaml).
    func stored(_ model: String, _ fields: [String]) -> [String] { fields.map { config.storedField(model, $0) } }

    /// The owners (`userId` keys) of the `twoFactor` rows; nil without the table.
    func readTwoFactors() throws(SourceError) -> Set<UInt64>? {
        guard tables.has(config.exportPath("twoFactor")) else { return nil }
        var owners = Set<UInt64>()
        try readTable(config.exportPath("twoFactor"), fields: stored("twoFactor", ["userId"])) { line, s in
            owners.insert(ExportAudit.hashString(line, s[0]))
        }
        return owners
    }

    /// Convex Auth's `authAccounts`: per row its id, the normalized key of `providerAccountId` (0 unless it is an
    /// email), the key of `userId`, and whether it is a password account.
    struct ConvexAuthAccounts {
        let ids = StringArena()
        var email: [UInt64] = []
        var user: [UInt64] = []
        var password: [Bool] = []
    }

    func readConvexAuthAccounts() throws(SourceError) -> ConvexAuthAccounts? {
        guard tables.has("authAccounts/documents.jsonl") else { return nil }
        var a = ConvexAuthAccounts()
        try readTable("authAccounts/documents.jsonl", fields: ["_id", "providerAccountId", "userId", "provider"]) { line, s in
            guard ExportAudit.withString(line, s[0], { p, n in a.ids.append(p, n) }) != nil else { return }
            a.email.append(ExportAudit.withString(line, s[1]) { p, n in ExportAudit.emailKeys(p, n).1 } ?? 0)
            a.user.append(ExportAudit.hashString(line, s[2]))
            a.password.append(ExportAudit.withString(line, s[3]) { p, n in n == 8 && memcmp(p, "password", 8) == 0 } ?? false)
        }
        return a
    }

    /// Every `jwks` row (a handful), parsed; nil without the table.
    func readJWKS() throws(SourceError) -> [Row]? {
        let path = config.exportPath("jwks")
        guard tables.has(path) else { return nil }
        var text = Data()
        try tables.stream(path) { (data: Data) throws(SourceError) in
            // A real table holds a few keys of a few KB: the first 16 MiB is all of it.
            if text.count < 16 << 20 { text.append(data) }
        }
        var rows: [Row] = []
        for line in text.split(separator: 0x0A) where rows.count < 1_000 {
            if case .map(let m)? = try? JSONParser.parse(Data(line)) { rows.append(config.canonical(m, model: "jwks")) }
        }
        return rows
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
        // The biggest tables first, so two cores stay busy.
        var jobs: [(Int, () throws -> Void)] = [
            (tables.size(of: config.exportPath("user")), { users = try self.readUsers() }),
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
        var userIndex = KeyMap(capacity: nUsers)
        var exactCount = KeyMap(capacity: nUsers)
        var foldedCount = KeyMap(capacity: nUsers)
        var foldedFirst = KeyMap(capacity: nUsers)
        for i in 0..<nUsers {
            userIndex.insertIfAbsent(users.idHash[i], Int32(i))
            if users.exact[i] != 0 { exactCount.increment(users.exact[i]) }
            if users.folded[i] != 0 {
                foldedCount.increment(users.folded[i])
                foldedFirst.insertIfAbsent(users.folded[i], Int32(i))
            }
        }

        var found = Findings(options: options, rules: rules, users: users)

        // ba.user.email-normalized: users no lookup can reach. A variant whose normalized twin exists is a
        // duplicate (ba.user.unique), as diagnose sees it.
        var hasNormalized = Set<UInt64>()
        for i in 0..<nUsers where users.normalized[i] { hasNormalized.insert(users.folded[i]) }
        for i in 0..<nUsers where !users.normalized[i] && !hasNormalized.contains(users.folded[i]) {
            found.add("ba.user.email-normalized", user: i)
        }
        // ba.user.unique: groups by exact and by normalized email.
        var exactGroups = 0, caseGroups = 0, inGroups = 0
        var reported = Set<UInt64>()
        for i in 0..<nUsers where (foldedCount[users.folded[i]] ?? 0) > 1 {
            inGroups += 1
            found.list("ba.user.unique", users.ids[i])
            if options.trackUsers { found.owners["ba.user.unique", default: []].insert(Int32(i)) }
            if reported.insert(users.folded[i]).inserted {
                if (exactCount[users.exact[i]] ?? 0) > 1 { exactGroups += 1 } else { caseGroups += 1 }
                found.count("ba.user.unique", example: Email.normalize(users.emails[i]))
            }
        }
        found.details["ba.user.unique"] = ["exactDuplicateGroups": exactGroups, "caseVariantGroups": caseGroups, "usersInGroups": inGroups]

        // Accounts: credential presence, hash kinds, orphans, timestamps.
        var hasCredential = [Bool](repeating: false, count: nUsers)
        var kindCounts: [String: Int] = [:]
        for j in 0..<accounts.userHash.count {
            guard let u = userIndex[accounts.userHash[j]] else {
                found.addRow("ba.account.orphan", id: accounts.ids[j])
                continue
            }
            if accounts.credential[j] {
                hasCredential[Int(u)] = true
                let kind = ExportAudit.kinds[Int(accounts.kind[j])]
                if kind != HashKind.scrypt.rawValue {
                    kindCounts[kind, default: 0] += 1
                    found.add("ba.account.password-format", user: Int(u), id: accounts.ids[j])
                }
            }
        }
        found.details["ba.account.password-format"] = kindCounts
        for i in 0..<nUsers where !hasCredential[i] { found.add("ba.account.credential", user: i) }
        for i in 0..<nUsers where !users.verified[i] { found.add("ba.user.email-verified", user: i) }
        for i in 0..<nUsers where users.banned[i] { found.add("ba.user.banned", user: i) }

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
        // A user's app rows, as diagnose finds them: rows with the user's email, plus rows linked to the user
        // under another email.
        var emailRows = KeyMap(capacity: app.idHash.count)
        var firstRowByEmail = KeyMap(capacity: app.idHash.count)
        var linkedRows = [Int32](repeating: 0, count: nUsers)
        var linked = [Bool](repeating: false, count: nUsers)
        for r in 0..<app.idHash.count {
            let byEmail = app.folded[r] == 0 ? nil : foldedFirst[app.folded[r]]
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
            if byLink == nil && byEmail == nil { found.addRow("app.user.orphan", id: app.ids[r]) }
            if app.folded[r] != 0 {
                emailRows.increment(app.folded[r])
                firstRowByEmail.insertIfAbsent(app.folded[r], Int32(r))
            }
            if let owner = byLink, users.folded[Int(owner)] != app.folded[r] { linkedRows[Int(owner)] += 1 }
        }
        let appCount = (0..<nUsers).map { linkedRows[$0] + (emailRows[users.folded[$0]] ?? 0) }
        // app.user.link, as diagnose sees a user: it has app rows, and none of them points at it (the row with its
        // email names another id, or none).
        // Diagnose looks at one user per email: the exact match first, then the first in the table.
        var primary = KeyMap(capacity: nUsers)
        for i in 0..<nUsers where users.normalized[i] && users.folded[i] != 0 { primary.insertIfAbsent(users.folded[i], Int32(i)) }
        for i in 0..<nUsers where users.folded[i] != 0 { primary.insertIfAbsent(users.folded[i], Int32(i)) }
        for i in 0..<nUsers where appCount[i] > 0 && !linked[i] && primary[users.folded[i]] == Int32(i) {
            let row = firstRowByEmail[users.folded[i]].map { app.ids[Int($0)] }
            found.add("app.user.link", user: i, id: row)
        }
        for i in 0..<nUsers where appCount[i] == 0 { found.add("app.user.exists", user: i) }
        for i in 0..<nUsers where appCount[i] > 1 { found.add("app.user.unique", user: i) }

        // ba.twofactor.state: 2FA enabled without a twoFactor row of the user.
        for i in 0..<nUsers where users.twoFactorEnabled[i] && !(twoFactors?.contains(users.idHash[i]) ?? false) {
            found.add("ba.twofactor.state", user: i)
        }

        // ba.jwks.decrypts: the newest key with the Convex env's secret, as diagnose checks it.
        var skipped = Set<String>()
        if let jwks, !jwks.isEmpty {
            let check = SideFacts.jwksCheck(jwks, env: options.env)
            if check.isNull {
                skipped.insert("ba.jwks.decrypts")
            } else if !["decrypts", "unencrypted"].contains(check["outcome"].stringValue ?? "") {
                found.addRow("ba.jwks.decrypts", id: check["keyId"].stringValue ?? "newest key")
                found.details["ba.jwks.decrypts"] = ["keys": jwks.count]
            }
        }

        // app.convex-auth: Convex Auth accounts; the person is whoever has the email, or the app row the account's
        // user is.
        if let convexAuth {
            var appOwner = KeyMap(capacity: app.idHash.count)
            for r in 0..<app.idHash.count {
                if app.folded[r] != 0, let u = primary[app.folded[r]] { appOwner.insertIfAbsent(app.idHash[r], u) }
            }
            var withUser = 0, password = 0
            for k in 0..<convexAuth.ids.count {
                let owner = (convexAuth.email[k] == 0 ? nil : primary[convexAuth.email[k]]) ?? appOwner[convexAuth.user[k]]
                if owner != nil { withUser += 1 }
                if convexAuth.password[k] { password += 1 }
                found.addRow("app.convex-auth", id: convexAuth.ids[k], owner: owner)
            }
            found.details["app.convex-auth"] = ["withBetterAuthUser": withUser, "withoutBetterAuthUser": convexAuth.ids.count - withUser,
                                                "passwordAccounts": password]
        }

        // Sessions: of missing users; active and expired.
        var active = 0
        for k in 0..<sessions.userHash.count {
            if sessions.active[k] { active += 1 }
            if userIndex[sessions.userHash[k]] == nil { found.addRow("ba.session.state", id: sessions.ids[k]) }
        }
        found.details["ba.session.state"] = ["active": active, "expired": sessions.userHash.count - active]

        // Timestamps of every Better Auth row.
        for i in 0..<nUsers where !users.timestampsOK[i] { found.addRow("data.timestamps", id: users.ids[i], owner: Int32(i)) }
        for j in 0..<accounts.timestampsOK.count where !accounts.timestampsOK[j] {
            found.addRow("data.timestamps", id: accounts.ids[j], owner: userIndex[accounts.userHash[j]])
        }
        for k in 0..<sessions.timestampsOK.count where !sessions.timestampsOK[k] {
            found.addRow("data.timestamps", id: sessions.ids[k], owner: userIndex[sessions.userHash[k]])
        }

        // The team's own audit rules, evaluated over each user's facts as diagnose builds them.
        let disabledIds = Set(config.disable.map(\.rule))
        let custom = rules.rules(for: .audit).filter { rules.customIds.contains($0.id) && !disabledIds.contains($0.id) }
        if !custom.isEmpty {
            try evaluateCustom(custom, rules: rules, options: options, decoder: decoder, into: &found)
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

    /// Counts, examples and (for `--list`) every affected id, per rule.
    struct Findings {
        let options: Options
        let rules: RuleSet
        let users: Users
        var counts: [String: Int] = [:]
        var examples: [String: [String]] = [:]
        var listed: [String: [String]] = [:]
        var details: [String: [String: Int]] = [:]
        /// With `trackUsers`: per rule, the indexes of the users the findings belong to.
        var owners: [String: Set<Int32>] = [:]

        init(options: Options, rules: RuleSet, users: Users) {
            self.options = options
            self.rules = rules
            self.users = users
        }

        /// Forgets what was found for a rule (a team's rule that replaced a built-in one counts by its own predicate).
        mutating func reset(_ rule: String) {
            counts[rule] = nil
            examples[rule] = nil
            listed[rule] = nil
            details[rule] = nil
            owners[rule] = nil
        }

        mutating func count(_ rule: String, example: @autoclosure () -> String) {
            counts[rule, default: 0] += 1
            if examples[rule, default: []].count < options.examples {
                let e = example()
                if !examples[rule, default: []].contains(e) { examples[rule, default: []].append(e) }
            }
        }

        mutating func list(_ rule: String, _ id: @autoclosure () -> String) {
            if options.listRule == rule { listed[rule, default: []].append(id()) }
        }

        /// A user-centric finding: the example is the user's email, the listed id the user's (or the row's) id.
        mutating func add(_ rule: String, user i: Int, id: String? = nil) {
            let users = self.users
            count(rule, example: users.emails[i])
            list(rule, id ?? users.ids[i])
            if options.trackUsers { owners[rule, default: []].insert(Int32(i)) }
        }

        /// A row-centric finding: examples and list are row ids; `owner` is the user the row belongs to, if any.
        mutating func addRow(_ rule: String, id: String, owner: Int32? = nil) {
            count(rule, example: id)
            list(rule, id)
            if options.trackUsers, let owner { owners[rule, default: []].insert(owner) }
        }

        /// The findings in the rule set's order, with each rule's own titles, `audit:` texts and severity
        /// (`errorWhen` too, decided by the config); rules disabled in the config are left out.
        func build(config: Config, skipped: Set<String> = []) -> [AuditFinding] {
            let disabled = Set(config.disable.map(\.rule))
            let configScope = Scope(root: ["config": config.facts, "input": .null, "ba": .null, "app": .null, "env": .null,
                                           "source": .null, "cli": .null, "now": .null, "checks": .map([:]), "convexAuth": .null])
            return rules.rules(for: .audit).filter { !disabled.contains($0.id) }.map { r in
                var severity = r.audit?.severity ?? r.severity
                if let e = r.errorWhen, (try? Evaluator.evaluate(e, configScope)) == .bool(true) { severity = .error }
                return AuditFinding(rule: r.id, step: r.step, title: r.title, failTitle: r.failTitle, severity: severity,
                                    what: r.audit?.what ?? r.title, count: counts[r.id] ?? 0, examples: examples[r.id] ?? [],
                                    details: details[r.id] ?? [:], fix: r.audit?.fix, failOn: options.failOn,
                                    skipped: skipped.contains(r.id))
            }
        }
    }
}
