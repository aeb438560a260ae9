import Foundation

/// A document as read from a table: field name to value.
public typealias Row = [String: Value]

/// Emails as Better Auth treats them.
public enum Email {
    /// Lowercased and trimmed: the form that Better Auth's lookup (lowercased input, exact match) can find.
    public static func normalize(_ s: String) -> String {
        s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// True when a stored value is this email ignoring case and surrounding whitespace.
    public static func matches(_ stored: Value, _ normalized: String) -> Bool {
        guard case .string(let s) = stored else { return false }
        return normalize(s) == normalized
    }
}

/// What kind of place a report's data came from (the report's `source.kind`).
public enum SourceKind: String, Sendable {
    /// A `npx convex export` zip or folder.
    case export
    /// A live deployment (`--url`), read-only.
    case deployment
    /// Env files only (check-env, a jwt checked against `--convex-env`).
    case env
    /// A token and nothing else (jwt without data).
    case token
    /// The HTTP answers of `probe`.
    case http
    /// A source used internally that is never reported.
    case none = ""
}

/// Where the data came from, as shown in the report's `source` object.
public struct SourceInfo: Sendable {
    public var kind: SourceKind
    public var location: String
    public var deployment: String?
    public var isProd: Bool
    public var exportFormat: String?
    public var malformedLines: Int
    /// Where the malformed lines are (`users/documents.jsonl:12`), a few at most.
    public var malformedExamples: [String]
    public var tableRows: [String: Int]
    /// How the source had to look things up, for the report (a live lookup that scanned, a table too big to read).
    public var notes: [String] = []

    public init(kind: SourceKind, location: String, deployment: String? = nil, isProd: Bool = false, exportFormat: String? = nil,
                malformedLines: Int = 0, malformedExamples: [String] = [], tableRows: [String: Int] = [:], notes: [String] = []) {
        self.kind = kind
        self.location = location
        self.deployment = deployment
        self.isProd = isProd
        self.exportFormat = exportFormat
        self.malformedLines = malformedLines
        self.malformedExamples = malformedExamples
        self.tableRows = tableRows
        self.notes = notes
    }
}

/// What a source can look up for one email. Each call may return a superset (candidates);
/// `PersonLookup` decides what belongs to the person.
public protocol DiagnoseDataSource {
    /// Better Auth `user` documents whose email may match `normalizedEmail` ignoring case and surrounding whitespace.
    func betterAuthUsers(normalizedEmail: String) throws -> [Row]
    /// App rows that may hold the email, one of `ids` in any field, or whose `_id` is in `appIds`;
    /// plus a few rows of the table to detect the link field from.
    func appRows(normalizedEmail: String, ids: [String], appIds: [String]) throws -> (candidates: [Row], sample: [Row])
    /// Better Auth `account` and `session` documents whose `userId` may be one of `userIds`.
    func accountsAndSessions(userIds: [String]) throws -> (accounts: [Row], sessions: [Row])
    /// App rows, accounts and sessions in one go (`appRows` and `accountsAndSessions` with the same ids);
    /// a source may read them concurrently.
    func related(normalizedEmail: String, userIds: [String], appIds: [String]) throws
        -> (candidates: [Row], sample: [Row], accounts: [Row], sessions: [Row])
    /// What the source is, filled in after the lookups (row counts, malformed lines).
    var info: SourceInfo { get }
    /// Every secret value the source read (hashes, tokens, keys), for masking wherever data lands.
    var seenSecrets: Set<String> { get }
    /// Up to 3 stored emails near this one ("did you mean"), asked only when no Better Auth user has it.
    func emailSuggestions(for normalizedEmail: String) throws -> [String]
    /// The person's rows of the plugin tables and of Convex Auth's tables; `appIds` are the person's app rows.
    func sideRows(normalizedEmail: String, userIds: [String], appIds: [String]) throws -> SideRows
}

/// The plugin and side tables of one person (DESIGN §13.4): rows of `twoFactor`, `passkey`, `verification`, every
/// `jwks` key, and Convex Auth's tables in the app's namespace.
public struct SideRows: Sendable {
    /// The component's tables, when the source knows them.
    public var componentTables: [String]?
    public var twoFactors: [Row] = []
    public var passkeys: [Row] = []
    public var verifications: [Row] = []
    public var jwks: [Row] = []
    /// Convex Auth's tables present in the app's namespace (`authAccounts`, `authSessions`, …).
    public var convexAuthTables: [String] = []
    /// `authAccounts` rows of this person: the email as `providerAccountId`, or one of the app rows' ids as `userId`.
    public var convexAuthAccounts: [Row] = []
    /// `authSessions` of those accounts' users.
    public var convexAuthSessions: [Row] = []

