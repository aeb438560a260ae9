import Foundation

/// An expression that could not be evaluated (a type error, a bad regex). It makes the rule `error`,
/// never a finding.
public struct EvaluationError: Error, Sendable, Equatable {
    public let message: String
    public let offset: Int
}

/// Variables visible to an expression: the facts at the root, then `let` bindings and macro variables.
public final class Scope: Sendable {
    let name: String
    let value: Value
    let parent: Scope?
    let root: [String: Value]
    /// What evaluating under this scope may still spend; nil is unmetered (tests, load-time checks).
    let budget: EvaluationBudget?

    public init(root: [String: Value]) {
        self.name = ""
        self.value = .null
        self.parent = nil
        self.root = root
        self.budget = nil
    }

    init(name: String, value: Value, parent: Scope, budget: EvaluationBudget?) {
        self.name = name
        self.value = value
        self.parent = parent
        self.root = [:]
        self.budget = budget
    }

    public func binding(_ name: String, _ value: Value) -> Scope { Scope(name: name, value: value, parent: self, budget: budget) }

    /// The same names, with evaluation under them charged to `budget` (one per rule).
    public func metered(by budget: EvaluationBudget) -> Scope { Scope(name: "", value: .null, parent: self, budget: budget) }

    func lookup(_ key: String) -> Value? {
        var s: Scope? = self
        while let cur = s {
            if cur.parent == nil { return cur.root[key] }
            if cur.name == key { return cur.value }
            s = cur.parent
        }
        return nil
    }
}

/// What one rule's evaluation may spend (DESIGN §13.8): steps, the size of the strings and lists it builds, and
/// wall-clock time (a regex is stopped at the deadline too). Past it the rule is `error`, "could not check".
public final class EvaluationBudget: @unchecked Sendable {
    /// Work units: one per expression evaluated, one per list item built, one per 16 bytes of string built.
    public static let maxUnits = 4_000_000
    public static let maxStringBytes = 1 << 20
    public static let maxListCount = 100_000
    public static let maxSeconds = 1.0

    var units = 0
    let deadline: Date

    public init(seconds: Double = EvaluationBudget.maxSeconds) { deadline = Date().addingTimeInterval(seconds) }

    var pastDeadline: Bool { Date() > deadline }

    func charge(_ n: Int, _ at: Int) throws(EvaluationError) {
        let before = units
        units += n
        if units > EvaluationBudget.maxUnits {
            throw EvaluationError(message: "evaluation budget exceeded (more than \(EvaluationBudget.maxUnits) steps): the rule could not be checked", offset: at)
        }
        // The clock is read every 4096 units.
        if units >> 12 != before >> 12, pastDeadline { throw timeout(at) }
    }

    func timeout(_ at: Int) -> EvaluationError {
        EvaluationError(message: "evaluation took longer than \(EvaluationBudget.maxSeconds) s: the rule could not be checked", offset: at)
    }

    /// Charges for a value a call, a list or a `+` just built (its size is what it cost).
    func built(_ v: Value, _ at: Int) throws(EvaluationError) -> Value {
        switch v {
        case .string(let s): try charge(s.utf8.count / 16, at)
        case .list(let l): try charge(l.count, at)
        default: break
        }
        return v
    }

    /// Refuses a value whose printed form would pass the string limit: a list can hold the same 1 MiB string
    /// 100,000 times without copying it, but printing it (a template, `string()`, evidence) would.
    public static func checkPrintable(_ v: Value, _ at: Int) throws(EvaluationError) {
        var left = maxStringBytes
        func walk(_ v: Value) -> Bool {
            switch v {
            case .string(let s): left -= s.utf8.count + 2
            case .list(let l):
                for item in l where !walk(item) { return false }
                left -= 2 * l.count
            case .map(let m):
                for (k, item) in m {
                    left -= k.utf8.count + 4
                    if !walk(item) { return false }
                }
            default: left -= 24
            }
            return left >= 0
        }
        if !walk(v) { throw tooLong(at) }
    }

