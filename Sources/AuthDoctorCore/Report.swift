import Foundation

public let toolName = "auth-doctor"
public let toolVersion = "0.1.0"

/// The report of one run: what every renderer prints.
public struct Report: Sendable {
    public var command: String
    public var input: (email: String, normalizedEmail: String)?
    public var source: SourceInfo
    public var linkField: String?
    public var appTable: String?
    public var component: String?
    public var verdict: Verdict
    public var results: [RuleResult]
    public var notes: [String]
    /// `audit` only: row counts and the population-level findings.
    public var population: [String: Int]?
    public var findings: [AuditFinding]?

    public init(command: String, input: (email: String, normalizedEmail: String)?, source: SourceInfo,
                linkField: String? = nil, appTable: String? = nil, component: String? = nil,
                verdict: Verdict, results: [RuleResult], notes: [String] = []) {
        self.command = command
        self.input = input
        self.source = source
        self.linkField = linkField
        self.appTable = appTable
        self.component = component
        self.verdict = verdict
        self.results = results
        self.notes = notes
    }

    public var summary: [Status: Int] {
        var out: [Status: Int] = [:]
        for s in Status.allCases { out[s] = 0 }
        for r in results { out[r.status, default: 0] += 1 }
        for f in findings ?? [] { out[f.status, default: 0] += 1 }
        return out
    }

    /// True when a rule (or an audit finding) failed at or above `--fail-on`: exit code 1.
    public var failed: Bool { results.contains { $0.status == .fail } || (findings ?? []).contains { $0.status == .fail } }

    /// The JSON report of DESIGN §10, as a value (keys are sorted when written).
    public var value: Value {
        func opt(_ s: String?) -> Value { s.map { .string($0) } ?? .null }
        func optInt(_ i: Int?) -> Value { i.map { .int(Int64($0)) } ?? .null }
        var src: [String: Value] = [
            "kind": .string(source.kind), "location": .string(source.location), "deployment": opt(source.deployment),
            "isProd": .bool(source.isProd),
        ]
        if source.kind == "export" {
            src["exportFormat"] = opt(source.exportFormat)
            src["malformedLines"] = .int(Int64(source.malformedLines))
        }
        if let linkField { src["linkField"] = .string(linkField) }
        if let appTable { src["appTable"] = .string(appTable) }
        if let component { src["component"] = .string(component) }
        var out: [String: Value] = [
            "schemaVersion": .int(1),
            "tool": .map(["name": .string(toolName), "version": .string(toolVersion)]),
            "command": .string(command),
            "source": .map(src),
            "verdict": .map([
                "status": .string(verdict.status.rawValue), "rule": opt(verdict.rule), "step": optInt(verdict.step),
                "title": opt(verdict.title), "message": .string(verdict.message), "fix": opt(verdict.fix),
            ]),
            "results": findings != nil ? .null : .list(results.map { r in
                .map([
                    "rule": .string(r.rule), "step": .int(Int64(r.step)), "title": .string(r.title),
                    "severity": .string(r.severity.rawValue), "status": .string(r.status.rawValue),
                    "message": .string(r.message), "fix": opt(r.fix),
                    "blockedBy": .list(r.blockedBy.map { .string($0) }), "evidence": .map(r.evidence),
                ])
            }),
            "summary": .map(Dictionary(uniqueKeysWithValues: summary.map { ($0.key.rawValue, .int(Int64($0.value))) })),
            "notes": .list(notes.map { .string($0) }),
        ]
        if let input {
            out["input"] = .map(["email": .string(input.email), "normalizedEmail": .string(input.normalizedEmail)])
        }
        if let findings, let population {
            out["results"] = nil
            out["population"] = .map(population.mapValues { .int(Int64($0)) })
            out["findings"] = .list(findings.map(\.value))
        }
        return .map(out)
    }
}

/// The final pass over every output: masks any loaded secret that reached the text, and, when asked,
/// personal data (emails and names).
public struct Redactor: Sendable {
    let secrets: [String]
    let names: [String]
    let redactPII: Bool

    /// Secrets shorter than this are not searched for: they would mask ordinary words.
    public static let minimumSecretLength = 6

    public init(secrets: Set<String>, names: Set<String> = [], redactPII: Bool = false) {
        // Longest first, so a secret that contains another is masked whole.
        self.secrets = secrets.filter { $0.count >= Redactor.minimumSecretLength }.sorted { ($0.count, $0) > ($1.count, $1) }
        // Emails are masked by pattern (keeping the domain); names are masked whole.
        self.names = names.filter { $0.count >= 2 && !$0.contains("@") }.sorted { ($0.count, $0) > ($1.count, $1) }
        self.redactPII = redactPII
    }

    public func apply(_ text: String) -> String {
        var out = text
        for s in secrets where out.contains(s) {
            out = out.replacingOccurrences(of: s, with: "[redacted]")
        }
        // A secret can also reach JSON output with its characters escaped.
        for s in secrets {
            let escaped = String(JSONWriter.quote(s).dropFirst().dropLast())
            if escaped != s, out.contains(escaped) { out = out.replacingOccurrences(of: escaped, with: "[redacted]") }
        }
        guard redactPII else { return out }
        for n in names where out.contains(n) {
            out = out.replacingOccurrences(of: n, with: Redactor.maskName(n))
        }
        return Redactor.maskEmails(out)
    }

    public static func maskName(_ name: String) -> String {
        guard let first = name.first else { return name }
        return "\(first)***"
    }

    /// `john@example.com` → `j***@example.com`.
    public static func maskEmails(_ text: String) -> String {
        guard let re = try? NSRegularExpression(pattern: "([A-Za-z0-9._%+\\-])[A-Za-z0-9._%+\\-]*@([A-Za-z0-9.\\-]+\\.[A-Za-z]{2,})") else { return text }
        let ns = text as NSString
        return re.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: ns.length), withTemplate: "$1***@$2")
    }
}
