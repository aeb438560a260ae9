import Foundation

/// A JWT as pasted into `auth-doctor jwt` (DESIGN §13.5): a compact JWS of three base64url parts. The header and
/// claims are decoded for the report; the signature is kept only as bytes for verification and is never part of
/// any fact, message or output, and neither is the token itself.
public struct ConvexToken: Sendable {
    /// The decoded header (`alg`, `kid`, ...).
    public let header: [String: Value]
    /// The decoded claims (`iss`, `aud`, `sub`, `sessionId`, `iat`, `exp`, the user's fields).
    public let claims: [String: Value]
    /// `base64url(header) + "." + base64url(claims)`: the bytes the signature signs.
    public let signingInput: [UInt8]
    /// The signature bytes, for verification only.
    public let signature: [UInt8]
    /// The token's length in bytes (as pasted, after cleaning).
    public let byteCount: Int
    /// What was taken off the input around the token ("a Bearer prefix", "the token field of a JSON answer"), or nil.
    public let cleaned: String?

    /// A Convex JWT is a few KB (the user's fields are claims); anything past this is not one.
    public static let maxBytes = 64 * 1024

    /// Why the input is not a token the doctor can read. The message never quotes the input.
    public struct NotAToken: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Reads a token from what was pasted: surrounding whitespace and quotes, an `Authorization:` / `Bearer `
    /// prefix, a cookie (`__Secure-better-auth.convex_jwt=<token>; …`) or the `{"token": "…"}` answer of
    /// `/api/auth/convex/token` are taken off first.
    public static func read(_ input: String) throws(NotAToken) -> ConvexToken {
        guard input.utf8.count <= maxBytes else {
            throw NotAToken(description: "the input is \(input.utf8.count) bytes, more than \(maxBytes / 1024) KiB: a Convex JWT is a few KB. Pipe only the token.")
        }
        let (token, cleaned) = clean(input)
        guard !token.isEmpty else {
            throw NotAToken(description: "no token on stdin. Pipe one in: `pbpaste | auth-doctor jwt`, or `auth-doctor jwt < token.txt`.")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        switch parts.count {
        case 3: break
        case 2:
            throw NotAToken(description: "not a JWT: 2 parts separated by a dot, a JWT has 3 (header.claims.signature). Two parts look like Better Auth's session cookie (token.signature), not the Convex token: copy the convex_jwt cookie, or the token of GET /api/auth/convex/token.")
        case 5:
            throw NotAToken(description: "not a signed JWT: 5 parts is an encrypted token (JWE). Convex tokens are signed JWTs of 3 parts (header.claims.signature).")
        default:
            throw NotAToken(description: "not a JWT: \(parts.count) part\(parts.count == 1 ? "" : "s") separated by dots, a JWT has 3 (header.claims.signature).")
        }
        func object(_ part: Substring, _ name: String) throws(NotAToken) -> [String: Value] {
            guard let bytes = base64URL(part) else {
                throw NotAToken(description: "not a JWT: the \(name) is not base64url (A-Z a-z 0-9 - _). Was the token cut or wrapped when it was copied?")
            }
            let value: Value
            do { value = try JSONParser.parse(Data(bytes)) } catch {
                throw NotAToken(description: "not a JWT: the \(name) is not JSON (\(error.message) at byte \(error.offset) of the decoded \(name)).")
            }
            guard case .map(let m) = value else {
                throw NotAToken(description: "not a JWT: the \(name) is a JSON \(value.typeName), not an object.")
            }
            return m
        }
        let header = try object(parts[0], "header")
        let claims = try object(parts[1], "claims")
        guard !parts[2].isEmpty else {
            throw NotAToken(description: "the token has no signature (alg \(Render.plain(header["alg"] ?? .null))): an unsigned JWT, which Convex never accepts.")
        }
        guard let signature = base64URL(parts[2]) else {
            throw NotAToken(description: "not a JWT: the signature is not base64url (A-Z a-z 0-9 - _). Was the token cut when it was copied?")
        }
        return ConvexToken(header: header, claims: claims, signingInput: Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)),
                           signature: signature, byteCount: token.utf8.count, cleaned: cleaned)
    }

    /// The token inside a paste, and what was taken off around it.
    static func clean(_ input: String) -> (String, String?) {
        var s = input.trimmingCharacters(in: .whitespacesAndNewlines)
        var what: [String] = []
        if s.hasPrefix("{"), let json = try? JSONParser.parse(s), let token = json["token"].stringValue {
            s = token.trimmingCharacters(in: .whitespacesAndNewlines)
            what.append("the token field of a JSON answer")
        }
        if s.lowercased().hasPrefix("authorization:") {
            s = s.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces)
            what.append("an Authorization: header name")
        }
        if s.lowercased().hasPrefix("bearer ") {
            s = s.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
            what.append("a Bearer prefix")
        }
        // A cookie pair as copied from the browser: `__Secure-better-auth.convex_jwt=eyJ…; Path=/`.
        if let eq = s.firstIndex(of: "="), eq != s.startIndex, s[s.index(after: eq)...].hasPrefix("eyJ") {
            let name = s[..<eq].trimmingCharacters(in: .whitespaces)
            s = String(s[s.index(after: eq)...].prefix { $0 != ";" && !$0.isWhitespace })
            what.append("the cookie name \(Sanitize.inline(name))")
        }
        if s.count >= 2, let q = s.first, q == "\"" || q == "'", s.last == q {
            s = String(s.dropFirst().dropLast())
            what.append("quotes")
        }
        return (s, what.isEmpty ? nil : what.joined(separator: ", "))
    }

    /// Decodes base64url without padding (padding tolerated); nil for any other character.
    public static func base64URL(_ s: Substring) -> [UInt8]? {
        var text = s
        while text.hasSuffix("=") { text = text.dropLast() }
        guard text.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }),
              text.utf8.count % 4 != 1 else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }
}
