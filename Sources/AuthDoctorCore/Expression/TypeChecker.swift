/// What the type checker knows of a value before any data is read.
public indirect enum StaticType: Sendable, Equatable, CustomStringConvertible {
    case unknown
    case null
    case bool
    case number
    case string
    case secret
    case bytes
    case list(StaticType)
    /// A map whose fields are known (a closed record of the facts model).
    case record([String: StaticType])
    /// A document or other map with open fields: fields named like secrets are secrets.
    case document(secretNames: SecretNaming)
    /// A map whose values all have one type (`source.tableRows`, `checks`).
    case dictionary(StaticType)

    public enum SecretNaming: Sendable, Equatable {
        case fields, envNames
    }

    public var description: String {
        switch self {
        case .unknown: return "unknown"
        case .null: return "null"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .secret: return "secret"
        case .bytes: return "bytes"
        case .list: return "list"
        case .record, .document, .dictionary: return "map"
        }
    }

    var isMap: Bool {
        switch self {
        case .record, .document, .dictionary: return true
        default: return false
        }
    }

    var isText: Bool { self == .string || self == .secret }
}

/// The facts data model as static types (keep in step with `Facts` and rules/README.md).
public enum FactTypes {
    static let doc = StaticType.document(secretNames: .fields)
    static let envSide = StaticType.document(secretNames: .envNames)

    public static let roots: [String: StaticType] = [
        "input": .record(["email": .string, "normalizedEmail": .string, "passwordCheck": .unknown, "suggestions": .list(.string), "method": .string]),
        "source": .record([
            "kind": .string, "location": .string, "deployment": .unknown, "isProd": .bool, "exportFormat": .unknown,
            "malformedLines": .number, "tableRows": .dictionary(.number),
        ]),
        "ba": .record([
            "user": doc, "users": .list(doc), "accounts": .list(doc), "sessions": .list(doc),
            "signIn": .record([
                "methods": .list(.string), "kinds": .list(.string), "summary": .string, "hasPassword": .bool,
                "credentialWithoutPassword": .bool,
            ]),
            "tables": .list(.string), "twoFactors": .list(doc), "passkeys": .list(doc), "verifications": .list(doc),
            "jwks": .list(doc),
            "jwksCheck": .record(["outcome": .string, "version": .unknown, "reason": .string, "keyId": .unknown, "keys": .number]),
        ]),
        "convexAuth": .record([
            "tables": .list(.string), "present": .bool, "accounts": .list(doc), "sessions": .list(doc),
        ]),
        "app": .record([
            "user": doc, "users": .list(doc), "linkField": .string, "linkDetected": .bool, "table": .string,
            "emailField": .string,
        ]),
        "env": .record([
            "convex": envSide, "hosting": envSide, "convexFile": .unknown, "hostingFiles": .list(.string),
            "jwksStatic": .record([
                "format": .string, "keyCount": .number, "keyId": .unknown, "alg": .unknown, "kty": .unknown,
                "problems": .list(.string), "valid": .bool,
            ]),
            "trustedOrigins": .record([
                "served": .list(.unknown), "untrusted": .list(.string), "warnings": .list(.string), "bareWildcard": .bool,
                "nativeApp": .bool, "nativeSchemeUnknown": .bool, "schemeMix": .unknown, "trustedOrigins": .list(.string),
            ]),
        ]),
        "config": .record([
            "appTable": .string, "emailField": .string, "linkField": .string, "component": .string,
            "requireEmailVerification": .bool, "syncMutation": .string, "adminEmailEnv": .string, "adminField": .string,
            "sharedSecrets": .list(.string), "disabled": .list(.string), "adminEmailConfigured": .bool,
            "sharedSecretsConfigured": .bool, "tables": .dictionary(.string),
        ]),
        "now": .number,
        "cli": .record(["prodFlag": .string, "run": .string, "envSet": .string, "import": .string, "data": .string, "siteUrl": .string]),
        "checks": .dictionary(.string),
        "jwt": .record([
            "header": doc, "claims": doc, "bytes": .number,
            "time": .record([
                "now": .number, "iat": .unknown, "exp": .unknown, "nbf": .unknown, "leeway": .number, "expired": .bool,
                "notYetValid": .bool, "issuedInFuture": .bool, "skew": .unknown, "expiredFor": .unknown, "summary": .string,
            ]),
            "issuer": .record(["expected": .unknown, "from": .unknown, "matches": .unknown, "unknownReason": .string]),
            "keys": .record([
                "known": .bool, "ids": .list(.string), "staticJWKS": .bool, "jwksTable": .bool,
                "key": .record([
                    "id": .string, "kty": .unknown, "crv": .unknown, "alg": .unknown, "signs": .unknown, "origin": .string,
                    "createdAt": .unknown, "expiresAt": .unknown,
                ]),
            ]),
            "provider": .record(["form": .string, "because": .string]),
            "signature": .record(["status": .string, "reason": .string]),
            "data": .record(["kind": .string, "location": .string, "jwksTable": .bool]),
            "user": doc, "appUser": doc, "session": doc,
        ]),
        "probe": .record([
            "site": probeTarget, "convexSite": probeTarget, "setup": .string,
            "answers": .record(["site": probeAnswer, "direct": probeAnswer, "forwardedHost": probeAnswer, "preflight": probeAnswer]),
        ]),
    ]