    static func tooLong(_ at: Int) -> EvaluationError {
        EvaluationError(message: "a string longer than \(EvaluationBudget.maxStringBytes >> 20) MiB was built: the rule could not be checked", offset: at)
    }

    static func tooMany(_ at: Int) -> EvaluationError {
        EvaluationError(message: "a list of more than \(EvaluationBudget.maxListCount) items was built: the rule could not be checked", offset: at)
    }
}

/// Compiled regular expressions, shared by every evaluation.
final class RegexCache: @unchecked Sendable {
    static let shared = RegexCache()
    private let lock = NSLock()
    private var cache: [String: NSRegularExpression] = [:]

    func regex(_ pattern: String) throws -> NSRegularExpression {
        lock.lock()
        defer { lock.unlock() }
        if let r = cache[pattern] { return r }
        let r = try NSRegularExpression(pattern: pattern)
        cache[pattern] = r
        return r
    }
}

/// The functions and macros of the expression language, with their arities (receiver included).
public enum Builtins {
    /// Each function's arity, by name (the registry is `Builtin`).
    public static let functions: [String: ClosedRange<Int>] = Dictionary(uniqueKeysWithValues: Builtin.allCases.map { ($0.rawValue, $0.arity) })
    public static let macros: Set<String> = ["exists", "all", "filter", "map", "first", "count"]
    /// The functions a secret may be given to (`Builtin.looksAtSecrets`).
    public static let secretClassifiers: Set<String> = Set(Builtin.allCases.filter(\.looksAtSecrets).map(\.rawValue))
    /// Secrets published in documentation: `knownDefault(x)` says whether a secret is one of them.
    static let publishedDefaults: Set<String> = ["better-auth-secret-12345678901234567890"]

    static func secretRefused(_ name: String) -> String {
        "\(name)() cannot take a secret: it could reveal it bit by bit. Only hashKind(), hashShape(), shape(), shapeLength(), hashParts() and knownDefault() look at a secret"
    }
}

public enum Evaluator {
    public static func evaluate(_ e: Expr, _ scope: Scope) throws(EvaluationError) -> Value {
        guard let budget = scope.budget else { return try unmetered(e, scope) }
        try budget.charge(1, e.offset)
        switch e {
        case .call, .list, .binary("+", _, _, _): return try budget.built(try unmetered(e, scope), e.offset)
        default: return try unmetered(e, scope)
        }
    }

