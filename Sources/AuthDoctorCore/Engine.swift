/// The outcome of one rule.
public enum Status: String, Sendable, CaseIterable {
    case pass, fail, warn, skip, error
}

/// One row of the checklist as the report shows it.
public struct RuleResult: Sendable {
    public let rule: String
    public let step: Int
    public let title: String
    public let severity: Severity
    public let status: Status
    public let message: String
    public let fix: String?
    public let blockedBy: [String]
    public let evidence: [String: Value]
}

/// What the run concluded: the first failing rule in step order, or healthy.
public struct Verdict: Sendable {
    public enum Kind: String, Sendable { case healthy, problem, incomplete }
    public let status: Kind
    public let rule: String?
    public let step: Int?
    public let title: String?
    public let message: String
    public let fix: String?
}

public struct Engine: Sendable {
    public let rules: [Rule]
    public let failOn: Severity
    public let disabled: [String: String]

    public init(rules: [Rule], failOn: Severity = .error, disabled: [Config.DisabledRule] = []) {
        self.rules = rules
        self.failOn = failOn
        self.disabled = Dictionary(disabled.map { ($0.rule, $0.reason) }, uniquingKeysWith: { a, _ in a })
    }

    /// Walks the rules in step order. A rule whose `requires` did not all pass is `skip`.
    public func run(_ facts: Facts) -> [RuleResult] {
        let rootScope = Scope(root: facts.root)
        var results: [RuleResult] = []
        var statusById: [String: Status] = [:]
        for rule in rules.sorted(by: { ($0.step, $0.id) < ($1.step, $1.id) }) {
            // `checks` lets a rule read the status of the rules walked before it.
            let checks = Value.map(statusById.mapValues { .string($0.rawValue) })
            let r = evaluate(rule, rootScope.binding("checks", checks), statusById)
            statusById[rule.id] = r.status
            results.append(r)
        }
        return results
    }

    func evaluate(_ rule: Rule, _ root: Scope, _ done: [String: Status]) -> RuleResult {
        func result(_ status: Status, _ message: String, fix: String? = nil, severity: Severity? = nil,
                    blockedBy: [String] = [], evidence: [String: Value] = [:]) -> RuleResult {
            RuleResult(rule: rule.id, step: rule.step, title: rule.title, severity: severity ?? rule.severity,
                       status: status, message: message, fix: fix, blockedBy: blockedBy, evidence: evidence)
        }
        if let reason = disabled[rule.id] {
            return result(.skip, "disabled in config: \(reason)")
        }
        let blocked = rule.requires.filter { done[$0] != .pass }
        if !blocked.isEmpty {
            return result(.skip, "skipped: needs \(blocked.joined(separator: ", ")) to pass first", blockedBy: blocked)
        }
        // Each rule spends its own budget: one hostile rule is `error`, the others still run.
        var scope = root.metered(by: EvaluationBudget())
        do {
            for (name, expr) in rule.lets {
                scope = scope.binding(name, try Evaluator.evaluate(expr, scope))
            }
            if let when = rule.when, try Evaluator.evaluate(when, scope) != .bool(true) {
                let msg = try rule.skipMessage?.render(scope) ?? "not applicable"
                return result(.skip, msg)
            }
            var evidence: [String: Value] = [:]
            for (name, expr) in rule.evidence {
                let v = try Evaluator.evaluate(expr, scope)
                try EvaluationBudget.checkPrintable(v, expr.offset)
                evidence[name] = v
            }
            let outcome = try Evaluator.evaluate(rule.assertion, scope)
            if outcome == .bool(true) {
                let msg = try rule.passMessage?.render(scope) ?? rule.title
                return result(.pass, msg, evidence: evidence)
            }
            if case .bool = outcome {} else if !outcome.isNull {
                return result(.error, "rule error: assert must give true or false, it gave a \(outcome.typeName)")
            }
            var severity = rule.severity
            if let e = rule.errorWhen, try Evaluator.evaluate(e, scope) == .bool(true) { severity = .error }
            let status: Status = severity >= failOn ? .fail : .warn
            return result(status, try rule.message.render(scope), fix: try rule.fix?.render(scope),
                          severity: severity, evidence: evidence)
        } catch {
            return result(.error, "rule error in \(rule.file): \(error.message)")
        }
    }

    /// The verdict: the first `fail` in step order; `incomplete` when nothing failed but a rule errored.
    public static func verdict(_ results: [RuleResult], healthyMessage: String) -> Verdict {
        if let f = results.first(where: { $0.status == .fail }) {
            return Verdict(status: .problem, rule: f.rule, step: f.step, title: f.title, message: f.message, fix: f.fix)
        }
        if let e = results.first(where: { $0.status == .error }) {
            return Verdict(status: .incomplete, rule: e.rule, step: e.step, title: e.title,
                           message: "nothing failed, but \(e.rule) could not be evaluated: \(e.message)", fix: nil)
        }
        return Verdict(status: .healthy, rule: nil, step: nil, title: nil, message: healthyMessage, fix: nil)
    }
}
