import Foundation

/// A public key a token may be signed with: a row of the component's `jwks` table, or the static `JWKS` of the
/// Convex env. Only the public JWK is kept; the private key column never enters it.
public struct TokenKey: Sendable, Equatable {
    /// The key id: the `jwks` row's `_id` (the static JWKS document's `id`), which the token names as `kid`.
    public let id: String
    /// The public JWK (`kty`, `n`/`e`, `crv`/`x`/`y`), parsed from the `publicKey` column.
    public let publicJWK: [String: Value]
    /// The algorithm stored with the key (Better Auth 1.7+, or the static JWKS), if any.
    public let alg: String?
    public let createdAt: Double?
    public let expiresAt: Double?
    /// "jwks table" or "static JWKS".
    public let origin: String

    public var kty: String? { publicJWK["kty"]?.stringValue }

    /// The keys of `jwks` rows (their `publicKey` column); rows whose column is not a JWK are left out.
    public static func keys(fromRows rows: [Row]) -> [TokenKey] {
        rows.compactMap { row in
            guard let id = row["_id"]?.stringValue ?? row["id"]?.stringValue else { return nil }
            return key(id: id, document: row, origin: "jwks table")
        }
    }

    /// The keys of a static `JWKS` value in Better Auth's format (a JSON array of jwks documents); none for
    /// another format (env.jwks-static reports that).
    public static func keys(fromStaticJWKS text: String) -> [TokenKey] {
        guard let docs = (try? JSONParser.parse(text))?.listValue else { return [] }
        return docs.compactMap { doc in
            guard let m = doc.mapValue, let id = m["id"]?.stringValue else { return nil }
            return key(id: id, document: m, origin: "static JWKS")
        }
    }

    static func key(id: String, document: Row, origin: String) -> TokenKey? {
        let jwk: [String: Value]?
        switch document["publicKey"] {
        case .string(let s)?: jwk = (try? JSONParser.parse(s))?.mapValue
        case .map(let m)?: jwk = m
        default: jwk = nil
        }
        guard let jwk, jwk["kty"]?.stringValue != nil else { return nil }
        // A public JWK has no private members; a column that holds them anyway is not kept.
        let publicOnly = jwk.filter { !["d", "p", "q", "dp", "dq", "qi", "oth", "k"].contains($0.key) }
        return TokenKey(id: id, publicJWK: publicOnly, alg: document["alg"]?.stringValue,
                        createdAt: document["createdAt"]?.number, expiresAt: document["expiresAt"]?.number, origin: origin)
    }

    /// The algorithm a key of this type signs: RS256 for RSA, ES256 for EC P-256, EdDSA for OKP Ed25519.
    public var algorithm: String? {
        switch kty {
        case "RSA": return "RS256"
        case "EC": return "ES256"
        case "OKP": return "EdDSA"
        default: return nil
        }
    }
}

/// What verifying the token's signature gave.
public struct SignatureCheck: Sendable, Equatable {
    public enum Status: String, Sendable {
        case verified, invalid
        case notChecked = "not-checked"
    }

    public let status: Status
    /// Why it was not checked, or what failed.
    public let reason: String

    public init(_ status: Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}

/// The rows a data source found for a token's ids (`--export` or `--url`).
public struct TokenData: Sendable {
    /// "export" or "deployment".
    public var kind: String
    public var location: String
    /// Whether the component has a `jwks` table at all.
    public var jwksTable: Bool
    /// The keys of the `jwks` table.
    public var keys: [TokenKey]
    /// The Better Auth user whose `_id` is the token's `sub`.
    public var user: Row?
    /// The app row whose `_id` is the token's `sub` (tokens of component ≤ 0.7 carry the app's id).
    public var appUser: Row?
    /// The session whose `_id` is the token's `sessionId`.
    public var session: Row?
    /// How the lookups went, for the report (a refused lookup, a table read whole).
    public var notes: [String]

    public init(kind: String, location: String, jwksTable: Bool, keys: [TokenKey], user: Row?, appUser: Row?, session: Row?,
                notes: [String] = []) {
        self.kind = kind
        self.location = location
        self.jwksTable = jwksTable
        self.keys = keys
        self.user = user
        self.appUser = appUser
        self.session = session
        self.notes = notes
    }
}

/// Everything `auth-doctor jwt` checks a token against (DESIGN §13.5, §13.9).
public struct TokenCheck: Sendable {
    /// Convex's own leeway for `exp` and `nbf`, in seconds (better-auth-facts-2.md §2.2).
    public static let leeway = 5.0

