import AuthDoctorCore
import Foundation

extension ExportAudit {
    // MARK: Phase 1: one pass per table, in parallel.

    struct Users {
        var idHash: [UInt64] = []
        let ids = StringArena()
        let emails = StringArena()
        var exact: [UInt64] = []
        var folded: [UInt64] = []
        var normalized: [Bool] = []
        var verified: [Bool] = []
        /// `banned: true` as stored, and when the ban ends (`UserProfile.banExpires`).
        var banned: [Bool] = []
        var banExpires: [UInt8] = []
        var stamps = TableStamps()
        var legacyApp: [UInt64] = []
        var twoFactorEnabled: [Bool] = []
    }

    /// The users' keys: by id; users grouped by normalized email (a group is named by its first user): each user's
    /// group, each group's size and the user diagnose looks at (the first stored normalized, else the first); and how
    /// many users of a shared group store each exact email (a case-variant group or exact duplicates, ba.user.unique).
    /// Arrays by group spare a hash lookup per user and per app row.
    struct UserKeys {
        var userIndex: KeyMap
        var foldedFirst: KeyMap
        var group: [Int32]
        var groupSize: [Int32]
        var primary: [Int32]
        var exactCount: KeyMap

        init(_ users: Users) {
            let n = users.idHash.count
            userIndex = KeyMap(capacity: n)
            foldedFirst = KeyMap(capacity: n)
            group = [Int32](repeating: -1, count: n)
            groupSize = [Int32](repeating: 0, count: n)
            primary = Array(0..<Int32(n))
            var shared = 0
            for i in 0..<n {
                userIndex.insertIfAbsent(users.idHash[i], Int32(i))
                guard users.folded[i] != 0 else { continue }
                let g = Int(foldedFirst.value(users.folded[i], orInsert: Int32(i)))
                group[i] = Int32(g)
                groupSize[g] += 1
                if groupSize[g] == 2 { shared += 1 }
                if users.normalized[i] && !users.normalized[Int(primary[g])] { primary[g] = Int32(i) }
            }
            exactCount = KeyMap(capacity: shared * 2)
            if shared > 0 {
                for i in 0..<n where group[i] >= 0 && groupSize[Int(group[i])] > 1 { exactCount.increment(users.exact[i]) }
            }
        }

        /// The group of a normalized email key (its first user), if a user has it.
        func group(ofEmail key: UInt64) -> Int? { key == 0 ? nil : foldedFirst[key].map { Int($0) } }

        /// The user diagnose looks at for a normalized email key, if a user has it.
        func primaryUser(ofEmail key: UInt64) -> Int32? { group(ofEmail: key).map { primary[$0] } }

        /// How many users share user `i`'s normalized email (0 without an email).
        func sharing(_ i: Int) -> Int32 { group[i] < 0 ? 0 : groupSize[Int(group[i])] }
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
        /// One stored password of each kind: the stand-in persons of `UserProfile` carry it (never shown).
        var kindSamples: [UInt8: String] = [:]
        var stamps = TableStamps()
    }

    struct Sessions {
        let ids = StringArena()
        var userHash: [UInt64] = []
        var active: [Bool] = []
        var stamps = TableStamps()
    }

    static let kinds: [String] = HashKind.allCases.map(\.rawValue) + ["null"]

    /// Streams a table's records: the lines of JSONL that are not blank to `line` (a line over the line cap goes to
    /// `overlong` instead), the rows a live deployment sent to `row`. `chunkRead` runs after each chunk (the row limit).
    func forEachRecord(_ path: String, line: (UnsafeRawBufferPointer) -> Void, row: (Value) -> Void, overlong: () -> Void,
                       chunkRead: () throws(SourceError) -> Void = {}) throws(SourceError) {
        func nonBlank(_ l: UnsafeRawBufferPointer) {
            if !l.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { line(l) }
        }
        try withoutActuallyEscaping(nonBlank) { nonBlank throws(SourceError) in
            try withoutActuallyEscaping(overlong) { overlong throws(SourceError) in
                let splitter = LineRegions { piece in
                    switch piece {
                    case .region(let r): LineRegions.forEachLine(r, nonBlank)
                    case .line(let l, _): nonBlank(l)
                    case .overlong: overlong()
                    }
                }
                try tables.chunks(path) { (chunk: TableChunk) throws(SourceError) in
                    switch chunk {
                    case .jsonl(let data): data.withUnsafeBytes { splitter.feed($0) }
                    case .rows(let rows): rows.forEach(row)
                    }
                    try chunkRead()
                }
                splitter.finish()
            }
        }
    }