    static func unmetered(_ e: Expr, _ scope: Scope) throws(EvaluationError) -> Value {
        switch e {
        case .literal(let v, _):
            return v
        case .list(let items, _):
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try evaluate(item, scope)) }
            return .list(out)
        case .ident(let name, let at):
            guard let v = scope.lookup(name) else { throw EvaluationError(message: "unknown name '\(name)'", offset: at) }
            return v
        case .member(let base, let name, _):
            return member(try evaluate(base, scope), name)
        case .index(let base, let idx, let at):
            let b = try evaluate(base, scope)
            let i = try evaluate(idx, scope)
            switch (b, i) {
            case (.null, _), (_, .null): return .null
            case (.map(let m), .string(let k)): return m[k] ?? .null
            case (.list(let l), .int(let n)): return n >= 0 && n < l.count ? l[Int(n)] : .null
            default: throw EvaluationError(message: "cannot index a \(b.typeName) with a \(i.typeName)", offset: at)
            }
        case .unary(let op, let inner, let at):
            let v = try evaluate(inner, scope)
            switch (op, v) {
            case (_, .null): return .null
            case ("!", .bool(let b)): return .bool(!b)
            case ("-", .int(let i)): return .int(-i)
            case ("-", .double(let d)): return .double(-d)
            default: throw EvaluationError(message: "'\(op)' does not apply to a \(v.typeName)", offset: at)
            }
        case .conditional(let c, let a, let b, let at):
            switch try evaluate(c, scope) {
            case .bool(true): return try evaluate(a, scope)
            case .bool(false): return try evaluate(b, scope)
            case .null: return .null
            case let other: throw EvaluationError(message: "a condition must be a bool, not a \(other.typeName)", offset: at)
            }
        case .binary(let op, let l, let r, let at):
            return try binary(op, l, r, at, scope)
        case .call(let name, let receiver, let args, let at):
            if Builtins.macros.contains(name) {
                guard let receiver else {
                    throw EvaluationError(message: "\(name)() is called on a list: list.\(name)(x, ...)", offset: at)
                }
                return try macro(name, receiver, args, at, scope)
            }
            if name == "has" {
                let target = receiver ?? args.first
                switch target {
                case .member(let base, let field, _)?:
                    if case .map(let m) = try evaluate(base, scope), let v = m[field] { return .bool(!v.isNull) }
                    return .bool(false)
                case .index(let base, let idx, _)?:
                    if case .map(let m) = try evaluate(base, scope), case .string(let k) = try evaluate(idx, scope),
                       let v = m[k] {
                        return .bool(!v.isNull)
                    }
                    return .bool(false)
                default:
                    throw EvaluationError(message: "has() takes a field: has(x.field)", offset: at)
                }
            }
            var values: [Value] = []
            if let receiver { values.append(try evaluate(receiver, scope)) }
            for a in args { values.append(try evaluate(a, scope)) }
            if !Builtins.secretClassifiers.contains(name), values.contains(where: { if case .secret = $0 { return true } else { return false } }) {
                throw EvaluationError(message: Builtins.secretRefused(name), offset: at)
            }
            return try call(name, values, at, budget: scope.budget)
        }
    }

    static func member(_ base: Value, _ name: String) -> Value {
        if case .map(let m) = base { return m[name] ?? .null }
        return .null
    }

    static func truth(_ v: Value, _ at: Int) throws(EvaluationError) -> Bool? {
        switch v {
        case .bool(let b): return b
        case .null: return nil
        default: throw EvaluationError(message: "expected a bool, found a \(v.typeName)", offset: at)
        }
    }

    static func binary(_ op: String, _ l: Expr, _ r: Expr, _ at: Int, _ scope: Scope) throws(EvaluationError) -> Value {
        if op == "&&" || op == "||" {
            let a = try truth(try evaluate(l, scope), l.offset)
            if op == "&&", a == false { return .bool(false) }
            if op == "||", a == true { return .bool(true) }
            let b = try truth(try evaluate(r, scope), r.offset)
            if op == "&&" {
                if b == false { return .bool(false) }
                return a == nil || b == nil ? .null : .bool(true)
            }
            if b == true { return .bool(true) }
            return a == nil || b == nil ? .null : .bool(false)
        }
        let a = try evaluate(l, scope)
        let b = try evaluate(r, scope)
        switch op {
        case "==": return .bool(try comparable(a, b, at) && equal(a, b))
        case "!=": return .bool(!(try comparable(a, b, at) && equal(a, b)))
        case "in":
            if case .secret = a { throw EvaluationError(message: "'in' cannot take a secret: classify it with hashKind() or shape()", offset: at) }
            switch b {
            case .null: return .null
            case .list(let items):
                for item in items where try comparable(item, a, at) && equal(item, a) { return .bool(true) }
                return .bool(false)
            case .map(let m):
                guard case .string(let k) = a else { return .bool(false) }
                return .bool(m[k] != nil)
            case .string(let s):
                guard case .string(let sub) = a else { return .null }
                return .bool(s.contains(sub))
            default: throw EvaluationError(message: "'in' needs a list, map or string on its right, not a \(b.typeName)", offset: at)
            }
        case "<", "<=", ">", ">=":
            if a.isNull || b.isNull { return .null }
            guard let c = compare(a, b) else {
                throw EvaluationError(message: "cannot compare a \(a.typeName) with a \(b.typeName) using '\(op)'", offset: at)
            }
            switch op {
            case "<": return .bool(c < 0)
            case "<=": return .bool(c <= 0)
            case ">": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        default:
            return try arithmetic(op, a, b, at)
        }
    }

    /// Orders two numbers or two strings; nil for anything else.
    static func compare(_ a: Value, _ b: Value) -> Int? {
        if let x = a.number, let y = b.number { return x < y ? -1 : (x > y ? 1 : 0) }
        if case .string(let x) = a, case .string(let y) = b { return x < y ? -1 : (x > y ? 1 : 0) }
        return nil
    }

    static func arithmetic(_ op: String, _ a: Value, _ b: Value, _ at: Int) throws(EvaluationError) -> Value {
        if a.isNull || b.isNull { return .null }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)):
            if x.utf8.count + y.utf8.count > EvaluationBudget.maxStringBytes { throw EvaluationBudget.tooLong(at) }
            return .string(x + y)
        case ("+", .list(let x), .list(let y)):
            if x.count + y.count > EvaluationBudget.maxListCount { throw EvaluationBudget.tooMany(at) }
            return .list(x + y)
        case ("+", .secret, _), ("+", _, .secret):
            throw EvaluationError(message: "'+' cannot take a secret: classify it with hashKind() or shape()", offset: at)
        case (_, .int(let x), .int(let y)):
            switch op {
            case "+": let (v, o) = x.addingReportingOverflow(y); return o ? .double(Double(x) + Double(y)) : .int(v)
            case "-": let (v, o) = x.subtractingReportingOverflow(y); return o ? .double(Double(x) - Double(y)) : .int(v)
            case "*": let (v, o) = x.multipliedReportingOverflow(by: y); return o ? .double(Double(x) * Double(y)) : .int(v)
            case "/":
                guard y != 0 else { throw EvaluationError(message: "division by zero", offset: at) }
                return .int(x / y)
            case "%":
                guard y != 0 else { throw EvaluationError(message: "division by zero", offset: at) }
                return .int(x % y)
            default: break
            }
        default:
            if let x = a.number, let y = b.number {
                switch op {
                case "+": return .double(x + y)
                case "-": return .double(x - y)
                case "*": return .double(x * y)
                case "/": return .double(x / y)
                case "%": return .double(x.truncatingRemainder(dividingBy: y))
                default: break
                }
            }
        }
        throw EvaluationError(message: "'\(op)' does not apply to a \(a.typeName) and a \(b.typeName)", offset: at)
    }

    /// Refuses to compare a secret with anything but another secret or null, at any depth: `secret == "guess"` and
    /// `[secret] == ["guess"]` would be an oracle. Returns true so it can lead an `&&`.
    static func comparable(_ a: Value, _ b: Value, _ at: Int) throws(EvaluationError) -> Bool {
        switch (a, b) {
        case (.secret, .secret), (.secret, .null), (.null, .secret): return true
        case (.secret, _), (_, .secret):
            throw EvaluationError(message: "a secret can be compared only with another secret or null; classify it with hashKind(), shape() or knownDefault()", offset: at)
        case (.list(let x), .list(let y)):
            for (u, v) in zip(x, y) { _ = try comparable(u, v, at) }
            return true
        case (.map(let x), .map(let y)):
            for (k, u) in x { if let v = y[k] { _ = try comparable(u, v, at) } }
            return true
        default: return true
        }
    }

    /// Equality: numbers compare by value, secrets by their raw value (the result is only a bool).
    public static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.secret(let x), .secret(let y)): return x.constantTimeEquals(y)
        case (.secret(let x), .string(let y)), (.string(let y), .secret(let x)): return x.constantTimeEquals(Secret(y))
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.map(let x), .map(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        default:
            if let x = a.number, let y = b.number { return x == y }
            return a == b
        }
    }

    static func macro(_ name: String, _ receiver: Expr, _ args: [Expr], _ at: Int, _ scope: Scope) throws(EvaluationError) -> Value {
        guard args.count == 2, case .ident(let v, _) = args[0] else {
            throw EvaluationError(message: "\(name)() takes a variable name and an expression: list.\(name)(x, <expr of x>)", offset: at)
        }
        let body = args[1]
        let items: [Value]
        switch try evaluate(receiver, scope) {
        case .null: return .null
        case .list(let l): items = l
        case .map(let m): items = m.keys.sorted().map { .string($0) }
        case let other: throw EvaluationError(message: "\(name)() needs a list, not a \(other.typeName)", offset: at)
        }
        switch name {
        case "map":
            var out: [Value] = []
            for item in items {
                out.append(try evaluate(body, scope.binding(v, item)))
                if out.count > EvaluationBudget.maxListCount { throw EvaluationBudget.tooMany(at) }
            }
            return .list(out)
        case "filter":
            var out: [Value] = []
            for item in items where try truth(try evaluate(body, scope.binding(v, item)), body.offset) == true { out.append(item) }
            return .list(out)
        case "first":
            for item in items where try truth(try evaluate(body, scope.binding(v, item)), body.offset) == true { return item }
            return .null
        case "count":
            var n: Int64 = 0
            for item in items where try truth(try evaluate(body, scope.binding(v, item)), body.offset) == true { n += 1 }
            return .int(n)
        case "exists":
            var sawNull = false
            for item in items {
                switch try truth(try evaluate(body, scope.binding(v, item)), body.offset) {
                case true?: return .bool(true)
                case nil: sawNull = true
                default: break
                }
            }
            return sawNull ? .null : .bool(false)
        default: // all
            var sawNull = false
            for item in items {
                switch try truth(try evaluate(body, scope.binding(v, item)), body.offset) {
                case false?: return .bool(false)
                case nil: sawNull = true
                default: break
                }
            }
            return sawNull ? .null : .bool(true)
        }
    }

    static func call(_ name: String, _ a: [Value], _ at: Int, budget: EvaluationBudget? = nil) throws(EvaluationError) -> Value {
        guard let function = Builtin(rawValue: name) else {
            throw EvaluationError(message: "unknown function '\(name)'", offset: at)
        }
        return try function.apply(a, at, budget: budget)
    }
}

