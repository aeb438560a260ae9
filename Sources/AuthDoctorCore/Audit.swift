/// One population-level finding of `audit`, keyed by the checklist's rule ids.
public struct AuditFinding: Sendable {
    public let rule: String
    public let step: Int
    public let title: String
    /// The problem in words (the rule's `failTitle`).
    public let failTitle: String
    public let severity: Severity
    /// What is counted, e.g. "users whose stored email is not normalized".
    public let what: String
    public let count: Int
    /// Up to `--examples` emails or ids.
    public var examples: [String]
    /// Breakdown, e.g. by hash kind.
    public let details: [String: Int]
    public let fix: String?
    public let status: Status

    public init(rule: String, step: Int, title: String, failTitle: String? = nil, severity: Severity, what: String, count: Int, examples: [String],
                details: [String: Int] = [:], fix: String? = nil, failOn: Severity, skipped: Bool = false) {
        self.rule = rule
        self.step = step
        self.title = title
        self.failTitle = failTitle ?? title
        self.severity = severity
        self.what = what
        self.count = count
        self.examples = examples
        self.details = details
        self.fix = fix
        // A finding audit could not check (e.g. the jwks keys without the Convex env) is skipped, never "none".
        status = skipped ? .skip : count == 0 ? .pass : (severity >= failOn ? .fail : .warn)
    }

    var value: Value {
        .map([
            "rule": .string(rule), "step": .int(Int64(step)), "title": .string(title), "failTitle": .string(failTitle), "severity": .string(severity.rawValue),
            "status": .string(status.rawValue), "what": .string(what), "count": .int(Int64(count)),
            "examples": .list(examples.map { .string($0) }), "details": .map(details.mapValues { .int(Int64($0)) }),
            "fix": fix.map { .string($0) } ?? .null,
        ])
    }
}

extension Report {
    /// The `audit` report: population and findings instead of input and results.
    public static func audit(source: SourceInfo, population: [String: Int], findings: [AuditFinding], linkField: String,
                             appTable: String, component: String, notes: [String]) -> Report {
        let verdict: Verdict
        if let f = findings.first(where: { $0.status == .fail }) {
            let failing = findings.filter { $0.status == .fail }
            verdict = Verdict(status: .problem, rule: f.rule, step: f.step, title: f.failTitle,
                              message: "\(failing.count) finding\(failing.count == 1 ? "" : "s") at or above the fail level; first: \(f.count) \(f.what)",
                              fix: f.fix)
        } else {
            let warned = findings.filter { $0.status == .warn }.count
            verdict = Verdict(status: .healthy, rule: nil, step: nil, title: nil,
                              message: "no finding at or above the fail level among \(population["baUsers"] ?? 0) Better Auth users (\(warned) below it)",
                              fix: nil)
        }
        var r = Report(command: "audit", input: nil, source: source, linkField: linkField, appTable: appTable,
                       component: component, verdict: verdict, results: [], notes: notes)
        r.population = population
        r.findings = findings
        return r
    }
}
