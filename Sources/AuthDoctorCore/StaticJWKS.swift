import Foundation

/// A static `JWKS` value of the Convex env, checked against what the Convex plugin and Convex's `customJwt`
/// provider accept (better-auth-facts-2.md §2.3): Better Auth's format (a JSON array of `jwks` documents, as
/// `npx convex run auth:getLatestJwks` prints it), exactly one key, no `expiresAt`, `alg` RS256 or ES256.
/// Nothing here holds or prints the private key except as a `Secret`.
public struct StaticJWKS: Sendable, Equatable {
    /// Which library's format the value is in.
    public enum Format: String, Sendable, Equatable {
        /// A JSON array of `jwks` documents (`publicKey`, `privateKey`, `createdAt`, `id`, `alg`).
        case betterAuth = "better-auth"
        /// Convex Auth's `{"keys":[{…RSA public JWK, "use":"sig"}]}`, the other library's variable of the same name.
        case convexAuth = "convex-auth"
        /// Not JSON at all.
        case notJSON = "not-json"
        /// JSON of another shape.
        case other
    }

    /// A reason the value breaks the token route or Convex's token validation.
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        /// The value does not parse as JSON (the message says where, never the value).
        case notJSON(String)
        /// Convex Auth's format: `createPublicJwks` calls `.map` on an object and auth.config.ts fails to load.
        case convexAuthFormat
        /// JSON, but neither an array of keys nor Convex Auth's object.
        case notAnArray(String)
        /// An empty array: the plugin's `createJwk` throws "Not implemented".
        case empty
        /// Two or more keys: Better Auth sorts them with `createdAt.getTime()` on a number and throws (500).
        case severalKeys(Int)
        /// An expiry (ms since 1970 when numeric): once it passes, Better Auth tries to create a key and cannot.
        case hasExpiry(Double?)
        /// A field the plugin reads is missing or not a string (`id`, `publicKey`, `privateKey`).
        case missingField(String)
        /// No `alg`: the key is published as EdDSA, which Convex's `customJwt` rejects.
        case algMissing
        /// `alg` EdDSA: Convex's `customJwt` supports only RS256 and ES256.
        case eddsa
        /// Another `alg` Convex's `customJwt` does not support.
        case unsupportedAlg(String)
        /// `publicKey` does not parse as a JWK with a `kty`.
        case publicKeyNotJWK
        /// The public key's type does not fit `alg` (RS256 needs `RSA`, ES256 needs `EC`).
        case keyTypeMismatch(kty: String, alg: String)

