/// The outcome of one rule.
public enum Status: String, Sendable, CaseIterable {
    case pass, fail, warn, skip, error
}

/// One row of the checklist as the report shows it.
public struct RuleResult: Sendable {
    public let rule: String
    public let step: Int
    public let title: String
    /// The problem in words (the rule's `failTitle`).
    public let failTitle: String
    public let severity: Severity
    public let status: Status
    public var message: String
    public var fix: String?
    public let blockedBy: [String]
    public var evidence: [String: Value]
    /// The message with personal data masked, and the fix with placeholders instead of personal data: what the
    /// masked formats (markdown, github, --redact-pii) show.
    public var maskedMessage: String
    public var maskedFix: String?
}

/// What the run concluded: the first failing rule in step order, or healthy.
public struct Verdict: Sendable {
    public enum Kind: String, Sendable { case healthy, problem, incomplete }
    public let status: Kind
    public let rule: String?
    public let step: Int?
    public let title: String?
    public var message: String
    public var fix: String?
    public var maskedMessage: String
    public var maskedFix: String?
    /// A healthy verdict's warning that is the likely cause of "I can't log in" (its rule id), said first.
    public var likelyCause: String?

    public init(status: Kind, rule: String?, step: Int?, title: String?, message: String, fix: String?,
                maskedMessage: String? = nil, maskedFix: String? = nil) {
        self.status = status
        self.rule = rule
        self.step = step
        self.title = title
        self.message = message
        self.fix = fix
        self.maskedMessage = maskedMessage ?? message
        self.maskedFix = maskedFix ?? fix
    }
}

public struct Engine: Sendable {
    public let rules: [Rule]
    public let failOn: Severity
    public let disabled: [String: String]
    /// Masks and escapes what the templates' holes print.
    public let net: DataNet
    /// Appended to every fix that runs a Convex command: which deployment the commands act on.
    public let deploymentNote: String?

    public init(rules: [Rule], failOn: Severity = .error, disabled: [Config.DisabledRule] = [], net: DataNet = .none,
                deploymentNote: String? = nil) {
        self.rules = rules
        self.failOn = failOn
        self.disabled = Dictionary(disabled.map { ($0.rule, $0.reason) }, uniquingKeysWith: { a, _ in a })
        self.net = net
        self.deploymentNote = deploymentNote
    }

    /// Walks the rules in step order. A rule whose `requires` did not all pass is `skip`.
    public func run(_ facts: Facts) -> [RuleResult] {
        let rootScope = Scope(root: facts.root)
        // Messages and fixes are rendered from the same facts with control characters in data escaped.
        let displayScope = Scope(root: facts.root.mapValues(\.forDisplay))
        var results: [RuleResult] = []
        var statusById: [String: Status] = [:]
        for rule in rules.sorted(by: { ($0.step, $0.id) < ($1.step, $1.id) }) {
            // `checks` lets a rule read the status of the rules walked before it.
            let checks = Value.map(statusById.mapValues { .string($0.rawValue) })
            let r = evaluate(rule, rootScope.binding("checks", checks), displayScope.binding("checks", checks), statusById)
            statusById[rule.id] = r.status
            results.append(r)
        }
        return results
    }

