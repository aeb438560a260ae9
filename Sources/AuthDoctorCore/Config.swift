import Yams

/// `auth-doctor.yaml`: how this app names things. Every field has a default.
public struct Config: Sendable, Equatable {
    public var appTable = "users"
    public var emailField = "email"
    /// `auto`, a field of the app row (`authId`, ...), `betterAuth.userId` (legacy) or `email`.
    public var linkField = "auto"
    public var component = "betterAuth"
    public var requireEmailVerification = false
    public var syncMutation = "users:syncFromAuth"
    public var adminEmailEnv = "ADMIN_EMAIL"
    public var adminField = "isAdmin"
    public var sharedSecrets = ["INTERNAL_API_SECRET"]
    public var disable: [DisabledRule] = []
    /// Folders of extra rules (`rules:`), relative to the config file.
    public var ruleFolders: [String] = []
    /// The keys the config file set, so rules can tell "named in config" from a default.
    public var explicitKeys: Set<String> = []
    /// A Local Install that renamed Better Auth's tables (`tables: {user: profiles}`): model → table name in the
    /// component. Never guessed (DESIGN §13.4).
    public var tables: [String: String] = [:]
    /// … and fields (`fields: {user: {email: email_address}}`): model → Better Auth field → stored field name.
    public var fields: [String: [String: String]] = [:]

    public init() {}

    /// The Better Auth models whose tables auth-doctor reads (`tables:` keys).
    public static let models = ["user", "account", "session", "verification", "twoFactor", "passkey", "jwks"]

    /// The component's table that holds a Better Auth model.
    public func table(_ model: String) -> String { tables[model] ?? model }

    /// The stored name of a Better Auth field of a model.
    public func storedField(_ model: String, _ field: String) -> String { fields[model]?[field] ?? field }

    /// A row as Better Auth names its fields: renamed fields get their Better Auth names back.
    public func canonical(_ row: [String: Value], model: String) -> [String: Value] {
        guard let renamed = fields[model], !renamed.isEmpty else { return row }
        var out = row
        for (field, stored) in renamed where stored != field {
            if let v = out.removeValue(forKey: stored) { out[field] = v }
        }
        return out
    }

    /// How to name a missing table in `auth-doctor.yaml`, for messages.
    public func tableHint(_ model: String) -> String {
        tables[model] != nil ? "`tables: {\(model): \(table(model))}` in auth-doctor.yaml names it; check the name"
            : "if a Local Install renamed it, name it in auth-doctor.yaml: `tables: {\(model): <table>}`"
    }

    public struct DisabledRule: Sendable, Equatable {
        public let rule: String
        public let reason: String
    }

    public static let linkCandidates = ["authId", "betterAuthId", "authUserId", "userId", "tokenIdentifier"]
    public static let legacyLink = "betterAuth.userId"

    /// The facts-model view of the config (`config.*` in expressions).
    public var facts: Value {
        .map([
            "appTable": .string(appTable), "emailField": .string(emailField), "linkField": .string(linkField),
            "component": .string(component), "requireEmailVerification": .bool(requireEmailVerification),
            "syncMutation": .string(syncMutation), "adminEmailEnv": .string(adminEmailEnv),
            "adminField": .string(adminField), "sharedSecrets": .list(sharedSecrets.map { .string($0) }),
            "disabled": .list(disable.map { .string($0.rule) }),
            "adminEmailConfigured": .bool(explicitKeys.contains("adminEmailEnv")),
            "sharedSecretsConfigured": .bool(explicitKeys.contains("sharedSecrets")),
            "tables": .map(Dictionary(uniqueKeysWithValues: Config.models.map { ($0, .string(table($0))) })),
        ])
    }
}

/// A config file that could not be used.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

extension Config {
    static let keys: [String: String] = [
        "appTable": "name of the app's users table (default users)",
        "emailField": "email field of the app table (default email)",
        "linkField": "auto, authId, betterAuthId, authUserId, userId, tokenIdentifier, betterAuth.userId or email",
        "component": "Better Auth component name (default betterAuth)",
        "requireEmailVerification": "true when the app sets requireEmailVerification",
        "syncMutation": "the app's mutation that creates app rows from Better Auth users (default users:syncFromAuth)",
        "adminEmailEnv": "name of the admin email variable (default ADMIN_EMAIL)",
        "adminField": "admin flag of the app row (default isAdmin)",
        "sharedSecrets": "names of secrets set on both sides (default [INTERNAL_API_SECRET])",
        "disable": "rules to disable: [{rule: id, reason: why}]",
        "rules": "a folder (or a list of folders) of extra rule files, relative to this file",
        "tables": "renamed Better Auth tables of a Local Install: {user: profiles, account: ...}",
        "fields": "renamed Better Auth fields of a Local Install: {user: {email: email_address}}",
    ]

    /// Why a table or component name could reach outside the export (or a fixture's folder), or nil when it is
    /// safe: no `..` or `.`, not absolute, no `/` (in a component only between nested names, `a/b`), no `\\` or NUL.
    public static func unsafeName(_ name: String, nested: Bool) -> String? {
        if name.hasPrefix("/") || name.hasPrefix("~") { return "'\(name)' must be a name, not an absolute path" }
        if name.contains("\\") || name.contains("\0") { return "'\(name)' must be a name (no backslash or NUL)" }
        if !nested && name.contains("/") { return "'\(name)' must be a table name, without '/'" }
        for part in name.split(separator: "/", omittingEmptySubsequences: false) where part.isEmpty || part == "." || part == ".." {
            return "'\(name)' must be a name (nested components as a/b), without '..', '.' or empty parts"
        }
        return nil
    }

