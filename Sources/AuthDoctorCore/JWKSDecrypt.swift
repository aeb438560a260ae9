import Crypto
import Foundation

/// The secrets Better Auth encrypts with, built from the Convex env exactly as Better Auth builds its
/// `secretConfig` (better-auth-facts-2.md §1.3). Only the SHA-256 keys are kept, never the secret strings,
/// and nothing of them is printable.
public struct BetterAuthSecrets: Sendable, CustomStringConvertible, CustomReflectable {
    /// How the secrets are configured: one secret, or the versioned `BETTER_AUTH_SECRETS` list.
    enum Form: Sendable {
        /// `BETTER_AUTH_SECRET` (or `AUTH_SECRET`) alone; nil when neither is set.
        case single(key: [UInt8]?)
        /// `BETTER_AUTH_SECRETS`: the versions in order (the first is current) and the legacy secret for bare hex.
        case versioned(keys: [(version: Int, key: [UInt8])], legacy: [UInt8]?)
    }

    let form: Form

    /// Better Auth's built-in default secret: never a legacy secret.
    static let defaultSecret = "better-auth-secret-12345678901234567890"

    /// `BETTER_AUTH_SECRETS` could not be parsed: Better Auth throws a `BetterAuthError` on every request.
    /// The description names the entry by position, never its value.
    public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong and where, with Better Auth's error in parentheses.
        public let description: String
    }

    /// The versions of `BETTER_AUTH_SECRETS` in order (the first one encrypts new data); empty for one secret.
    public var versions: [Int] {
        if case .versioned(let keys, _) = form { return keys.map(\.version) }
        return []
    }

    /// True when a single secret, or a legacy secret beside `BETTER_AUTH_SECRETS`, is known.
    public var hasSingleOrLegacySecret: Bool {
        switch form {
        case .single(let key): return key != nil
        case .versioned(_, let legacy): return legacy != nil
        }
    }

    /// No children: `dump` and debuggers show the description, never the derived keys.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    public var description: String {
        switch form {
        case .single(let key): return key == nil ? "no secret" : "BETTER_AUTH_SECRET"
        case .versioned(let keys, let legacy):
            return "BETTER_AUTH_SECRETS versions \(keys.map { String($0.version) }.joined(separator: ","))"
                + (legacy == nil ? "" : " + legacy secret")
        }
    }

    /// The secrets from the variables' values: `secret` is `BETTER_AUTH_SECRET` (else `AUTH_SECRET`), `secrets`
    /// is `BETTER_AUTH_SECRETS`. Empty strings count as unset, as in Better Auth.
    public init(secret: String?, secrets: String?) throws(FormatError) {
        let single = secret.flatMap { $0.isEmpty ? nil : $0 }
        guard let secrets, !secrets.isEmpty else {
            form = .single(key: single.map(Self.key))
            return
        }
        var keys: [(version: Int, key: [UInt8])] = []
        for (i, rawEntry) in secrets.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let entry = JSText.trim(Substring(rawEntry))
            let place = "entry \(i + 1) of BETTER_AUTH_SECRETS"
            guard let colon = entry.firstIndex(of: ":") else {
                throw FormatError(description: "\(place) is not \"<version>:<secret>\" (Better Auth: Invalid BETTER_AUTH_SECRETS entry)")
            }
            guard let version = JSText.parseInt(entry[..<colon]), version >= 0 else {
                throw FormatError(description: "\(place) has no non-negative integer version before the colon (Better Auth: Invalid version in BETTER_AUTH_SECRETS)")
            }
            let value = JSText.trim(entry[entry.index(after: colon)...])
            guard !value.isEmpty else {
                throw FormatError(description: "\(place) has an empty secret for version \(version) (Better Auth: Empty secret value for version \(version) in BETTER_AUTH_SECRETS)")
            }
            guard !keys.contains(where: { $0.version == version }) else {
                throw FormatError(description: "version \(version) appears twice in BETTER_AUTH_SECRETS (Better Auth: Duplicate version \(version))")
            }
            keys.append((version, Self.key(String(value))))
        }
        let legacy = single.flatMap { $0 == Self.defaultSecret ? nil : $0 }
        form = .versioned(keys: keys, legacy: legacy.map(Self.key))
    }

    /// The secrets from a Convex env map (`env.convex` of the facts): string or secret-typed values.
    public init(convexEnv: [String: Value]) throws(FormatError) {
        func text(_ name: String) -> String? {
            switch convexEnv[name] {
            case .string(let s)?: return s
            case .secret(let s)?: return s.redactionValue
            default: return nil
            }
        }
        let secret = [text("BETTER_AUTH_SECRET"), text("AUTH_SECRET")].compactMap { $0 }.first { !$0.isEmpty }
        try self.init(secret: secret, secrets: text("BETTER_AUTH_SECRETS"))
    }

    /// Better Auth's key: SHA-256 of the UTF-8 bytes of the secret string (no KDF, no salt).
    static func key(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }
}

