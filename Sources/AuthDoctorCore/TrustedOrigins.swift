import Foundation

/// One entry of Better Auth's trusted-origin list and where it came from.
public struct TrustedOrigin: Sendable, Equatable {
    /// Where an entry comes from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// The origin of a base-URL variable of the Convex env (`SITE_URL`, `BETTER_AUTH_URL`).
        case baseURL(variable: String)
        /// Entry `index` (0-based) of `BETTER_AUTH_TRUSTED_ORIGINS`, split on commas and not trimmed.
        case trustedOriginsEnv(index: Int)
        /// An origin the caller knows from the app's config (`trustedOrigins` in auth-doctor.yaml, plugins).
        case configured

        public var description: String {
            switch self {
            case .baseURL(let name): return "the origin of \(name)"
            case .trustedOriginsEnv(let i): return "entry \(i + 1) of BETTER_AUTH_TRUSTED_ORIGINS"
            case .configured: return "the configured trustedOrigins"
            }
        }
    }

    /// The pattern exactly as Better Auth compares it (untrimmed).
    public let pattern: String
    /// Where the entry comes from.
    public let source: Source

    /// An entry with its source.
    public init(pattern: String, source: Source) {
        self.pattern = pattern
        self.source = source
    }
}

/// Something about a trusted-origin entry that the operator should know.
public enum TrustedOriginWarning: Sendable, Equatable, CustomStringConvertible {
    /// A bare `*`: every web origin is trusted, so the origin check protects nothing.
    case bareWildcard(TrustedOrigin)
    /// An entry that can never match any origin, and why (trailing slash, path, spaces, case, default port…).
    case neverMatches(TrustedOrigin, reason: String)
    /// A base-URL variable that is not an absolute http(s) URL: Better Auth throws "Invalid base URL".
    case invalidBaseURL(variable: String)

    public var description: String {
        switch self {
        case .bareWildcard(let e):
            return "\(e.source) is a bare \"*\": every web origin is trusted, so the origin check protects nothing"
        case .neverMatches(let e, let reason):
            return "\(e.source) \"\(e.pattern)\" never matches: \(reason)"
        case .invalidBaseURL(let name):
            return "\(name) is not an absolute http(s) URL (Better Auth: Invalid base URL)"
        }
    }
}

/// Better Auth's trusted origins with its exact semantics (better-auth-facts-2.md §3.1–3.2): the base URL's
/// origin, `BETTER_AUTH_TRUSTED_ORIGINS` split on `,` without trimming, exact origins for http(s), `*`/`?`
/// wildcards that cross dots, colons and slashes, and prefix matching for other schemes (`myapp://`).
public struct TrustedOrigins: Sendable, Equatable {
    /// The list in Better Auth's order; empty entries are dropped as Better Auth drops falsy ones.
    public let entries: [TrustedOrigin]
    /// Problems found while building the list and in its entries.
    public let warnings: [TrustedOriginWarning]

    /// The Convex env's base-URL variables whose origin Better Auth trusts, in the order they are read.
    public static let baseURLVariables = ["SITE_URL", "BETTER_AUTH_URL"]

    /// The list from the variables' values. `baseURLs` are (variable, value) pairs such as `("SITE_URL", …)`;
    /// `trustedOriginsEnv` is `BETTER_AUTH_TRUSTED_ORIGINS`; `configured` are origins known from the app's config.
    public init(baseURLs: [(variable: String, value: String)], trustedOriginsEnv: String?, configured: [String] = []) {
        var entries: [TrustedOrigin] = []
        var warnings: [TrustedOriginWarning] = []
        for (name, value) in baseURLs where !value.isEmpty {
            if let origin = Self.origin(of: value) {
                entries.append(TrustedOrigin(pattern: origin, source: .baseURL(variable: name)))
            } else {
                warnings.append(.invalidBaseURL(variable: name))
            }
        }
        entries += configured.filter { !$0.isEmpty }.map { TrustedOrigin(pattern: $0, source: .configured) }
        if let env = trustedOriginsEnv, !env.isEmpty {
            for (i, part) in env.split(separator: ",", omittingEmptySubsequences: false).enumerated() where !part.isEmpty {
                entries.append(TrustedOrigin(pattern: String(part), source: .trustedOriginsEnv(index: i)))
            }
        }
        for e in entries {
            if case .baseURL = e.source { continue }
            if e.pattern == "*" {
                warnings.append(.bareWildcard(e))
            } else if let reason = Self.whyNeverMatches(e.pattern) {
                warnings.append(.neverMatches(e, reason: reason))
            }
        }
        self.entries = entries
        self.warnings = warnings
    }

