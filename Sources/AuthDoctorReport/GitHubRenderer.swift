import AuthDoctorCore

/// GitHub Actions workflow commands: one `::error` / `::warning` annotation per failing rule, then a summary line.
/// The Markdown step summary is written by the CLI (to `$GITHUB_STEP_SUMMARY`) with `MarkdownRenderer`.
public struct GitHubRenderer: ReportRenderer {
    public init() {}

    /// Escapes annotation text as the runner expects.
    public static func data(_ s: String) -> String {
        s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    static func property(_ s: String) -> String {
        data(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        for r in report.results where [.fail, .warn, .error].contains(r.status) {
            let level = r.status == .fail ? "error" : r.severity == .info ? "notice" : "warning"
            var body = r.message
            if let fix = r.fix { body += "\nFix:\n" + fix.trimmingTrailingNewlines }
            let title = r.status == .error ? "could not check \(r.title)" : r.failTitle
            out.append("::\(level) title=\(GitHubRenderer.property("auth-doctor \(r.rule) (step \(r.step)): \(title)"))::\(GitHubRenderer.data(body))")
        }
        for f in report.findings ?? [] where f.status != .pass {
            var body = "\(f.count) \(f.what)"
            if !f.examples.isEmpty { body += "\ne.g. " + f.examples.joined(separator: ", ") }
            if let fix = f.fix { body += "\nFix: " + fix }
            out.append("::\(f.status == .fail ? "error" : "warning") title=\(GitHubRenderer.property("auth-doctor audit \(f.rule): \(f.failTitle)"))::\(GitHubRenderer.data(body))")
        }
        // A rule switched off in the config is never silent.
        for r in report.results where r.status == .skip && r.message.hasPrefix("disabled in config:") {
            out.append("::notice title=\(GitHubRenderer.property("auth-doctor \(r.rule) (step \(r.step))"))::\(GitHubRenderer.data(r.message))")
        }
        let v = report.verdict
        let c = report.displayCounts
        var line = "auth-doctor \(report.command): "
        switch v.status {
        case .healthy: line += "healthy"
        case .problem: line += "problem at step \(v.step ?? 0) (\(v.rule ?? ""))"
        case .incomplete: line += "incomplete"
        }
        line += " — \(c.passed) passed, \(c.failed) failed, \(c.warnings) warning\(c.warnings == 1 ? "" : "s"), \(c.info) info, \(c.skipped) skipped"
        if c.couldNotCheck > 0 { line += ", \(c.couldNotCheck) could not be checked" }
        out.append(line)
        return out.joined(separator: "\n") + "\n"
    }
}
