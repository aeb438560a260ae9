import Foundation

/// One way a user can sign in, as the data shows it (better-auth-facts-2.md §4, DESIGN §13.3).
public enum SignInMethod: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Email and password: a `credential` account with a non-empty password.
    case password
    /// Username and password (username plugin): the same credential account, found by `user.username`.
    case username
    /// A social or generic OAuth provider: an account row with this `providerId` (`google`, `github`, …).
    case social(providerId: String)
    /// A passkey: a `passkey` row of the user.
    case passkey
    /// Email OTP: a `sign-in-otp-<email>` verification row.
    case emailOTP
    /// Magic link: a verification row whose value is `{"email": <email>, …}`.
    case magicLink
    /// Email OTP or magic link: a verified user without any account, and no verification row left to say which.
    case emailCode
    /// Phone number OTP: a verified `user.phoneNumber`.
    case phoneNumber
    /// Anonymous plugin: `user.isAnonymous`.
    case anonymous

    /// The stable name used in facts and JSON (`social:google`).
    public var description: String {
        switch self {
        case .password: return "password"
        case .username: return "username"
        case .social(let id): return "social:\(id)"
        case .passkey: return "passkey"
        case .emailOTP: return "email-otp"
        case .magicLink: return "magic-link"
        case .emailCode: return "email-otp-or-magic-link"
        case .phoneNumber: return "phone-number"
        case .anonymous: return "anonymous"
        }
    }

    /// The method in a sentence's words: "Google", "email + password", "a magic link".
    public var displayName: String {
        switch self {
        case .password: return "email + password"
        case .username: return "username + password"
        case .social(let id): return SignInMethod.providerNames[id] ?? id
        case .passkey: return "a passkey"
        case .emailOTP: return "an email code (OTP)"
        case .magicLink: return "a magic link"
        case .emailCode: return "an email code or magic link"
        case .phoneNumber: return "a phone code"
        case .anonymous: return "anonymous sign-in"
        }
    }

    /// The `--method` kind this method belongs to.
    public var kinds: [SignInMethodKind] {
        switch self {
        case .password, .username: return [.password]
        case .social: return [.social]
        case .passkey: return [.passkey]
        case .emailOTP, .phoneNumber: return [.otp]
        case .magicLink: return [.magicLink]
        case .emailCode: return [.otp, .magicLink]
        case .anonymous: return []
        }
    }

    private var order: Int {
        switch self {
        case .password: return 0
        case .username: return 1
        case .social: return 2
        case .passkey: return 3
        case .emailOTP: return 4
        case .magicLink: return 5
        case .emailCode: return 6
        case .phoneNumber: return 7
        case .anonymous: return 8
        }
    }

    public static func < (a: SignInMethod, b: SignInMethod) -> Bool {
        if a.order != b.order { return a.order < b.order }
        if case .social(let x) = a, case .social(let y) = b { return x < y }
        return false
    }

    static let providerNames = [
        "google": "Google", "github": "GitHub", "apple": "Apple", "microsoft": "Microsoft", "discord": "Discord",
        "facebook": "Facebook", "gitlab": "GitLab", "slack": "Slack", "twitter": "X (Twitter)", "linkedin": "LinkedIn",
        "spotify": "Spotify", "twitch": "Twitch", "reddit": "Reddit", "dropbox": "Dropbox", "notion": "Notion",
        "zoom": "Zoom", "tiktok": "TikTok", "vercel": "Vercel", "siwe": "Sign-In with Ethereum",
    ]
}

/// How the user says they are trying to sign in (`--method`).
public enum SignInMethodKind: String, Sendable, CaseIterable {
    case password, social, otp, magicLink = "magic-link", passkey, any
}

/// The sign-in methods of one Better Auth user, inferred from their rows.
public struct SignInMethods: Sendable, Equatable {
    /// The methods, sorted and without duplicates.
    public let methods: [SignInMethod]
    /// A `credential` account whose password is empty or missing: it exists but cannot be signed in with.
    public let credentialWithoutPassword: Bool

    /// True when the data shows no way at all for this user to sign in.
    public var isEmpty: Bool { methods.isEmpty }

    /// True when one of the methods is of this kind (`.any` when there is any method).
    public func includes(_ kind: SignInMethodKind) -> Bool {
        kind == .any ? !methods.isEmpty : methods.contains { $0.kinds.contains(kind) }
    }

    /// The methods in words, "Google, a passkey", or "no sign-in method".
    public var summary: String {
        methods.isEmpty ? "no sign-in method" : methods.map(\.displayName).joined(separator: ", ")
    }

    /// The methods as facts for rules: `methods` (names), `kinds`, `summary`, `hasPassword`,
    /// `credentialWithoutPassword`.
    public var facts: Value {
        let kinds = SignInMethodKind.allCases.filter { $0 != .any && includes($0) }
        return .map([
            "methods": .list(methods.map { .string($0.description) }),
            "kinds": .list(kinds.map { .string($0.rawValue) }),
            "summary": .string(summary),
            "hasPassword": .bool(includes(.password)),
            "credentialWithoutPassword": .bool(credentialWithoutPassword),
        ])
    }