/// Whether a stored `jwks.privateKey` can be read with the deployment's secret, as the token route would.
/// Its description names the outcome only: never the plaintext, the key or the ciphertext.
public enum JWKSDecryptResult: Sendable, Equatable, CustomStringConvertible {
    /// It decrypts. `version` is the `BETTER_AUTH_SECRETS` version used, nil for `BETTER_AUTH_SECRET`.
    case decrypts(version: Int?)
    /// A raw JWK (`jwks.disablePrivateKeyEncryption`): nothing to decrypt. Never written by the Convex plugin, and
    /// the Convex plugin never disables encryption, so Better Auth behind it still tries to decrypt this row and
    /// fails ("Failed to decrypt private key", better-auth-facts-2.md §1.2, §1.4).
    case unencrypted
    /// Better Auth would throw "Failed to decrypt private key", for this reason.
    case doesNotDecrypt(JWKSDecryptFailure)
    /// Not a value Better Auth writes (hand-edited, truncated, wrong type); the reason says what is wrong.
    case malformed(String)

    /// The outcome as facts for rules: `outcome` (`decrypts`, `unencrypted`, `does-not-decrypt`, `malformed`),
    /// `version` (or null) and `reason` (this description).
    public var facts: Value {
        let outcome: String
        var version: Value = .null
        switch self {
        case .decrypts(let v): outcome = "decrypts"; version = v.map { .int(Int64($0)) } ?? .null
        case .unencrypted: outcome = "unencrypted"
        case .doesNotDecrypt: outcome = "does-not-decrypt"
        case .malformed: outcome = "malformed"
        }
        return .map(["outcome": .string(outcome), "version": version, "reason": .string(description)])
    }

    public var description: String {
        switch self {
        case .decrypts(nil): return "decrypts with BETTER_AUTH_SECRET"
        case .decrypts(let v?): return "decrypts with version \(v) of BETTER_AUTH_SECRETS"
        case .unencrypted: return "stored unencrypted (a raw JWK)"
        case .doesNotDecrypt(let why): return "does not decrypt: \(why)"
        case .malformed(let reason): return "malformed: \(reason)"
        }
    }
}

/// Why an encrypted value does not decrypt. Descriptions never contain secret material.
public enum JWKSDecryptFailure: Sendable, Equatable, CustomStringConvertible {
    /// The authentication tag does not match: another secret encrypted it (or it was altered).
    /// `version` is the `BETTER_AUTH_SECRETS` version tried, nil for `BETTER_AUTH_SECRET`.
    case wrongSecret(version: Int?)
    /// An `$ba$N$` envelope whose version N is not in `BETTER_AUTH_SECRETS` (retired).
    case versionNotInSecrets(Int)
    /// An `$ba$N$` envelope, but `BETTER_AUTH_SECRETS` is not set (removed, or Better Auth downgraded below 1.5).
    case envelopeWithoutSecrets(Int)
    /// Bare hex with `BETTER_AUTH_SECRETS` set and no `BETTER_AUTH_SECRET`/`AUTH_SECRET` to decrypt it with.
    case noLegacySecret
    /// Neither `BETTER_AUTH_SECRET`, `AUTH_SECRET` nor `BETTER_AUTH_SECRETS` is set.
    case noSecret