    /// Reads every record of a table through the field scanner: `row` gets the bytes the slots point into, the slots,
    /// and the record decoded as a whole when it needs it (a nested value; rare). A live deployment's rows are not
    /// written back to JSON: their wanted string fields are laid out in one buffer and the slots point there.
    func readTable(_ path: String, fields: [String], _ row: (UnsafeRawBufferPointer, [ScannedField], () -> Row?) -> Void) throws(SourceError) {
        let scanner = FieldScanner(fields: fields)
        let decoder = self.decoder(path)
        var slots = [ScannedField](repeating: .missing, count: fields.count)
        var lines = 0
        var bad = 0
        var badAt: [Int] = []
        func malformedLine() {
            bad += 1
            if badAt.count < 5 { badAt.append(lines) }
        }
        var counted = 0
        var buffer: [UInt8] = []
        try forEachRecord(path, line: { l in
            lines += 1
            guard scanner.scan(l, into: &slots) else { return malformedLine() }
            row(l, slots, {
                guard let v = try? JSONParser.parse(l), case .map(let m) = decoder.decode(v) else { return nil }
                return m
            })
        }, row: { v in
            lines += 1
            guard case .map(let m) = v else { return malformedLine() }
            buffer.removeAll(keepingCapacity: true)
            for (k, name) in fields.enumerated() { slots[k] = ExportAudit.slot(m[name], into: &buffer) }
            buffer.withUnsafeBytes { bytes in
                row(bytes, slots, {
                    guard case .map(let decoded) = decoder.decode(v) else { return nil }
                    return decoded
                })
            }
        }, overlong: {
            lines += 1
            malformedLine()
        }, chunkRead: { () throws(SourceError) in
            try self.countRows(lines - counted, path: path)
            counted = lines
        })
        lock.lock()
        malformed[path] = (bad, badAt)
        lock.unlock()
    }

    /// A parsed field as the scanner finds it in a line: a JSON number (the parser's `.int` for one without a fraction)
    /// is a number, an int64 (`{"$integer": …}`) a nested value; a string's bytes are appended to `buffer`.
    static func slot(_ v: Value?, into buffer: inout [UInt8]) -> ScannedField {
        switch v {
        case nil: return .missing
        case .null?: return .null
        case .bool(let b)?: return .bool(b)
        case .double(let d)?: return .number(d)
        case .int(let i)?: return .number(Double(i))
        case .string(let s)?:
            let start = buffer.count
            buffer.append(contentsOf: s.utf8)
            return .string(start: start, end: buffer.count, escaped: false)
        default: return .nested
        }
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
        withString(line, f) { hashKey($0, $1) } ?? 0
    }

    /// The Better Auth user id after the last `|` of a tokenIdentifier.
    static func tokenTarget(_ line: UnsafeRawBufferPointer, _ f: ScannedField) -> UInt64 {
        withString(line, f) { p, n -> UInt64 in
            var i = n - 1
            while i >= 0 && p[i] != UInt8(ascii: "|") { i -= 1 }
            return i < 0 ? 0 : hashKey(p + i + 1, n - i - 1)
        } ?? 0
    }

    /// (exact key, normalized key, is normalized) of a stored email, as `Email.normalize` defines it.
    static func emailKeys(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64, Bool) {
        let exact = hashKey(p, n)
        var ascii = true
        for i in 0..<n where p[i] >= 0x80 { ascii = false; break }
        if !ascii {
            let s = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
            let norm = Email.normalize(s)
            return (exact, hashKey(norm), norm == s)
        }
        var lo = 0, hi = n
        // The whitespace Email.normalize trims, in ASCII: a decoded escape (`\t`, `\n`) is whitespace too.
        @inline(__always) func space(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        while lo < hi && space(p[lo]) { lo += 1 }
        while hi > lo && space(p[hi - 1]) { hi -= 1 }
        var changed = lo != 0 || hi != n
        if !changed { for i in lo..<hi where p[i] >= 65 && p[i] <= 90 { changed = true; break } }
        if !changed { return (exact, exact, true) }
        let folded = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(hi - lo, 1)) { t -> UInt64 in
            for i in lo..<hi { t[i - lo] = p[i] >= 65 && p[i] <= 90 ? p[i] | 0x20 : p[i] }
            return hashKey(t.baseAddress, hi - lo)
        }
        return (exact, folded, false)
    }

    func readUsers() throws(SourceError) -> Users {
        var u = Users()
        let fields = stored("user", ["_id", "email", "emailVerified", "banned", "userId", "twoFactorEnabled"] + StampProfile.fields)
        let banExpires = 6 + (StampProfile.fields.firstIndex(of: "banExpires") ?? 0)
        let dates = datesReader("user")
        try readTable(config.exportPath("user"), fields: fields) { line, s, decoded in
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
            u.banned.append(s[3] == .bool(true))
            switch s[banExpires] {
            case .missing, .null: u.banExpires.append(0)
            case .number(let until): u.banExpires.append(until < nowMs ? 1 : 2)
            default: u.banExpires.append(3)
            }
            u.legacyApp.append(ExportAudit.hashString(line, s[4]))
            u.twoFactorEnabled.append(s[5] == .bool(true))
            dates(&u.stamps, s[6...], decoded)
        }
        return u
    }

