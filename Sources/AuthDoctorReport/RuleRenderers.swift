import AuthDoctorCore

/// `rules list`: every rule with its step, id, severity, modes and title, as a table or JSON.
public enum RuleCatalogRenderer {
    public static func json(_ set: RuleSet) -> String {
        let replaced = Set(set.replaced.map(\.id))
        let rules: [Value] = set.rules.map { r in
            .map(["id": .string(r.id), "step": .int(Int64(r.step)), "severity": .string(r.severity.rawValue),
                  "modes": .list(r.modes.map { .string($0.rawValue) }), "title": .string(r.title), "file": .string(r.file),
                  "replacesBuiltIn": .bool(replaced.contains(r.id))])
        }
        return JSONWriter.write(.map(["schemaVersion": .int(1), "command": .string("rules list"), "tool": JSONRenderer.tool,
                                      "rules": .list(rules)])) + "\n"
    }

    public static func text(_ set: RuleSet) -> String {
        let replaced = Set(set.replaced.map(\.id))
        let idWidth = set.rules.map(\.id.count).max() ?? 10
        var out = "step  " + "id".padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  severity  modes                 title\n"
        for r in set.rules {
            let step = String(repeating: " ", count: max(0, 4 - String(r.step).count)) + String(r.step)
            let modes = r.modes.map(\.rawValue).joined(separator: ",")
            var line = "\(step)  \(r.id.padding(toLength: idWidth, withPad: " ", startingAt: 0))  \(r.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(modes.padding(toLength: 20, withPad: " ", startingAt: 0))  \(r.title)"
            if r.file.hasPrefix("rules/") == false { line += "  (\(r.file)\(replaced.contains(r.id) ? ", replaces the built-in rule" : ""))" }
            out += line + "\n"
        }
        return out
    }
}

/// `rules test`: each rule's fixture cases passed, or the cases that failed and why.
public enum RuleTestRenderer {
    public struct Entry: Sendable {
        public let rule: String
        public let cases: Int
        public let failures: [String]
        public init(rule: String, cases: Int, failures: [String]) {
            self.rule = rule
            self.cases = cases
            self.failures = failures
        }
    }

    public static func json(_ entries: [Entry]) -> String {
        let passed = entries.filter { $0.failures.isEmpty }.count
        return JSONWriter.write(.map([
            "schemaVersion": .int(1), "command": .string("rules test"), "tool": JSONRenderer.tool,
            "rules": .list(entries.map { e in
                .map(["rule": .string(e.rule), "cases": .int(Int64(e.cases)), "status": .string(e.failures.isEmpty ? "pass" : "fail"),
                      "failures": .list(e.failures.map { .string($0) })])
            }),
            "summary": .map(["pass": .int(Int64(passed)), "fail": .int(Int64(entries.count - passed))]),
        ])) + "\n"
    }

    public static func text(_ entries: [Entry]) -> String {
        let passed = entries.filter { $0.failures.isEmpty }.count
        var out = ""
        for e in entries {
            out += e.failures.isEmpty ? "[✓] \(e.rule): \(e.cases) case\(e.cases == 1 ? "" : "s")\n" : "[✗] \(e.rule)\n"
            for f in e.failures { out += "      \(f)\n" }
        }
        return out + "\nrules: \(passed) passed, \(entries.count - passed) failed\n"
    }
}