    /// Infers the methods of `user` (a Better Auth `user` row) from the rows that may belong to it: `accounts`
    /// and `passkeys` count when their `userId` is the user's `_id`; `verifications` count when they name the
    /// user's email (email OTP identifiers, magic-link values).
    public init(user: Value, accounts: [Value], passkeys: [Value] = [], verifications: [Value] = []) {
        let userId = user["_id"].stringValue ?? user["id"].stringValue
        func isTheUsers(_ row: Value) -> Bool {
            guard let userId else { return false }
            return row["userId"].stringValue == userId
        }
        var found = Set<SignInMethod>()
        var credentialWithoutPassword = false
        let own = accounts.filter(isTheUsers)
        for account in own {
            guard let provider = account["providerId"].stringValue, !provider.isEmpty else { continue }
            if provider == "credential" {
                if Self.isSet(account["password"]) { found.insert(.password) } else { credentialWithoutPassword = true }
            } else {
                found.insert(.social(providerId: provider))
            }
        }
        if found.contains(.password), let name = user["username"].stringValue, !name.isEmpty { found.insert(.username) }
        if passkeys.contains(where: isTheUsers) { found.insert(.passkey) }
        if user["isAnonymous"].boolValue == true { found.insert(.anonymous) }
        if user["phoneNumberVerified"].boolValue == true, Self.isSet(user["phoneNumber"]) { found.insert(.phoneNumber) }
        if let email = user["email"].stringValue.map(Email.normalize), !email.isEmpty {
            for row in verifications {
                guard let identifier = row["identifier"].stringValue else { continue }
                if identifier.lowercased() == "sign-in-otp-" + email {
                    found.insert(.emailOTP)
                } else if let value = row["value"].stringValue, value.hasPrefix("{"),
                          let stored = (try? JSONParser.parse(value))?["email"].stringValue,
                          Email.normalize(stored) == email {
                    found.insert(.magicLink)
                }
            }
            if own.isEmpty, user["emailVerified"].boolValue == true, user["isAnonymous"].boolValue != true,
               !found.contains(.emailOTP), !found.contains(.magicLink) {
                found.insert(.emailCode)
            }
        }
        methods = found.sorted()
        self.credentialWithoutPassword = credentialWithoutPassword
    }

    static func isSet(_ v: Value) -> Bool {
        switch v {
        case .string(let s): return !s.isEmpty
        case .secret(let s): return !s.raw.isEmpty
        case .null: return false
        default: return true
        }
    }
}

/// Whether a Convex Auth (`@convex-dev/auth`) password can be carried over to Better Auth
/// (better-auth-facts-2.md §8.2). Only the format is looked at; the value is never exposed.
public enum ConvexAuthPassword: Sendable, Equatable, CustomStringConvertible {
    /// Lucia v3 `Scrypt` (`<32 hex salt>:<128 hex key>`), Better Auth's own format: copy `authAccounts.secret`
    /// verbatim into `account.password` of a `credential` account. (Lucia's `LegacyScrypt` with r=8 writes the
    /// same shape and cannot be told apart from the string; apps on Convex Auth's default `Password` use v3.)
    case carriesOver
    /// A format Better Auth cannot verify (Lucia `LegacyScrypt` `s2:`, bcrypt, a custom `crypto`…), by its shape.
    case cannotCarryOver(shape: String)
    /// A password account with no `secret` stored.
    case noSecret
    /// Not a password account (`provider` is another provider, e.g. an OAuth one).
    case notAPasswordAccount(provider: String?)

    public var description: String {
        switch self {
        case .carriesOver: return "Lucia scrypt (salt:key), the format Better Auth verifies: it can be copied as is"
        case .cannotCarryOver(let shape): return "\(shape): Better Auth cannot verify it; the user must reset the password"
        case .noSecret: return "no password is stored"
        case .notAPasswordAccount(let p): return "not a password account (provider \(p ?? "missing"))"
        }
    }

    /// Classifies an `authAccounts` row. Convex Auth's `Password` provider id is `password` unless the app set
    /// another `id`; pass it as `passwordProvider`.
    public static func classify(account: Value, passwordProvider: String = "password") -> ConvexAuthPassword {
        let provider = account["provider"].stringValue
        guard provider == passwordProvider else { return .notAPasswordAccount(provider: provider) }
        return classify(secret: account["secret"])
    }

    /// Classifies an `authAccounts.secret` value (string or secret-typed).
    public static func classify(secret: Value) -> ConvexAuthPassword {
        let raw: String
        switch secret {
        case .string(let s): raw = s
        case .secret(let s): raw = s.raw
        case .null: return .noSecret
        default: return .cannotCarryOver(shape: "a \(secret.typeName), not a string")
        }
        if raw.isEmpty { return .noSecret }
        return HashKind.classify(raw) == .scrypt ? .carriesOver : .cannotCarryOver(shape: HashKind.describe(raw))
    }

    /// The verdict as facts for rules: `carriesOver` and `shape` (never the value).
    public var facts: Value {
        let shape: String
        switch self {
        case .carriesOver: shape = "scrypt salt:key"
        case .cannotCarryOver(let s): shape = s
        case .noSecret: shape = "none"
        case .notAPasswordAccount: shape = "not a password account"
        }
        return .map(["carriesOver": .bool(self == .carriesOver), "shape": .string(shape), "summary": .string(description)])
    }
}