    public var description: String {
        switch self {
        case .wrongSecret(nil): return "BETTER_AUTH_SECRET is not the secret that encrypted it"
        case .wrongSecret(let v?): return "version \(v) of BETTER_AUTH_SECRETS is not the secret that encrypted it"
        case .versionNotInSecrets(let v): return "it was encrypted with secret version \(v), which BETTER_AUTH_SECRETS no longer lists"
        case .envelopeWithoutSecrets(let v): return "it was encrypted with version \(v) of BETTER_AUTH_SECRETS, which is not set"
        case .noLegacySecret: return "it was encrypted with a single secret and BETTER_AUTH_SECRETS is set without BETTER_AUTH_SECRET"
        case .noSecret: return "no BETTER_AUTH_SECRET or BETTER_AUTH_SECRETS is set"
        }
    }
}

/// Better Auth's `symmetricDecrypt` (better-auth-facts-2.md §1.3): XChaCha20-Poly1305, no AAD, key = SHA-256 of
/// the secret, stored as lowercase hex of nonce(24) ‖ ciphertext ‖ tag(16), optionally behind `$ba$<version>$`.
public enum JWKSDecrypt {
    /// Checks a `jwks.privateKey` column as stored: a JSON string literal holding the encrypted value
    /// (`"<hex>"` or `"$ba$<v>$<hex>"`), or a raw JWK object when encryption is disabled.
    public static func check(privateKey column: String, secrets: BetterAuthSecrets) -> JWKSDecryptResult {
        let trimmed = JSText.trim(Substring(column))
        if trimmed.isEmpty { return .malformed("the privateKey column is empty") }
        guard let parsed = try? JSONParser.parse(String(trimmed)) else {
            if trimmed.allSatisfy(\.isHexDigit) {
                return .malformed("hex without the surrounding JSON quotes (Better Auth's JSON.parse fails before decrypting)")
            }
            return .malformed("the privateKey column is not JSON (\(column.count) chars)")
        }
        switch parsed {
        case .map(let jwk):
            return jwk["kty"]?.stringValue == nil ? .malformed("a JSON object without \"kty\": not a JWK") : .unencrypted
        case .string(let payload):
            return check(encrypted: payload, secrets: secrets)
        default:
            return .malformed("the privateKey column holds a JSON \(parsed.typeName), not a string or a JWK")
        }
    }

    /// Checks a secret-typed `privateKey` (a fact value, or `StaticJWKS.privateKey`).
    public static func check(privateKey column: Secret, secrets: BetterAuthSecrets) -> JWKSDecryptResult {
        check(privateKey: column.redactionValue, secrets: secrets)
    }

    /// Checks the row Better Auth signs with: the `jwks` row with the newest `createdAt` (ms, or an ISO date).
    /// Nil without rows. `id` is the row's `_id` (the JWT `kid`). Better Auth replaces a newest row whose
    /// `expiresAt` has passed by a new key on the next token request; the caller decides whether that matters.
    public static func checkNewest(jwksRows rows: [Value], secrets: BetterAuthSecrets) -> (id: String?, result: JWKSDecryptResult)? {
        func created(_ row: Value) -> Double {
            if let n = row["createdAt"].number { return n }
            if let s = row["createdAt"].stringValue, let d = ISO8601DateFormatter().date(from: s) { return d.timeIntervalSince1970 * 1000 }
            return -.infinity
        }
        guard let newest = rows.enumerated().max(by: { (created($0.element), $0.offset) < (created($1.element), $1.offset) })?.element
        else { return nil }
        let id = newest["_id"].stringValue ?? newest["id"].stringValue
        switch newest["privateKey"] {
        case .string(let s): return (id, check(privateKey: s, secrets: secrets))
        case .secret(let s): return (id, check(privateKey: s, secrets: secrets))
        case .null: return (id, .malformed("the newest jwks row has no privateKey"))
        case let other: return (id, .malformed("the newest jwks row's privateKey is a \(other.typeName), not a string"))
        }
    }