    public init() {}
}

/// Convex Auth (`@convex-dev/auth`) tables (better-auth-facts-2.md §8.1).
public enum ConvexAuthTables {
    public static let names = ["authAccounts", "authSessions", "authRefreshTokens", "authVerificationCodes", "authVerifiers", "authRateLimits"]

    /// The `authAccounts` rows that belong to this person: `providerAccountId` is the email (Convex Auth keeps it as
    /// typed), or `userId` is one of the person's app rows (Convex Auth's `users` table).
    public static func accounts(_ rows: [Row], normalizedEmail: String, appIds: [String]) -> [Row] {
        let ids = Set(appIds)
        return rows.filter { row in
            Email.matches(row["providerAccountId"] ?? .null, normalizedEmail) || (row["userId"]?.stringValue).map(ids.contains) == true
        }
    }
}

extension DiagnoseDataSource {
    /// A source without plugin tables has none.
    public func sideRows(normalizedEmail: String, userIds: [String], appIds: [String]) throws -> SideRows { SideRows() }
}

extension DiagnoseDataSource {
    /// A source that cannot afford a whole-table read suggests nothing.
    public func emailSuggestions(for normalizedEmail: String) throws -> [String] { [] }
}

extension DiagnoseDataSource {
    public func related(normalizedEmail: String, userIds: [String], appIds: [String]) throws
        -> (candidates: [Row], sample: [Row], accounts: [Row], sessions: [Row]) {
        let (candidates, sample) = try appRows(normalizedEmail: normalizedEmail, ids: userIds, appIds: appIds)
        guard !userIds.isEmpty else { return (candidates, sample, [], []) }
        let (accounts, sessions) = try accountsAndSessions(userIds: userIds)
        return (candidates, sample, accounts, sessions)
    }
}

/// The rows that belong to one person in both databases.
public struct PersonData: Sendable {
    public var baUsers: [Row] = []
    public var accounts: [Row] = []
    public var sessions: [Row] = []
    public var appUsers: [Row] = []
    public var linkField = "email"
    public var linkDetected = true
    /// Plugin tables and Convex Auth's tables.
    public var side = SideRows()

    public init() {}
}

public enum PersonLookup {
    /// Runs the lookups in the order their inputs need: users, then app rows (links), then accounts and sessions.
    public static func lookup(normalizedEmail email: String, config: Config, source: DiagnoseDataSource) throws -> PersonData {
        var data = PersonData()
        data.baUsers = try source.betterAuthUsers(normalizedEmail: email)
            .filter { Email.matches($0["email"] ?? .null, email) }
            .sorted { a, b in
                // The exact match first: it is the one Better Auth's lookup finds.
                let ea = a["email"]?.stringValue == email, eb = b["email"]?.stringValue == email
                if ea != eb { return ea }
                return (a["_creationTime"]?.number ?? 0, a["_id"]?.stringValue ?? "") < (b["_creationTime"]?.number ?? 0, b["_id"]?.stringValue ?? "")
            }
        let baIds = data.baUsers.compactMap { $0["_id"]?.stringValue }
        let legacyAppIds = data.baUsers.compactMap { $0["userId"]?.stringValue }
        // App rows, accounts and sessions depend only on the users' ids: one round, possibly concurrent.
        let (candidates, sample, accountRows, sessionRows) = try source.related(normalizedEmail: email, userIds: baIds, appIds: legacyAppIds)
        data.linkField = detectLinkField(config: config, appRows: sample + candidates, baUsers: data.baUsers)
        data.linkDetected = config.linkField == "auto"
        let idSet = Set(baIds), legacySet = Set(legacyAppIds)
        data.appUsers = candidates.filter { row in
            Email.matches(row[config.emailField] ?? .null, email)
                || linkTarget(row, data.linkField).map { idSet.contains($0) } == true
                || Config.linkCandidates.contains { f in row[f]?.stringValue.map { idSet.contains($0) } == true }
                || (row["_id"]?.stringValue).map { legacySet.contains($0) } == true
        }
        if let first = data.baUsers.first?["_id"]?.stringValue {
            // The row linked to the chosen Better Auth user comes first.
            data.appUsers.sort { a, b in
                let la = linkTarget(a, data.linkField) == first, lb = linkTarget(b, data.linkField) == first
                if la != lb { return la }
                return (a["_id"]?.stringValue ?? "") < (b["_id"]?.stringValue ?? "")
            }
        }
        var accounts = accountRows, sessions = sessionRows
        // An app row may link to an id that is no Better Auth user (deleted or re-created): its sessions show it.
        let extra = Array(Set(data.appUsers.compactMap { linkTarget($0, data.linkField) }).subtracting(idSet)).sorted()
        if !extra.isEmpty {
            let (a, s) = try source.accountsAndSessions(userIds: extra)
            accounts += a
            sessions += s
        }
        let userIds = idSet.union(extra)
        data.accounts = accounts.filter { ($0["userId"]?.stringValue).map { userIds.contains($0) } == true }
        data.sessions = sessions.filter { ($0["userId"]?.stringValue).map { userIds.contains($0) } == true }
        var side = try source.sideRows(normalizedEmail: email, userIds: Array(userIds).sorted(),
                                       appIds: data.appUsers.compactMap { $0["_id"]?.stringValue })
        side.twoFactors = side.twoFactors.filter { ($0["userId"]?.stringValue).map { userIds.contains($0) } == true }
        side.passkeys = side.passkeys.filter { ($0["userId"]?.stringValue).map { userIds.contains($0) } == true }
        side.verifications = side.verifications.filter { SideFacts.verificationNames($0, email) }
        data.side = side
        return data
    }

