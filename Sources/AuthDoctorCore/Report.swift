import Foundation

public let toolName = "auth-doctor"
public let toolVersion = "0.1.0"

/// The report of one run: what every renderer prints.
public struct Report: Sendable {
    /// The email as diagnosed: cleaned from the paste, and normalized.
    public struct Input: Sendable {
        public var email: String
        public var normalizedEmail: String
        /// The input exactly as given, only when cleaning changed it (DESIGN §13.1).
        public var cleanedFrom: String?

        public init(email: String, normalizedEmail: String, cleanedFrom: String? = nil) {
            self.email = email
            self.normalizedEmail = normalizedEmail
            self.cleanedFrom = cleanedFrom
        }
    }

    public var command: String
    public var input: Input?
    public var source: SourceInfo
    public var linkField: String?
    public var appTable: String?
    public var component: String?
    public var verdict: Verdict
    public var results: [RuleResult]
    public var notes: [String]
    /// Notes shown only with --verbose in text (how the app table was linked); every note is in the JSON.
    public var verboseNotes: [String] = []
    /// `audit` only: row counts and the population-level findings.
    public var population: [String: Int]?
    public var findings: [AuditFinding]?
    /// What a command read and shows beside its checks: `jwt`'s token (header and claims, never the signature),
    /// `probe`'s requests and answers.
    public var exhibits: [Exhibit] = []

    /// One thing a command shows as read: a JSON value under `name`, and its text lines for the other formats.
    public struct Exhibit: Sendable {
        /// The JSON key, and the label in text and markdown.
        public var name: String
        public var value: Value
        /// One line after the label.
        public var title: String
        /// Lines shown under it (data in them is masked and escaped when the report is presented).
        public var lines: [String]

        public init(name: String, value: Value, title: String, lines: [String]) {
            self.name = name
            self.value = value
            self.title = title
            self.lines = lines
        }
    }

    public init(command: String, input: Input?, source: SourceInfo,
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

    /// The counts as people read them: info findings are not warnings, errors are "could not check".
    public var displayCounts: (passed: Int, failed: Int, warnings: Int, info: Int, skipped: Int, couldNotCheck: Int) {
        var c = (passed: 0, failed: 0, warnings: 0, info: 0, skipped: 0, couldNotCheck: 0)
        let rows = results.map { ($0.status, $0.severity) } + (findings ?? []).map { ($0.status, $0.severity) }
        for (status, severity) in rows {
            switch status {
            case .pass: c.passed += 1
            case .fail: c.failed += 1
            case .warn: if severity == .info { c.info += 1 } else { c.warnings += 1 }
            case .skip: c.skipped += 1
            case .error: c.couldNotCheck += 1
            }
        }
        return c
    }

    /// True when a rule (or an audit finding) failed at or above `--fail-on`: exit code 1.
    public var failed: Bool { results.contains { $0.status == .fail } || (findings ?? []).contains { $0.status == .fail } }

    /// The JSON report of DESIGN §10, as a value (keys are sorted when written).
    public var value: Value {
        func opt(_ s: String?) -> Value { s.map { .string($0) } ?? .null }
        func optInt(_ i: Int?) -> Value { i.map { .int(Int64($0)) } ?? .null }
        var src: [String: Value] = [
            "kind": .string(source.kind.rawValue), "location": .string(source.location), "deployment": opt(source.deployment),
            "isProd": .bool(source.isProd),
        ]
        if source.kind == .export {
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
                    "rule": .string(r.rule), "step": .int(Int64(r.step)), "title": .string(r.title), "failTitle": .string(r.failTitle),
                    "severity": .string(r.severity.rawValue), "status": .string(r.status.rawValue),
                    "message": .string(r.message), "fix": opt(r.fix),
                    "blockedBy": .list(r.blockedBy.map { .string($0) }), "evidence": .map(r.evidence),
                ])
            }),
            "summary": .map(Dictionary(uniqueKeysWithValues: summary.map { ($0.key.rawValue, .int(Int64($0.value))) })),
            "notes": .list((notes + verboseNotes).map { .string($0) }),
        ]
        if let input {
            var i: [String: Value] = ["email": .string(input.email), "normalizedEmail": .string(input.normalizedEmail)]
            if let c = input.cleanedFrom { i["cleanedFrom"] = .string(c) }
            out["input"] = .map(i)
        }
        for e in exhibits { out[e.name] = e.value }
        if let findings, let population {
            out["results"] = nil
            out["population"] = .map(population.mapValues { .int(Int64($0)) })
            out["findings"] = .list(findings.map(\.value))
        }
        return .map(out)
    }
}

extension Report {
    /// The report as an output shows it: data masked and escaped by `net` where it stands; with `maskPII`,
    /// personal data masked and fixes showing placeholders (never a masked value inside a command).
    public func presented(net: DataNet, maskPII: Bool) -> Report {
        var r = self
        let pick = { (plain: String, masked: String) in maskPII ? net.maskPersonal(masked) : plain }
        r.results = results.map { x in
            var y = x
            y.message = pick(x.message, x.maskedMessage)
            y.fix = maskPII ? x.maskedFix : x.fix
            y.evidence = x.evidence.mapValues { net.value($0, maskPII: maskPII) }
            return y
        }
        var v = verdict
        v.message = pick(verdict.message, verdict.maskedMessage)
        v.fix = maskPII ? verdict.maskedFix : verdict.fix
        r.verdict = v
        if let input {
            r.input = Input(email: net.prose(input.email, maskPII: maskPII), normalizedEmail: net.prose(input.normalizedEmail, maskPII: maskPII),
                            cleanedFrom: input.cleanedFrom.map { net.prose($0, maskPII: maskPII) })
        }
        r.source.location = net.prose(source.location, maskPII: false)
        r.notes = notes.map { net.prose($0, maskPII: maskPII) }
        r.verboseNotes = verboseNotes.map { net.prose($0, maskPII: maskPII) }
        r.exhibits = exhibits.map { e in
            Exhibit(name: e.name, value: net.value(e.value, maskPII: maskPII), title: net.prose(e.title, maskPII: maskPII),
                    lines: e.lines.map { net.prose($0, maskPII: maskPII) })
        }
        r.findings = findings?.map { f in
            var g = f
            g.examples = f.examples.map { net.prose($0, maskPII: maskPII) }
            return g
        }
        return r
    }
}