    /// The list Better Auth builds from a Convex env map (`env.convex` of the facts).
    public init(convexEnv: [String: Value], configured: [String] = []) {
        let bases = Self.baseURLVariables.compactMap { name in EnvText.value(convexEnv, name).map { (name, $0) } }
        self.init(baseURLs: bases, trustedOriginsEnv: EnvText.value(convexEnv, "BETTER_AUTH_TRUSTED_ORIGINS"), configured: configured)
    }

    /// The first entry that trusts `url` (an `Origin` header value or a callback URL), or nil.
    public func match(_ url: String) -> TrustedOrigin? {
        entries.first { Self.matches(url: url, pattern: $0.pattern) }
    }

    /// True when Better Auth's origin check accepts `url`.
    public func trusts(_ url: String) -> Bool { match(url) != nil }

    /// Better Auth's `matchesOriginPattern(url, pattern)` for absolute URLs.
    public static func matches(url: String, pattern: String) -> Bool {
        if url.hasPrefix("/") { return false }  // relative paths are for callback checks only
        if pattern.contains("*") || pattern.contains("?") {
            if pattern.contains("://") {
                return Wildcard.matches(pattern: pattern, origin(of: url) ?? url)
            }
            guard let h = host(of: url), !h.isEmpty else { return false }
            return Wildcard.matches(pattern: pattern, h)
        }
        switch scheme(of: url) {
        case "http", "https", nil: return pattern == origin(of: url)
        default: return url.hasPrefix(pattern)
        }
    }

    /// Why an entry can never match an origin Better Auth compares it with, or nil when it can.
    public static func whyNeverMatches(_ pattern: String) -> String? {
        if pattern.contains("*") || pattern.contains("?") {
            if pattern != pattern.trimmingCharacters(in: .whitespacesAndNewlines) {
                return "it has spaces around it (BETTER_AUTH_TRUSTED_ORIGINS is split on commas and not trimmed)"
            }
            if pattern.contains("://") && pattern.hasSuffix("/") {
                return "it is matched against origins, which never end with a slash; drop the trailing slash"
            }
            return nil
        }
        if pattern != pattern.trimmingCharacters(in: .whitespacesAndNewlines) {
            return "it has spaces around it (BETTER_AUTH_TRUSTED_ORIGINS is split on commas and not trimmed)"
        }
        switch scheme(of: pattern) {
        case nil:
            return "it has no scheme; write https://\(pattern)"
        case "http", "https":
            guard let o = origin(of: pattern) else { return "it is not a valid URL" }
            if o == pattern { return nil }
            if pattern.hasSuffix("/") && o == String(pattern.dropLast()) {
                return "a trailing slash never matches; write \(o)"
            }
            return "Better Auth compares exact origins (scheme, lowercase host, port only when not the default); write \(o)"
        default:
            return nil
        }
    }

    /// The WHATWG origin (`new URL(url).origin`) of an http(s) URL: lowercase scheme and host, the port only when it
    /// is not the default. Nil for other schemes (their origin is "null") and for what does not parse.
    public static func origin(of url: String) -> String? {
        guard let parts = URLParts(url), parts.isSpecial, !parts.host.isEmpty else { return nil }
        return "\(parts.scheme)://\(parts.hostWithPort)"
    }

    /// `new URL(url).host`: host and non-default port; "" for `myapp://`; nil when it does not parse.
    public static func host(of url: String) -> String? { URLParts(url)?.hostWithPort }

    /// The lowercase scheme without the colon, or nil when `url` has none.
    public static func scheme(of url: String) -> String? { URLParts(url)?.scheme }
}

/// The parts of an absolute URL that origins are made of, parsed the way WHATWG URL does for these fields.
struct URLParts {
    let scheme: String
    let host: String
    let port: String?

    var isSpecial: Bool { scheme == "http" || scheme == "https" }

    var hostWithPort: String { port.map { "\(host):\($0)" } ?? host }