    /// The Better Auth user id an app row points at through the link field, if any.
    public static func linkTarget(_ row: Row, _ linkField: String) -> String? {
        switch linkField {
        case "email", Config.legacyLink: return nil
        case "tokenIdentifier":
            guard let t = row["tokenIdentifier"]?.stringValue, let bar = t.lastIndex(of: "|") else { return nil }
            return String(t[t.index(after: bar)...])
        default: return row[linkField]?.stringValue
        }
    }

    public static func detectLinkField(config: Config, appRows: [Row], baUsers: [Row]) -> String {
        if config.linkField != "auto" { return config.linkField }
        for f in Config.linkCandidates where appRows.contains(where: { $0[f].map { !$0.isNull } ?? false }) { return f }
        if baUsers.contains(where: { $0["userId"]?.stringValue != nil }) { return Config.legacyLink }
        return "email"
    }
}

/// Field names whose string values are secrets in any table, at any depth (`credentials.password`).
public enum SecretFields {
    /// `api_key`, `apiKey`, `API-KEY` and `apikey` are one name here.
    public static func isSecret(_ name: String) -> Bool {
        cache.lock.lock()
        if let known = cache.names[name] { cache.lock.unlock(); return known }
        cache.lock.unlock()
        let n = String(name.lowercased().unicodeScalars.filter { $0 != "_" && $0 != "-" && $0 != " " })
        let secret = n != "tokenidentifier" && (n.contains("password") || n.contains("passwd") || n.contains("token")
            || n.contains("secret") || n.contains("privatekey") || n == "key" || n.hasSuffix("apikey") || n == "backupcodes"
            || n == "credentials" || n.hasSuffix("accesskey") || n.hasSuffix("signingkey") || n.hasSuffix("encryptionkey"))
        cache.lock.lock()
        if cache.names.count < 10_000 { cache.names[name] = secret }
        cache.lock.unlock()
        return secret
    }

    /// Field names repeat in every row: each is classified once.
    final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var names: [String: Bool] = [:]
    }
    static let cache = Cache()

    /// Secret-looking environment variable names (DESIGN §7).
    public static func isSecretEnvName(_ name: String) -> Bool {
        name.uppercased().range(of: "SECRET|KEY|TOKEN|PASSWORD|PRIVATE|JWKS", options: .regularExpression) != nil
    }

    /// True for a URL that carries credentials (`postgres://user:pass@host`, `https://token@host`): the whole
    /// value is a secret, since its userinfo is.
    public static func hasUserinfo(_ s: String) -> Bool {
        guard let scheme = s.range(of: "://") else { return false }
        let head = s[s.startIndex..<scheme.lowerBound]
        guard !head.isEmpty, head.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }) else { return false }
        let rest = s[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return authority.contains("@")
    }

    /// A value with every secret-looking field wrapped as a secret, at any depth, and every URL with
    /// credentials wrapped too.
    public static func protect(_ value: Value) -> Value {
        switch value {
        case .map(let m):
            var out: [String: Value] = [:]
            for (k, v) in m { out[k] = isSecret(k) ? v.asSecretDeep() : protect(v) }
            return .map(out)
        case .list(let items): return .list(items.map(protect))
        case .string(let s) where hasUserinfo(s): return .secret(Secret(s))
        default: return value
        }
    }

    /// The row with every secret-looking string field wrapped as a secret.
    public static func protect(_ row: Row) -> Value { protect(Value.map(row)) }
}

/// The facts data model that rule expressions see (documented in rules/README.md).
public struct Facts: Sendable {
    public let root: [String: Value]

    public init(root: [String: Value]) { self.root = root }

