/// A syntax error in an expression, at a character offset in its source text.
public struct ExpressionSyntaxError: Error, Sendable, Equatable {
    public let message: String
    public let offset: Int
}

/// A parsed expression. `offset` is the character offset in the source, for error positions.
public indirect enum Expr: Sendable {
    case literal(Value, offset: Int)
    case list([Expr], offset: Int)
    case ident(String, offset: Int)
    case member(Expr, String, offset: Int)
    case index(Expr, Expr, offset: Int)
    case call(String, receiver: Expr?, args: [Expr], offset: Int)
    case unary(String, Expr, offset: Int)
    case binary(String, Expr, Expr, offset: Int)
    case conditional(Expr, Expr, Expr, offset: Int)

    /// Where the expression's text begins (`a` in `a.b.c`), for errors about the whole expression.
    public var start: Int {
        switch self {
        case .member(let base, _, _), .index(let base, _, _): return base.start
        case .call(_, let receiver?, _, _): return receiver.start
        case .binary(_, let l, _, _): return l.start
        case .conditional(let c, _, _, _): return c.start
        default: return offset
        }
    }

    public var offset: Int {
        switch self {
        case .literal(_, let o), .list(_, let o), .ident(_, let o), .member(_, _, let o), .index(_, _, let o),
             .call(_, _, _, let o), .unary(_, _, let o), .binary(_, _, _, let o), .conditional(_, _, _, let o):
            return o
        }
    }
}

enum Token: Equatable {
    case ident(String)
    case int(Int64)
    case double(Double)
    case string(String)
    case op(String)
    case end
}

struct Lexer {
    let chars: [Character]
    var pos = 0

    init(_ text: String) { chars = Array(text) }

    static let twoCharOps: Set<String> = ["==", "!=", "<=", ">=", "&&", "||"]
    static let oneCharOps: Set<Character> = [".", ",", "(", ")", "[", "]", "?", ":", "<", ">", "!", "+", "-", "*", "/", "%"]

    mutating func tokens() throws(ExpressionSyntaxError) -> [(Token, Int)] {
        var out: [(Token, Int)] = []
        while true {
            while pos < chars.count, chars[pos].isWhitespace { pos += 1 }
            // `#` starts a comment to the end of the line.
            if pos < chars.count, chars[pos] == "#" {
                while pos < chars.count, chars[pos] != "\n" { pos += 1 }
                continue
            }
            let start = pos
            guard pos < chars.count else { out.append((.end, pos)); return out }
            let c = chars[pos]
            if c.isLetter || c == "_" || c == "$" {
                var s = ""
                while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_" || chars[pos] == "$" {
                    s.append(chars[pos]); pos += 1
                }
                out.append((.ident(s), start))
            } else if c.isASCII && c.isNumber {
                var s = ""
                var isFloat = false
                while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber || chars[pos] == "_" {
                    if chars[pos] != "_" { s.append(chars[pos]) }
                    pos += 1
                }
                if pos + 1 < chars.count, chars[pos] == ".", chars[pos + 1].isASCII, chars[pos + 1].isNumber {
                    isFloat = true
                    s.append("."); pos += 1
                    while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber { s.append(chars[pos]); pos += 1 }
                }
                if pos < chars.count, chars[pos] == "e" || chars[pos] == "E" {
                    isFloat = true
                    s.append("e"); pos += 1
                    if pos < chars.count, chars[pos] == "+" || chars[pos] == "-" { s.append(chars[pos]); pos += 1 }
                    guard pos < chars.count, chars[pos].isASCII, chars[pos].isNumber else {
                        throw ExpressionSyntaxError(message: "malformed number", offset: start)
                    }
                    while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber { s.append(chars[pos]); pos += 1 }
                }
                if !isFloat, let i = Int64(s) {
                    out.append((.int(i), start))
                } else if let d = Double(s) {
                    out.append((.double(d), start))
                } else {
                    throw ExpressionSyntaxError(message: "malformed number '\(s)'", offset: start)
                }
            } else if c == "\"" || c == "'" {
                out.append((.string(try lexString(quote: c)), start))
            } else if pos + 1 < chars.count, Lexer.twoCharOps.contains(String([c, chars[pos + 1]])) {
                out.append((.op(String([c, chars[pos + 1]])), start))
                pos += 2
            } else if Lexer.oneCharOps.contains(c) {
                out.append((.op(String(c)), start))
                pos += 1
            } else if c == "=" {
                throw ExpressionSyntaxError(message: "'=' is not an operator; use '==' to compare", offset: start)
            } else if c == "&" || c == "|" {
                throw ExpressionSyntaxError(message: "use '\(c)\(c)' for logical \(c == "&" ? "and" : "or")", offset: start)
            } else {
                throw ExpressionSyntaxError(message: "unexpected character '\(c)'", offset: start)
            }
        }
    }

    mutating func lexString(quote: Character) throws(ExpressionSyntaxError) -> String {
        let start = pos
        pos += 1
        var s = ""
        while pos < chars.count {
            let c = chars[pos]
            if c == quote { pos += 1; return s }
            if c == "\\" {
                pos += 1
                guard pos < chars.count else { break }
                switch chars[pos] {
                case "n": s.append("\n")
                case "t": s.append("\t")
                case "r": s.append("\r")
                case "\\": s.append("\\")
                case "'": s.append("'")
                case "\"": s.append("\"")
                default:
                    // Unknown escapes are kept, so regexes like "\\d" and "\d" both work.
                    s.append("\\"); s.append(chars[pos])
                }
                pos += 1
                continue
            }
            s.append(c)
            pos += 1
        }
        throw ExpressionSyntaxError(message: "unterminated string", offset: start)
    }
}