    init?(_ raw: String) {
        // WHATWG strips leading and trailing C0 controls and spaces, and removes tabs and newlines anywhere.
        let trimmed = raw.unicodeScalars.drop { $0.value <= 0x20 }.reversed().drop { $0.value <= 0x20 }.reversed()
        let s = String(String.UnicodeScalarView(trimmed.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }))
        guard let colon = s.firstIndex(of: ":") else { return nil }
        let scheme = s[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        self.scheme = scheme.lowercased()
        var rest = s[s.index(after: colon)...]
        let special = self.scheme == "http" || self.scheme == "https"
        if special {
            rest = rest.drop { $0 == "/" || $0 == "\\" }
        } else if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
        } else {
            host = ""
            port = nil
            return
        }
        var authority = rest.prefix { !"/?#".contains($0) && !(special && $0 == "\\") }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var hostPart = authority
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let c = authority.lastIndex(of: ":") {
            hostPart = authority[..<c]
            portPart = authority[authority.index(after: c)...]
        }
        if special && hostPart.isEmpty { return nil }
        if let p = portPart, !p.isEmpty {
            guard p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p.prefix(6)), n <= 65535 else { return nil }
            let isDefault = (self.scheme == "http" && n == 80) || (self.scheme == "https" && n == 443)
            port = isDefault ? nil : String(n)
        } else {
            port = nil
        }
        host = special ? hostPart.lowercased() : String(hostPart)
    }
}

/// The `wildcard-match` patterns Better Auth compiles without a separator: `*` is any run of characters (dots,
/// colons and slashes included), `?` exactly one, `\x` a literal x; anchored at both ends, case-sensitive.
enum Wildcard {
    enum Token: Equatable { case literal(Character), one, any }

    static func tokens(_ pattern: String) -> [Token] {
        var out: [Token] = []
        var it = pattern.makeIterator()
        while let c = it.next() {
            switch c {
            case "\\": if let n = it.next() { out.append(.literal(n)) }
            case "*": out.append(.any)
            case "?": out.append(.one)
            default: out.append(.literal(c))
            }
        }
        return out
    }