        public var description: String {
            switch self {
            case .notJSON(let why): return "JWKS is not JSON (\(why))"
            case .convexAuthFormat:
                return "JWKS is in Convex Auth's format ({\"keys\": [...]}), not Better Auth's array of jwks documents"
            case .notAnArray(let type): return "JWKS is a JSON \(type), not an array of jwks documents"
            case .empty: return "JWKS is an empty array: the Convex plugin cannot create a key (\"Not implemented\")"
            case .severalKeys(let n):
                return "JWKS holds \(n) keys: /api/auth/convex/token fails with \"createdAt.getTime is not a function\"; keep only the newest"
            case .hasExpiry(let at):
                return "the key has expiresAt\(at.map { " (\(Int64($0)))" } ?? ""): once it passes, token signing fails"
            case .missingField(let f): return "the key has no \(f)"
            case .algMissing: return "the key has no alg, so it is published as EdDSA, which Convex's customJwt rejects"
            case .eddsa: return "the key's alg is EdDSA: Convex's customJwt supports only RS256 and ES256"
            case .unsupportedAlg(let a): return "the key's alg is \(a): Convex's customJwt supports only RS256 and ES256"
            case .publicKeyNotJWK: return "the key's publicKey is not a JWK (JSON with a kty)"
            case .keyTypeMismatch(let kty, let alg): return "the key's publicKey is \(kty) but its alg is \(alg)"
            }
        }
    }

    /// The algorithms Convex's `customJwt` provider accepts.
    public static let supportedAlgorithms = ["RS256", "ES256"]

    /// Which library's format the value is in.
    public let format: Format
    /// How many keys the value holds (array elements, or Convex Auth's `keys`).
    public let keyCount: Int
    /// The first key's `id`: the JWT `kid`, which should be a row of the `jwks` table.
    public let keyId: String?
    /// The first key's `alg` as stored.
    public let alg: String?
    /// The first key's public key type (`RSA`, `EC`, `OKP`).
    public let kty: String?
    /// The first key's `privateKey` column (encrypted), for `JWKSDecrypt`; never printable.
    public let privateKey: Secret?
    /// Every problem, in the order a reader should fix them.
    public let problems: [Problem]

    /// True when the plugin and Convex accept the value.
    public var isValid: Bool { problems.isEmpty }

    /// Checks a secret-typed env value (`env.convex.JWKS`).
    public init(_ value: Secret) { self.init(value.raw) }

    /// Checks the value as stored in the Convex env (often pretty-printed, multi-line JSON).
    public init(_ value: String) {
        let parsed: Value
        do {
            parsed = try JSONParser.parse(value)
        } catch {
            self.init(format: .notJSON, problems: [.notJSON("\(error.message) at offset \(error.offset)")])
            return
        }
        switch parsed {
        case .map(let object):
            if let keys = object["keys"]?.listValue {
                self.init(format: .convexAuth, keyCount: keys.count, kty: keys.first?["kty"].stringValue,
                          problems: [.convexAuthFormat])
            } else {
                self.init(format: .other, problems: [.notAnArray("object without \"keys\"")])
            }
        case .list(let docs):
            self.init(betterAuthDocuments: docs)
        default:
            self.init(format: .other, problems: [.notAnArray(parsed.typeName)])
        }
    }

    private init(format: Format, keyCount: Int = 0, keyId: String? = nil, alg: String? = nil, kty: String? = nil,
                 privateKey: Secret? = nil, problems: [Problem]) {
        self.format = format
        self.keyCount = keyCount
        self.keyId = keyId
        self.alg = alg
        self.kty = kty
        self.privateKey = privateKey
        self.problems = problems
    }

    private init(betterAuthDocuments docs: [Value]) {
        guard let doc = docs.first else {
            self.init(format: .betterAuth, problems: [.empty])
            return
        }
        var problems: [Problem] = []
        if docs.count > 1 { problems.append(.severalKeys(docs.count)) }
        if case .map = doc {} else {
            self.init(format: .other, keyCount: docs.count, problems: problems + [.notAnArray("array of \(doc.typeName)")])
            return
        }
        switch doc["expiresAt"] {
        case .null: break
        case let v: problems.append(.hasExpiry(v.number))
        }
        let id = doc["id"].stringValue
        if id == nil { problems.append(.missingField("id")) }
        var kty: String?
        if let publicKey = doc["publicKey"].stringValue {
            kty = (try? JSONParser.parse(publicKey))?["kty"].stringValue
            if kty == nil { problems.append(.publicKeyNotJWK) }
        } else {
            problems.append(.missingField("publicKey"))
        }
        var privateKey: Secret?
        switch doc["privateKey"] {
        case .string(let s): privateKey = Secret(s)
        case .secret(let s): privateKey = s
        default: problems.append(.missingField("privateKey"))
        }
        let alg = doc["alg"].stringValue
        switch alg {
        case nil: problems.append(.algMissing)
        case "EdDSA": problems.append(.eddsa)
        case let a? where !Self.supportedAlgorithms.contains(a): problems.append(.unsupportedAlg(a))
        case let a?:
            if let kty, kty != (a == "RS256" ? "RSA" : "EC") { problems.append(.keyTypeMismatch(kty: kty, alg: a)) }
        }
        self.init(format: .betterAuth, keyCount: docs.count, keyId: id, alg: alg, kty: kty, privateKey: privateKey,
                  problems: problems)
    }

    /// Whether the key id is a row of the `jwks` table (`_id`s given), nil when there is no key id.
    public func keyIdIsRow(of jwksIds: [String]) -> Bool? {
        keyId.map { jwksIds.contains($0) }
    }

    /// The check as facts for rules: `format`, `keyCount`, `keyId`, `alg`, `kty`, `problems`, `valid`.
    /// The private key is not part of them.
    public var facts: Value {
        .map([
            "format": .string(format.rawValue), "keyCount": .int(Int64(keyCount)),
            "keyId": keyId.map { .string($0) } ?? .null, "alg": alg.map { .string($0) } ?? .null,
            "kty": kty.map { .string($0) } ?? .null,
            "problems": .list(problems.map { .string($0.description) }), "valid": .bool(isValid),
        ])
    }
}
