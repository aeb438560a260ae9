import AuthDoctorCore

/// Paste-able Markdown for a support ticket or a GitHub step summary.
public struct MarkdownRenderer: ReportRenderer {
    public init() {}

    static func icon(_ s: Status) -> String {
        switch s {
        case .pass: return "✅"
        case .fail: return "❌"
        case .warn: return "⚠️"
        case .skip: return "➖"
        case .error: return "❓"
        }
    }

    /// A table cell: no pipes or line breaks of its own.
    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "<br>")
    }

    static func fence(_ s: String) -> String {
        let body = s.trimmingTrailingNewlines
        let ticks = body.contains("```") ? "````" : "```"
        return "\(ticks)text\n\(body)\n\(ticks)"
    }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        let v = report.verdict
        var head = "### auth-doctor \(report.command)"
        if let input = report.input { head += " `\(input.normalizedEmail)`" }
        switch v.status {
        case .healthy: head += ": healthy"
        case .problem: head += ": problem at step \(v.step ?? 0) (`\(v.rule ?? "")`)"
        case .incomplete: head += ": incomplete"
        }
        out.append(head)
        out.append("")
        var src = "**Source:** \(report.source.kind) `\(report.source.location)`"
        if let f = report.source.exportFormat { src += ", \(f) format" }
        if let d = report.source.deployment { src += ", deployment `\(d)`" }
        if report.source.isProd { src += ", prod" }
        out.append(src)
        out.append("")
        switch v.status {
        case .healthy:
            out.append("**Verdict:** healthy. \(v.message)")
        case .problem:
            out.append("**Verdict:** \(v.title ?? "") (`\(v.rule ?? "")`). \(v.message)")
            if let fix = v.fix {
                out.append("")
                out.append("**Fix**")
                out.append("")
                out.append(MarkdownRenderer.fence(fix))
            }
        case .incomplete:
            out.append("**Verdict:** incomplete. \(v.message)")
        }
        if let findings = report.findings {
            out.append("")
            let p = report.population ?? [:]
            out.append("**Population:** \(p["baUsers"] ?? 0) Better Auth users, \(p["baAccounts"] ?? 0) accounts, \(p["baSessions"] ?? 0) sessions, \(p["appUsers"] ?? 0) app rows")
            out.append("")
            out.append("| | Rule | Count | What | Examples |")
            out.append("|---|---|---|---|---|")
            for f in findings {
                out.append("| \(MarkdownRenderer.icon(f.status)) | `\(f.rule)` | \(f.count) | \(MarkdownRenderer.cell(f.what)) | \(MarkdownRenderer.cell(f.examples.joined(separator: ", "))) |")
            }
        }
        if !report.results.isEmpty {
            out.append("")
            out.append("| | Step | Check | Result |")
            out.append("|---|---|---|---|")
        }
        for r in report.results {
            out.append("| \(MarkdownRenderer.icon(r.status)) | \(r.step) | \(MarkdownRenderer.cell(r.title)) (`\(r.rule)`) | \(MarkdownRenderer.cell(r.message)) |")
        }
        let s = report.summary
        out.append("")
        out.append("\(s[.pass] ?? 0) passed, \(s[.fail] ?? 0) failed, \(s[.warn] ?? 0) warnings, \(s[.skip] ?? 0) skipped, \(s[.error] ?? 0) errors.")
        if !report.notes.isEmpty {
            out.append("")
            for n in report.notes { out.append("- \(n)") }
        }
        out.append("")
        out.append("<sub>\(toolName) \(toolVersion)</sub>")
        return out.joined(separator: "\n") + "\n"
    }
}