    /// Parses `auth-doctor.yaml` text. Unknown keys and wrong types are errors with line and column.
    public static func parse(yaml: String, file: String) throws(ConfigError) -> Config {
        func fail(_ message: String, _ mark: Mark?) -> ConfigError {
            ConfigError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message)
        }
        var config = Config()
        let root: Node?
        do {
            root = try RuleLoader.compose(yaml, file: file)
        } catch {
            throw ConfigError(file: file, line: error.line, column: error.column, message: error.message)
        }
        guard let root else { return config }
        guard let mapping = root.mapping else { throw fail("the config is a YAML mapping of key: value", root.mark) }
        for (k, v) in mapping {
            guard let key = k.string, keys[key] != nil else {
                let list = keys.keys.sorted().joined(separator: ", ")
                throw fail("unknown key '\(k.string ?? "?")'.\(Suggest.didYouMean(k.string ?? "", in: Array(keys.keys))) (known: \(list))", k.mark)
            }
            config.explicitKeys.insert(key)
            func text() throws(ConfigError) -> String {
                guard let s = v.scalar?.string, !s.isEmpty else { throw fail("'\(key)' must be a text value", v.mark) }
                return s
            }
            switch key {
            case "appTable":
                let t = try text()
                if let why = Config.unsafeName(t, nested: false) { throw fail("appTable \(why)", v.mark) }
                config.appTable = t
            case "emailField": config.emailField = try text()
            case "component":
                let c = try text()
                if let why = Config.unsafeName(c, nested: true) { throw fail("component \(why)", v.mark) }
                config.component = c
            case "syncMutation": config.syncMutation = try text()
            case "adminEmailEnv": config.adminEmailEnv = try text()
            case "adminField": config.adminField = try text()
            case "linkField":
                let s = try text()
                let allowed = ["auto", "email", legacyLink] + linkCandidates
                guard allowed.contains(s) || s.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                    throw fail("linkField must be one of \(allowed.joined(separator: ", ")) or a field name", v.mark)
                }
                config.linkField = s
            case "requireEmailVerification":
                guard let b = v.bool else { throw fail("requireEmailVerification must be true or false", v.mark) }
                config.requireEmailVerification = b
            case "sharedSecrets":
                guard let seq = v.sequence else { throw fail("sharedSecrets must be a list of names", v.mark) }
                config.sharedSecrets = try seq.map { (n: Node) throws(ConfigError) -> String in
                    guard let s = n.scalar?.string else { throw fail("sharedSecrets items must be names", n.mark) }
                    return s
                }
            case "rules":
                if let single = v.scalar?.string, !single.isEmpty {
                    config.ruleFolders = [single]
                } else if let seq = v.sequence {
                    config.ruleFolders = try seq.map { (n: Node) throws(ConfigError) -> String in
                        guard let s = n.scalar?.string, !s.isEmpty else { throw fail("rules items are folder paths", n.mark) }
                        return s
                    }
                } else {
                    throw fail("rules is a folder path or a list of them", v.mark)
                }
            case "tables":
                guard let m = v.mapping else { throw fail("tables is a mapping of Better Auth model: table name, e.g. {user: profiles}", v.mark) }
                for (mk, mv) in m {
                    guard let model = mk.string, Config.models.contains(model) else {
                        throw fail("tables: unknown Better Auth model '\(mk.string ?? "?")'.\(Suggest.didYouMean(mk.string ?? "", in: Config.models)) (models: \(Config.models.joined(separator: ", ")))", mk.mark)
                    }
                    guard let name = mv.scalar?.string, !name.isEmpty else { throw fail("tables.\(model) must be a table name", mv.mark) }
                    if let why = Config.unsafeName(name, nested: false) { throw fail("tables.\(model) \(why)", mv.mark) }
                    config.tables[model] = name
                }
            case "fields":
                guard let m = v.mapping else { throw fail("fields is a mapping of Better Auth model: {field: stored name}, e.g. {user: {email: email_address}}", v.mark) }
                for (mk, mv) in m {
                    guard let model = mk.string, Config.models.contains(model) else {
                        throw fail("fields: unknown Better Auth model '\(mk.string ?? "?")'.\(Suggest.didYouMean(mk.string ?? "", in: Config.models)) (models: \(Config.models.joined(separator: ", ")))", mk.mark)
                    }
                    guard let renames = mv.mapping else { throw fail("fields.\(model) is a mapping of field: stored name", mv.mark) }
                    for (fk, fv) in renames {
                        guard let field = fk.string, !field.isEmpty, let stored = fv.scalar?.string,
                              stored.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                            throw fail("fields.\(model): each entry is field: stored_name (a field name)", fk.mark)
                        }
                        config.fields[model, default: [:]][field] = stored
                    }
                }
            case "disable":
                guard let seq = v.sequence else { throw fail("disable must be a list of {rule: id, reason: why}", v.mark) }
                for item in seq {
                    guard let m = item.mapping, let rule = m["rule"]?.string else {
                        throw fail("each disable entry needs 'rule: <id>' and 'reason: <why>'", item.mark)
                    }
                    guard let reason = m["reason"]?.string, !reason.isEmpty else {
                        throw fail("disabling '\(rule)' needs a reason: the report prints it", item.mark)
                    }
                    config.disable.append(DisabledRule(rule: rule, reason: reason))
                }
            default: break
            }
        }
        return config
    }
}