    public static func diagnose(email: String, data: PersonData, source: SourceInfo, config: Config,
                                env: Value = .null, now: Date, passwordCheck: Value = .null, suggestions: [String] = [],
                                method: String = "any") -> Facts {
        let normalized = Email.normalize(email)
        let baUsers = data.baUsers.map(SecretFields.protect)
        let appUsers = data.appUsers.map(SecretFields.protect)
        var root = common(source: source, config: config, env: env, now: now)
        root["input"] = .map([
            "email": .string(email), "normalizedEmail": .string(normalized), "passwordCheck": passwordCheck,
            "suggestions": .list(suggestions.map { .string($0) }),
            "method": .string(method),
        ])
        var ba: [String: Value] = [
            "user": baUsers.first ?? .null, "users": .list(baUsers),
            "accounts": .list(data.accounts.map(SecretFields.protect)),
            "sessions": .list(data.sessions.map(SecretFields.protect)),
            // How the user can sign in, from the rows (DESIGN §13.3).
            "signIn": data.baUsers.first.map {
                SignInMethods(user: .map($0), accounts: data.accounts.map { .map($0) }, passkeys: data.side.passkeys.map { .map($0) },
                              verifications: data.side.verifications.map { .map($0) }).facts
            } ?? .null,
        ]
        for (k, v) in SideFacts.betterAuth(data.side, env: env) { ba[k] = v }
        root["ba"] = .map(ba)
        root["convexAuth"] = SideFacts.convexAuth(data.side)
        root["app"] = .map([
            "user": appUsers.first ?? .null, "users": .list(appUsers), "linkField": .string(data.linkField),
            "linkDetected": .bool(data.linkDetected), "table": .string(config.appTable),
            "emailField": .string(config.emailField),
        ])
        return Facts(root: root)
    }

    /// The facts of `check-env`: the environment only; `input`, `ba` and `app` are null.
    public static func environment(source: SourceInfo, config: Config, env: Value, now: Date) -> Facts {
        var root = common(source: source, config: config, env: env, now: now)
        root["input"] = .null
        root["ba"] = .null
        root["app"] = .null
        root["convexAuth"] = .null
        return Facts(root: root)
    }

    /// The env facts plus what is derived from them in one place (DESIGN §13.4): the static `JWKS` check and the
    /// trusted-origins check, as facts that carry no secret.
    static func derivedEnv(_ env: Value) -> Value {
        guard case .map(var m) = env else { return env }
        let convex = env["convex"].mapValue, hosting = env["hosting"].mapValue
        if let convex, let jwks = convex["JWKS"] {
            switch jwks {
            case .secret(let s): m["jwksStatic"] = StaticJWKS(s).facts
            case .string(let s): m["jwksStatic"] = StaticJWKS(s).facts
            default: m["jwksStatic"] = .null
            }
        }
        if let convex, let hosting {
            m["trustedOrigins"] = TrustedOriginsCheck(convexEnv: convex, hostingEnv: hosting).facts
        }
        return .map(m)
    }

    static func common(source: SourceInfo, config: Config, env: Value, now: Date) -> [String: Value] {
        let prodFlag = source.isProd ? " --prod" : ""
        var siteURL = "https://<your-deployment>.convex.site"
        for side in ["convex", "hosting"] {
            for name in ["CONVEX_SITE_URL", "NEXT_PUBLIC_CONVEX_SITE_URL", "VITE_CONVEX_SITE_URL", "PUBLIC_CONVEX_SITE_URL"] {
                if siteURL.hasPrefix("https://<"), let s = env[side][name].stringValue, !s.isEmpty { siteURL = s }
            }
        }
        var sourceFacts: [String: Value] = [
            "kind": .string(source.kind.rawValue), "location": .string(source.location),
            "deployment": source.deployment.map { .string($0) } ?? .null, "isProd": .bool(source.isProd),
            "exportFormat": source.exportFormat.map { .string($0) } ?? .null,
            "malformedLines": .int(Int64(source.malformedLines)),
        ]
        sourceFacts["tableRows"] = .map(source.tableRows.mapValues { .int(Int64($0)) })
        return [
            "source": .map(sourceFacts),
            "env": derivedEnv(env),
            "config": config.facts,
            "now": .int(Int64((now.timeIntervalSince1970 * 1000).rounded())),
            "cli": .map([
                "prodFlag": .string(source.isProd ? "--prod" : ""),
                "run": .string("npx convex run\(prodFlag)"),
                "envSet": .string("npx convex env set\(prodFlag)"),
                "import": .string("npx convex import\(prodFlag)"),
                "data": .string("npx convex data\(prodFlag)"),
                "siteUrl": .string(siteURL),
            ]),
            "checks": .map([:]),
            // The facts of `jwt` and `probe` (TokenFacts.swift, ProbeFacts.swift); null for the other commands.
            "jwt": .null,
            "probe": .null,
        ]
    }

    /// Every secret value reachable from the facts, for the final redaction pass.
    public var secrets: Set<String> {
        var out = Set<String>()
        for v in root.values { v.collectSecrets(into: &out) }
        return out
    }
}