    /// Records a row's dates (`StampProfile.fields`, the last slots) into a table's `TableStamps`.
    func datesReader(_ model: String) -> (inout TableStamps, ArraySlice<ScannedField>, () -> Row?) -> Void {
        let decoder = self.decoder(config.exportPath(model))
        let typed = decoder.format == .legacy ? decoder.int64Fields.union(decoder.bytesFields) : []
        let config = self.config
        return { stamps, slots, decoded in
            stamps.add(slots, decoded: decoded, config: config, model: model, legacyTyped: typed)
        }
    }

    func readApp() throws(SourceError) -> AppRows {
        var a = AppRows()
        let linkFields = Config.linkCandidates
        let configured = ["auto", "email", Config.legacyLink].contains(config.linkField) || linkFields.contains(config.linkField) ? nil : config.linkField
        let fields = ["_id", config.emailField] + linkFields + (configured.map { [$0] } ?? [])
        try readTable("\(config.appTable)/documents.jsonl", fields: fields) { line, s, _ in
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
        let fields = stored("account", ["_id", "userId", "providerId", "password"] + StampProfile.fields)
        let dates = datesReader("account")
        let nullKind = UInt8(ExportAudit.kinds.count - 1)
        try readTable(config.exportPath("account"), fields: fields) { line, s, decoded in
            guard ExportAudit.withString(line, s[0], { p, n in a.ids.append(p, n) }) != nil else { return }
            a.userHash.append(ExportAudit.hashString(line, s[1]))
            let credential = ExportAudit.withString(line, s[2]) { p, n in
                n == 10 && memcmp(p, "credential", 10) == 0
            } ?? false
            a.credential.append(credential)
            var kind = nullKind
            if credential, let (k, stored) = ExportAudit.withString(line, s[3], { p, n -> (HashKind, String?) in
                // Better Auth's own shape, checked on the bytes; any other string is classified in full.
                if HashKind.isScrypt(p, n) { return (.scrypt, a.kindSamples[0] == nil ? String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) : nil) }
                let stored = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
                return (HashKind.classify(stored), stored)
            }) {
                kind = UInt8(HashKind.allCases.firstIndex(of: k) ?? 0)
                if a.kindSamples[kind] == nil, let stored { a.kindSamples[kind] = stored }
            }
            a.kind.append(kind)
            dates(&a.stamps, s[4...], decoded)
        }
        return a
    }

    func readSessions() throws(SourceError) -> Sessions {
        var x = Sessions()
        let fields = stored("session", ["_id", "userId"] + StampProfile.fields)
        let expiresAt = 2 + (StampProfile.fields.firstIndex(of: "expiresAt") ?? 0)
        let dates = datesReader("session")
        let now = nowMs
        try readTable(config.exportPath("session"), fields: fields) { line, s, decoded in
            guard ExportAudit.withString(line, s[0], { p, n in x.ids.append(p, n) }) != nil else { return }
            x.userHash.append(ExportAudit.hashString(line, s[1]))
            if case .number(let e) = s[expiresAt] { x.active.append(e > now) } else { x.active.append(false) }
            dates(&x.stamps, s[2...], decoded)
        }
        return x
    }

    /// Better Auth field names as stored (`fields:` in auth-doctor.yaml).
    func stored(_ model: String, _ fields: [String]) -> [String] { fields.map { config.storedField(model, $0) } }

    /// The owners (`userId` keys) of the `twoFactor` rows; nil without the table.
    func readTwoFactors() throws(SourceError) -> Set<UInt64>? {
        guard tables.has(config.exportPath("twoFactor")) else { return nil }
        var owners = Set<UInt64>()
        try readTable(config.exportPath("twoFactor"), fields: stored("twoFactor", ["userId"])) { line, s, _ in
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
        try readTable("authAccounts/documents.jsonl", fields: ["_id", "providerAccountId", "userId", "provider"]) { line, s, _ in
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
        var rows: [Row] = []
        let config = self.config
        // A real table holds a few keys of a few KB.
        try forEachRecord(path, line: { l in
            if rows.count < 1_000, case .map(let m)? = try? JSONParser.parse(l) { rows.append(config.canonical(m, model: "jwks")) }
        }, row: { v in
            if rows.count < 1_000, case .map(let m) = v { rows.append(config.canonical(m, model: "jwks")) }
        }, overlong: {})
        return rows
    }

}