    /// Checks an encrypted value without JSON quotes (`twoFactor.secret`, `twoFactor.backupCodes`, the payload
    /// inside `jwks.privateKey`), choosing the secret as Better Auth's `symmetricDecrypt` does.
    public static func check(encrypted payload: String, secrets: BetterAuthSecrets) -> JWKSDecryptResult {
        let hex: Substring
        let declared: Int?
        switch Envelope(payload) {
        case .invalid(let reason): return .malformed(reason)
        case .bare(let h): (hex, declared) = (h, nil)
        case .versioned(let v, let h): (hex, declared) = (h, v)
        }
        let key: [UInt8]
        switch (secrets.form, declared) {
        case (.single(nil), _): return .doesNotDecrypt(.noSecret)
        case (.single, let v?): return .doesNotDecrypt(.envelopeWithoutSecrets(v))
        case (.single(let k?), nil): key = k
        case (.versioned(let keys, _), let v?):
            guard let k = keys.first(where: { $0.version == v }) else { return .doesNotDecrypt(.versionNotInSecrets(v)) }
            key = k.key
        case (.versioned(_, let legacy), nil):
            guard let legacy else { return .doesNotDecrypt(.noLegacySecret) }
            key = legacy
        }
        let version = declared
        guard let bytes = decodeHex(hex) else {
            return .malformed("the encrypted value is not hex (\(hex.count) chars)")
        }
        guard bytes.count >= 24 + 16 else {
            return .malformed("the encrypted value is too short (\(bytes.count) bytes; nonce and tag need 40)")
        }
        guard let plaintext = XChaCha20Poly1305.open(key: key, nonce: Array(bytes[0..<24]), ciphertextAndTag: bytes[24...]) else {
            return .doesNotDecrypt(.wrongSecret(version: version))
        }
        guard String(bytes: plaintext, encoding: .utf8) != nil else {
            return .malformed("it decrypts, but not to UTF-8 text")
        }
        return .decrypts(version: version)
    }

    /// The payload's outer form: `$ba$<version>$<hex>` or bare hex.
    enum Envelope {
        case bare(Substring)
        case versioned(Int, Substring)
        case invalid(String)

        init(_ payload: String) {
            let s = Substring(payload)
            guard s.hasPrefix("$ba$") else { self = .bare(s); return }
            let rest = s.dropFirst(4)
            guard let dollar = rest.firstIndex(of: "$"), let v = JSText.parseInt(rest[..<dollar]), v >= 0 else {
                self = .invalid("starts with $ba$ but has no \"<version>$\" after it")
                return
            }
            self = .versioned(v, rest[rest.index(after: dollar)...])
        }
    }

    /// noble's `hexToBytes`: an even number of hex digits, either case.
    static func decodeHex(_ hex: Substring) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): HChaCha20 derives a subkey from the key and the first 16 nonce
