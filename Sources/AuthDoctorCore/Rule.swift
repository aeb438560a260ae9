import Yams

public enum Severity: String, Sendable, Comparable, CaseIterable {
    case info, warning, error

    var rank: Int { self == .info ? 0 : (self == .warning ? 1 : 2) }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// Which command evaluates a rule: `diagnose`, `audit`, `check-env` (`env`), `jwt` or `probe`.
public enum Mode: String, Sendable, CaseIterable {
    case diagnose, audit, env, jwt, probe
}

/// One checklist rule, as loaded from a YAML file in `rules/`.
public struct Rule: Sendable {
    public let id: String
    public let step: Int
    public let title: String
    /// The problem in words, for verdicts and annotation titles ("User is banned"); `title` names the check.
    public let failTitle: String
    public let severity: Severity
    public let modes: [Mode]
    public let requires: [String]
    public let lets: [(name: String, expr: Expr)]
    /// When present and not true, the rule is `skip` with `skipMessage`.
    public let when: Expr?
    public let skipMessage: Template?
    public let assertion: Expr
    public let message: Template
    public let passMessage: Template?
    public let fix: Template?
    /// When true, a failure of this rule counts as an error whatever `severity` says.
    public let errorWhen: Expr?
    public let evidence: [(name: String, expr: Expr)]
    public let docs: String?
    public let description: String?
    public let why: String?
    /// How `audit` reports the rule over the population (DESIGN §13.6): what it counts, its severity there, the bulk fix.
    public let audit: AuditSpec?
    /// Where the rule was loaded from (`rules/ba.user.exists.yaml`, or `built-in:...`).
    public let file: String
    /// The YAML text, for `rules explain`.
    public let source: String
}

/// The `audit:` block of a rule: how the population count reads.
public struct AuditSpec: Sendable {
    /// What is counted, e.g. "Better Auth users whose email is not verified".
    public let what: String
    /// The severity of a non-zero count (default: the rule's).
    public let severity: Severity?
    /// The bulk fix: through `auth-doctor audit --list` ids and a reviewed per-id command, never a blanket update.
    public let fix: String?
}

/// A rule file that could not be loaded: names the file, line and column.
public struct RuleLoadError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public var description: String { "\(file):\(line):\(column): \(message)" }

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }
}

/// The names every rule expression can see (the facts data model, rules/README.md).
public let factRoots: Set<String> = ["input", "source", "ba", "app", "env", "config", "now", "cli", "checks", "jwt", "probe", "convexAuth"]

public enum RuleLoader {
    static let knownKeys: Set<String> = [
        "id", "step", "title", "failTitle", "severity", "modes", "requires", "let", "when", "skipMessage", "assert",
        "message", "passMessage", "fix", "errorWhen", "evidence", "docs", "description", "why", "audit",
    ]

    public static func load(yaml: String, file: String) throws(RuleLoadError) -> Rule {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func fail(_ message: String, _ mark: Mark?) -> RuleLoadError {
            RuleLoadError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message)
        }
        guard let root = try compose(yaml, file: file) else { throw fail("the rule file is empty", nil) }
        guard let mapping = root.mapping else { throw fail("a rule file is a YAML mapping (id:, step:, title:, ...)", root.mark) }
        var fields: [String: Node] = [:]
        for (k, v) in mapping {
            guard let key = k.string else { throw fail("keys must be plain names", k.mark) }
            guard knownKeys.contains(key) else {
                throw fail("unknown key '\(key)' (known: \(knownKeys.sorted().joined(separator: ", ")))", k.mark)
            }
            if fields[key] != nil { throw fail("duplicate key '\(key)'", k.mark) }
            fields[key] = v
        }
        func string(_ key: String, required: Bool) throws(RuleLoadError) -> (String, Node)? {
            guard let node = fields[key] else {
                if required { throw fail("missing required key '\(key)'", root.mark) }
                return nil
            }
            guard let s = node.scalar?.string else { throw fail("'\(key)' must be a text value", node.mark) }
            return (s, node)
        }
        func stringList(_ key: String) throws(RuleLoadError) -> [(String, Node)] {
            guard let node = fields[key] else { return [] }
            guard let seq = node.sequence else { throw fail("'\(key)' must be a list, e.g. [a, b]", node.mark) }
            var out: [(String, Node)] = []
            for item in seq {
                guard let s = item.scalar?.string else { throw fail("'\(key)' items must be text", item.mark) }
                out.append((s, item))
            }
            return out
        }
        func position(of node: Node, offset: Int) -> (Int, Int) {
            ExpressionPosition.locate(node: node, offset: offset, lines: lines)
        }
        func expr(_ text: String, _ node: Node) throws(RuleLoadError) -> Expr {
            do {
                return try ExpressionParser.parse(text)
            } catch {
                let (l, c) = position(of: node, offset: error.offset)
                throw RuleLoadError(file: file, line: l, column: c, message: error.message)
            }
        }
        func template(_ text: String, _ node: Node) throws(RuleLoadError) -> Template {
            do {
                return try Template.parse(text)
            } catch {
                let (l, c) = position(of: node, offset: error.offset)
                throw RuleLoadError(file: file, line: l, column: c, message: error.message)
            }
        }
        func validate(_ e: Expr, _ node: Node, _ names: Set<String>, base: Int = 0) throws(RuleLoadError) {
            do {
                try ExpressionValidator.validate(e, names: names)
            } catch {
                let (l, c) = position(of: node, offset: base + error.offset)
                throw RuleLoadError(file: file, line: l, column: c, message: error.message)
            }
        }