    public var token: ConvexToken
    public var now: Date
    /// `CONVEX_SITE_URL` to compare `iss` with, and where it came from (`--convex-site`, the deployment, a file).
    public var expectedIssuer: String?
    public var issuerFrom: String?
    /// Why no `CONVEX_SITE_URL` is known, when none is: the skip reason of `jwt.issuer`.
    public var issuerUnknown = "no CONVEX_SITE_URL to compare iss with: give --convex-site URL, --url, or a --convex-env file that has CONVEX_SITE_URL (it is built into every deployment, so `npx convex env list` does not print it)"
    /// The rows found with `--export` or `--url`; nil without data.
    public var data: TokenData?
    /// The keys of a static `JWKS` in the Convex env; nil when there is none.
    public var staticKeys: [TokenKey]?
    public var signature = SignatureCheck(.notChecked, "no public key for the token's kid (give --export or --url)")

    public init(token: ConvexToken, now: Date) {
        self.token = token
        self.now = now
    }

    /// The key the token names (`kid`): the static JWKS's first, since the plugin signs with it when it is set.
    public var key: TokenKey? {
        guard let kid = token.header["kid"]?.stringValue else { return nil }
        return (staticKeys ?? []).first { $0.id == kid } ?? (data?.keys ?? []).first { $0.id == kid }
    }

    /// `iss` as Convex compares it: `https://` added when there is no scheme, one trailing `/` trimmed.
    public static func normalizedIssuer(_ s: String) -> String {
        var out = s.contains("://") ? s : "https://" + s
        if out.hasSuffix("/") { out.removeLast() }
        return out
    }

    /// "60 s", "14 min", "3 h", "2 days".
    public static func duration(_ seconds: Double) -> String {
        let s = abs(seconds)
        if s < 90 { return "\(Int(s.rounded())) s" }
        if s < 90 * 60 { return "\(Int((s / 60).rounded())) min" }
        if s < 48 * 3600 { return "\(Int((s / 3600).rounded())) h" }
        return "\(Int((s / 86400).rounded())) days"
    }

    /// A claim that is a number of seconds since 1970 (`iat`, `exp`, `nbf`).
    func seconds(_ name: String) -> Double? { token.claims[name]?.number }

    /// The token's times against the clock, as facts and as one line for people.
    var time: Value {
        let nowS = now.timeIntervalSince1970
        let iat = seconds("iat"), exp = seconds("exp"), nbf = seconds("nbf")
        var parts: [String] = []
        if let iat {
            parts.append(iat > nowS ? "issued \(Self.duration(iat - nowS)) in the future (\(Render.iso(iat * 1000)))"
                                    : "issued \(Self.duration(nowS - iat)) ago (\(Render.iso(iat * 1000)))")
        }
        if let exp {
            parts.append(exp >= nowS ? "expires in \(Self.duration(exp - nowS)) (\(Render.iso(exp * 1000)))"
                                     : "expired \(Self.duration(nowS - exp)) ago (\(Render.iso(exp * 1000)))")
        }
        if let iat, let exp { parts.append("lifetime \(Self.duration(exp - iat))") }
        let summary = (parts.isEmpty ? "no iat or exp" : parts.joined(separator: ", ")) + "; clock \(Render.iso(nowS * 1000))"
        func num(_ d: Double?) -> Value { d.map { .double($0) } ?? .null }
        return .map([
            "now": .double(nowS), "iat": num(iat), "exp": num(exp), "nbf": num(nbf), "leeway": .double(Self.leeway),
            "expired": .bool(exp.map { nowS > $0 + Self.leeway } ?? false),
            "notYetValid": .bool(nbf.map { $0 > nowS + Self.leeway } ?? false),
            "issuedInFuture": .bool(iat.map { $0 > nowS + Self.leeway } ?? false),
            // How far ahead of this machine's clock the issuer's was, when the token says it was issued later.
            "skew": iat.map { $0 > nowS ? .string(Self.duration($0 - nowS)) : .null } ?? .null,
            "expiredFor": exp.map { nowS > $0 ? .string(Self.duration(nowS - $0)) : .null } ?? .null,
            "summary": .string(summary),
        ])
    }

    /// The provider form the token's algorithm is judged against, and why (better-auth-facts-2.md §1.5, §2.2).
    var provider: (form: String, because: String) {
        if staticKeys != nil {
            return ("customJwt", "a static JWKS is set in the Convex env, which only getAuthConfigProvider({ jwks }) (a customJwt provider, component ≥ 0.10) uses")
        }
        guard let key else {
            return ("unknown", "assuming either provider form: without the token's key (--export or --url) the token alone cannot tell which auth.config.ts has")
        }
        switch key.kty {
        case "RSA", "EC":
            return ("customJwt", "key \(key.id) is \(key.kty ?? "") (\(key.origin)): component ≥ 0.10 signs RS256 for getAuthConfigProvider()'s customJwt provider, assumed here")
        case "OKP":
            return ("oidc", "key \(key.id) is an Ed25519 (OKP) key (\(key.origin)): the plugin signs EdDSA only for the old OIDC provider form ({ domain, applicationID: \"convex\" }, component ≤ 0.9 or not migrated), assumed here")
        default:
            return ("unknown", "key \(key.id) has key type \(key.kty ?? "none"), which the Convex plugin never creates")
        }
    }

