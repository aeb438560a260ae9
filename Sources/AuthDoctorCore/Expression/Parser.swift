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
    /// How many constructs the parser is inside of now (parentheses, `!`, arguments): bounds its own recursion.
    var nesting = 0

    /// Deeper expressions are refused when a rule loads: evaluating, checking and freeing a tree recurse once per
    /// level, so an unbounded one (10,000 parentheses, 200,000 `+`) would exhaust the stack.
    public static let maxDepth = 100
    /// And so are longer ones: no rule needs this many tokens in one expression.
    public static let maxTokens = 20_000

    public static func parse(_ text: String) throws(ExpressionSyntaxError) -> Expr {
        var lexer = Lexer(text)
        let tokens = try lexer.tokens()
        if tokens.count > maxTokens {
            throw ExpressionSyntaxError(message: "expression longer than \(maxTokens) tokens; split it into `let` names", offset: tokens[maxTokens].1)
        }
        var p = ExpressionParser(tokens: tokens)
        if case .end = p.peek {
            throw ExpressionSyntaxError(message: "empty expression", offset: 0)
        }
        let e = try p.parseConditional().e
        guard case .end = p.peek else {
            throw ExpressionSyntaxError(message: "unexpected \(p.describe(p.peek)) after the expression", offset: p.offset)
        }
        return e
    }

    /// A parsed subtree and its depth.
    typealias Node = (e: Expr, d: Int)

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

    /// A node one level above its deepest child, refused past `maxDepth`.
    func node(_ e: Expr, _ children: Int..., at: Int) throws(ExpressionSyntaxError) -> Node {
        let d = (children.max() ?? 0) + 1
        guard d <= ExpressionParser.maxDepth else {
            throw ExpressionSyntaxError(message: "expression nested deeper than \(ExpressionParser.maxDepth) levels; split it into `let` names", offset: at)
        }
        return (e, d)
    }

    /// Entering a nested construct: refuses it before recursing when the nesting alone is too deep.
    mutating func enter(_ at: Int) throws(ExpressionSyntaxError) {
        nesting += 1
        guard nesting <= ExpressionParser.maxDepth else {
            throw ExpressionSyntaxError(message: "expression nested deeper than \(ExpressionParser.maxDepth) levels; split it into `let` names", offset: at)
        }
    }

    mutating func parseConditional() throws(ExpressionSyntaxError) -> Node {
        let start = offset
        try enter(start)
        defer { nesting -= 1 }
        let cond = try parseBinary(level: 0)
        if accept("?") {
            let a = try parseConditional()
            try expect(":", "in a conditional 'c ? a : b'")
            let b = try parseConditional()
            return try node(.conditional(cond.e, a.e, b.e, offset: start), cond.d, a.d, b.d, at: start)
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

    mutating func parseBinary(level: Int) throws(ExpressionSyntaxError) -> Node {
        if level == ExpressionParser.levels.count { return try parseUnary() }
        var lhs = try parseBinary(level: level + 1)
        while let op = binaryOp(at: level) {
            let at = offset
            advance()
            let rhs = try parseBinary(level: level + 1)
            lhs = try node(.binary(op, lhs.e, rhs.e, offset: at), lhs.d, rhs.d, at: at)
        }
        return lhs
    }

    mutating func parseUnary() throws(ExpressionSyntaxError) -> Node {
        let at = offset
        let op = accept("!") ? "!" : accept("-") ? "-" : nil
        guard let op else { return try parsePostfix() }
        try enter(at)
        defer { nesting -= 1 }
        let inner = try parseUnary()
        return try node(.unary(op, inner.e, offset: at), inner.d, at: at)
    }

    mutating func parseArgs() throws(ExpressionSyntaxError) -> [Node] {
        var args: [Node] = []
        if accept(")") { return args }
        while true {
            args.append(try parseConditional())
            if accept(")") { return args }
            try expect(",", "between arguments")
        }
    }

    mutating func parsePostfix() throws(ExpressionSyntaxError) -> Node {
        var e = try parsePrimary()
        while true {
            let at = offset
            if accept(".") {
                guard case .ident(let name) = peek else {
                    throw ExpressionSyntaxError(message: "expected a field or function name after '.'", offset: offset)
                }
                advance()
                if accept("(") {
                    let args = try parseArgs()
                    e = try node(.call(name, receiver: e.e, args: args.map(\.e), offset: at), e.d, args.map(\.d).max() ?? 0, at: at)
                } else {
                    e = try node(.member(e.e, name, offset: at), e.d, at: at)
                }
            } else if accept("[") {
                let idx = try parseConditional()
                try expect("]", "to close the index")
                e = try node(.index(e.e, idx.e, offset: at), e.d, idx.d, at: at)
            } else {
                return e
            }
        }
    }

    mutating func parsePrimary() throws(ExpressionSyntaxError) -> Node {
        let at = offset
        switch peek {
        case .int(let v): advance(); return (.literal(.int(v), offset: at), 1)
        case .double(let v): advance(); return (.literal(.double(v), offset: at), 1)
        case .string(let s): advance(); return (.literal(.string(s), offset: at), 1)
        case .ident(let name):
            advance()
            switch name {
            case "true": return (.literal(.bool(true), offset: at), 1)
            case "false": return (.literal(.bool(false), offset: at), 1)
            case "null": return (.literal(.null, offset: at), 1)
            case "in": throw ExpressionSyntaxError(message: "'in' needs a value on its left", offset: at)
            default: break
            }
            if accept("(") {
                let args = try parseArgs()
                return try node(.call(name, receiver: nil, args: args.map(\.e), offset: at), args.map(\.d).max() ?? 0, at: at)
            }
            return (.ident(name, offset: at), 1)
        case .op("("):
            advance()
            let e = try parseConditional()
            try expect(")", "to close '('")
            return e
        case .op("["):
            advance()
            var items: [Node] = []
            if accept("]") { return (.list([], offset: at), 1) }
            while true {
                items.append(try parseConditional())
                if accept("]") { return try node(.list(items.map(\.e), offset: at), items.map(\.d).max() ?? 0, at: at) }
                try expect(",", "between list items")
            }
        default:
            throw ExpressionSyntaxError(message: "expected a value, found \(describe(peek))", offset: at)
        }
    }
}
