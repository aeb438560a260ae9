import Foundation

/// A value in the facts data model: what rule expressions see and what reports carry.
public indirect enum Value: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([Value])
    case map([String: Value])
    /// A secret (password hash, token, key, secret env value). It can be compared and classified,
    /// never rendered: every renderer prints its `shape` instead.
    case secret(Secret)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    public var listValue: [Value]? { if case .list(let l) = self { return l } else { return nil } }

    public var mapValue: [String: Value]? { if case .map(let m) = self { return m } else { return nil } }

    /// A number as a Double, for int and double values.
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public subscript(key: String) -> Value {
        if case .map(let m) = self { return m[key] ?? .null }
        return .null
    }

    /// The type name used by the expression language's `type()` function.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .bytes: return "bytes"
        case .list: return "list"
        case .map: return "map"
        case .secret: return "secret"
        }
    }
}

/// A secret string. Its raw value is reachable only inside the module, for comparisons and
/// classification; `description` and every rendering show only its shape.
public struct Secret: Sendable, Equatable, CustomStringConvertible {
    let raw: String

    public init(_ raw: String) { self.raw = raw }

    /// A printable description of the secret that reveals nothing of its value.
    public var shape: String {
        switch HashKind.classify(raw) {
        case .empty: return "empty"
        case .other: return "set, \(raw.count) chars"
        default: return HashKind.describe(raw)
        }
    }

    public var description: String { "‹secret: \(shape)›" }

    /// Compares two secrets in time independent of where they differ.
    public func constantTimeEquals(_ other: Secret) -> Bool {
        let a = Array(raw.utf8), b = Array(other.raw.utf8)
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }

    /// The raw value, for the final redaction pass only.
    package var redactionValue: String { raw }
}

/// What kind of password hash (or other secret) a stored string looks like.
public enum HashKind: String, Sendable, CaseIterable {
    case scrypt, scryptUppercase = "scrypt-uppercase", bcrypt, argon2, pbkdf2Werkzeug = "pbkdf2-werkzeug"
    case pbkdf2Django = "pbkdf2-django", luciaV2 = "lucia-v2", wrongLength = "wrong-length", empty, other

    /// The kind with its public parameters (cost, iterations, lengths), never the salt or the key:
    /// `bcrypt hash ($2b$, cost 10, 60 chars)`.
    public static func describe(_ s: String) -> String {
        let parts = s.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        switch classify(s) {
        case .scrypt: return "scrypt salt:key, \(s.count) chars"
        case .scryptUppercase: return "scrypt salt:key with uppercase hex, \(s.count) chars"
        case .bcrypt:
            let cost = parts.count > 2 ? parts[2] : "?"
            return "bcrypt hash ($\(parts.count > 1 ? parts[1] : "2")$, cost \(cost), \(s.count) chars)"
        case .argon2:
            let variant = parts.count > 1 ? parts[1] : "argon2"
            let params = parts.first { $0.hasPrefix("m=") }.map { ", " + $0 } ?? ""
            return "\(variant) hash (\(variant)\(params), \(s.count) chars)"
        case .pbkdf2Werkzeug:
            let head = s.split(separator: "$").first.map(String.init) ?? "pbkdf2"
            let fields = head.split(separator: ":")
            let iterations = fields.count > 2 ? ", \(fields[2]) iterations" : ""
            return "Werkzeug \(fields.prefix(2).joined(separator: ":")) hash (\(iterations.dropFirst(2).isEmpty ? "" : iterations.dropFirst(2) + ", ")\(s.count) chars)"
        case .pbkdf2Django:
            let iterations = parts.count > 1 ? "\(parts[1]) iterations, " : ""
            return "Django \(parts[0]) hash (\(iterations)\(s.count) chars)"
        case .luciaV2: return "Lucia v2 s2: scrypt hash (\(s.count) chars)"
        case .wrongLength:
            let sk = s.split(separator: ":", omittingEmptySubsequences: false)
            return "salt:key with wrong lengths (salt \(sk[0].count), key \(sk.count > 1 ? sk[1].count : 0) hex chars; Better Auth writes 32 and 128)"
        case .empty: return "empty string"
        case .other: return "unrecognised value (\(s.count) chars)"
        }
    }

    /// True for exactly Better Auth's own shape, 32 lowercase hex, `:`, 128 lowercase hex (`classify` says `.scrypt`),
    /// read from bytes: the audit's fast path for the common case.
    public static func isScrypt(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard n == 161, p[32] == UInt8(ascii: ":") else { return false }
        for i in 0..<n where i != 32 {
            let b = p[i]
            if !((b >= 48 && b <= 57) || (b >= 97 && b <= 102)) { return false }
        }
        return true
    }

    public static func classify(_ s: String) -> HashKind {
        if s.isEmpty { return .empty }
        var text = s
        if text.withUTF8({ b in b.baseAddress.map { isScrypt($0, b.count) } ?? false }) { return .scrypt }
        let bytes = Array(s.utf8)
        func isHex(_ part: ArraySlice<UInt8>) -> Bool {
            part.allSatisfy { b in (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70) }
        }
        if s.hasPrefix("$2a$") || s.hasPrefix("$2b$") || s.hasPrefix("$2y$") || s.hasPrefix("$2x$") { return .bcrypt }
        if s.hasPrefix("$argon2") { return .argon2 }
        if s.hasPrefix("pbkdf2:") { return .pbkdf2Werkzeug }
        if s.hasPrefix("pbkdf2_") { return .pbkdf2Django }
        if s.hasPrefix("s2:") { return .luciaV2 }
        let parts = bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        if parts.count == 2 {
            let (salt, key) = (parts[0], parts[1])
            if salt.count == 32 && key.count == 128 {
                // Lowercase is Better Auth's own shape, `.scrypt` above.
                if isHex(salt) && isHex(key) { return .scryptUppercase }
            } else if !salt.isEmpty && !key.isEmpty && isHex(salt) && isHex(key) {
                return .wrongLength
            }
        }
        return .other
    }
}

extension Value {
    /// Wraps string values as secrets; other values pass through.
    public func asSecret() -> Value {
        switch self {
        case .string(let s): return .secret(Secret(s))
        default: return self
        }
    }

    /// Wraps every string inside this value as a secret (the value of a secret-named field, whatever its shape).
    public func asSecretDeep() -> Value {
        switch self {
        case .string(let s): return .secret(Secret(s))
        case .list(let l): return .list(l.map { $0.asSecretDeep() })
        case .map(let m): return .map(m.mapValues { $0.asSecretDeep() })
        default: return self
        }
    }

    /// Every secret inside this value, for the final redaction pass.
    package func collectSecrets(into out: inout Set<String>) {
        switch self {
        case .secret(let s): out.insert(s.raw)
        case .list(let l): for v in l { v.collectSecrets(into: &out) }
        case .map(let m): for v in m.values { v.collectSecrets(into: &out) }
        default: break
        }
    }
}