    /// The `jwt` facts (rules/README.md).
    public var facts: Value {
        let expected = expectedIssuer.map(Self.normalizedIssuer)
        let iss = token.claims["iss"]?.stringValue
        let keys = (staticKeys ?? []) + (data?.keys ?? [])
        func row(_ r: Row?) -> Value { r.map { SecretFields.protect($0) } ?? .null }
        let provider = provider
        return .map([
            "header": SecretFields.protect(token.header),
            "claims": SecretFields.protect(token.claims),
            "bytes": .int(Int64(token.byteCount)),
            "time": time,
            "issuer": .map([
                "expected": expected.map { .string($0) } ?? .null,
                "from": issuerFrom.map { .string($0) } ?? .null,
                "matches": expected.map { e in .bool(iss.map { Self.normalizedIssuer($0) == e } ?? false) } ?? .null,
                "unknownReason": .string(issuerUnknown),
            ]),
            "keys": .map([
                "known": .bool(data != nil || staticKeys != nil),
                "ids": .list(keys.map { .string($0.id) }),
                "staticJWKS": .bool(staticKeys != nil),
                "jwksTable": .bool(data?.jwksTable ?? false),
                "key": key.map { k in
                    .map(["id": .string(k.id), "kty": k.kty.map { .string($0) } ?? .null, "crv": k.publicJWK["crv"] ?? .null,
                          "alg": k.alg.map { .string($0) } ?? .null, "signs": k.algorithm.map { .string($0) } ?? .null,
                          "origin": .string(k.origin), "createdAt": k.createdAt.map { .double($0) } ?? .null,
                          "expiresAt": k.expiresAt.map { .double($0) } ?? .null])
                } ?? .null,
            ]),
            "provider": .map(["form": .string(provider.form), "because": .string(provider.because)]),
            "signature": .map(["status": .string(signature.status.rawValue), "reason": .string(signature.reason)]),
            "data": data.map { d in
                .map(["kind": .string(d.kind), "location": .string(d.location), "jwksTable": .bool(d.jwksTable)])
            } ?? .null,
            "user": row(data?.user),
            "appUser": row(data?.appUser),
            "session": row(data?.session),
        ])
    }

    /// The token as the report shows it: the header on one line, then the claims (registered ones first, times with
    /// their dates). Never the signature.
    public var exhibit: Report.Exhibit {
        func shown(_ v: Value) -> String {
            if case .string(let s) = v { return s }
            return JSONWriter.write(v, pretty: false)
        }
        let header = token.header.keys.sorted { a, b in
            let order = ["alg": 0, "kid": 1, "typ": 2]
            return (order[a] ?? 3, a) < (order[b] ?? 3, b)
        }.map { "\($0) \(shown(token.header[$0] ?? .null))" }.joined(separator: ", ")
        let first = ["iss", "aud", "sub", "sessionId", "iat", "exp", "nbf"]
        let names = first.filter { token.claims[$0] != nil } + token.claims.keys.filter { !first.contains($0) }.sorted()
        let width = max(6, names.map(\.count).max() ?? 0)
        let nowS = now.timeIntervalSince1970
        var lines = ["header".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + header]
        for name in names {
            let v = token.claims[name] ?? .null
            var text = shown(v)
            if ["iat", "exp", "nbf"].contains(name), let s = v.number {
                text += " (\(Render.iso(s * 1000)), \(s > nowS ? "in \(Self.duration(s - nowS))" : "\(Self.duration(nowS - s)) ago"))"
            }
            lines.append(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + text)
        }
        let value: Value = .map(["header": .map(token.header), "claims": .map(token.claims), "bytes": .int(Int64(token.byteCount))])
        let cleaned = token.cleaned.map { "; took off \($0)" } ?? ""
        return Report.Exhibit(name: "token", value: value,
                              title: "\(token.byteCount) bytes on stdin\(cleaned) (the signature is never shown)", lines: lines)
    }
}

extension Doctor {
    /// `jwt`: the token's facts through the `jwt` rules (DESIGN §13.5).
    public static func jwt(_ check: TokenCheck, source: SourceInfo, options: Options) -> Outcome {
        var pii = Set<String>()
        for row in [check.token.claims, check.data?.user, check.data?.appUser].compactMap({ $0 }) {
            for key in ["name", "email", "displayUsername", "username", options.config.emailField] {
                if let s = row[key]?.stringValue, !s.isEmpty { pii.insert(s) }
            }
        }
        return run(.jwt, facts: check.facts, source: source, options: options, exhibit: check.exhibit, personalData: pii,
                   subjectEmail: check.token.claims["email"]?.stringValue.map(Email.normalize), notes: check.data?.notes ?? []) { passed in
            "Convex accepts this token as far as was checked: \(passed.count) check\(passed.count == 1 ? "" : "s") passed (\(passed.joined(separator: ", ")))"
                + (check.signature.status == .verified ? "; the signature verifies." : "; the signature was not checked (\(check.signature.reason)).")
        }
    }
}
