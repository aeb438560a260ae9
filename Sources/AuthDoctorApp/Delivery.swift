import AuthDoctorCore
import AuthDoctorReport
import Foundation

/// The commands, as their errors and JSON documents name them.
public enum CommandName: String, Sendable {
    case diagnose, audit, jwt, probe
    case checkEnv = "check-env"
    case rulesList = "rules list"
    case rulesExplain = "rules explain"
    case rulesTest = "rules test"
}

/// How the operator asked to see the outcome.
public struct Presentation: Sendable {
    public var format: OutputFormat
    public var color: Bool
    public var width: Int
    public var verbose: Bool
    /// `--redact-pii` / `--no-redact-pii`, when given.
    public var redactPIIFlag: Bool?

    public init(format: OutputFormat = .text, color: Bool = false, width: Int = 80, verbose: Bool = false, redactPIIFlag: Bool? = nil) {
        self.format = format
        self.color = color
        self.width = width
        self.verbose = verbose
        self.redactPIIFlag = redactPIIFlag
    }

    /// Masked by default where the output is shared: tickets (markdown) and CI logs (github).
    public var redactPII: Bool { redactPIIFlag ?? (format == .markdown || format == .github) }
}

/// What a run writes, and how it ends: stdout, stderr, the GitHub step summary and the exit status.
public struct Delivery: Sendable, Equatable {
    public var stdout = ""
    public var stderr = ""
    /// Markdown appended to `$GITHUB_STEP_SUMMARY` (with `--format github` when it is set).
    public var stepSummary: (path: String, text: String)?
    public var exitCode: Int32 = 0

    public static func == (a: Delivery, b: Delivery) -> Bool {
        a.stdout == b.stdout && a.stderr == b.stderr && a.exitCode == b.exitCode
            && a.stepSummary?.path == b.stepSummary?.path && a.stepSummary?.text == b.stepSummary?.text
    }

    public init() {}

    /// An outcome as the operator sees it. The exit status: 2 when the doctor could not do its job (an incomplete
    /// verdict), 1 when a rule failed at or above `--fail-on`, else 0; `audit --list` prints the ids and exits 0.
    public static func of(_ outcome: Outcome, command: CommandName, presentation p: Presentation, workspace: Workspace) -> Delivery {
        var d = Delivery()
        let report = outcome.report
        if let listed = outcome.listed {
            let net = DataNet(secrets: workspace.secrets.all.union(outcome.secrets), personalData: [])
            d.stdout = p.format == .json
                ? JSONWriter.write(net.value(.list(listed.map { .string($0) }), maskPII: false)) + "\n"
                : listed.map { net.plain($0) + "\n" }.joined()
            return d
        }
        let net = DataNet(secrets: outcome.secrets, personalData: outcome.personalData, subjectEmail: report.input?.normalizedEmail)
        d.stdout = p.format.renderer(color: p.color, width: p.width, verbose: p.verbose).render(report.presented(net: net, maskPII: p.redactPII))
        if p.format == .github, let path = workspace.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty {
            // The step summary is shared with everyone who can read the run: personal data masked too.
            d.stepSummary = (path, MarkdownRenderer().render(report.presented(net: net, maskPII: p.redactPIIFlag ?? true)) + "\n")
        }
        if report.verdict.status == .incomplete {
            // The doctor could not do its job: say what to give, and fail the CI gate.
            d.stderr = "auth-doctor: error: incomplete: \(workspace.secrets.masked(report.verdict.message))\n"
            d.exitCode = 2
        } else if report.failed {
            d.exitCode = 1
        }
        return d
    }

    /// An error as the operator sees it: on stderr, and on stdout as JSON or a GitHub annotation in those formats.
    public static func of(_ error: AppError, command: CommandName, format: OutputFormat, workspace: Workspace) -> Delivery {
        var d = Delivery()
        let message = workspace.secrets.masked(error.description)
        d.stderr = "auth-doctor: error: \(message)\n"
        d.exitCode = error.exitCode
        guard error.exitCode == 2 else { return d }
        switch format {
        case .json: d.stdout = JSONRenderer.error(message, command: command.rawValue)
        case .github: d.stdout = "::error title=auth-doctor \(command.rawValue)::\(GitHubRenderer.data(message))\n"
        default: break
        }
        return d
    }

    /// Writes stdout, stderr (to `output`: the process's by default) and the step summary. A step summary that
    /// cannot be written is an error (exit 2).
    public func write(to output: OutputSink = .standard) -> Int32 {
        if !stdout.isEmpty { output.stdout(stdout) }
        if !stderr.isEmpty { output.stderr(stderr) }
        if let (path, text) = stepSummary {
            guard let handle = FileHandle(forWritingAtPath: path) ?? {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                return FileHandle(forWritingAtPath: path)
            }() else {
                let message = AppError.stepSummaryUnwritable(path: path).description
                output.stderr("auth-doctor: error: \(message)\n")
                return 2
            }
            defer { try? handle.close() }
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
        }
        return exitCode
    }
}

/// Where a run's stdout and stderr go: the process's, or a caller's collector (a test that runs the command in its
/// own process).
public struct OutputSink: Sendable {
    public var stdout: @Sendable (String) -> Void
    public var stderr: @Sendable (String) -> Void

    public init(stdout: @escaping @Sendable (String) -> Void, stderr: @escaping @Sendable (String) -> Void) {
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The process's stdout and stderr, written unbuffered.
    public static let standard = OutputSink(stdout: { FileHandle.standardOutput.write(Data($0.utf8)) },
                                            stderr: { FileHandle.standardError.write(Data($0.utf8)) })
}
