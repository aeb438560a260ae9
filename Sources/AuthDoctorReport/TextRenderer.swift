import AuthDoctorCore

/// flutter-doctor-like rows: `[✓] [✗] [!] [-]`. Concise by default (failures and warnings with their fixes, one
/// summary line, the verdict); `verbose` shows every row. Prose wraps to `width` with a hanging indent; command
/// lines and ids are never broken.
public struct TextRenderer: ReportRenderer {
    public let color: Bool
    public let width: Int
    public let verbose: Bool

    public init(color: Bool, width: Int = 80, verbose: Bool = false) {
        self.color = color
        self.width = max(width, 40)
        self.verbose = verbose
    }

    enum Style: String {
        case green = "32", red = "31", yellow = "33", dim = "2", bold = "1", magenta = "35"
    }

    func paint(_ s: String, _ style: Style) -> String {
        color ? "\u{1B}[\(style.rawValue)m\(s)\u{1B}[0m" : s
    }

    func mark(_ status: Status, severity: Severity = .error) -> String {
        switch status {
        case .pass: return paint("[✓]", .green)
        case .fail: return paint("[✗]", .red)
        case .warn: return severity == .info ? paint("[i]", .dim) : paint("[!]", .yellow)
        case .skip: return paint("[-]", .dim)
        case .error: return paint("[?]", .magenta)
        }
    }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        var head = "\(toolName) \(toolVersion) · \(report.command)"
        if let input = report.input { head += " \(input.normalizedEmail)" }
        out.append(paint(head, .bold))
        var details: [String] = []
        if let f = report.source.exportFormat { details.append("\(f) format") }
        if let d = report.source.deployment { details.append("deployment \(d)") }
        if report.source.isProd { details.append("prod") }
        out += wrap("source: \(report.source.kind.rawValue) \(report.source.location)" + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))"), indent: "  ")
        if let input = report.input, let cleaned = input.cleanedFrom {
            out += wrap("input: cleaned \"\(cleaned)\" to \(input.email)", indent: "  ")
        }
        for e in report.exhibits {
            out += wrap("\(e.name): \(e.title)", indent: "  ")
            for line in e.lines { out += wrap(line, indent: "      ", first: "  ") }
        }
        if let findings = report.findings {
            renderAudit(report, findings, into: &out)
        }
        renderRows(report, into: &out)
        let notes = verbose ? report.notes + report.verboseNotes : report.notes
        if !notes.isEmpty {
            for n in notes { out += wrap(paint("note: ", .dim) + n, indent: "      ") }
        }
        out.append(summaryLine(report))
        out.append("")
        renderVerdict(report.verdict, into: &out)
        return out.joined(separator: "\n") + "\n"
    }

    func renderRows(_ report: Report, into out: inout [String]) {
        let stepWidth = String(report.results.map(\.step).max() ?? 0).count
        let pad = String(repeating: " ", count: stepWidth + 5)
        func stepText(_ s: Int) -> String { String(repeating: " ", count: stepWidth - String(s).count) + String(s) }
        var i = 0
        let rows = report.results
        var shown = false
        let start = out.count
        while i < rows.count {
            let r = rows[i]
            switch r.status {
            case .pass:
                if verbose {
                    out += wrap("\(mark(r.status)) \(stepText(r.step)) \(r.title)" + (r.message == r.title ? "" : paint(" — \(r.message)", .dim)), indent: pad)
                    shown = true
                }
            case .skip:
                // Consecutive rows skipped for the same reason collapse into one line.
                var j = i
                while j + 1 < rows.count, rows[j + 1].status == .skip, rows[j + 1].message == r.message { j += 1 }
                let disabled = r.message.hasPrefix("disabled in config:")
                if verbose || disabled {
                    let steps = j > i ? "\(r.step)–\(rows[j].step)" : stepText(r.step)
                    let what = j > i ? "\(j - i + 1) checks" : r.title
                    out += wrap("\(mark(.skip)) \(steps) \(what)" + paint(" — \(r.message)", .dim), indent: pad)
                    shown = true
                }
                i = j
            case .fail, .warn, .error:
                // Concise: the verdict names its own rule; the row would say it twice.
                if !verbose && r.rule == report.verdict.rule { break }
                let title = r.status == .error ? r.title : r.failTitle
                let label = r.status == .error ? " (\(r.rule), could not check)" : r.severity == .info ? " (\(r.rule), info)" : " (\(r.rule))"
                out += wrap("\(mark(r.status, severity: r.severity)) \(stepText(r.step)) \(title)" + paint(label, .dim), indent: pad)
                // The verdict shows its own rule's message and fix; every other failure shows them here.
                if verbose || r.rule != report.verdict.rule {
                    out += wrap(r.message, indent: pad, first: pad)
                    if let fix = r.fix {
                        out.append(pad + paint("fix:", .bold))
                        out += block(fix, indent: pad + "  ")
                    }
                }
                shown = true
            }
            i += 1
        }
        if shown { out.insert("", at: start); out.append("") }
    }

    func summaryLine(_ report: Report) -> String {
        let counts = report.displayCounts
        var parts = ["\(counts.passed) passed", "\(counts.failed) failed"]
        if counts.warnings > 0 { parts.append(plural(counts.warnings, "warning")) }
        if counts.info > 0 { parts.append("\(counts.info) info") }
        if counts.skipped > 0 { parts.append("\(counts.skipped) skipped") }
        if counts.couldNotCheck > 0 { parts.append("\(counts.couldNotCheck) could not be checked") }
        var line = parts.joined(separator: ", ")
        if !verbose && !report.results.isEmpty { line += paint(" (-v shows every step)", .dim) }
        return line
    }

    func renderVerdict(_ v: Verdict, into out: inout [String]) {
        switch v.status {
        case .healthy:
            out.append(v.likelyCause == nil ? paint("Verdict: healthy", .green) : paint("Verdict: healthy, with a warning that may be the cause", .yellow))
            out += wrap(v.message, indent: "  ", first: "  ")
        case .problem:
            out += wrap(paint("Verdict: problem at step \(v.step ?? 0), \(v.rule ?? "") — \(v.title ?? "")", .red), indent: "  ")
            out += wrap(v.message, indent: "  ", first: "  ")
            if let fix = v.fix {
                out.append(paint("Fix:", .bold))
                out += block(fix, indent: "  ")
            }
        case .incomplete:
            out.append(paint("Verdict: incomplete", .magenta))
            out += wrap(v.message, indent: "  ", first: "  ")
        }
    }

    func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    /// A fix or other multi-line text: prose lines wrap; indented lines (commands) are kept whole.
    func block(_ text: String, indent: String) -> [String] {
        var out: [String] = []
        for line in text.trimmingTrailingNewlines.split(separator: "\n", omittingEmptySubsequences: false) {
            let l = String(line)
            if l.isEmpty { out.append(""); continue }
            if l.hasPrefix(" ") || TextRenderer.looksLikeCommand(l) {
                out.append(indent + l)
            } else {
                let hanging = indent + String(repeating: " ", count: TextRenderer.listMarkerWidth(l))
                out += wrap(l, indent: hanging, first: indent)
            }
        }
        return out
    }

    static func looksLikeCommand(_ l: String) -> Bool {
        ["npx ", "curl ", "vercel ", "auth-doctor "].contains { l.hasPrefix($0) }
    }

    /// "1. " or "- " at the start of a line: continuation lines align after it.
    static func listMarkerWidth(_ l: String) -> Int {
        if l.hasPrefix("- ") { return 2 }
        let digits = l.prefix { $0.isNumber }
        if !digits.isEmpty, l.dropFirst(digits.count).hasPrefix(". ") { return digits.count + 2 }
        return 0
    }

    /// Word-wraps one paragraph (its own line breaks kept) to the width. Words are never split, so an id or a URL
    /// longer than the line stays whole. Escape sequences of colour do not count towards the width.
    func wrap(_ text: String, indent: String, first: String = "") -> [String] {
        var out: [String] = []
        for para in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = out.isEmpty ? first : indent
            var visible = line.count
            var lineHasWord = false
            for w in TextRenderer.units(String(para)) {
                let wVisible = TextRenderer.visibleCount(w)
                if lineHasWord && visible + 1 + wVisible > width {
                    out.append(line)
                    line = indent
                    visible = indent.count
                    lineHasWord = false
                }
                if lineHasWord { line += " "; visible += 1 }
                line += w
                visible += wVisible
                lineHasWord = true
            }
            out.append(line)
        }
        return out
    }

    /// The words of a paragraph; a `code span` with spaces stays one unit, so a command is never broken.
    static func units(_ para: String) -> [String] {
        var out: [String] = []
        var open: String?
        for word in para.split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            let ticks = w.filter { $0 == "`" }.count
            if var o = open {
                o += " " + w
                if ticks % 2 == 1 { out.append(o); open = nil } else { open = o }
            } else if ticks % 2 == 1 {
                open = w
            } else {
                out.append(w)
            }
        }
        if let o = open { out.append(o) }
        return out
    }

    static func visibleCount(_ s: String) -> Int {
        guard s.contains("\u{1B}") else { return s.count }
        var n = 0
        var inEscape = false
        for c in s {
            if inEscape { if c == "m" { inEscape = false }; continue }
            if c == "\u{1B}" { inEscape = true; continue }
            n += 1
        }
        return n
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
        out.append("")
        out += wrap("population: \(n(p["baUsers"] ?? 0)) Better Auth users, \(n(p["baAccounts"] ?? 0)) accounts, "
                    + "\(n(p["baSessions"] ?? 0)) sessions (\(n(p["baActiveSessions"] ?? 0)) active), \(n(p["appUsers"] ?? 0)) app rows", indent: "  ")
        out.append("")
        let ruleWidth = findings.map(\.rule.count).max() ?? 10
        let pad = String(repeating: " ", count: 6)
        for f in findings where verbose || f.count > 0 {
            let rule = f.rule.padding(toLength: ruleWidth, withPad: " ", startingAt: 0)
            let count = String(repeating: " ", count: max(0, 9 - n(f.count).count)) + n(f.count)
            let sev = f.severity == .info ? paint(" (info)", .dim) : ""
            out += wrap("\(mark(f.status, severity: f.severity)) \(rule) \(count)  \(f.what)\(sev)", indent: pad)
            guard f.count > 0 else { continue }
            if !f.details.isEmpty {
                out += wrap(paint(f.details.sorted { $0.key < $1.key }.map { "\($0.key) \(n($0.value))" }.joined(separator: ", "), .dim), indent: pad, first: pad)
            }
            if !f.examples.isEmpty {
                out += wrap("e.g. " + f.examples.joined(separator: ", ") + (f.count > f.examples.count ? ", ..." : ""), indent: pad, first: pad)
            }
            if f.status != .pass, let fix = f.fix { out += wrap(paint("fix: ", .bold) + fix, indent: pad, first: pad) }
        }
        out.append("")
    }
}
