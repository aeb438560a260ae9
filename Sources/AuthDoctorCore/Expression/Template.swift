/// A `message` or `fix` text with `{{ expr }}` holes.
public struct Template: Sendable {
    public enum Part: Sendable {
        case text(String)
        /// An expression and the character offset of its source inside the template.
        case expr(Expr, offset: Int)
    }

    public let parts: [Part]
    public let source: String

    public static func parse(_ text: String) throws(ExpressionSyntaxError) -> Template {
        var parts: [Part] = []
        let chars = Array(text)
        var i = 0
        var literal = ""
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" {
                let open = i
                var j = i + 2
                var close: Int?
                var quote: Character?
                while j + 1 < chars.count {
                    let c = chars[j]
                    if let q = quote {
                        if c == "\\" { j += 2; continue }
                        if c == q { quote = nil }
                    } else if c == "\"" || c == "'" {
                        quote = c
                    } else if c == "}" && chars[j + 1] == "}" {
                        close = j
                        break
                    }
                    j += 1
                }
                guard let close else { throw ExpressionSyntaxError(message: "'{{' without a closing '}}'", offset: open) }
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                let body = String(chars[(open + 2)..<close])
                do {
                    parts.append(.expr(try ExpressionParser.parse(body), offset: open + 2))
                } catch {
                    throw ExpressionSyntaxError(message: error.message, offset: open + 2 + error.offset)
                }
                i = close + 2
                continue
            }
            literal.append(chars[i])
            i += 1
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return Template(parts: parts, source: text)
    }

    public var expressions: [(Expr, Int)] {
        parts.compactMap { if case .expr(let e, let o) = $0 { return (e, o) } else { return nil } }
    }

    /// The text with its holes filled. `data` is applied to what each hole prints (never to the rule's own text):
    /// the place where stored values are masked and escaped.
    public func render(_ scope: Scope, data: (String) -> String = { $0 }) throws(EvaluationError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expr(let e, let offset):
                do throws(EvaluationError) {
                    let v = try Evaluator.evaluate(e, scope)
                    try EvaluationBudget.checkPrintable(v, e.offset)
                    out += data(Render.plain(v))
                    if out.utf8.count > EvaluationBudget.maxStringBytes { throw EvaluationBudget.tooLong(e.offset) }
                } catch {
                    throw EvaluationError(message: error.message, offset: offset + error.offset)
                }
            }
        }
        return out
    }
}

/// Load-time checks of an expression: known names and functions, macro shapes, literal regexes that compile.
public enum ExpressionValidator {
    public static func validate(_ e: Expr, names: Set<String>) throws(ExpressionSyntaxError) {
        switch e {
        case .literal: return
        case .list(let items, _): for item in items { try validate(item, names: names) }
        case .ident(let name, let at):
            guard names.contains(name) else {
                let known = names.sorted().joined(separator: ", ")
                throw ExpressionSyntaxError(message: "unknown name '\(name)' (known: \(known))", offset: at)
            }
        case .member(let base, _, _): try validate(base, names: names)
        case .index(let base, let idx, _): try validate(base, names: names); try validate(idx, names: names)
        case .unary(_, let inner, _): try validate(inner, names: names)
        case .binary(_, let l, let r, _): try validate(l, names: names); try validate(r, names: names)
        case .conditional(let c, let a, let b, _):
            try validate(c, names: names); try validate(a, names: names); try validate(b, names: names)
        case .call(let name, let receiver, let args, let at):
            if Builtins.macros.contains(name) {
                guard let receiver else {
                    throw ExpressionSyntaxError(message: "\(name)() is called on a list: list.\(name)(x, ...)", offset: at)
                }
                guard args.count == 2, case .ident(let v, _) = args[0] else {
                    throw ExpressionSyntaxError(message: "\(name)() takes a variable name and an expression: list.\(name)(x, <expr of x>)", offset: at)
                }
                try validate(receiver, names: names)
                try validate(args[1], names: names.union([v]))
                return
            }
            guard let arity = Builtins.functions[name] else {
                let known = (Array(Builtins.functions.keys) + Array(Builtins.macros)).sorted().joined(separator: ", ")
                throw ExpressionSyntaxError(message: "unknown function '\(name)' (known: \(known))", offset: at)
            }
            let all = (receiver.map { [$0] } ?? []) + args
            guard arity.contains(all.count) else {
                let want = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
                throw ExpressionSyntaxError(message: "\(name)() takes \(want) argument(s), got \(all.count)", offset: at)
            }
            if name == "has" {
                switch all[0] {
                case .member, .index: break
                default: throw ExpressionSyntaxError(message: "has() takes a field: has(x.field)", offset: at)
                }
            }
            if name == "matches", case .literal(.string(let pattern), let po) = all[1] {
                do { _ = try RegexCache.shared.regex(pattern) } catch {
                    throw ExpressionSyntaxError(message: "invalid regular expression '\(pattern)'", offset: po)
                }
            }
            for a in all { try validate(a, names: names) }
        }
    }
}