/// bytes; the last 8 nonce bytes, after 4 zero bytes, are the IETF ChaCha20-Poly1305 nonce (RFC 8439).
enum XChaCha20Poly1305 {
    /// The plaintext, or nil when the tag does not verify or the sizes are wrong.
    static func open(key: [UInt8], nonce: [UInt8], ciphertextAndTag: ArraySlice<UInt8>, aad: [UInt8] = []) -> [UInt8]? {
        guard key.count == 32, nonce.count == 24, ciphertextAndTag.count >= 16,
              let subkey = hChaCha20(key: key, nonce: Array(nonce[0..<16])) else { return nil }
        let split = ciphertextAndTag.endIndex - 16
        do {
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: [0, 0, 0, 0] + nonce[16..<24]),
                                               ciphertext: ciphertextAndTag[..<split], tag: ciphertextAndTag[split...])
            return Array(try ChaChaPoly.open(box, using: SymmetricKey(data: subkey), authenticating: aad))
        } catch {
            return nil
        }
    }

    /// Encrypts (for tests and vectors): ciphertext ‖ tag.
    static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], aad: [UInt8] = []) -> [UInt8]? {
        guard key.count == 32, nonce.count == 24, let subkey = hChaCha20(key: key, nonce: Array(nonce[0..<16])),
              let n12 = try? ChaChaPoly.Nonce(data: [0, 0, 0, 0] + nonce[16..<24]),
              let box = try? ChaChaPoly.seal(plaintext, using: SymmetricKey(data: subkey), nonce: n12, authenticating: aad)
        else { return nil }
        return Array(box.ciphertext) + Array(box.tag)
    }

    /// HChaCha20: the ChaCha20 state "expand 32-byte k" ‖ key ‖ nonce16 (little-endian words), 20 rounds,
    /// no feed-forward; words 0–3 and 12–15 little-endian. Nil unless the key has 32 bytes and the nonce 16.
    static func hChaCha20(key: [UInt8], nonce: [UInt8]) -> [UInt8]? {
        guard key.count == 32, nonce.count == 16 else { return nil }
        func word(_ b: [UInt8], _ i: Int) -> UInt32 {
            UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        }
        var s: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]
        for i in 0..<8 { s.append(word(key, 4 * i)) }
        for i in 0..<4 { s.append(word(nonce, 4 * i)) }
        func quarterRound(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            s[a] &+= s[b]; s[d] ^= s[a]; s[d] = s[d] << 16 | s[d] >> 16
            s[c] &+= s[d]; s[b] ^= s[c]; s[b] = s[b] << 12 | s[b] >> 20
            s[a] &+= s[b]; s[d] ^= s[a]; s[d] = s[d] << 8 | s[d] >> 24
            s[c] &+= s[d]; s[b] ^= s[c]; s[b] = s[b] << 7 | s[b] >> 25
        }
        for _ in 0..<10 {
            quarterRound(0, 4, 8, 12); quarterRound(1, 5, 9, 13); quarterRound(2, 6, 10, 14); quarterRound(3, 7, 11, 15)
            quarterRound(0, 5, 10, 15); quarterRound(1, 6, 11, 12); quarterRound(2, 7, 8, 13); quarterRound(3, 4, 9, 14)
        }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for w in s[0..<4] + s[12..<16] {
            out += [UInt8(w & 0xff), UInt8(w >> 8 & 0xff), UInt8(w >> 16 & 0xff), UInt8(w >> 24)]
        }
        return out
    }
}

/// JavaScript's string helpers as Better Auth uses them.
enum JSText {
    /// `String.prototype.trim`: JavaScript whitespace and line terminators, both ends.
    static func trim(_ s: Substring) -> Substring {
        func isJSWhitespace(_ c: Character) -> Bool { c.isWhitespace || c == "\u{FEFF}" }
        var s = s
        while let f = s.first, isJSWhitespace(f) { s = s.dropFirst() }
        while let l = s.last, isJSWhitespace(l) { s = s.dropLast() }
        return s
    }

    /// `parseInt(s, 10)`: optional leading whitespace and sign, then the longest run of ASCII digits; nil (NaN)
    /// when there is none. Trailing text is ignored ("1abc" is 1), as in JavaScript.
    static func parseInt(_ s: Substring) -> Int? {
        var rest = trim(s)
        var sign = 1
        if rest.first == "+" || rest.first == "-" { sign = rest.first == "-" ? -1 : 1; rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 15, let n = Int(digits) else { return nil }
        return sign * n
    }
}
