import Foundation

/// The facts of the plugin tables and of Convex Auth's tables (DESIGN §13.4, documented in rules/README.md):
/// `ba.tables`, `ba.twoFactors`, `ba.passkeys`, `ba.verifications`, `ba.jwks`, `ba.jwksCheck` and `convexAuth`.
/// Nothing secret leaves here as text: hashes, keys, codes and tokens stay secret-typed, and the checks answer
/// with outcomes and shapes only.
public enum SideFacts {
    /// The Better Auth part: merged into `ba`.
    static func betterAuth(_ side: SideRows, env: Value) -> [String: Value] {
        [
            "tables": side.componentTables.map { .list($0.map { .string($0) }) } ?? .null,
            "twoFactors": .list(side.twoFactors.map(SecretFields.protect)),
            "passkeys": .list(side.passkeys.map(SecretFields.protect)),
            "verifications": .list(side.verifications.map(verification)),
            "jwks": .list(side.jwks.map(SecretFields.protect)),
            "jwksCheck": jwksCheck(side.jwks, env: env),
        ]
    }

    /// `convexAuth`: Convex Auth's tables in the app's namespace and this person's rows in them.
    static func convexAuth(_ side: SideRows) -> Value {
        let accounts: [Value] = side.convexAuthAccounts.map { row in
            guard case .map(var m) = SecretFields.protect(row) else { return .null }
            // Whether the password can be carried over to Better Auth, by its format only (§8.2).
            m["carryOver"] = ConvexAuthPassword.classify(account: .map(row)).facts
            return .map(m)
        }
        return .map([
            "tables": .list(side.convexAuthTables.map { .string($0) }),
            "present": .bool(!side.convexAuthTables.isEmpty),
            "accounts": .list(accounts),
            "sessions": .list(side.convexAuthSessions.map(SecretFields.protect)),
        ])
    }

    /// True when a `verification` row is about this email: an email-OTP identifier (`<type>-otp-<email>`, and
    /// `change-email-otp-<email>-<new>`) or a magic-link value `{"email": …}` (better-auth-facts-2.md §4).
    public static func verificationNames(_ row: Row, _ normalizedEmail: String) -> Bool {
        verificationKind(row, normalizedEmail) != nil
    }

    /// `sign-in-otp`, `email-verification-otp`, `forget-password-otp`, `change-email-otp`, `magic-link`, or nil.
    static func verificationKind(_ row: Row, _ email: String) -> String? {
        if let identifier = row["identifier"]?.stringValue?.lowercased() {
            for type in ["sign-in", "email-verification", "forget-password"] where identifier == "\(type)-otp-\(email)" {
                return "\(type)-otp"
            }
            if identifier.hasPrefix("change-email-otp-\(email)-") { return "change-email-otp" }
        }
        if let value = row["value"]?.stringValue, value.hasPrefix("{"),
           let stored = (try? JSONParser.parse(value))?["email"].stringValue, Email.normalize(stored) == email {
            return "magic-link"
        }
        return nil
    }

    /// A verification row as facts: its `kind`, times and id; the identifier (a magic-link token) and the value (a
    /// code) are secrets.
    static func verification(_ row: Row) -> Value {
        var m: [String: Value] = [:]
        for (k, v) in row {
            switch k {
            case "identifier", "value": m[k] = v.asSecretDeep()
            default: m[k] = SecretFields.protect(.map([k: v]))[k]
            }
        }
        let email = row["identifier"]?.stringValue.flatMap { id -> String? in
            guard let r = id.range(of: "-otp-") else { return nil }
            return Email.normalize(String(id[r.upperBound...]))
        }
        m["kind"] = (email.flatMap { verificationKind(row, $0) } ?? magicLinkKind(row)).map { .string($0) } ?? .string("other")
        return .map(m)
    }

    static func magicLinkKind(_ row: Row) -> String? {
        guard let value = row["value"]?.stringValue, value.hasPrefix("{"), (try? JSONParser.parse(value))?["email"].stringValue != nil
        else { return nil }
        return "magic-link"
    }

    /// `ba.jwksCheck`: whether the newest `jwks` private key decrypts with the Convex env's secret, as Better Auth's
    /// token route would (better-auth-facts-2.md §1). Null without keys or without the Convex env. Only the outcome
    /// (`outcome`, `version`, `reason`), the key's id (`keyId`, the JWT `kid`) and the number of keys (`keys`).
    public static func jwksCheck(_ rows: [Row], env: Value) -> Value {
        guard !rows.isEmpty, let convex = env["convex"].mapValue else { return .null }
        var out: [String: Value] = ["keys": .int(Int64(rows.count)), "keyId": .null, "version": .null]
        do {
            let secrets = try BetterAuthSecrets(convexEnv: convex)
            guard let (id, result) = JWKSDecrypt.checkNewest(jwksRows: rows.map { .map($0) }, secrets: secrets) else { return .null }
            guard case .map(let r) = result.facts else { return .null }
            for (k, v) in r { out[k] = v }
            out["keyId"] = id.map { .string($0) } ?? .null
        } catch {
            out["outcome"] = .string("secrets-unparseable")
            out["reason"] = .string(error.description)
        }
        return .map(out)
    }
}
