import Foundation

/// Every function of the expression language in one registry: its arity, whether it may look at a secret, its
/// static type rule (TypeChecker) and its implementation (Evaluator). The macros (`exists`, `all`, `filter`, `map`,
/// `first`, `count`) bind a variable and live in the evaluator; `has(path)` is decided from its unevaluated argument.
public enum Builtin: String, CaseIterable, Sendable {
    case size, lower, upper, trim, matches, startsWith, endsWith, contains, join, type, max, min, iso
    case hashKind, hashShape, shape, keys, coalesce, has, string, int, double, split, sum, trimPrefix, trimSuffix
    case shapeLength, hashParts, knownDefault

    /// How many arguments it takes (a receiver, `x.f(y)`, counts as the first).
    public var arity: ClosedRange<Int> {
        switch self {
        case .matches, .startsWith, .endsWith, .contains, .join, .split, .trimPrefix, .trimSuffix: return 2...2
        case .coalesce: return 1...16
        default: return 1...1
        }
    }

    /// The only functions a secret may be given to: they classify its shape and reveal nothing of its characters
    /// (plus those that pass it through or print only its shape). Anything else could read it bit by bit.
    public var looksAtSecrets: Bool {
        switch self {
        case .hashKind, .hashShape, .shape, .shapeLength, .hashParts, .knownDefault, .type, .coalesce, .string, .has: return true
        default: return false
        }
    }

    /// The static type of a call, given its arguments' types; `need(i, ok, what)` refuses an argument whose known
    /// type is not `ok`.
    func resultType(_ types: [StaticType], need: (Int, (StaticType) -> Bool, String) throws(ExpressionSyntaxError) -> Void)
        throws(ExpressionSyntaxError) -> StaticType {
        let isList: (StaticType) -> Bool = { if case .list = $0 { return true } else { return false } }
        switch self {
        case .size:
            try need(0, { $0.isText || $0.isMap || $0 == .bytes || isList($0) }, "a string, list or map")
            return .number
        case .lower, .upper, .trim:
            try need(0, { $0.isText }, "a string")
            return types[0] == .secret ? .secret : .string
        case .matches, .startsWith, .endsWith, .contains:
            try need(0, { $0.isText }, "a string")
            try need(1, { $0 == .string }, "a string pattern")
            return .bool
        case .trimPrefix, .trimSuffix:
            try need(0, { $0 == .string }, "a string")
            return .string
        case .split:
            try need(0, { $0 == .string }, "a string (secrets cannot be taken apart)")
            return .list(.string)
        case .join:
            try need(0, isList, "a list")
            try need(1, { $0 == .string }, "a string separator")
            return .string
        case .iso:
            try need(0, { $0 == .number }, "a number of milliseconds")
            return .string
        case .max, .min:
            try need(0, isList, "a list")
            if case .list(let t) = types[0] { return t }
            return .unknown
        case .sum:
            try need(0, isList, "a list")
            return .number
        case .keys:
            try need(0, { $0.isMap }, "a map")
            return .list(.string)
        case .type, .hashKind, .hashShape, .shape, .string: return .string
        case .int, .double, .shapeLength, .hashParts: return .number
        case .knownDefault: return .bool
        case .coalesce:
            let known = types.filter { $0 != .null && $0 != .unknown }
            return known.first.map { t in known.allSatisfy { $0 == t } ? t : .unknown } ?? .unknown
        case .has: return .bool
        }
    }