extension Evaluator {
    /// Whether `re` matches somewhere in `s`, stopped at `deadline`: a pattern such as `(a*)*b` backtracks
    /// exponentially, and ICU reports progress while it does, so the search can be abandoned.
    static func boundedMatch(_ re: NSRegularExpression, _ s: String, _ at: Int, deadline: Date) throws(EvaluationError) -> Bool {
        let ns = s as NSString
        var found = false
        var timedOut = false
        re.enumerateMatches(in: s, options: [.reportProgress], range: NSRange(location: 0, length: ns.length)) { match, _, stop in
            if match != nil {
                found = true
                stop.pointee = true
            } else if Date() > deadline {
                timedOut = true
                stop.pointee = true
            }
        }
        if timedOut && !found {
            throw EvaluationError(message: "the regular expression '\(re.pattern)' took longer than \(EvaluationBudget.maxSeconds) s: the rule could not be checked", offset: at)
        }
        return found
    }
}

/// How values print inside messages and fix text. Secrets print as their shape only.
public enum Render {
    public static func plain(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        case .string(let s): return s
        case .bytes(let b): return "\(b.count) bytes"
        case .secret(let s): return s.description
        case .list(let items): return items.map { plain($0) }.joined(separator: ", ")
        case .map: return JSONWriter.write(v, pretty: false)
        }
    }

    /// `2025-11-25T12:13:20Z` (UTC, whole seconds), computed directly: a Foundation formatter costs tens of
    /// microseconds to create, which a rule evaluated per user cannot afford.
    public static func iso(_ ms: Double) -> String {
        guard ms.isFinite, abs(ms) < 8.0e15 else { return "\(ms)" }
        let seconds = Int64((ms / 1000).rounded(.down))
        var days = seconds / 86_400
        var rem = seconds % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let y = year >= 0 && year < 10_000 ? String(repeating: "0", count: 4 - String(year).count) + String(year) : String(year)
        return "\(y)-\(two(month))-\(two(day))T\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))Z"
    }
}
