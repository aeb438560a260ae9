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

    /// Text outside code: HTML and link syntax shown, not obeyed (`<img>`, `[x](url)`, `![x](url)`).
    static func text(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "[": out += "\\["
            case "]": out += "\\]"
            case "\\": out += "\\\\"
            case "\r", "\r\n": out += "\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// A paragraph: one line, escaped.
    static func paragraph(_ s: String) -> String {
        text(s).split(separator: "\n", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// A table cell: escaped, no pipes or line breaks of its own (a bare `\r` included).
    static func cell(_ s: String) -> String {
        text(s).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "<br>")
    }

    /// The longest run of backticks in `s`.
    static func longestTickRun(_ s: String) -> Int {
        var best = 0, run = 0
        for c in s { if c == "`" { run += 1; best = max(best, run) } else { run = 0 } }
        return best
    }

    /// A fenced block whose fence is longer than any backtick run inside, so the content cannot close it.
    static func fence(_ s: String) -> String {
        let body = s.trimmingTrailingNewlines.replacingOccurrences(of: "\r", with: "\n")
        let ticks = String(repeating: "`", count: max(3, longestTickRun(body) + 1))
        return "\(ticks)text\n\(body)\n\(ticks)"
    }

    /// An inline code span that its content cannot close.
    static func code(_ s: String) -> String {
        let body = s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        let ticks = String(repeating: "`", count: longestTickRun(body) + 1)
        let pad = body.hasPrefix("`") || body.hasSuffix("`") ? " " : ""
        return ticks + pad + body + pad + ticks
    }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        let v = report.verdict
        var head = "### auth-doctor \(report.command)"
        if let input = report.input { head += " \(MarkdownRenderer.code(input.normalizedEmail))" }
        switch v.status {
        case .healthy: head += ": healthy"
        case .problem: head += ": problem at step \(v.step ?? 0) (`\(v.rule ?? "")`)"
        case .incomplete: head += ": incomplete"
        }
        out.append(head)
        out.append("")
        var src = "**Source:** \(report.source.kind.rawValue) \(MarkdownRenderer.code(report.source.location))"
        if let f = report.source.exportFormat { src += ", \(f) format" }
        if let d = report.source.deployment { src += ", deployment \(MarkdownRenderer.code(d))" }
        if report.source.isProd { src += ", prod" }
        out.append(src)
        if let input = report.input, let cleaned = input.cleanedFrom {
            out.append("")
            out.append("**Input:** cleaned \(MarkdownRenderer.code(cleaned)) to \(MarkdownRenderer.code(input.email))")
        }
        for e in report.exhibits {
            out.append("")
            out.append("**\(MarkdownRenderer.text(e.name)):** \(MarkdownRenderer.paragraph(e.title))")
            if !e.lines.isEmpty {
                out.append("")
                out.append(MarkdownRenderer.fence(e.lines.joined(separator: "\n")))
            }
        }
        out.append("")
        switch v.status {
        case .healthy:
            out.append("**Verdict:** healthy. \(MarkdownRenderer.paragraph(v.message))")
        case .problem:
            out.append("**Verdict:** \(MarkdownRenderer.text(v.title ?? "")) (`\(v.rule ?? "")`). \(MarkdownRenderer.paragraph(v.message))")
            if let fix = v.fix {
                out.append("")
                out.append("**Fix**")
                out.append("")
                out.append(MarkdownRenderer.fence(fix))
            }
        case .incomplete:
            out.append("**Verdict:** incomplete. \(MarkdownRenderer.paragraph(v.message))")
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
            let title = r.status == .fail || r.status == .warn ? r.failTitle : r.title
            out.append("| \(MarkdownRenderer.icon(r.status)) | \(r.step) | \(MarkdownRenderer.cell(title)) (`\(r.rule)`) | \(MarkdownRenderer.cell(r.message)) |")
        }
        // Every failure's fix, not only the verdict's.
        for r in report.results where (r.status == .fail || r.status == .warn) && r.rule != v.rule {
            guard let fix = r.fix else { continue }
            out.append("")
            out.append("**Fix for `\(r.rule)`**")
            out.append("")
            out.append(MarkdownRenderer.fence(fix))
        }
        let c = report.displayCounts
        out.append("")
        out.append("\(c.passed) passed, \(c.failed) failed, \(c.warnings) warning\(c.warnings == 1 ? "" : "s"), \(c.info) info, \(c.skipped) skipped, \(c.couldNotCheck) could not be checked.")
        let notes = report.notes + report.verboseNotes
        if !notes.isEmpty {
            out.append("")
            for n in notes { out.append("- \(MarkdownRenderer.paragraph(n))") }
        }
        out.append("")
        out.append("<sub>\(toolName) \(toolVersion)</sub>")
        return out.joined(separator: "\n") + "\n"
    }
}
