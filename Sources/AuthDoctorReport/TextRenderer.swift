import AuthDoctorCore

/// flutter-doctor-like rows: `[✓] [✗] [!] [-]`, details under the failing steps, the verdict and its fix last.
public struct TextRenderer: ReportRenderer {
    public let color: Bool

    public init(color: Bool) { self.color = color }

    enum Style: String {
        case green = "32", red = "31", yellow = "33", dim = "2", bold = "1", magenta = "35"
    }

    func paint(_ s: String, _ style: Style) -> String {
        color ? "\u{1B}[\(style.rawValue)m\(s)\u{1B}[0m" : s
    }

    func mark(_ status: Status) -> String {
        switch status {
        case .pass: return paint("[✓]", .green)
        case .fail: return paint("[✗]", .red)
        case .warn: return paint("[!]", .yellow)
        case .skip: return paint("[-]", .dim)
        case .error: return paint("[?]", .magenta)
        }
    }

    static func indent(_ text: String, _ prefix: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : prefix + $0 }
            .joined(separator: "\n")
    }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        var head = "\(toolName) \(toolVersion) · \(report.command)"
        if let input = report.input { head += " \(input.normalizedEmail)" }
        out.append(paint(head, .bold))
        var src = "source: \(report.source.kind) \(report.source.location)"
        var details: [String] = []
        if let f = report.source.exportFormat { details.append("\(f) format") }
        if let d = report.source.deployment { details.append("deployment \(d)") }
        if report.source.isProd { details.append("prod") }
        if !details.isEmpty { src += " (\(details.joined(separator: ", ")))" }
        out.append(src)
        out.append("")
        if let findings = report.findings {
            renderAudit(report, findings, into: &out)
        }
        let width = String(report.results.map(\.step).max() ?? 0).count
        for r in report.results {
            let step = String(repeating: " ", count: width - String(r.step).count) + String(r.step)
            let pad = String(repeating: " ", count: width + 5)
            switch r.status {
            case .pass:
                out.append("\(mark(r.status)) \(step) \(r.title)" + (r.message == r.title ? "" : paint(" — \(r.message)", .dim)))
            case .skip:
                out.append("\(mark(r.status)) \(step) \(r.title)" + paint(" — \(r.message)", .dim))
            case .fail, .warn, .error:
                out.append("\(mark(r.status)) \(step) \(r.title)" + paint(" (\(r.rule))", .dim))
                out.append(TextRenderer.indent(r.message, pad))
                if r.status == .warn, let fix = r.fix {
                    out.append(pad + paint("fix:", .bold))
                    out.append(TextRenderer.indent(fix.trimmingTrailingNewlines, pad + "  "))
                }
            }
        }
        if !report.notes.isEmpty {
            out.append("")
            for n in report.notes { out.append(paint("note: ", .dim) + n) }
        }
        out.append("")
        let s = report.summary
        out.append("\(s[.pass] ?? 0) passed, \(s[.fail] ?? 0) failed, \(s[.warn] ?? 0) warnings, \(s[.skip] ?? 0) skipped, \(s[.error] ?? 0) errors")
        out.append("")
        let v = report.verdict
        switch v.status {
        case .healthy:
            out.append(paint("Verdict: healthy", .green))
            out.append(TextRenderer.indent(v.message, "  "))
        case .problem:
            out.append(paint("Verdict: problem at step \(v.step ?? 0), \(v.rule ?? "") — \(v.title ?? "")", .red))
            out.append(TextRenderer.indent(v.message, "  "))
            if let fix = v.fix {
                out.append("")
                out.append(paint("Fix:", .bold))
                out.append(TextRenderer.indent(fix.trimmingTrailingNewlines, "  "))
            }
        case .incomplete:
            out.append(paint("Verdict: incomplete", .magenta))
            out.append(TextRenderer.indent(v.message, "  "))
        }
        return out.joined(separator: "\n") + "\n"
    }
}

extension TextRenderer {
    static func number(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    func renderAudit(_ report: Report, _ findings: [AuditFinding], into out: inout [String]) {
        let p = report.population ?? [:]
        let n = TextRenderer.number
        out.append("population: \(n(p["baUsers"] ?? 0)) Better Auth users, \(n(p["baAccounts"] ?? 0)) accounts, "
                   + "\(n(p["baSessions"] ?? 0)) sessions (\(n(p["baActiveSessions"] ?? 0)) active), \(n(p["appUsers"] ?? 0)) app rows")
        out.append("")
        let width = findings.map(\.rule.count).max() ?? 10
        for f in findings {
            let rule = f.rule.padding(toLength: width, withPad: " ", startingAt: 0)
            let count = String(repeating: " ", count: max(0, 9 - n(f.count).count)) + n(f.count)
            let sev = f.severity == .info ? paint(" (info)", .dim) : ""
            out.append("\(mark(f.status)) \(rule) \(count)  \(f.what)\(sev)")
            guard f.count > 0 else { continue }
            let pad = String(repeating: " ", count: 6)
            if !f.details.isEmpty {
                out.append(pad + paint(f.details.sorted { $0.key < $1.key }.map { "\($0.key) \(n($0.value))" }.joined(separator: ", "), .dim))
            }
            if !f.examples.isEmpty {
                out.append(pad + "e.g. " + f.examples.joined(separator: ", ") + (f.count > f.examples.count ? ", ..." : ""))
            }
            if f.status != .pass, let fix = f.fix { out.append(pad + paint("fix: ", .bold) + fix) }
        }
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