    static func matches(pattern: String, _ text: String) -> Bool {
        let p = tokens(pattern), t = Array(text)
        var pi = 0, ti = 0
        var star: Int?, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == .one || p[pi] == .literal(t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == .any {
                star = pi; mark = ti; pi += 1
            } else if let s = star {
                pi = s + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == .any { pi += 1 }
        return pi == p.count
    }
}

/// An origin the hosting side serves, which Better Auth must trust.
public struct ServedOrigin: Sendable, Equatable {
    /// What kind of front end serves it.
    public enum Kind: String, Sendable, Equatable {
        /// The site's URL (`SITE_URL`, `NEXT_PUBLIC_SITE_URL`, …).
        case site
        /// A Vercel preview deployment or branch alias (`VERCEL_URL`, `VERCEL_BRANCH_URL` with `VERCEL_ENV=preview`).
        case preview
        /// A native app's scheme (`myapp://`), sent by the Expo client as its origin.
        case native
    }

    /// The origin as the browser or the Expo client sends it (`https://app.com`, `myapp://`).
    public let origin: String
    /// The variable it was read from.
    public let variable: String
    /// What kind of front end serves it.
    public let kind: Kind

    /// A served origin read from `variable`.
    public init(origin: String, variable: String, kind: Kind) {
        self.origin = origin
        self.variable = variable
        self.kind = kind
    }
}

/// The origins a hosting side serves (DESIGN §13.4 step 23, §13.9): its site URL variables, Vercel preview URLs,
/// and a native app's scheme.
public struct HostingOrigins: Sendable, Equatable {
    /// The hosting side's site URL variables, in the order they are read.
    public static let siteURLVariables = ["SITE_URL", "NEXT_PUBLIC_SITE_URL", "VITE_SITE_URL", "PUBLIC_SITE_URL", "EXPO_PUBLIC_SITE_URL"]

    /// Every served origin, without duplicates, in the order found.
    public let served: [ServedOrigin]
    /// True when the hosting env has `EXPO_PUBLIC_*` variables: a native (Expo) app.
    public let isNativeApp: Bool
    /// True for a native app whose scheme is known neither from a scheme-style site value nor from a
    /// non-http entry of `BETTER_AUTH_TRUSTED_ORIGINS`: its origin cannot be checked, and is likely untrusted.
    public var nativeSchemeUnknown: Bool { isNativeApp && !served.contains { $0.kind == .native } }

    /// The origins from the hosting env and, for a native app's scheme, the Convex side's
    /// `BETTER_AUTH_TRUSTED_ORIGINS` value.
    public init(hostingEnv: [String: Value], trustedOriginsEnv: String?) {
        var served: [ServedOrigin] = []
        func add(_ o: ServedOrigin) { if !served.contains(where: { $0.origin == o.origin }) { served.append(o) } }
        for name in Self.siteURLVariables {
            guard let value = EnvText.value(hostingEnv, name)?.trimmingCharacters(in: .whitespacesAndNewlines),
                  !value.isEmpty else { continue }
            if let o = TrustedOrigins.origin(of: value) {
                add(ServedOrigin(origin: o, variable: name, kind: .site))
            } else if let scheme = TrustedOrigins.scheme(of: value), value.contains("://") {
                add(ServedOrigin(origin: "\(scheme)://", variable: name, kind: .native))
            }
        }
        if EnvText.value(hostingEnv, "VERCEL_ENV")?.trimmingCharacters(in: .whitespaces) == "preview" {
            for name in ["VERCEL_URL", "VERCEL_BRANCH_URL"] {
                guard let host = EnvText.value(hostingEnv, name)?.trimmingCharacters(in: .whitespacesAndNewlines),
                      !host.isEmpty else { continue }
                // Vercel gives a host without a scheme; some exports carry one.
                if let o = TrustedOrigins.origin(of: host.contains("://") ? host : "https://" + host) {
                    add(ServedOrigin(origin: o, variable: name, kind: .preview))
                }
            }
        }
        isNativeApp = hostingEnv.keys.contains { $0.hasPrefix("EXPO_PUBLIC_") }
        if isNativeApp, let env = trustedOriginsEnv {
            for part in env.split(separator: ",") {
                let entry = part.trimmingCharacters(in: .whitespacesAndNewlines)
                guard let scheme = TrustedOrigins.scheme(of: entry), scheme != "http", scheme != "https",
                      entry.contains("://") else { continue }
                add(ServedOrigin(origin: "\(scheme)://", variable: "BETTER_AUTH_TRUSTED_ORIGINS", kind: .native))
            }
        }
        self.served = served
    }
}

/// http and https used side by side by the URLs that must agree for cookies (`SITE_URL`, the site,
/// `CONVEX_SITE_URL`): Better Auth's cookies are `Secure` and `__Secure-`-prefixed only with an https base URL.
public struct SchemeMix: Sendable, Equatable, CustomStringConvertible {
    /// The variables whose URL is http.
    public let http: [String]
    /// The variables whose URL is https.
    public let https: [String]

    /// A mix of the given variables.
    public init(http: [String], https: [String]) {
        self.http = http
        self.https = https
    }

    public var description: String {
        "\(http.joined(separator: ", ")) \(http.count == 1 ? "uses" : "use") http but \(https.joined(separator: ", ")) \(https.count == 1 ? "uses" : "use") https"
    }

    /// The mix among `urls` (variable, value), or nil when they agree. Loopback hosts (`localhost`, `127.0.0.1`,
    /// `[::1]`) are left out: http on localhost beside an https Convex site is the documented dev setup.
    public static func detect(_ urls: [(variable: String, value: String)]) -> SchemeMix? {
        var http: [String] = [], https: [String] = []
        for (name, value) in urls {
            guard let parts = URLParts(value), parts.isSpecial, !parts.host.isEmpty else { continue }
            let h = parts.host
            if h == "localhost" || h.hasSuffix(".localhost") || h.hasPrefix("127.") || h == "[::1]" { continue }
            if parts.scheme == "http" { http.append(name) } else { https.append(name) }
        }
        return http.isEmpty || https.isEmpty ? nil : SchemeMix(http: http, https: https)
    }

    /// The mix between the Convex `SITE_URL`, the hosting side's site URL variables and `CONVEX_SITE_URL`
    /// (Convex side, else the hosting side's `*_CONVEX_SITE_URL`).
    public static func detect(convexEnv: [String: Value], hostingEnv: [String: Value]) -> SchemeMix? {
        var urls: [(variable: String, value: String)] = []
        if let s = EnvText.value(convexEnv, "SITE_URL") { urls.append(("SITE_URL (Convex)", s)) }
        for name in HostingOrigins.siteURLVariables {
            if let s = EnvText.value(hostingEnv, name) { urls.append(("\(name) (hosting)", s)) }
        }
        let siteNames = ["CONVEX_SITE_URL", "NEXT_PUBLIC_CONVEX_SITE_URL", "VITE_CONVEX_SITE_URL", "PUBLIC_CONVEX_SITE_URL",
                         "EXPO_PUBLIC_CONVEX_SITE_URL"]
        if let s = EnvText.value(convexEnv, "CONVEX_SITE_URL") {
            urls.append(("CONVEX_SITE_URL (Convex)", s))
        } else if let name = siteNames.first(where: { EnvText.value(hostingEnv, $0) != nil }),
                  let s = EnvText.value(hostingEnv, name) {
            urls.append(("\(name) (hosting)", s))
        }
        return detect(urls)
    }
}

/// Step 23 in one value: which served origins Better Auth trusts, and what to warn about.
public struct TrustedOriginsCheck: Sendable, Equatable {
    /// The Convex side's trusted-origin list.
    public let trusted: TrustedOrigins
    /// What the hosting side serves.
    public let hosting: HostingOrigins
    /// Each served origin with the entry that trusts it, nil when none does (403 `INVALID_ORIGIN`).
    public let results: [(origin: ServedOrigin, trustedBy: TrustedOrigin?)]
    /// An http/https mix between `SITE_URL`, the site and `CONVEX_SITE_URL`.
    public let schemeMix: SchemeMix?

    /// The served origins no entry trusts.
    public var untrusted: [ServedOrigin] { results.filter { $0.trustedBy == nil }.map(\.origin) }

    /// Runs the check on the facts' env maps (`env.convex`, `env.hosting`).
    public init(convexEnv: [String: Value], hostingEnv: [String: Value], configured: [String] = []) {
        let trusted = TrustedOrigins(convexEnv: convexEnv, configured: configured)
        let hosting = HostingOrigins(hostingEnv: hostingEnv, trustedOriginsEnv: EnvText.value(convexEnv, "BETTER_AUTH_TRUSTED_ORIGINS"))
        self.trusted = trusted
        self.hosting = hosting
        results = hosting.served.map { ($0, trusted.match($0.origin)) }
        schemeMix = SchemeMix.detect(convexEnv: convexEnv, hostingEnv: hostingEnv)
    }

    public static func == (a: TrustedOriginsCheck, b: TrustedOriginsCheck) -> Bool {
        a.trusted == b.trusted && a.hosting == b.hosting && a.schemeMix == b.schemeMix
            && a.results.map(\.origin) == b.results.map(\.origin) && a.results.map(\.trustedBy) == b.results.map(\.trustedBy)
    }

    /// The check as facts for rules: `served` (origin, variable, kind, trustedBy), `untrusted`, `warnings`,
    /// `bareWildcard`, `nativeSchemeUnknown`, `schemeMix`, `trustedOrigins`.
    public var facts: Value {
        .map([
            "served": .list(results.map { r in
                .map(["origin": .string(r.origin.origin), "variable": .string(r.origin.variable),
                      "kind": .string(r.origin.kind.rawValue),
                      "trustedBy": r.trustedBy.map { .string("\($0.source) (\($0.pattern))") } ?? .null])
            }),
            "untrusted": .list(untrusted.map { .string($0.origin) }),
            "warnings": .list(trusted.warnings.map { .string($0.description) }),
            "bareWildcard": .bool(trusted.warnings.contains { if case .bareWildcard = $0 { return true } else { return false } }),
            "nativeApp": .bool(hosting.isNativeApp),
            "nativeSchemeUnknown": .bool(hosting.nativeSchemeUnknown),
            "schemeMix": schemeMix.map { .string($0.description) } ?? .null,
            "trustedOrigins": .list(trusted.entries.map { .string($0.pattern) }),
        ])
    }
}

/// Reading a variable's text from an env map of the facts, whether it is a plain or a secret-typed value.
enum EnvText {
    static func value(_ env: [String: Value], _ name: String) -> String? {
        switch env[name] {
        case .string(let s)?: return s
        case .secret(let s)?: return s.raw
        default: return nil
        }
    }
}