    func evaluate(_ rule: Rule, _ root: Scope, _ displayRoot: Scope, _ done: [String: Status]) -> RuleResult {
        func result(_ status: Status, _ message: String, fix: String? = nil, severity: Severity? = nil,
                    blockedBy: [String] = [], evidence: [String: Value] = [:],
                    masked: (message: String, fix: String?)? = nil) -> RuleResult {
            RuleResult(rule: rule.id, step: rule.step, title: rule.title, failTitle: rule.failTitle, severity: severity ?? rule.severity,
                       status: status, message: message, fix: fix, blockedBy: blockedBy, evidence: evidence,
                       maskedMessage: masked?.message ?? message, maskedFix: masked?.fix ?? fix)
        }
        let net = self.net
        // Each rule spends its own budget, rendering included: one hostile rule is `error`, the others still run.
        let budget = EvaluationBudget()
        /// A template rendered for the unmasked and the masked formats.
        var display: Scope?
        func text(_ t: Template, fix: Bool = false) throws(EvaluationError) -> (String, String) {
            // The rule's lets again, over the display facts (once per rule), within the same budget.
            let scope: Scope
            if let display {
                scope = display
            } else {
                var d = displayRoot.metered(by: budget)
                for (name, expr) in rule.lets { d = d.binding(name, try Evaluator.evaluate(expr, d)) }
                display = d
                scope = d
            }
            var plain = try t.render(scope, data: net.hole)
            var masked = try t.render(scope, data: fix ? net.placeholderHole : net.maskedHole)
            if fix, let note = deploymentNote, plain.contains("npx convex ") {
                plain = plain.trimmingTrailingNewlines + "\n" + note
                masked = masked.trimmingTrailingNewlines + "\n" + note
            }
            return (plain, masked)
        }
        if let reason = disabled[rule.id] {
            return result(.skip, "disabled in config: \(reason)")
        }
        let blocked = rule.requires.filter { done[$0] != .pass }
        if !blocked.isEmpty {
            return result(.skip, "skipped: needs \(blocked.joined(separator: ", ")) to pass first", blockedBy: blocked)
        }
        var scope = root.metered(by: budget)
        do {
            for (name, expr) in rule.lets {
                scope = scope.binding(name, try Evaluator.evaluate(expr, scope))
            }
            if let when = rule.when, try Evaluator.evaluate(when, scope) != .bool(true) {
                let msg = try rule.skipMessage.map { t throws(EvaluationError) in try text(t) } ?? ("not applicable", "not applicable")
                return result(.skip, msg.0, masked: (msg.1, nil))
            }
            var evidence: [String: Value] = [:]
            for (name, expr) in rule.evidence {
                let v = try Evaluator.evaluate(expr, scope)
                try EvaluationBudget.checkPrintable(v, expr.offset)
                evidence[name] = v
            }
            let outcome = try Evaluator.evaluate(rule.assertion, scope)
            if outcome == .bool(true) {
                let msg = try rule.passMessage.map { t throws(EvaluationError) in try text(t) } ?? (rule.title, rule.title)
                return result(.pass, msg.0, evidence: evidence, masked: (msg.1, nil))
            }
            if case .bool = outcome {} else if !outcome.isNull {
                return result(.error, "rule error: assert must give true or false, it gave a \(outcome.typeName)")
            }
            var severity = rule.severity
            if let e = rule.errorWhen, try Evaluator.evaluate(e, scope) == .bool(true) { severity = .error }
            let status: Status = severity >= failOn ? .fail : .warn
            let message = try text(rule.message)
            let fix = try rule.fix.map { t throws(EvaluationError) in try text(t, fix: true) }
            return result(status, message.0, fix: fix?.0, severity: severity, evidence: evidence, masked: (message.1, fix?.1))
        } catch {
            return result(.error, "rule error in \(rule.file): \(error.message)")
        }
    }

    /// The verdict: the first `fail` in step order; `incomplete` when nothing failed but a rule errored.
    public static func verdict(_ results: [RuleResult], healthyMessage: String) -> Verdict {
        if let f = results.first(where: { $0.status == .fail }) {
            return Verdict(status: .problem, rule: f.rule, step: f.step, title: f.failTitle, message: f.message, fix: f.fix,
                           maskedMessage: f.maskedMessage, maskedFix: f.maskedFix)
        }
        if let e = results.first(where: { $0.status == .error }) {
            return Verdict(status: .incomplete, rule: e.rule, step: e.step, title: e.title,
                           message: "nothing failed, but \(e.rule) could not be evaluated: \(e.message)", fix: nil)
        }
        // Healthy is honest: a warning that is the likely cause of "I can't log in" comes first.
        if let w = results.first(where: { $0.status == .warn && $0.severity == .warning })
            ?? results.first(where: { $0.status == .warn && $0.severity == .info }) {
            var v = Verdict(status: .healthy, rule: nil, step: nil, title: nil,
                            message: "likely cause: \(w.failTitle) (\(w.rule), step \(w.step)) — \(w.message)\n\(healthyMessage)", fix: nil,
                            maskedMessage: "likely cause: \(w.failTitle) (\(w.rule), step \(w.step)) — \(w.maskedMessage)\n\(healthyMessage)")
            v.likelyCause = w.rule
            return v
        }
        return Verdict(status: .healthy, rule: nil, step: nil, title: nil, message: healthyMessage, fix: nil)
    }
}