/// Parses the CEL-like expression language (see rules/README.md).
public struct ExpressionParser {
    var tokens: [(Token, Int)]
    var i = 0

    public static func parse(_ text: String) throws(ExpressionSyntaxError) -> Expr {
        var lexer = Lexer(text)
        var p = ExpressionParser(tokens: try lexer.tokens())
        if case .end = p.peek {
            throw ExpressionSyntaxError(message: "empty expression", offset: 0)
        }
        let e = try p.parseConditional()
        guard case .end = p.peek else {
            throw ExpressionSyntaxError(message: "unexpected \(p.describe(p.peek)) after the expression", offset: p.offset)
        }
        return e
    }

    var peek: Token { tokens[i].0 }
    var offset: Int { tokens[i].1 }

    mutating func advance() { if i < tokens.count - 1 { i += 1 } }

    func describe(_ t: Token) -> String {
        switch t {
        case .ident(let s): return "'\(s)'"
        case .int(let v): return "'\(v)'"
        case .double(let v): return "'\(v)'"
        case .string: return "a string"
        case .op(let o): return "'\(o)'"
        case .end: return "end of expression"
        }
    }

    mutating func accept(_ op: String) -> Bool {
        if case .op(let o) = peek, o == op { advance(); return true }
        return false
    }

    mutating func expect(_ op: String, _ what: String) throws(ExpressionSyntaxError) {
        guard accept(op) else {
            throw ExpressionSyntaxError(message: "expected '\(op)' \(what), found \(describe(peek))", offset: offset)
        }
    }

    mutating func parseConditional() throws(ExpressionSyntaxError) -> Expr {
        let start = offset
        let cond = try parseBinary(level: 0)
        if accept("?") {
            let a = try parseConditional()
            try expect(":", "in a conditional 'c ? a : b'")
            let b = try parseConditional()
            return .conditional(cond, a, b, offset: start)
        }
        return cond
    }

    static let levels: [[String]] = [["||"], ["&&"], ["==", "!=", "<", "<=", ">", ">=", "in"], ["+", "-"], ["*", "/", "%"]]

    func binaryOp(at level: Int) -> String? {
        switch peek {
        case .op(let o) where ExpressionParser.levels[level].contains(o): return o
        case .ident("in") where level == 2: return "in"
        default: return nil
        }
    }

    mutating func parseBinary(level: Int) throws(ExpressionSyntaxError) -> Expr {
        if level == ExpressionParser.levels.count { return try parseUnary() }
        var lhs = try parseBinary(level: level + 1)
        while let op = binaryOp(at: level) {
            let at = offset
            advance()
            let rhs = try parseBinary(level: level + 1)
            lhs = .binary(op, lhs, rhs, offset: at)
        }
        return lhs
    }

    mutating func parseUnary() throws(ExpressionSyntaxError) -> Expr {
        let at = offset
        if accept("!") { return .unary("!", try parseUnary(), offset: at) }
        if accept("-") { return .unary("-", try parseUnary(), offset: at) }
        return try parsePostfix()
    }

    mutating func parseArgs() throws(ExpressionSyntaxError) -> [Expr] {
        var args: [Expr] = []
        if accept(")") { return args }
        while true {
            args.append(try parseConditional())
            if accept(")") { return args }
            try expect(",", "between arguments")
        }
    }

    mutating func parsePostfix() throws(ExpressionSyntaxError) -> Expr {
        var e = try parsePrimary()
        while true {
            let at = offset
            if accept(".") {
                guard case .ident(let name) = peek else {
                    throw ExpressionSyntaxError(message: "expected a field or function name after '.'", offset: offset)
                }
                advance()
                if accept("(") {
                    e = .call(name, receiver: e, args: try parseArgs(), offset: at)
                } else {
                    e = .member(e, name, offset: at)
                }
            } else if accept("[") {
                let idx = try parseConditional()
                try expect("]", "to close the index")
                e = .index(e, idx, offset: at)
            } else {
                return e
            }
        }
    }

    mutating func parsePrimary() throws(ExpressionSyntaxError) -> Expr {
        let at = offset
        switch peek {
        case .int(let v): advance(); return .literal(.int(v), offset: at)
        case .double(let v): advance(); return .literal(.double(v), offset: at)
        case .string(let s): advance(); return .literal(.string(s), offset: at)
        case .ident(let name):
            advance()
            switch name {
            case "true": return .literal(.bool(true), offset: at)
            case "false": return .literal(.bool(false), offset: at)
            case "null": return .literal(.null, offset: at)
            case "in": throw ExpressionSyntaxError(message: "'in' needs a value on its left", offset: at)
            default: break
            }
            if accept("(") { return .call(name, receiver: nil, args: try parseArgs(), offset: at) }
            return .ident(name, offset: at)
        case .op("("):
            advance()
            let e = try parseConditional()
            try expect(")", "to close '('")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            if accept("]") { return .list(items, offset: at) }
            while true {
                items.append(try parseConditional())
                if accept("]") { return .list(items, offset: at) }
                try expect(",", "between list items")
            }
        default:
            throw ExpressionSyntaxError(message: "expected a value, found \(describe(peek))", offset: at)
        }
    }
}