        guard let (id, idNode) = try string("id", required: true) else { throw fail("missing id", root.mark) }
        guard id.range(of: "^[a-z][a-z0-9-]*(\\.[a-z0-9][a-z0-9-]*)+$", options: .regularExpression) != nil else {
            throw fail("rule id '\(id)' must be dotted lowercase words, e.g. app.user.subscription", idNode.mark)
        }
        guard let stepNode = fields["step"] else { throw fail("missing required key 'step'", root.mark) }
        guard let step = stepNode.scalar.flatMap({ Int($0.string) }), step > 0 else {
            throw fail("'step' must be a positive whole number", stepNode.mark)
        }
        guard let (title, _) = try string("title", required: true) else { throw fail("missing title", root.mark) }
        // Custom rules may omit failTitle; the check's name then says that it failed.
        let failTitle = try string("failTitle", required: false)?.0 ?? "Failed: \(title)"
        var severity = Severity.error
        if let (s, node) = try string("severity", required: false) {
            guard let sev = Severity(rawValue: s) else { throw fail("severity must be error, warning or info, not '\(s)'", node.mark) }
            severity = sev
        }
        var modes: [Mode] = []
        for (m, node) in try stringList("modes") {
            guard let mode = Mode(rawValue: m) else { throw fail("unknown mode '\(m)' (\(Mode.allCases.map(\.rawValue).joined(separator: ", ")))", node.mark) }
            modes.append(mode)
        }
        if fields["modes"] == nil { modes = [.diagnose] }
        let requires = try stringList("requires").map(\.0)