    /// The call, on evaluated arguments (arity checked when the rule was loaded).
    func apply(_ a: [Value], _ at: Int, budget: EvaluationBudget?) throws(EvaluationError) -> Value {
        func typeError(_ v: Value) -> EvaluationError {
            EvaluationError(message: "\(rawValue)() does not take a \(v.typeName)", offset: at)
        }
        func text(_ v: Value) throws(EvaluationError) -> String? {
            switch v {
            case .string(let s): return s
            case .secret(let s): return s.raw
            case .null: return nil
            default: throw typeError(v)
            }
        }
        switch self {
        case .size:
            switch a[0] {
            case .null: return .null
            case .string(let s): return .int(Int64(s.count))
            case .secret(let s): return .int(Int64(s.raw.count))
            case .list(let l): return .int(Int64(l.count))
            case .map(let m): return .int(Int64(m.count))
            case .bytes(let b): return .int(Int64(b.count))
            default: throw typeError(a[0])
            }
        case .lower, .upper, .trim:
            let f: (String) -> String = self == .lower ? { $0.lowercased() }
                : self == .upper ? { $0.uppercased() } : { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            switch a[0] {
            case .null: return .null
            case .string(let s): return .string(f(s))
            case .secret(let s): return .secret(Secret(f(s.raw)))
            default: throw typeError(a[0])
            }
        case .matches:
            guard let s = try text(a[0]) else { return .null }
            guard case .string(let pattern) = a[1] else { throw typeError(a[1]) }
            let re: NSRegularExpression
            do { re = try RegexCache.shared.regex(pattern) } catch {
                throw EvaluationError(message: "invalid regular expression '\(pattern)'", offset: at)
            }
            return .bool(try Evaluator.boundedMatch(re, s, at, deadline: budget?.deadline ?? Date().addingTimeInterval(EvaluationBudget.maxSeconds)))
        case .startsWith, .endsWith, .contains:
            guard let s = try text(a[0]), let p = try text(a[1]) else { return .null }
            if self == .startsWith { return .bool(s.hasPrefix(p)) }
            if self == .endsWith { return .bool(s.hasSuffix(p)) }
            return .bool(s.contains(p))
        case .trimPrefix, .trimSuffix:
            guard case .string(let s) = a[0] else { if a[0].isNull { return .null }; throw typeError(a[0]) }
            guard let p = try text(a[1]) else { return .null }
            if self == .trimPrefix { return .string(s.hasPrefix(p) ? String(s.dropFirst(p.count)) : s) }
            return .string(s.hasSuffix(p) ? String(s.dropLast(p.count)) : s)
        case .split:
            guard let s = try text(a[0]), let sep = try text(a[1]) else { return .null }
            if case .secret = a[0] { throw EvaluationError(message: "split() cannot take a secret apart", offset: at) }
            guard !sep.isEmpty else { return .list([.string(s)]) }
            return .list(s.components(separatedBy: sep).prefix(EvaluationBudget.maxListCount + 1).map { .string($0) })
        case .join:
            guard case .list(let items) = a[0] else { if a[0].isNull { return .null }; throw typeError(a[0]) }
            guard case .string(let sep) = a[1] else { throw typeError(a[1]) }
            var joined = ""
            for (k, item) in items.enumerated() {
                if k > 0 { joined += sep }
                try EvaluationBudget.checkPrintable(item, at)
                joined += Render.plain(item)
                if joined.utf8.count > EvaluationBudget.maxStringBytes { throw EvaluationBudget.tooLong(at) }
            }
            return .string(joined)
        case .type:
            return .string(a[0].typeName)
        case .string:
            try EvaluationBudget.checkPrintable(a[0], at)
            return a[0].isNull ? .null : .string(Render.plain(a[0]))
        case .int:
            switch a[0] {
            case .null: return .null
            case .int: return a[0]
            case .double(let d): return d.isFinite && abs(d) < 9e18 ? .int(Int64(d)) : .null
            case .string(let s): return Int64(s.trimmingCharacters(in: .whitespaces)).map { .int($0) } ?? .null
            default: throw typeError(a[0])
            }
        case .double:
            switch a[0] {
            case .null: return .null
            case .int(let i): return .double(Double(i))
            case .double: return a[0]
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).map { .double($0) } ?? .null
            default: throw typeError(a[0])
            }
        case .max, .min, .sum:
            guard case .list(let items) = a[0] else { if a[0].isNull { return .null }; throw typeError(a[0]) }
            let present = items.filter { !$0.isNull }
            if self == .sum {
                var total: Value = .int(0)
                for v in present { total = try Evaluator.arithmetic("+", total, v, at) }
                return total
            }
            guard var best = present.first else { return .null }
            for v in present.dropFirst() {
                guard let c = Evaluator.compare(v, best) else {
                    throw EvaluationError(message: "\(rawValue)() cannot compare a \(v.typeName) with a \(best.typeName)", offset: at)
                }
                if (self == .min && c < 0) || (self == .max && c > 0) { best = v }
            }
            return best
        case .iso:
            guard let ms = a[0].number else { if a[0].isNull { return .null }; throw typeError(a[0]) }
            return .string(Render.iso(ms))
        case .hashKind:
            switch a[0] {
            case .null: return .string("null")
            case .string(let s): return .string(HashKind.classify(s).rawValue)
            case .secret(let s): return .string(HashKind.classify(s.raw).rawValue)
            default: return .string("not-a-string")
            }
        case .hashShape:
            switch a[0] {
            case .null: return .string("null")
            case .string(let s): return .string(HashKind.describe(s))
            case .secret(let s): return .string(HashKind.describe(s.raw))
            default: return .string(a[0].typeName)
            }
        case .shapeLength:
            switch a[0] {
            case .null: return .null
            case .secret(let s): return .int(Int64(s.raw.count))
            case .string(let s): return .int(Int64(s.count))
            default: throw typeError(a[0])
            }
        case .hashParts:
            switch a[0] {
            case .null: return .null
            case .secret(let s): return .int(Int64(s.raw.split(separator: ":", omittingEmptySubsequences: false).count))
            case .string(let s): return .int(Int64(s.split(separator: ":", omittingEmptySubsequences: false).count))
            default: throw typeError(a[0])
            }
        case .knownDefault:
            switch a[0] {
            case .null: return .bool(false)
            case .secret(let s): return .bool(Builtins.publishedDefaults.contains(s.raw))
            case .string(let s): return .bool(Builtins.publishedDefaults.contains(s))
            default: return .bool(false)
            }
        case .shape:
            switch a[0] {
            case .null: return .string("null")
            case .secret(let s): return .string(s.shape)
            case .string(let s): return .string("\(s.count) chars")
            default: return .string(a[0].typeName)
            }
        case .keys:
            guard case .map(let m) = a[0] else { if a[0].isNull { return .null }; throw typeError(a[0]) }
            return .list(m.keys.sorted().map { .string($0) })
        case .coalesce:
            return a.first { !$0.isNull } ?? .null
        case .has:
            // Decided from the unevaluated argument (Evaluator): never called with values.
            throw EvaluationError(message: "has() takes a field path", offset: at)
        }
    }
}