    static let probeTarget = StaticType.record(["url": .string, "origin": .string, "host": .string, "from": .string])
    static let probeAnswer = StaticType.record([
        "request": .string, "method": .string, "url": .string, "status": .unknown, "kind": .string, "summary": .string,
        "contentType": .unknown, "usher": .bool, "location": .unknown, "allowOrigin": .unknown, "allowCredentials": .unknown,
        "error": .unknown, "sent": .list(.string),
    ])
}

/// Static checks that catch type mistakes when a rule loads: a field of a list, `size()` of a bool,
/// arithmetic on strings, a template that would print a secret.
public struct TypeChecker {
    public var scope: [String: StaticType]

    public init(scope: [String: StaticType] = FactTypes.roots) { self.scope = scope }

    func fail(_ message: String, _ at: Int) -> ExpressionSyntaxError { ExpressionSyntaxError(message: message, offset: at) }

    public func infer(_ e: Expr) throws(ExpressionSyntaxError) -> StaticType {
        switch e {
        case .literal(let v, _):
            switch v {
            case .null: return .null
            case .bool: return .bool
            case .int, .double: return .number
            case .string: return .string
            default: return .unknown
            }
        case .list(let items, _):
            var element: StaticType?
            for item in items {
                let t = try infer(item)
                if element == nil { element = t } else if element != t { element = .unknown }
            }
            return .list(element ?? .unknown)
        case .ident(let name, _):
            return scope[name] ?? .unknown
        case .member(let base, let name, let at):
            let b = try infer(base)
            switch b {
            case .record(let fields):
                guard let t = fields[name] else {
                    throw fail("'\(name)' is not a field here (fields: \(fields.keys.sorted().joined(separator: ", ")))", at)
                }
                return t
            case .document(let naming):
                let secret = naming == .fields ? SecretFields.isSecret(name) : SecretFields.isSecretEnvName(name)
                return secret ? .secret : .unknown
            case .dictionary(let t): return t
            case .list:
                throw fail("'.\(name)' on a list: take one element (x[0].\(name), x.first(...)) or map it (x.map(e, e.\(name)))", at)
            case .string, .secret, .number, .bool, .bytes:
                throw fail("'.\(name)' on a \(b): only maps have fields", at)
            case .unknown:
                // A field of a value not known here (a nested document): named like a secret, it is one.
                return SecretFields.isSecret(name) ? .secret : .unknown
            case .null: return .unknown
            }
        case .index(let base, let idx, let at):
            let b = try infer(base)
            let i = try infer(idx)
            switch b {
            case .list(let t):
                if i == .string { throw fail("a list is indexed by a number, not a string", at) }
                return t
            case .record(let fields):
                if case .literal(.string(let k), _) = idx { return fields[k] ?? .unknown }
                return .unknown
            case .document(let naming):
                if case .literal(.string(let k), _) = idx {
                    let secret = naming == .fields ? SecretFields.isSecret(k) : SecretFields.isSecretEnvName(k)
                    return secret ? .secret : .unknown
                }
                return .unknown
            case .dictionary(let t): return t
            case .string, .secret, .number, .bool, .bytes:
                throw fail("cannot index a \(b)", at)
            default: return .unknown
            }
        case .unary(let op, let inner, let at):
            let t = try infer(inner)
            if op == "!" {
                try expectBool(t, "'!'", at)
                return .bool
            }
            if t != .unknown && t != .null && t != .number { throw fail("'-' needs a number, not a \(t)", at) }
            return .number
        case .conditional(let c, let a, let b, let at):
            try expectBool(try infer(c), "a condition", at)
            let ta = try infer(a), tb = try infer(b)
            if ta == tb { return ta }
            if ta == .null { return tb }
            if tb == .null { return ta }
            return .unknown
        case .binary(let op, let l, let r, let at):
            let a = try infer(l), b = try infer(r)
            switch op {
            case "&&", "||":
                try expectBool(a, "'\(op)'", l.offset)
                try expectBool(b, "'\(op)'", r.offset)
                return .bool
            case "==", "!=":
                // A secret against a literal or any text is an oracle; against another secret or null it is not.
                for (x, y) in [(a, b), (b, a)] where x == .secret && y != .secret && y != .null && y != .unknown {
                    throw fail("a secret can be compared only with another secret or null, not a \(y); classify it with hashKind(), shape() or knownDefault()", at)
                }
                return .bool
            case "in":
                if a == .secret || b == .secret {
                    throw fail("'in' cannot take a secret: classify it with hashKind() or shape()", at)
                }
                switch b {
                case .unknown, .null, .string, .list, .record, .document, .dictionary: return .bool
                default: throw fail("'in' needs a list, map or string on its right, not a \(b)", at)
                }
            case "<", "<=", ">", ">=":
                for t in [a, b] where ![.unknown, .null, .number, .string].contains(t) {
                    throw fail("cannot order a \(t) with '\(op)'", at)
                }
                if (a == .number && b == .string) || (a == .string && b == .number) {
                    throw fail("cannot compare a \(a) with a \(b) using '\(op)'", at)
                }
                return .bool
            case "+":
                if a == .secret || b == .secret {
                    throw fail("'+' cannot take a secret: classify it with hashKind() or shape()", a == .secret ? l.start : r.start)
                }
                if a.isText || b.isText {
                    if a == .number || b == .number || a == .bool || b == .bool {
                        throw fail("'+' joins two strings or adds two numbers; use string(x) to join a \(a == .number || a == .bool ? a : b)", at)
                    }
                    return a == .secret || b == .secret ? .secret : .string
                }
                if case .list(let x) = a {
                    if case .list(let y) = b { return .list(x == y ? x : .unknown) }
                    if b != .unknown && b != .null { throw fail("'+' cannot add a \(b) to a list", at) }
                    return a
                }
                if a == .number && b == .number { return .number }
                for t in [a, b] where t == .bool || t.isMap {
                    throw fail("'+' does not apply to a \(t)", at)
                }
                return .unknown
            default:
                for t in [a, b] where t != .unknown && t != .null && t != .number {
                    throw fail("'\(op)' needs numbers, not a \(t)", at)
                }
                return .number
            }
        case .call(let name, let receiver, let args, let at):
            if Builtins.macros.contains(name) {
                guard let receiver, args.count == 2, case .ident(let v, _) = args[0] else { return .unknown }
                let r = try infer(receiver)
                var element = StaticType.unknown
                switch r {
                case .list(let t): element = t
                case .record, .document, .dictionary: element = .string
                case .unknown, .null: break
                default: throw fail("\(name)() needs a list, not a \(r)", at)
                }
                var inner = self
                inner.scope[v] = element
                let body = try inner.infer(args[1])
                switch name {
                case "map": return .list(body)
                case "filter": return .list(element)
                case "first": return element
                case "count": return .number
                default:
                    try expectBool(body, "\(name)()", args[1].offset)
                    return .bool
                }
            }
            if name == "has" { return .bool }
            let all = (receiver.map { [$0] } ?? []) + args
            let types = try all.map { (e: Expr) throws(ExpressionSyntaxError) -> StaticType in try infer(e) }
            func need(_ i: Int, _ ok: (StaticType) -> Bool, _ what: String) throws(ExpressionSyntaxError) {
                guard i < types.count else { return }
                let t = types[i]
                if t == .unknown || t == .null { return }
                if !ok(t) { throw fail("\(name)() takes \(what), not a \(t)", all[i].start) }
            }
            if !Builtins.secretClassifiers.contains(name), let i = types.firstIndex(of: .secret) {
                throw fail(Builtins.secretRefused(name), all[i].start)
            }
            guard let function = Builtin(rawValue: name) else { return .unknown }
            return try function.resultType(types, need: need)
        }
    }

    func expectBool(_ t: StaticType, _ what: String, _ at: Int) throws(ExpressionSyntaxError) {
        if t != .bool && t != .unknown && t != .null {
            throw fail("\(what) needs a bool, not a \(t)", at)
        }
    }
}