        var names = factRoots
        var checker = TypeChecker()
        func infer(_ e: Expr, _ node: Node, base: Int = 0) throws(RuleLoadError) -> StaticType {
            do {
                return try checker.infer(e)
            } catch {
                let (l, c) = position(of: node, offset: base + error.offset)
                throw RuleLoadError(file: file, line: l, column: c, message: error.message)
            }
        }
        func expectBool(_ e: Expr, _ node: Node, _ key: String) throws(RuleLoadError) {
            let t = try infer(e, node)
            if t != .bool && t != .unknown && t != .null {
                let (l, c) = position(of: node, offset: e.start)
                throw RuleLoadError(file: file, line: l, column: c, message: "'\(key)' must give true or false, not a \(t)")
            }
        }
        var lets: [(String, Expr)] = []
        if let letNode = fields["let"] {
            guard let m = letNode.mapping else { throw fail("'let' must be a mapping of name: expression", letNode.mark) }
            for (k, v) in m {
                guard let name = k.string, name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                    throw fail("a let name must be an identifier", k.mark)
                }
                if factRoots.contains(name) { throw fail("'\(name)' is a fact name and cannot be redefined", k.mark) }
                guard let text = v.scalar?.string else { throw fail("'let' values are expressions", v.mark) }
                let e = try expr(text, v)
                try validate(e, v, names)
                checker.scope[name] = try infer(e, v)
                lets.append((name, e))
                names.insert(name)
            }
        }
        func optionalExpr(_ key: String) throws(RuleLoadError) -> Expr? {
            guard case let (text, node)? = try string(key, required: false) else { return nil }
            let e = try expr(text, node)
            try validate(e, node, names)
            try expectBool(e, node, key)
            return e
        }
        func optionalTemplate(_ key: String) throws(RuleLoadError) -> Template? {
            guard case let (text, node)? = try string(key, required: false) else { return nil }
            let t = try template(text, node)
            for (e, offset) in t.expressions {
                try validate(e, node, names, base: offset)
                if try infer(e, node, base: offset) == .secret {
                    let (l, c) = position(of: node, offset: offset + e.start)
                    throw RuleLoadError(file: file, line: l, column: c,
                                        message: "this template would print a secret value; print shape(...) or hashKind(...) of it instead")
                }
            }
            return t
        }
        var audit: AuditSpec?
        if let auditNode = fields["audit"] {
            guard let m = auditNode.mapping else { throw fail("'audit' is a mapping: what:, severity:, fix:", auditNode.mark) }
            var what: String?, fix: String?, sev: Severity?
            for (k, v) in m {
                guard let value = v.scalar?.string else { throw fail("audit.\(k.string ?? "?") must be text", v.mark) }
                switch k.string {
                case "what": what = value
                case "fix": fix = value
                case "severity":
                    guard let s = Severity(rawValue: value) else { throw fail("audit.severity must be error, warning or info", v.mark) }
                    sev = s
                default: throw fail("unknown key 'audit.\(k.string ?? "?")' (known: what, severity, fix)", k.mark)
                }
            }
            guard let what else { throw fail("'audit' needs what: (what the count counts)", auditNode.mark) }
            audit = AuditSpec(what: what, severity: sev, fix: fix)
        }
        if modes.contains(.audit) && audit == nil {
            throw fail("a rule with modes: [audit] needs an audit: block (what:, and optionally severity:, fix:)", fields["modes"]?.mark)
        }
        let when = try optionalExpr("when")
        // Every rule decides by its assert, audit-only ones too (audit evaluates them over stand-in persons or rows).
        guard let assertion = try optionalExpr("assert") else { throw fail("missing required key 'assert'", root.mark) }
        guard let message = try optionalTemplate("message") else { throw fail("missing required key 'message'", root.mark) }
        var evidence: [(String, Expr)] = []
        if let evNode = fields["evidence"] {
            guard let m = evNode.mapping else { throw fail("'evidence' must be a mapping of name: expression", evNode.mark) }
            for (k, v) in m {
                guard let name = k.string, let text = v.scalar?.string else { throw fail("evidence entries are name: expression", k.mark) }
                let e = try expr(text, v)
                try validate(e, v, names)
                _ = try infer(e, v)
                evidence.append((name, e))
            }
        }
        return Rule(
            id: id, step: step, title: title, failTitle: failTitle, severity: severity, modes: modes, requires: requires, lets: lets,
            when: when, skipMessage: try optionalTemplate("skipMessage"), assertion: assertion, message: message,
            passMessage: try optionalTemplate("passMessage"), fix: try optionalTemplate("fix"),
            errorWhen: try optionalExpr("errorWhen"), evidence: evidence,
            docs: try string("docs", required: false)?.0, description: try string("description", required: false)?.0,
            why: try string("why", required: false)?.0, audit: audit, file: file, source: yaml)
    }

    /// Parses YAML text into a node tree with positions; YAML errors carry file, line and column.
    public static func compose(_ yaml: String, file: String) throws(RuleLoadError) -> Node? {
        do {
            // Nodes hold their anchor weakly: the parser must live while the tree is walked.
            let parser = try Parser(yaml: yaml)
            let root = try parser.singleRoot()
            try withExtendedLifetime(parser) { () throws(RuleLoadError) in
                if let root, let anchored = firstAnchored(root) {
                    throw RuleLoadError(file: file, line: anchored.mark?.line ?? 1, column: anchored.mark?.column ?? 1,
                                        message: "YAML anchors and aliases (&name, *name) are not allowed here: write the value out")
                }
            }
            return root
        } catch let e as RuleLoadError {
            throw e
        } catch let e as YamlError {
            throw yamlError(e, file: file)
        } catch {
            throw RuleLoadError(file: file, line: 1, column: 1, message: "not valid YAML: \(error)")
        }
    }

    /// The first node with an anchor, in document order. An alias is a copy of an anchored node, so the walk stops
    /// at the anchor's own definition before it could visit any copy: linear even for an alias bomb.
    static func firstAnchored(_ node: Node) -> Node? {
        if node.anchor != nil { return node }
        switch node {
        case .scalar: return nil
        case .sequence(let seq):
            for item in seq { if let found = firstAnchored(item) { return found } }
        case .mapping(let map):
            for (k, v) in map {
                if let found = firstAnchored(k) ?? firstAnchored(v) { return found }
            }
        case .alias: return node
        }
        return nil
    }

    static func yamlError(_ e: YamlError, file: String) -> RuleLoadError {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return RuleLoadError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        default:
            return RuleLoadError(file: file, line: 1, column: 1, message: "not valid YAML: \(e)")
        }
    }
}

/// Maps an offset inside a YAML scalar back to a line and column of the file.
enum ExpressionPosition {
    static func locate(node: Node, offset: Int, lines: [String]) -> (Int, Int) {
        guard let mark = node.mark else { return (1, 1) }
        let text = node.scalar?.string ?? ""
        let chars = Array(text)
        var lineInText = 0, colInText = 0
        for c in chars.prefix(offset) {
            if c == "\n" { lineInText += 1; colInText = 0 } else { colInText += 1 }
        }
        let style = node.scalar?.style
        if style == .literal || style == .folded {
            // Block scalars start on the line after the indicator; find the first content line.
            let firstLine = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            var start = mark.line // 0-based index of the line after the indicator
            while start < lines.count, lines[start].trimmingCharacters(in: .whitespaces) != firstLine.trimmingCharacters(in: .whitespaces) {
                start += 1
            }
            guard start < lines.count else { return (mark.line, mark.column) }
            let target = min(start + lineInText, lines.count - 1)
            // The block's indentation: that of its first content line, less what the text keeps of it.
            let blockIndent = lines[start].prefix { $0 == " " }.count - firstLine.prefix { $0 == " " }.count
            return (target + 1, blockIndent + colInText + 1)
        }
        let quoted = style == .singleQuoted || style == .doubleQuoted ? 1 : 0
        if lineInText == 0 { return (mark.line, mark.column + quoted + colInText) }
        let target = min(mark.line - 1 + lineInText, lines.count - 1)
        let indent = lines[max(target, 0)].prefix { $0 == " " }.count
        return (target + 1, indent + colInText + 1)
    }
}
